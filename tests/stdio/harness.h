/*
 * harness.h: run a FastCGI application function in a child process, the
 * way a web server would start it: with a listening Unix socket on fd 0.
 *
 * The test process plays the web server with tests/support/peer.h.  The
 * socket is made in a fresh mktemp -d directory and the connections are
 * opened at once (they wait in the listen backlog until the application
 * accepts them), so the directory is removed before the test goes on and
 * nothing is left in the file system whatever happens next.  The child
 * dies with the test process.
 */
#ifndef FCGI_TEST_STDIO_HARNESS_H
#define FCGI_TEST_STDIO_HARNESS_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct app_proc {
    pid_t pid;
} app_proc;

/* Most connections app_start opens (the listen backlog). */
#define APP_MAX_CONNS 16

/*
 * Forks a child that puts the listening socket on fd 0 and leaves through
 * _exit(app(arg)), then opens nconn non-blocking connections to it into
 * fds.  Returns 0, or -1 if the socket, the child or a connection could not
 * be made.
 */
int app_start(app_proc *p, int (*app)(void *), void *arg, int nconn, int *fds);

/*
 * Waits up to timeout_ms (scaled by peer_ms) for the child; kills it when
 * the time is up.  Returns its exit status, 128 + signal if a signal ended
 * it, or -1 when it had to be killed.
 */
int app_wait(app_proc *p, int timeout_ms);

/*
 * Runs fn in a child process with stdin, stdout and stderr of the child
 * redirected from and to the given paths (NULL: unchanged) and returns what
 * app_wait returns.
 */
int run_redirected(int (*fn)(void *), void *arg, const char *in_path,
                   const char *out_path, const char *err_path, int timeout_ms);

/* The C library's stdin (0), stdout (1) or stderr (2), as a FILE *. */
void *real_std(int i);

/* Failure report from inside a child: the message goes to fd 2 as is. */
#define CHILD_CHECK(cond)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            child_fail(__FILE__, __LINE__, #cond);                         \
            return 1;                                                      \
        }                                                                  \
    } while (0)

void child_fail(const char *file, int line, const char *what);

#ifdef __cplusplus
}
#endif

#endif /* FCGI_TEST_STDIO_HARNESS_H */
