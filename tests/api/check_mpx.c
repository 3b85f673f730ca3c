/*
 * check_mpx.c: black-box tests of multiplexed connections behind
 * FCGX_Accept_r: several requests interleaved on one connection, served by
 * several threads of one application process.
 *
 * As in check_fcgiapp.c, each test forks an application that serves through
 * the public API and drives it over a real Unix socket with raw records
 * (tests/support/peer.h).  The application is one program whose behaviour
 * each request chooses through its parameters; it answers with
 * "id=<ID> n=<stdin bytes> sum=<FNV-1a of stdin>\n", optionally followed by
 * the stdin itself, so every response can be compared byte for byte.  What
 * cannot travel back on FastCGI (an aborted request's view of its streams)
 * comes through a pipe.
 *
 * The test side here adds what the peer lacks for several ids on one
 * connection: building interleaved records, sending them while reading (one
 * thread, poll), and demultiplexing the answers by request id.
 */
#define _GNU_SOURCE 1

#include <check.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "fastcgi.h"
#include "fcgiapp.h"
#include "fixture.h"
#include "peer.h"

/* ------------------------------------------------------------------ */
/* The application.                                                    */

/*
 * Parameters a request may carry:
 *   ID=s         echoed as id=s
 *   ECHO=1       the stdin follows the first line
 *   SLEEP_MS=n   sleep before reading stdin
 *   NOREAD=1     leave stdin unread (n=0)
 *   WORK_US=n    sleep after reading it (so that handlers overlap)
 *   STOP_AT=n    read n bytes, report "id=s got=n" on the pipe, read on
 *   REPORT=1     answer on the pipe, not on stdout: what the streams said
 *   QUIT=1       answer "maxc=<most handlers at once> served=<handled>",
 *                then shut down: every thread leaves FCGX_Accept_r and is
 *                joined, and the process exits with APP_OK
 */

struct mapp {
    pid_t pid;
    int lfd;
    int threads;
    int grow;       /* one thread until its first request, then the rest */
    const char *const *env; /* NAME, VALUE, ..., NULL: set before FCGX_Init */
    int side[2];    /* handlers' reports to the test */
    int ready[2];   /* a byte once all threads have called FCGX_Accept_r */
    char addr[160];
};

/* The child's counters, shared by its threads. */
static int app_running;
static int app_maxc;
static int app_served;
static int app_started;

static long
param_num(FCGX_Request *req, const char *name)
{
    const char *v = FCGX_GetParam(name, req->envp);

    return v != NULL ? strtol(v, NULL, 10) : 0;
}

