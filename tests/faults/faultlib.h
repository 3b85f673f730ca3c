/*
 * faultlib.h: what the fault tests share.
 *
 *  - A raw FastCGI client (the web-server side): build a request, send it,
 *    read the response records back with a deadline.  Deliberately small
 *    and independent of the library under test.
 *  - Listening sockets in a private temporary directory (or on loopback
 *    TCP), and starting the application in a child process.
 *  - A line-oriented report channel from the application to the test.
 *
 * Every wait is bounded: a hang in the application fails the test.  All
 * functions return 0 (or a descriptor) on success and -1 on failure, and
 * print why on failure where it helps.
 */
#ifndef FCGI_TESTS_FAULTLIB_H
#define FCGI_TESTS_FAULTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fails the whole test program with a message. */
void fl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Prints a TAP-like progress line to stdout. */
void fl_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define FL_CHECK(cond, fmt, ...)                                             \
    do {                                                                     \
        if (!(cond))                                                         \
            fl_fail("%s:%d: %s: " fmt, __FILE__, __LINE__, #cond,            \
                    ##__VA_ARGS__);                                          \
    } while (0)

/* Milliseconds of the monotonic clock. */
long fl_now_ms(void);

/* --- where the application listens ------------------------------------ */

typedef struct fl_addr {
    int tcp;             /* 0: Unix socket at path; 1: 127.0.0.1:port */
    char dir[80];        /* the private directory (Unix sockets) */
    char path[108];
    int port;
} fl_addr;

/*
 * Creates a listening socket (backlog 1024) in a fresh mkdtemp directory
 * or on 127.0.0.1 with a kernel-chosen port.
 */
int fl_listen(fl_addr *a, int tcp);
/* Removes the socket file and the directory. */
void fl_cleanup(const fl_addr *a);

/* Connects (blocking connect, then the descriptor is left blocking). */
int fl_connect(const fl_addr *a);

/* --- building and sending requests ------------------------------------ */

typedef struct fl_buf {
    unsigned char *data;
    size_t len, cap;
} fl_buf;

void fl_buf_add(fl_buf *b, const void *p, size_t n);
void fl_buf_free(fl_buf *b);

void fl_record(fl_buf *b, int type, int id, const void *content, size_t len);
void fl_begin(fl_buf *b, int id, int keep_conn);
/* PARAMS from "NAME=VALUE" strings (NULL-terminated list), then the end. */
void fl_params(fl_buf *b, int id, const char *const *env);
/* STDIN records of at most 8192 bytes, then the end if eos. */
void fl_stdin(fl_buf *b, int id, const void *body, size_t len, int eos);
/* A whole request. */
void fl_request(fl_buf *b, int id, int keep_conn, const char *const *env,
                const void *body, size_t len);

/* Writes everything, waiting at most timeout_ms for room. */
int fl_send(int fd, const void *p, size_t n, int timeout_ms);

/* --- reading responses --------------------------------------------------- */

typedef struct fl_response {
    fl_buf out;          /* STDOUT content */
    fl_buf err;          /* STDERR content */
    int ended;           /* END_REQUEST seen */
    uint32_t app_status;
    int protocol_status;
    int closed;          /* EOF before END_REQUEST */
    int timed_out;
    int malformed;       /* a record that breaks the framing */
    fl_buf pending;      /* bytes of a record not yet complete */
} fl_response;

void fl_response_free(fl_response *r);

/*
 * Reads records for request id until its END_REQUEST, EOF or timeout.
 * Returns 0 when END_REQUEST arrived and the framing was sound.
 */
int fl_read_response(int fd, int id, fl_response *r, int timeout_ms);

/*
 * Adds received bytes to r and decodes the complete records (for callers
 * that do their own polling).  Returns 1 once END_REQUEST has arrived, -1
 * when the framing broke, 0 while more is needed.
 */
int fl_feed(fl_response *r, int id, const void *p, size_t n);

/*
 * One whole exchange on a new connection: connect, send the request, read
 * the response, close.  Returns 0 when a response ended properly.
 */
int fl_exchange(const fl_addr *a, const char *const *env, const void *body,
                size_t len, fl_response *r, int timeout_ms);

/* --- the application side ---------------------------------------------- */

/* Forks; the child runs fn(arg) and exits with its return value. */
pid_t fl_spawn(int (*fn)(void *), void *arg);
/*
 * Waits at most timeout_ms for pid; returns its wait status, or -1 after
 * killing it with SIGKILL when it did not exit in time.
 */
int fl_wait(pid_t pid, int timeout_ms);
/* SIGTERM, then fl_wait. */
int fl_stop(pid_t pid, int timeout_ms);

/* Descriptors open in process pid (from /proc), or -1. */
int fl_count_fds(pid_t pid);
/* User plus system CPU time of pid in milliseconds (from /proc), or -1. */
long fl_cpu_ms(pid_t pid);

/*
 * The report channel: the application writes one line per event with
 * fl_report (async-signal-safe, one write), the test reads lines with
 * fl_read_line (bounded wait).
 */
void fl_report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fl_read_line(int fd, char *line, size_t size, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
