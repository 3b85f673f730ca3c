/*
 * peer.h: the web-server side of a FastCGI connection, for tests.
 *
 * The peer speaks raw FastCGI records over a real socket, so a test can send
 * anything (well-formed or hostile) and see exactly what the application
 * answered.  Every receive waits with poll() against a deadline: a hang in
 * the application fails the test instead of blocking it.
 *
 * Conventions:
 *  - Functions returning int give 0 (or a descriptor) on success and -1 on
 *    failure, timeout included.
 *  - Timeouts are milliseconds and pass through peer_ms(), which stretches
 *    them when the test runs under valgrind (the VALGRIND environment
 *    variable is set by `make check-valgrind`).
 *  - Nothing here is global: several threads may each drive their own
 *    connections.
 */
#ifndef FCGI_TEST_PEER_H
#define FCGI_TEST_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Record types and roles, spelled out here so tests need no library header. */
enum {
    PEER_BEGIN_REQUEST = 1,
    PEER_ABORT_REQUEST = 2,
    PEER_END_REQUEST = 3,
    PEER_PARAMS = 4,
    PEER_STDIN = 5,
    PEER_STDOUT = 6,
    PEER_STDERR = 7,
    PEER_DATA = 8,
    PEER_GET_VALUES = 9,
    PEER_GET_VALUES_RESULT = 10,
    PEER_UNKNOWN_TYPE = 11
};

enum { PEER_RESPONDER = 1, PEER_AUTHORIZER = 2, PEER_FILTER = 3 };
enum { PEER_KEEP_CONN = 1 };

/* Default receive timeout before scaling. */
#define PEER_TIMEOUT_MS 10000

/* base_ms, multiplied when running under valgrind. */
int peer_ms(int base_ms);

/*
 * Memory the peer (and a test, if it likes) allocates: like realloc and
 * free, but every live block stays reachable from a global list, so a test
 * that fails before its frees leaves nothing valgrind reports as lost.
 */
void *peer_realloc(void *p, size_t n);
void peer_free(void *p);

/* A growable byte buffer; zero-initialise it, release with peer_buf_free. */
typedef struct peer_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} peer_buf;

void peer_buf_add(peer_buf *b, const void *p, size_t n);
void peer_buf_free(peer_buf *b);

/*
 * Connects to "/path" or "relative/path" (Unix), "@name" (abstract Unix),
 * "a.b.c.d:port" or "[v6]:port".  Returns a non-blocking descriptor or -1.
 */
int peer_connect(const char *addr);

/*
 * The same from a chosen local address (numeric IPv4 or IPv6, no port), for
 * example 127.0.0.2 to look like another host.
 */
int peer_connect_from(const char *addr, const char *source);

/* Sends all of buf, waiting at most PEER_TIMEOUT_MS for buffer space. */
int peer_send_raw(int fd, const void *buf, size_t len);

/* Writes a record header into h[8]. */
void peer_header(unsigned char h[8], int version, int type, int id,
                 size_t content_len, size_t padding_len);

/* One version-1 record: header, content, then padding_len zero bytes. */
int peer_send_record(int fd, int type, int id, const void *content,
                     size_t len, size_t padding_len);
/* The same record appended to b instead (-1 if it cannot be encoded). */
int peer_record_add(peer_buf *b, int type, int id, const void *content,
                    size_t len, size_t padding_len);

int peer_begin(int fd, int id, int role, int flags);
int peer_abort(int fd, int id);

/*
 * Appends one name-value pair in FastCGI encoding.  Lengths below 128 use
 * the 1-byte form unless force_long asks for the 4-byte form.
 */
void peer_nv_encode(peer_buf *b, const char *name, size_t nlen,
                    const char *value, size_t vlen, int force_long);

/*
 * Sends len bytes of stream type `type` as records of at most chunk content
 * bytes each (0 means 65535), then an empty record if eos is set.
 */
int peer_stream(int fd, int type, int id, const void *data, size_t len,
                size_t chunk, int eos);

/*
 * PARAMS from a NULL-terminated list name0, value0, name1, value1, ...,
 * NULL, split every chunk bytes, followed by the empty PARAMS record.
 */
int peer_params(int fd, int id, const char *const *pairs, size_t chunk);

/* GET_VALUES (request id 0) asking for a NULL-terminated list of names. */
int peer_get_values(int fd, const char *const *names);

/*
 * A whole request: BEGIN_REQUEST, PARAMS, then STDIN carrying body (may be
 * NULL with len 0) and the end-of-stream record.
 */
int peer_request(int fd, int id, int role, int flags,
                 const char *const *pairs, const void *body, size_t len);
/*
 * A request without a body, sent in one write as web servers send theirs
 * (peer_request writes record by record); the parameters must fit one
 * record.
 */
int peer_request_whole(int fd, int id, int role, int flags, const char *const *pairs);

/* What came back. */
typedef struct peer_record {
    int version;
    int type;
    int id;
    size_t content_len;
    size_t padding_len;
} peer_record;

typedef struct peer_end {
    int id;
    uint32_t app_status;
    int protocol_status;
} peer_end;

typedef struct peer_nv {
    char *name;
    char *value;
} peer_nv;

#define PEER_MAX_ENDS 64

typedef struct peer_response {
    peer_buf out;           /* STDOUT content of the awaited id */
    peer_buf err;           /* STDERR content of the awaited id */
    int out_eos;            /* empty STDOUT records seen (awaited id) */
    int err_eos;            /* empty STDERR records seen (awaited id) */
    peer_end ends[PEER_MAX_ENDS];
    int n_ends;
    peer_nv *values;        /* GET_VALUES_RESULT pairs, all records */
    size_t n_values;
    int n_values_records;
    int bad_values;         /* a GET_VALUES_RESULT that did not decode */
    int unknown_type;       /* type named by UNKNOWN_TYPE, -1 if none */
    int foreign;            /* STDOUT/STDERR records of another id */
    int closed;             /* EOF or reset seen */
    int timed_out;
    int malformed;          /* bad version or EOF inside a record */
    peer_record *records;   /* every record, in order */
    size_t n_records;
    peer_buf raw;           /* every byte received */
} peer_response;

void peer_response_init(peer_response *r);
void peer_response_free(peer_response *r);

/* Conditions for peer_read, combined with |. */
enum {
    PEER_UNTIL_END = 1,     /* END_REQUEST for the awaited id */
    PEER_UNTIL_MGMT = 2,    /* GET_VALUES_RESULT or UNKNOWN_TYPE */
    PEER_UNTIL_CLOSE = 4,   /* the application closed the connection */
    PEER_UNTIL_RECORD = 8   /* any one record */
};

/*
 * Reads records into r until a condition in `until` holds, the connection
 * closes or timeout_ms pass.  id is the awaited request id (-1: any id).
 * Returns 0 when a condition held, -1 otherwise (r->closed / r->timed_out
 * tell which).  May be called again with the same r to read on.
 */
int peer_read(int fd, peer_response *r, int id, int until, int timeout_ms);

/* Looks up a GET_VALUES_RESULT value; NULL if absent. */
const char *peer_value(const peer_response *r, const char *name);

/* The END_REQUEST for id, or NULL. */
const peer_end *peer_end_for(const peer_response *r, int id);

/*
 * Reads and discards until the application closes the connection.  Returns
 * 1 when it closed, 0 when timeout_ms passed first.
 */
int peer_wait_close(int fd, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* FCGI_TEST_PEER_H */