/* One line to the test; short enough for write(2) to pipes to be atomic. */
static void
report(struct mapp *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
report(struct mapp *a, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    if (write(a->side[1], buf, (size_t)n) != n)
        _exit(31);
}

/* Reads up to want bytes (all of the stream when want is 0) into *body. */
static int
read_in(FCGX_Stream *in, char **body, size_t *len, size_t *cap, size_t want)
{
    int n = 0;

    for (;;) {
        size_t room;

        if (want != 0 && *len >= want)
            return n;
        if (*cap - *len < 4096) {
            *cap = *cap ? *cap * 2 : 65536;
            *body = realloc(*body, *cap);
            if (*body == NULL)
                _exit(32);
        }
        room = *cap - *len;
        if (want != 0 && room > want - *len)
            room = want - *len;
        n = FCGX_GetStr(*body + *len, (int)room, in);
        if (n <= 0)
            return n;
        *len += (size_t)n;
    }
}

/* Returns 1 for QUIT: the process is to shut down once it is finished. */
static int
handle(struct mapp *a, FCGX_Request *req)
{
    const char *id = FCGX_GetParam("ID", req->envp);
    char *body = NULL;
    size_t len = 0;
    size_t cap = 0;
    long stop_at = param_num(req, "STOP_AT");
    int running = __atomic_add_fetch(&app_running, 1, __ATOMIC_SEQ_CST);
    int max = __atomic_load_n(&app_maxc, __ATOMIC_SEQ_CST);
    int last;

    while (running > max
           && !__atomic_compare_exchange_n(&app_maxc, &max, running, 0,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    if (id == NULL)
        id = "?";
    if (FCGX_GetParam("QUIT", req->envp) != NULL) {
        say(req->out, "maxc=%d served=%d\n", __atomic_load_n(&app_maxc, __ATOMIC_SEQ_CST),
            __atomic_load_n(&app_served, __ATOMIC_SEQ_CST));
        __atomic_sub_fetch(&app_running, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    if (param_num(req, "SLEEP_MS") > 0)
        usleep((useconds_t)param_num(req, "SLEEP_MS") * 1000);
    if (stop_at > 0) {
        read_in(req->in, &body, &len, &cap, (size_t)stop_at);
        report(a, "id=%s got=%zu\n", id, len);
    }
    last = FCGX_GetParam("NOREAD", req->envp) ? 0 : read_in(req->in, &body, &len, &cap, 0);
    if (param_num(req, "WORK_US") > 0)
        usleep((useconds_t)param_num(req, "WORK_US"));
    if (FCGX_GetParam("REPORT", req->envp) != NULL) {
        /* A small write only fills the buffer; the flush meets the abort,
         * and a stream in error takes nothing more. */
        int put = FCGX_PutStr("late", 4, req->out);
        int flush = FCGX_FFlush(req->out);
        int out_err = FCGX_GetError(req->out);
        int put2 = FCGX_PutStr("more", 4, req->out);

        FCGX_SetExitStatus(5, req->out);
        report(a, "id=%s n=%zu last=%d in_err=%d put=%d flush=%d out_err=%d put2=%d\n",
               id, len, last, FCGX_GetError(req->in), put, flush, out_err, put2);
    } else {
        say(req->out, "id=%s n=%zu sum=%08" PRIx32 "\n", id, len,
            fnv1a(body, len));
        if (FCGX_GetParam("ECHO", req->envp) != NULL)
            FCGX_PutStr(body, (int)len, req->out);
    }
    free(body);
    __atomic_add_fetch(&app_served, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&app_running, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Waits until n threads are about to call FCGX_Accept_r, gives them time
 * to get there, and tells the test. */
static void
signal_ready(struct mapp *a, int n)
{
    char b = 'r';

    while (__atomic_load_n(&app_started, __ATOMIC_SEQ_CST) < n)
        usleep(1000);
    usleep(200000);
    if (write(a->ready[1], &b, 1) != 1)
        _exit(33);
}

#define MAX_APP_THREADS 16

/* The threads, joined before the process exits: threads still running at
 * exit leave their thread-local storage for valgrind to call lost. */
static pthread_t app_tids[MAX_APP_THREADS];
static int app_ntids;
static pthread_mutex_t app_tids_lock = PTHREAD_MUTEX_INITIALIZER;
static int app_quitting;
static int app_grown;       /* the threads after the first were started */
static int app_quit_pipe[2];

static void *app_thread(void *arg);

static void
start_threads(struct mapp *a, int n)
{
    int i;

    pthread_mutex_lock(&app_tids_lock);
    for (i = 0; i < n; i++) {
        if (app_ntids == MAX_APP_THREADS
            || pthread_create(&app_tids[app_ntids], NULL, app_thread, a) != 0)
            _exit(APP_INIT_FAILED);
        app_ntids++;
    }
    pthread_mutex_unlock(&app_tids_lock);
}

static void *
app_thread(void *arg)
{
    struct mapp *a = arg;
    FCGX_Request req;

    if (FCGX_InitRequest(&req, a->lfd, 0) != 0)
        _exit(APP_INIT_FAILED);
    __atomic_add_fetch(&app_started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        if (FCGX_Accept_r(&req) < 0) {
            /* After QUIT every thread leaves FCGX_Accept_r this way. */
            if (__atomic_load_n(&app_quitting, __ATOMIC_SEQ_CST))
                break;
            _exit(APP_ACCEPT_FAILED);
        }
        if (handle(a, &req)) {
            char b = 'q';

            FCGX_Finish_r(&req);
            __atomic_store_n(&app_quitting, 1, __ATOMIC_SEQ_CST);
            FCGX_ShutdownPending();
            if (write(app_quit_pipe[1], &b, 1) != 1)
                _exit(34);
            continue;
        }
        FCGX_Finish_r(&req);
        if (a->grow && !__atomic_exchange_n(&app_grown, 1, __ATOMIC_SEQ_CST)) {
            /* The process's capacity grows while its connections are kept. */
            start_threads(a, a->threads - 1);
            signal_ready(a, a->threads);
        }
    }
    FCGX_Free(&req, 1);
    return NULL;
}

static void
app_main(void *arg)
{
    struct mapp *a = arg;
    char b;
    int i;

    close(a->side[0]);
    close(a->ready[0]);
    for (i = 0; a->env != NULL && a->env[i] != NULL; i += 2)
        setenv(a->env[i], a->env[i + 1], 1);
    if (pipe(app_quit_pipe) != 0 || FCGX_Init() != 0)
        _exit(APP_INIT_FAILED);
    start_threads(a, a->grow ? 1 : a->threads);
    signal_ready(a, a->grow ? 1 : a->threads);
    /* A QUIT request ends the process (the fixture's kill otherwise); by
     * then every thread has been started. */
    if (read(app_quit_pipe[0], &b, 1) != 1)
        _exit(35);
    pthread_mutex_lock(&app_tids_lock);
    for (i = 0; i < app_ntids; i++)
        pthread_join(app_tids[i], NULL);
    pthread_mutex_unlock(&app_tids_lock);
    _exit(APP_OK);
}

static void
app_start(struct mapp *a, int threads, int grow, const char *const *env)
{
    memset(a, 0, sizeof(*a));
    a->threads = threads;
    a->grow = grow;
    a->env = env;
    snprintf(a->addr, sizeof(a->addr), "%s/app.sock", tmpdir);
    a->lfd = FCGX_OpenSocket(a->addr, 64);
    ck_assert_msg(a->lfd >= 0, "FCGX_OpenSocket: %s", strerror(errno));
    ck_assert_int_eq(pipe(a->side), 0);
    ck_assert_int_eq(pipe(a->ready), 0);
    a->pid = spawn(app_main, a);
    close(a->lfd);
    close(a->side[1]);
    close(a->ready[1]);
}

static void
app_close_pipes(struct mapp *a)
{
    close(a->side[0]);
    close(a->ready[0]);
}

/* Reads one '\n'-ended line from fd into buf; 0, or -1 on timeout/EOF. */
static int
read_line(int fd, char *buf, size_t size, int timeout_ms)
{
    size_t n = 0;

    while (n + 1 < size) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        if (poll(&p, 1, timeout_ms) != 1 || read(fd, buf + n, 1) != 1)
            break;
        if (buf[n++] == '\n') {
            buf[n] = '\0';
            return 0;
        }
    }
    buf[n] = '\0';
    return -1;
}

static void
app_wait_ready(struct mapp *a)
{
    struct pollfd p = { .fd = a->ready[0], .events = POLLIN };
    char b;

    ck_assert_msg(poll(&p, 1, peer_ms(PEER_TIMEOUT_MS)) == 1 && read(a->ready[0], &b, 1) == 1,
                  "the application's threads did not start");
}

/* A connection to the application once its threads are in FCGX_Accept_r. */
static int
app_connect(struct mapp *a)
{
    int fd;

    app_wait_ready(a);
    fd = peer_connect(a->addr);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* Ends the application with a QUIT request on a new connection; returns
 * what it measured and asserts that it exited cleanly. */
static void
app_quit(struct mapp *a, int *maxc, int *served)
{
    static const char *const quit[] = { "QUIT", "1", NULL };
    peer_response r;
    int fd = peer_connect(a->addr);
    int rc;

    ck_assert_int_ge(fd, 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, quit, NULL, 0), 0);
    rc = peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS));
    close(fd);
    ck_assert_msg(rc == 0, "QUIT not answered");
    ck_assert_msg(sscanf(txt(&r.out), "maxc=%d served=%d\n", maxc, served) == 2,
                  "QUIT answered \"%s\"", txt(&r.out));
    peer_response_free(&r);
    app_close_pipes(a);
    ck_assert_int_eq(reap(a->pid, peer_ms(PEER_TIMEOUT_MS)), APP_OK);
}

/* ------------------------------------------------------------------ */
/* Requests on one connection, the test side.                          */

#define MAX_EXTRA 8

struct mreq {
    int id;
    int flags;              /* PEER_KEEP_CONN or 0 */
    int echo;               /* ECHO=1: the stdin comes back too */
    int noread;             /* NOREAD=1: the handler leaves stdin unread */
    const char *extra[MAX_EXTRA * 2 + 1]; /* more NAME, VALUE pairs, NULL-ended */
    unsigned char *body;
    size_t len;
    /* What came back for this id. */
    peer_buf out;
    peer_buf err;
    int out_eos;
    int err_eos;
    int ended;
    uint32_t app_status;
    int protocol_status;
    long first_seq;         /* number of its first record on the connection */
    long end_seq;           /* and of its END_REQUEST */
    int late;               /* records after its stream's end or END_REQUEST */
};

struct batch {
    struct mreq *reqs;
    int n;
    int *index;             /* request id -> position in reqs, or -1 */
    peer_buf wire;          /* records to send */
    size_t sent;            /* of wire, by batch_run */
    int send_err;
    /* Reading. */
    unsigned char *in;      /* received, not yet a whole record */
    size_t in_len;
    size_t in_cap;
    long seq;               /* records received */
    int n_ended;
    int closed;
    int timed_out;
    int malformed;          /* bad version or cut-off record */
    int stray;              /* records of ids or types we did not expect */
};

/* xorshift32: every run sends the same bytes in the same order. */
static uint32_t
rng_next(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void
batch_init(struct batch *b, int n)
{
    int i;

    memset(b, 0, sizeof(*b));
    b->n = n;
    b->reqs = peer_realloc(NULL, (size_t)n * sizeof(*b->reqs));
    memset(b->reqs, 0, (size_t)n * sizeof(*b->reqs));
    b->index = peer_realloc(NULL, 65536 * sizeof(int));
    for (i = 0; i < 65536; i++)
        b->index[i] = -1;
}

/* Forgets what was sent and received, keeps the requests' descriptions,
 * so the same requests can run again on the connection. */
static void
batch_reset(struct batch *b)
{
    int i;

    for (i = 0; i < b->n; i++) {
        struct mreq *q = &b->reqs[i];

        peer_buf_free(&q->out);
        peer_buf_free(&q->err);
        q->out_eos = q->err_eos = q->ended = q->late = 0;
        q->app_status = 0;
        q->protocol_status = 0;
        q->first_seq = q->end_seq = 0;
    }
    peer_buf_free(&b->wire);
    peer_free(b->in);
    b->in = NULL;
    b->in_len = b->in_cap = b->sent = 0;
    b->send_err = 0;
    b->seq = 0;
    b->n_ended = b->closed = b->timed_out = b->malformed = b->stray = 0;
}

static void
batch_free(struct batch *b)
{
    int i;

    batch_reset(b);
    for (i = 0; i < b->n; i++)
        peer_free(b->reqs[i].body);
    peer_free(b->reqs);
    peer_free(b->index);
    memset(b, 0, sizeof(*b));
}

/* Sets request i: its id, flags and a body of len pseudo-random bytes. */
static void
batch_set(struct batch *b, int i, int id, int flags, int echo, size_t len)
{
    struct mreq *q = &b->reqs[i];
    uint32_t s = (uint32_t)id * 2654435761u | 1;
    size_t j;

    ck_assert_int_eq(b->index[id], -1);
    q->id = id;
    q->flags = flags;
    q->echo = echo;
    peer_free(q->body);
    q->body = peer_realloc(NULL, len);
    q->len = len;
    for (j = 0; j < len; j++)
        q->body[j] = (unsigned char)(rng_next(&s) >> 11);
    b->index[id] = i;
}

static void
batch_extra(struct batch *b, int i, const char *name, const char *value)
{
    struct mreq *q = &b->reqs[i];
    int k = 0;

    while (q->extra[k] != NULL)
        k += 2;
    ck_assert_int_lt(k, MAX_EXTRA * 2);
    q->extra[k] = name;
    q->extra[k + 1] = value;
    q->extra[k + 2] = NULL;
}

static void
rec_add(peer_buf *w, int type, int id, const void *p, size_t len, size_t pad)
{
    static const unsigned char zeros[255];
    unsigned char h[8];

    peer_header(h, 1, type, id, len, pad);
    peer_buf_add(w, h, sizeof(h));
    peer_buf_add(w, p, len);
    peer_buf_add(w, zeros, pad);
}

static void
wire_begin(struct batch *b, int i)
{
    unsigned char body[8] = { 0, PEER_RESPONDER, 0 };

    body[2] = (unsigned char)b->reqs[i].flags;
    rec_add(&b->wire, PEER_BEGIN_REQUEST, b->reqs[i].id, body, sizeof(body), 0);
}

static void
encode_params(const struct mreq *q, peer_buf *enc)
{
    char id[8];
    int k;

    snprintf(id, sizeof(id), "%d", q->id);
    peer_nv_encode(enc, "ID", 2, id, strlen(id), 0);
    if (q->echo)
        peer_nv_encode(enc, "ECHO", 4, "1", 1, 0);
    if (q->noread)
        peer_nv_encode(enc, "NOREAD", 6, "1", 1, 0);
    for (k = 0; q->extra[k] != NULL; k += 2)
        peer_nv_encode(enc, q->extra[k], strlen(q->extra[k]), q->extra[k + 1],
                       strlen(q->extra[k + 1]), 0);
}

/*
 * Appends stream `type` of requests [from, to) as records interleaved in a
 * pseudo-random order; each request's records keep their own order and end
 * with the empty record.  Record sizes are drawn from sizes[], padding from
 * 0..7.  PARAMS carry each request's encoded parameters, STDIN its body.
 */
static void
wire_interleave(struct batch *b, int type, int from, int to, const size_t *sizes,
                size_t n_sizes, uint32_t seed)
{
    int n = to - from;
    peer_buf *enc = peer_realloc(NULL, (size_t)n * sizeof(*enc));
    size_t *pos = peer_realloc(NULL, (size_t)n * sizeof(*pos));
    int *done = peer_realloc(NULL, (size_t)n * sizeof(*done));
    int left = n;
    int i;

    for (i = 0; i < n; i++) {
        memset(&enc[i], 0, sizeof(enc[i]));
        pos[i] = 0;
        done[i] = 0;
        if (type == PEER_PARAMS)
            encode_params(&b->reqs[from + i], &enc[i]);
    }
    while (left > 0) {
        int k = (int)(rng_next(&seed) % (uint32_t)left);
        const unsigned char *data;
        size_t len;
        size_t take;

        for (i = 0; done[i] || k-- > 0; i++) {
        }
        data = type == PEER_PARAMS ? enc[i].data : b->reqs[from + i].body;
        len = type == PEER_PARAMS ? enc[i].len : b->reqs[from + i].len;
        take = sizes[rng_next(&seed) % n_sizes];
        if (take > len - pos[i])
            take = len - pos[i];
        rec_add(&b->wire, type, b->reqs[from + i].id, data + pos[i], take,
                rng_next(&seed) % 8);
        pos[i] += take;
        if (take == 0) {
            done[i] = 1;
            left--;
        }
    }
    for (i = 0; i < n; i++)
        peer_buf_free(&enc[i]);
    peer_free(enc);
    peer_free(pos);
    peer_free(done);
}

static const size_t odd_sizes[] = { 1, 7, 333, 4093 };
static const size_t param_sizes[] = { 1, 3, 5, 64 };

/* BEGIN of requests [from, to), then their PARAMS interleaved, then their
 * STDIN interleaved in records of the given sizes. */
static void
wire_requests(struct batch *b, int from, int to, const size_t *sizes, size_t n_sizes,
              uint32_t seed)
{
    int i;

    for (i = from; i < to; i++)
        wire_begin(b, i);
    wire_interleave(b, PEER_PARAMS, from, to, param_sizes, 4, seed);
    wire_interleave(b, PEER_STDIN, from, to, sizes, n_sizes, seed * 7 + 1);
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Files one record under its request. */
static void
take(struct batch *b, const unsigned char *h, const unsigned char *c, size_t clen)
{
    int id = (h[2] << 8) | h[3];
    int i = b->index[id];
    struct mreq *q;

    b->seq++;
    if (h[0] != 1)
        b->malformed++;
    if (i < 0) {
        b->stray++;
        return;
    }
    q = &b->reqs[i];
    if (q->first_seq == 0)
        q->first_seq = b->seq;
    switch (h[1]) {
    case PEER_STDOUT:
    case PEER_STDERR: {
        peer_buf *buf = h[1] == PEER_STDOUT ? &q->out : &q->err;
        int *eos = h[1] == PEER_STDOUT ? &q->out_eos : &q->err_eos;

        if (q->ended || *eos)
            q->late++;
        if (clen == 0)
            (*eos)++;
        else
            peer_buf_add(buf, c, clen);
        break;
    }
    case PEER_END_REQUEST:
        if (q->ended || clen != 8) {
            q->late++;
            break;
        }
        q->ended = 1;
        q->end_seq = b->seq;
        q->app_status = ((uint32_t)c[0] << 24) | ((uint32_t)c[1] << 16)
                        | ((uint32_t)c[2] << 8) | c[3];
        q->protocol_status = c[4];
        b->n_ended++;
        break;
    default:
        b->stray++;
        break;
    }
}

/* Files every complete record received; keeps the rest. */
static void
parse_input(struct batch *b)
{
    size_t off = 0;

    while (b->in_len - off >= 8) {
        const unsigned char *h = b->in + off;
        size_t clen = ((size_t)h[4] << 8) | h[5];
        size_t total = 8 + clen + h[6];

        if (b->in_len - off < total)
            break;
        take(b, h, h + 8, clen);
        off += total;
    }
    if (off > 0) { /* b->in may still be NULL when nothing came */
        memmove(b->in, b->in + off, b->in_len - off);
        b->in_len -= off;
    }
}

/*
 * Reads records until `ends` requests have ended (ends < 0: until the
 * application closes the connection), the connection closes or timeout_ms
 * pass; with `sending`, sends the rest of the wire meanwhile.  One thread
 * writes and reads at once, as a web server does, so neither side's buffers
 * fill up for good.  Returns 0 when the condition held and all was sent.
 */
static int
batch_pump(int fd, struct batch *b, int ends, int sending, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int want_out = sending && b->send_err == 0 && b->sent < b->wire.len;
        long long left;

        parse_input(b);
        if (ends >= 0 && b->n_ended >= ends && !want_out)
            return b->send_err == 0 ? 0 : -1;
        if (b->closed) {
            if (b->in_len > 0)
                b->malformed++;     /* cut off inside a record */
            return ends < 0 && b->send_err == 0 ? 0 : -1;
        }
        left = deadline - now_ms();
        if (left <= 0) {
            b->timed_out = 1;
            return -1;
        }
        if (want_out)
            pfd.events |= POLLOUT;
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        if (pfd.revents & POLLOUT) {
            size_t n = b->wire.len - b->sent;
            ssize_t w = send(fd, b->wire.data + b->sent, n < 65536 ? n : 65536, MSG_NOSIGNAL);

            if (w > 0)
                b->sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                b->send_err = errno;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r;

            if (b->in_cap - b->in_len < 65536) {
                b->in_cap = b->in_cap ? b->in_cap * 2 : 262144;
                b->in = peer_realloc(b->in, b->in_cap);
            }
            r = recv(fd, b->in + b->in_len, b->in_cap - b->in_len, 0);
            if (r > 0)
                b->in_len += (size_t)r;
            else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                b->closed = 1;      /* end of stream or reset */
        }
    }
}

static int
batch_read(int fd, struct batch *b, int ends, int timeout_ms)
{
    return batch_pump(fd, b, ends, 0, timeout_ms);
}

/* Sends the whole wire while reading, until every request has ended. */
static void
batch_run(int fd, struct batch *b)
{
    int rc;

    b->sent = 0;
    rc = batch_pump(fd, b, b->n, 1, peer_ms(PEER_TIMEOUT_MS));
    ck_assert_msg(b->send_err == 0, "sending failed after %zu of %zu bytes: %s", b->sent,
                  b->wire.len, strerror(b->send_err));
    ck_assert_msg(rc == 0, "%d of %d requests ended (%s)", b->n_ended, b->n,
                  b->closed ? "connection closed" : "timed out");
}

/* Nothing arrived that does not belong to one of the requests. */
static void
batch_expect_clean(const struct batch *b)
{
    ck_assert_int_eq(b->malformed, 0);
    ck_assert_int_eq(b->stray, 0);
    ck_assert_msg(b->in_len == 0, "%zu bytes after the last record", b->in_len);
}

/* Request i's answer is exactly what the application must have said. */
static void
expect_reply(const struct batch *b, int i)
{
    const struct mreq *q = &b->reqs[i];
    size_t len = q->noread ? 0 : q->len;
    char head[96];
    size_t hl = (size_t)snprintf(head, sizeof(head), "id=%d n=%zu sum=%08" PRIx32 "\n",
                                 q->id, len, fnv1a(q->body, len));
    size_t want = hl + (q->echo ? len : 0);

    ck_assert_msg(q->ended, "id %d: no END_REQUEST", q->id);
    ck_assert_msg(q->protocol_status == FCGI_REQUEST_COMPLETE && q->app_status == 0,
                  "id %d: END_REQUEST app %" PRIu32 " protocol %d", q->id, q->app_status,
                  q->protocol_status);
    ck_assert_msg(q->out.len == want && memcmp(q->out.data, head, hl) == 0
                      && (!q->echo || memcmp(q->out.data + hl, q->body, len) == 0),
                  "id %d: stdout is %zu bytes \"%.60s\", want %zu bytes \"%s\"", q->id,
                  q->out.len, txt(&q->out), want, head);
    ck_assert_msg(q->out_eos == 1, "id %d: %d ends of stdout", q->id, q->out_eos);
    ck_assert_msg(q->err.len == 0 && q->err_eos == 0, "id %d: stderr \"%s\" (%d ends)", q->id,
                  txt(&q->err), q->err_eos);
    ck_assert_msg(q->late == 0, "id %d: %d records after its end", q->id, q->late);
}

static void
batch_expect_all(const struct batch *b)
{
    int i;

    batch_expect_clean(b);
    for (i = 0; i < b->n; i++)
        expect_reply(b, i);
}

/* Request i was refused at once with protocol status `status`. */
static void
expect_refused(const struct batch *b, int i, int status)
{
    const struct mreq *q = &b->reqs[i];

    ck_assert_msg(q->ended, "id %d: no END_REQUEST", q->id);
    ck_assert_msg(q->protocol_status == status, "id %d: protocol status %d, want %d", q->id,
                  q->protocol_status, status);
    ck_assert_msg(q->out.len == 0 && q->out_eos == 0 && q->err.len == 0 && q->err_eos == 0,
                  "id %d: output from a refused request", q->id);
}

static void
expect_values(int fd, const char *conns, const char *reqs, const char *mpxs)
{
    static const char *const names[] = {
        "FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", NULL
    };
    peer_response r;
    int rc;

    peer_response_init(&r);
    ck_assert_int_eq(peer_get_values(fd, names), 0);
    rc = peer_read(fd, &r, 0, PEER_UNTIL_MGMT, peer_ms(PEER_TIMEOUT_MS));
    ck_assert_msg(rc == 0, "no GET_VALUES_RESULT");
    ck_assert_int_eq(r.n_values, 3);
    ck_assert_str_eq(peer_value(&r, "FCGI_MAX_CONNS"), conns);
    ck_assert_str_eq(peer_value(&r, "FCGI_MAX_REQS"), reqs);
    ck_assert_str_eq(peer_value(&r, "FCGI_MPXS_CONNS"), mpxs);
    peer_response_free(&r);
}

/* ------------------------------------------------------------------ */
/* Interleaved requests.                                               */

/* n requests with ids spread over the 16-bit range (from 0xffff down),
 * bodies of 0 to ~9 KB, all kept. */
static void
round_of(struct batch *b, int n, int round, int echo)
{
    int i;

    batch_init(b, n);
    for (i = 0; i < n; i++) {
        int id = 65535 - round * 1000 - i * 7;
        size_t len = i % 9 == 4 ? 0 : (size_t)((i * 2477 + round * 311) % 9000);

        batch_set(b, i, id, PEER_KEEP_CONN, echo, len);
        batch_extra(b, i, "WORK_US", "1000");
    }
    wire_requests(b, 0, n, odd_sizes, 4, 12345u + (uint32_t)round);
}

START_TEST(interleaved_rounds)
{
    static const int sizes[] = { 2, 16, 100 };
    struct mapp a;
    int fd;
    int round;
    int maxc;
    int served;
    int total = 0;

    app_start(&a, 16, 0, NULL);
    fd = app_connect(&a);
    for (round = 0; round < 3; round++) {
        struct batch b;

        round_of(&b, sizes[round], round, 1);
        batch_run(fd, &b);
        batch_expect_all(&b);
        batch_free(&b);
        total += sizes[round];
    }
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, total);
    ck_assert_msg(maxc > 1 && maxc <= 16, "at most %d handlers ran at once", maxc);
}
END_TEST

/* 16 bodies of ~100 KB in odd-size records, interleaved, echoed back. */
START_TEST(interleaved_large_bodies)
{
    static const size_t sizes[] = { 1, 7, 333, 4093, 8191, 65535 };
    struct mapp a;
    struct batch b;
    int fd;
    int i;
    int maxc;
    int served;

    app_start(&a, 16, 0, NULL);
    fd = app_connect(&a);
    batch_init(&b, 16);
    for (i = 0; i < 16; i++)
        batch_set(&b, i, i + 1, PEER_KEEP_CONN, 1, 100000 + (size_t)i * 13);
    wire_requests(&b, 0, 16, sizes, 6, 777);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 16);
}
END_TEST

/* Four requests arrive at once on a new connection of a process whose
 * four threads wait in FCGX_Accept_r: all four handlers must start while
 * the connection stays quiet.  Repeated, as it depends on where each
 * thread is when the requests are demultiplexed. */
START_TEST(idle_threads_take_every_request)
{
    struct mapp a;
    int it;
    int i;
    int maxc;
    int served;

    app_start(&a, 4, 0, NULL);
    app_wait_ready(&a);
    for (it = 0; it < 200; it++) {
        struct batch b;
        char line[64];
        int started = 0;
        int rc;
        int fd = peer_connect(a.addr);

        ck_assert_int_ge(fd, 0);
        batch_init(&b, 4);
        for (i = 0; i < 4; i++) {
            batch_set(&b, i, i + 1, 0, 0, 2);
            batch_extra(&b, i, "STOP_AT", "1");
        }
        for (i = 0; i < 4; i++)
            wire_begin(&b, i);
        wire_interleave(&b, PEER_PARAMS, 0, 4, param_sizes, 4, 71);
        for (i = 0; i < 4; i++)
            rec_add(&b.wire, PEER_STDIN, i + 1, b.reqs[i].body, 1, 0);
        ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
        /* Each handler reports once it has its first byte. */
        while (started < 4
               && read_line(a.side[0], line, sizeof(line), peer_ms(2000)) == 0)
            started++;
        ck_assert_msg(started == 4, "round %d: %d of 4 complete requests started", it,
                      started);
        peer_buf_free(&b.wire);
        for (i = 0; i < 4; i++) {
            rec_add(&b.wire, PEER_STDIN, i + 1, b.reqs[i].body + 1, 1, 0);
            rec_add(&b.wire, PEER_STDIN, i + 1, NULL, 0, 0);
        }
        ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
        rc = batch_read(fd, &b, -1, peer_ms(PEER_TIMEOUT_MS));
        ck_assert_msg(rc == 0, "round %d: %d of 4 ended, no close", it, b.n_ended);
        batch_expect_all(&b);
        batch_free(&b);
        close(fd);
    }
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 800);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGI_ABORT_REQUEST.                                                 */

/* Four requests; the second is aborted while its handler waits for more
 * stdin.  Its handler sees the abort on both streams, its END_REQUEST
 * comes alone, the others complete, and the id can be used again. */
START_TEST(abort_mid_stream)
{
    struct mapp a;
    struct batch b;
    struct batch again;
    char line[256];
    char want[256];
    int fd;
    int i;
    int maxc;
    int served;

    app_start(&a, 4, 0, NULL);
    fd = app_connect(&a);
    batch_init(&b, 4);
    for (i = 0; i < 4; i++)
        batch_set(&b, i, i + 1, PEER_KEEP_CONN, 0, 3000);
    batch_extra(&b, 1, "STOP_AT", "1000");
    batch_extra(&b, 1, "REPORT", "1");
    for (i = 0; i < 4; i++)
        wire_begin(&b, i);
    wire_interleave(&b, PEER_PARAMS, 0, 4, param_sizes, 4, 99);
    /* The first 1000 bytes of every body, then wait for handler 2. */
    for (i = 0; i < 4; i++)
        rec_add(&b.wire, PEER_STDIN, i + 1, b.reqs[i].body, 1000, 0);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    ck_assert_msg(read_line(a.side[0], line, sizeof(line), peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "handler 2 did not report (\"%s\")", line);
    ck_assert_str_eq(line, "id=2 got=1000\n");
    ck_assert_int_eq(peer_abort(fd, 2), 0);
    /* What handler 2 saw: a short read, then ECONNABORTED on both streams. */
    ck_assert_msg(read_line(a.side[0], line, sizeof(line), peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "handler 2 did not report after the abort (\"%s\")", line);
    snprintf(want, sizeof(want),
             "id=2 n=1000 last=0 in_err=%d put=4 flush=-1 out_err=%d put2=-1\n",
             ECONNABORTED, ECONNABORTED);
    ck_assert_str_eq(line, want);
    /* The rest of the others' bodies. */
    peer_buf_free(&b.wire);
    for (i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        rec_add(&b.wire, PEER_STDIN, i + 1, b.reqs[i].body + 1000, 2000, 3);
        rec_add(&b.wire, PEER_STDIN, i + 1, NULL, 0, 0);
    }
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    ck_assert_msg(batch_read(fd, &b, 4, peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "%d of 4 requests ended", b.n_ended);
    batch_expect_clean(&b);
    for (i = 0; i < 4; i++)
        if (i != 1)
            expect_reply(&b, i);
    /* Request 2: its output dropped, END_REQUEST alone, with its status. */
    ck_assert_int_eq(b.reqs[1].protocol_status, FCGI_REQUEST_COMPLETE);
    ck_assert_uint_eq(b.reqs[1].app_status, 5);
    ck_assert_msg(b.reqs[1].out.len == 0 && b.reqs[1].out_eos == 0 && b.reqs[1].err_eos == 0,
                  "aborted request sent \"%s\" (%d ends)", txt(&b.reqs[1].out),
                  b.reqs[1].out_eos);
    ck_assert_int_eq(b.reqs[1].late, 0);
    batch_free(&b);

    /* The connection goes on; id 2 is free again. */
    batch_init(&again, 2);
    batch_set(&again, 0, 2, PEER_KEEP_CONN, 1, 500);
    batch_set(&again, 1, 3, PEER_KEEP_CONN, 1, 700);
    wire_requests(&again, 0, 2, odd_sizes, 4, 5);
    batch_run(fd, &again);
    batch_expect_all(&again);
    batch_free(&again);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 6);
}
END_TEST

/* An abort of a request that no thread has taken yet ends it at once:
 * the one thread is busy with request 1, request 2 waits for it. */
START_TEST(abort_before_accept)
{
    static const char *const env[] = { "FCGI_MAX_REQS", "4", NULL };
    struct mapp a;
    struct batch b;
    char line[64];
    int fd;
    int maxc;
    int served;

    app_start(&a, 1, 0, env);
    fd = app_connect(&a);
    batch_init(&b, 2);
    batch_set(&b, 0, 1, PEER_KEEP_CONN, 1, 2000);
    batch_set(&b, 1, 2, PEER_KEEP_CONN, 1, 10);
    batch_extra(&b, 0, "STOP_AT", "500");
    wire_begin(&b, 0);
    wire_interleave(&b, PEER_PARAMS, 0, 1, param_sizes, 4, 3);
    rec_add(&b.wire, PEER_STDIN, 1, b.reqs[0].body, 500, 0);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    ck_assert_msg(read_line(a.side[0], line, sizeof(line), peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "handler 1 did not start");
    ck_assert_str_eq(line, "id=1 got=500\n");
    /* Request 2 complete but for its stdin's end, then aborted. */
    peer_buf_free(&b.wire);
    wire_begin(&b, 1);
    wire_interleave(&b, PEER_PARAMS, 1, 2, param_sizes, 4, 4);
    rec_add(&b.wire, PEER_STDIN, 2, b.reqs[1].body, 10, 6);
    rec_add(&b.wire, PEER_ABORT_REQUEST, 2, NULL, 0, 0);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    ck_assert_msg(batch_read(fd, &b, 1, peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "no END_REQUEST for the aborted request");
    ck_assert_int_eq(b.reqs[1].ended, 1);
    ck_assert_int_eq(b.reqs[0].ended, 0);
    expect_refused(&b, 1, FCGI_REQUEST_COMPLETE);
    /* Request 1 goes on. */
    peer_buf_free(&b.wire);
    rec_add(&b.wire, PEER_STDIN, 1, b.reqs[0].body + 500, 1500, 4);
    rec_add(&b.wire, PEER_STDIN, 1, NULL, 0, 0);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    ck_assert_int_eq(batch_read(fd, &b, 2, peer_ms(PEER_TIMEOUT_MS)), 0);
    batch_expect_clean(&b);
    expect_reply(&b, 0);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    /* Request 2's handler never ran. */
    ck_assert_int_eq(served, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGI_GET_VALUES and one thread.                                     */

/* One thread, no FCGI_MAX_REQS: no multiplexing, as before. */
START_TEST(values_one_thread)
{
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 1, 0, NULL);
    fd = app_connect(&a);
    expect_values(fd, "1", "1", "0");
    batch_init(&b, 2);
    batch_set(&b, 0, 1, 0, 1, 3);
    batch_set(&b, 1, 2, 0, 1, 3);
    wire_begin(&b, 0);
    wire_interleave(&b, PEER_PARAMS, 0, 1, param_sizes, 4, 8);
    wire_begin(&b, 1);
    wire_interleave(&b, PEER_STDIN, 0, 1, odd_sizes, 4, 9);
    batch_run(fd, &b);
    batch_expect_clean(&b);
    expect_refused(&b, 1, FCGI_CANT_MPX_CONN);
    expect_reply(&b, 0);
    ck_assert_msg(b.reqs[1].end_seq < b.reqs[0].end_seq, "refusal after the served request");
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(maxc, 1);
}
END_TEST

/* 16 threads in FCGX_Accept_r: FCGI_MAX_REQS=16, multiplexed. */
START_TEST(values_threads)
{
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 16, 0, NULL);
    fd = app_connect(&a);
    expect_values(fd, "16", "16", "1");
    round_of(&b, 3, 0, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    /* Asked again on a connection in use: the same. */
    expect_values(fd, "16", "16", "1");
    close(fd);
    app_quit(&a, &maxc, &served);
}
END_TEST

/* A kept connection of a process with one thread multiplexes once the
 * process has more: its next GET_VALUES and requests say so. */
START_TEST(values_grow_on_kept_connection)
{
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 8, 1, NULL);
    app_wait_ready(&a);  /* the first thread */
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    expect_values(fd, "1", "1", "0");
    batch_init(&b, 1);
    batch_set(&b, 0, 9, PEER_KEEP_CONN, 1, 100);
    wire_requests(&b, 0, 1, odd_sizes, 4, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    app_wait_ready(&a);  /* the other seven, started after that request */
    expect_values(fd, "8", "8", "1");
    round_of(&b, 8, 1, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 9);
    ck_assert_msg(maxc > 1, "at most %d handlers ran at once", maxc);
}
END_TEST

/* FCGI_MAX_REQS=8 with one thread: multiplexed, served one by one. */
START_TEST(values_max_reqs_env)
{
    static const char *const env[] = { "FCGI_MAX_REQS", "8", NULL };
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 1, 0, env);
    fd = app_connect(&a);
    expect_values(fd, "8", "8", "1");
    round_of(&b, 3, 0, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 3);
    ck_assert_int_eq(maxc, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Flow control.                                                       */

/* A: slow to read, B: after A on the wire. */
static void
slow_reader_case(struct batch *b, size_t a_len)
{
    batch_init(b, 2);
    batch_set(b, 0, 1, PEER_KEEP_CONN, 0, a_len);
    batch_set(b, 1, 2, PEER_KEEP_CONN, 0, 5000);
    batch_extra(b, 0, "SLEEP_MS", "500");
    wire_requests(b, 0, 1, odd_sizes, 4, 21);
    wire_requests(b, 1, 2, odd_sizes, 4, 22);
}

/* Below the bound A's input is queued and B goes ahead of it. */
START_TEST(flow_slow_reader_below_bound)
{
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 2, 0, NULL);
    fd = app_connect(&a);
    slow_reader_case(&b, 100 * 1024);
    batch_run(fd, &b);
    batch_expect_all(&b);
    ck_assert_msg(b.reqs[1].end_seq < b.reqs[0].first_seq,
                  "B (records %ld..%ld) was held up behind A (from %ld)",
                  b.reqs[1].first_seq, b.reqs[1].end_seq, b.reqs[0].first_seq);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
}
END_TEST

/* Past the bound reading pauses until A reads, but nothing deadlocks. */
START_TEST(flow_slow_reader_over_bound)
{
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 2, 0, NULL);
    fd = app_connect(&a);
    slow_reader_case(&b, 2 * 1024 * 1024);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
}
END_TEST

/* A request ends without reading the input that paused the connection:
 * reading resumes, the rest of its input is skipped, B and a later
 * request on the connection are served. */
START_TEST(flow_unread_over_bound)
{
    struct mapp a;
    struct batch b;
    int fd;
    int maxc;
    int served;

    app_start(&a, 2, 0, NULL);
    fd = app_connect(&a);
    slow_reader_case(&b, 2 * 1024 * 1024);
    b.reqs[0].noread = 1;
    peer_buf_free(&b.wire);
    wire_requests(&b, 0, 1, odd_sizes, 4, 21);
    wire_requests(&b, 1, 2, odd_sizes, 4, 22);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    round_of(&b, 2, 3, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The web server goes away.                                           */

/* The peer closes a connection while four handlers wait for stdin: each
 * sees an error, and the process serves on. */
START_TEST(peer_closes_mid_requests)
{
    struct mapp a;
    struct batch b;
    char line[256];
    char want[64];
    int seen[4] = { 0 };
    int fd;
    int i;
    int id;
    int maxc;
    int served;

    app_start(&a, 4, 0, NULL);
    fd = app_connect(&a);
    batch_init(&b, 4);
    for (i = 0; i < 4; i++) {
        batch_set(&b, i, i + 1, PEER_KEEP_CONN, 0, 1000);
        batch_extra(&b, i, "STOP_AT", "100");
        batch_extra(&b, i, "REPORT", "1");
    }
    for (i = 0; i < 4; i++)
        wire_begin(&b, i);
    wire_interleave(&b, PEER_PARAMS, 0, 4, param_sizes, 4, 61);
    for (i = 0; i < 4; i++)
        rec_add(&b.wire, PEER_STDIN, i + 1, b.reqs[i].body, 100, 0);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    for (i = 0; i < 4; i++) {
        ck_assert_msg(read_line(a.side[0], line, sizeof(line), peer_ms(PEER_TIMEOUT_MS)) == 0,
                      "%d handlers started", i);
        ck_assert_msg(sscanf(line, "id=%d got=100\n", &id) == 1 && id >= 1 && id <= 4
                          && !seen[id - 1],
                      "report \"%s\"", line);
        seen[id - 1] = 1;
    }
    close(fd);
    for (i = 0; i < 4; i++) {
        int err;

        ck_assert_msg(read_line(a.side[0], line, sizeof(line), peer_ms(PEER_TIMEOUT_MS)) == 0,
                      "%d handlers saw the close", i);
        ck_assert_msg(sscanf(line, "id=%d n=100 last=0 in_err=%d ", &id, &err) == 2 && err != 0,
                      "handler saw \"%s\"", line);
        snprintf(want, sizeof(want), "id=%d n=100 ", id);
        ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "handler saw \"%s\"", line);
    }
    batch_free(&b);
    /* The process serves on. */
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    round_of(&b, 4, 0, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 8);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGI_KEEP_CONN.                                                     */

/* Without FCGI_KEEP_CONN: the connection stays while requests remain,
 * and closes after the last. */
START_TEST(close_after_last_request)
{
    struct mapp a;
    struct batch b;
    int fd;
    int i;
    int maxc;
    int served;

    app_start(&a, 4, 0, NULL);
    fd = app_connect(&a);
    batch_init(&b, 3);
    for (i = 0; i < 3; i++)
        batch_set(&b, i, 10 + i, 0, 1, 2000 + (size_t)i);
    for (i = 0; i < 3; i++)
        wire_begin(&b, i);
    wire_interleave(&b, PEER_PARAMS, 0, 3, param_sizes, 4, 31);
    wire_interleave(&b, PEER_STDIN, 0, 2, odd_sizes, 4, 32);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    /* Two ended, one still waits for its stdin: the connection is open. */
    ck_assert_msg(batch_read(fd, &b, 2, peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "%d requests ended%s", b.n_ended, b.closed ? ", connection closed" : "");
    expect_reply(&b, 0);
    expect_reply(&b, 1);
    peer_buf_free(&b.wire);
    wire_interleave(&b, PEER_STDIN, 2, 3, odd_sizes, 4, 33);
    ck_assert_int_eq(peer_send_raw(fd, b.wire.data, b.wire.len), 0);
    ck_assert_msg(batch_read(fd, &b, -1, peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "the connection was not closed");
    batch_expect_all(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 3);
}
END_TEST

/* With FCGI_KEEP_CONN the connection outlives its requests; a later
 * request without it closes the connection when it ends. */
START_TEST(keep_conn_stays_open)
{
    struct mapp a;
    struct batch b;
    int fd;
    int i;
    int maxc;
    int served;

    app_start(&a, 4, 0, NULL);
    fd = app_connect(&a);
    round_of(&b, 4, 0, 1);
    batch_run(fd, &b);
    batch_expect_all(&b);
    ck_assert_int_eq(b.closed, 0);
    batch_free(&b);
    /* The same connection, two more rounds; the last has one request
     * without FCGI_KEEP_CONN among kept ones. */
    round_of(&b, 4, 1, 0);
    batch_run(fd, &b);
    batch_expect_all(&b);
    batch_free(&b);
    batch_init(&b, 3);
    for (i = 0; i < 3; i++)
        batch_set(&b, i, 100 + i, i == 1 ? 0 : PEER_KEEP_CONN, 1, 50);
    wire_requests(&b, 0, 3, odd_sizes, 4, 41);
    batch_run(fd, &b);
    batch_expect_all(&b);
    ck_assert_msg(batch_read(fd, &b, -1, peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "the connection was not closed");
    batch_expect_clean(&b);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 11);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits.                                                             */

/* At most 256 requests at once on one connection: the rest are refused
 * with FCGI_OVERLOADED and their records skipped. */
START_TEST(overloaded_past_256)
{
    struct mapp a;
    struct batch b;
    int fd;
    int i;
    int maxc;
    int served;

    app_start(&a, 2, 0, NULL);
    fd = app_connect(&a);
    batch_init(&b, 300);
    for (i = 0; i < 300; i++)
        batch_set(&b, i, i + 1, PEER_KEEP_CONN, 0, (size_t)(i % 50));
    wire_requests(&b, 0, 300, odd_sizes, 4, 51);
    batch_run(fd, &b);
    batch_expect_clean(&b);
    for (i = 0; i < 256; i++)
        expect_reply(&b, i);
    for (i = 256; i < 300; i++)
        expect_refused(&b, i, FCGI_OVERLOADED);
    batch_free(&b);
    close(fd);
    app_quit(&a, &maxc, &served);
    ck_assert_int_eq(served, 256);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
mpx_suite(void)
{
    Suite *s = suite_create("mpx");
    TCase *tc;

    tc = tcase(s, "interleaved", 120);
    tcase_add_test(tc, interleaved_rounds);
    tcase_add_test(tc, interleaved_large_bodies);

    tc = tcase(s, "dispatch", 60);
    tcase_add_test(tc, idle_threads_take_every_request);

    tc = tcase(s, "abort", 60);
    tcase_add_test(tc, abort_mid_stream);
    tcase_add_test(tc, abort_before_accept);

    tc = tcase(s, "values", 60);
    tcase_add_test(tc, values_one_thread);
    tcase_add_test(tc, values_threads);
    tcase_add_test(tc, values_grow_on_kept_connection);
    tcase_add_test(tc, values_max_reqs_env);

    tc = tcase(s, "flow", 60);
    tcase_add_test(tc, flow_slow_reader_below_bound);
    tcase_add_test(tc, flow_slow_reader_over_bound);
    tcase_add_test(tc, flow_unread_over_bound);

    tc = tcase(s, "gone", 60);
    tcase_add_test(tc, peer_closes_mid_requests);

    tc = tcase(s, "keep", 60);
    tcase_add_test(tc, close_after_last_request);
    tcase_add_test(tc, keep_conn_stays_open);

    tc = tcase(s, "limits", 60);
    tcase_add_test(tc, overloaded_past_256);

    return s;
}

int
main(void)
{
    return fixture_run(mpx_suite(), "mpx");
}
