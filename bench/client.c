/*
 * client.c: a FastCGI load generator (the web-server side), for `make bench`.
 *
 * Usage: client [options] ADDRESS
 *
 *   ADDRESS      /path/to/socket, HOST:PORT or [HOST]:PORT (see address.h)
 *   -r KIND      hello (default), big (response of -s bytes), echo (POST of
 *                -s bytes, echoed back) or split (-s bytes written by the
 *                app in three flushed pieces); bench/app.c serves all four
 *   -s BYTES     body size for big, echo (default 1 MiB) and split (20 KiB)
 *   -C BYTES     the app's write chunk for big and echo (default 65536)
 *   -c CONNS     connections (default 1)
 *   -T THREADS   client threads; connections are spread over them (default 1)
 *   -K           connection per request (FCGI_KEEP_CONN off, as nginx's
 *                default fastcgi_keep_conn off); default: keep connections
 *   -n COUNT     measured requests (default 10000)
 *   -d SECONDS   measure for SECONDS instead of a count
 *   -w COUNT     warm-up requests before measuring (default 0)
 *   -p NAME=VAL  add a param, or replace a default one (repeatable)
 *   -V           check byte counts only, not the body bytes themselves
 *   -t SECONDS   give up (exit 1) when no progress for SECONDS (default 10)
 *
 * Every response is checked: records well formed and for request id 1,
 * nothing on stderr, the stdout stream closed, FCGI_END_REQUEST with
 * FCGI_REQUEST_COMPLETE and app status 0, a Content-Length header equal to
 * the body received and to what the kind expects, and (without -V) the
 * body bytes themselves.  The first bad response stops the run (exit 1).
 *
 * Output, one line of NAME=VALUE for scripts: the measured requests, the
 * time they took, requests per second, latency percentiles in microseconds
 * and the total of responses (warm-up included):
 *   requests= seconds= rps= p50_us= p90_us= p99_us= max_us= total=
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "pattern.h"

enum {
    REC_BEGIN_REQUEST = 1,
    REC_END_REQUEST = 3,
    REC_PARAMS = 4,
    REC_STDIN = 5,
    REC_STDOUT = 6,
    REC_STDERR = 7,
    ROLE_RESPONDER = 1,
    FLAG_KEEP_CONN = 1,
    MAX_RECORD = 65528,         /* largest content that needs no padding */
    RBUF_SIZE = 256 * 1024,
    HEAD_MAX = 4096
};

enum kind { KIND_HELLO, KIND_BIG, KIND_ECHO, KIND_SPLIT };

static const char hello_body[] = "Hello, world!\n";

/* The run, fixed before the threads start. */
static struct bench_address address;
static enum kind kind = KIND_HELLO;
static long body_size = -1;
static long app_chunk = 65536;
static int nconns = 1;
static int nthreads = 1;
static int keep_conn = 1;
static long measured = 10000;
static double duration;         /* > 0: measure by time, not count */
static long warmup;
static int check_bytes = 1;
static int stall_seconds = 10;

static unsigned char *request;  /* the request bytes, the same every time */
static size_t request_len;
static long expect_len;         /* the body every response must carry */
static char *pattern;

/* Shared progress. */
static long issued;
static long completed;
static int64_t measure_start_ns;        /* 0 until warm-up is over */
static int64_t deadline_ns;             /* duration mode */

struct conn {
    int fd;
    int busy;                   /* a request is in flight */
    long on_conn;               /* responses on this connection so far */
    size_t woff;                /* request bytes written */
    int64_t t0;
    /* record decoder */
    unsigned char hdr[8];
    size_t hlen;
    int type;
    size_t content_left;
    size_t pad_left;
    unsigned char end[8];
    size_t end_len;
    /* response */
    int stdout_closed;
    char head[HEAD_MAX];
    size_t head_len;
    int head_done;
    long content_length;
    long body_len;
    unsigned char *rbuf;
};

struct thread {
    pthread_t tid;
    struct conn *conns;
    int nconns;
    int64_t *lat;               /* measured latencies, ns */
    size_t nlat, cap;
    int64_t last_done;
};

static void
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- building the request ------------------------------------------- */

struct bytes {
    unsigned char *p;
    size_t len, cap;
};

static void
bytes_add(struct bytes *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;

        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL)
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void
put_record(struct bytes *b, int type, const void *content, size_t n)
{
    static const unsigned char zeros[8];
    unsigned char h[8];
    size_t pad = (8 - n % 8) % 8;

    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = 0;
    h[3] = 1;                   /* request id 1 */
    h[4] = (unsigned char)(n >> 8);
    h[5] = (unsigned char)n;
    h[6] = (unsigned char)pad;
    h[7] = 0;
    bytes_add(b, h, 8);
    if (n > 0)
        bytes_add(b, content, n);
    bytes_add(b, zeros, pad);
}

/* A stream's content as records of at most MAX_RECORD, then its end. */
static void
put_stream(struct bytes *b, int type, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t len = n < MAX_RECORD ? n : MAX_RECORD;

        put_record(b, type, p, len);
        p += len;
        n -= len;
    }
    put_record(b, type, NULL, 0);
}

static void
put_length(struct bytes *b, size_t n)
{
    unsigned char l[4];

    if (n < 128) {
        l[0] = (unsigned char)n;
        bytes_add(b, l, 1);
    } else {
        l[0] = (unsigned char)((n >> 24) | 0x80);
        l[1] = (unsigned char)(n >> 16);
        l[2] = (unsigned char)(n >> 8);
        l[3] = (unsigned char)n;
        bytes_add(b, l, 4);
    }
}

/* What nginx's stock fastcgi_params sends, plus a few request headers. */
static const char *default_params[] = {
    "QUERY_STRING=", "REQUEST_METHOD=GET", "CONTENT_TYPE=", "CONTENT_LENGTH=",
    "SCRIPT_NAME=/bench", "REQUEST_URI=/bench", "DOCUMENT_URI=/bench",
    "DOCUMENT_ROOT=/var/www/html", "SERVER_PROTOCOL=HTTP/1.1",
    "REQUEST_SCHEME=http", "GATEWAY_INTERFACE=CGI/1.1",
    "SERVER_SOFTWARE=nginx/1.22.1", "REMOTE_ADDR=127.0.0.1",
    "REMOTE_PORT=40000", "SERVER_ADDR=127.0.0.1", "SERVER_PORT=80",
    "SERVER_NAME=localhost", "REDIRECT_STATUS=200",
    "SCRIPT_FILENAME=/var/www/html/bench", "HTTP_HOST=localhost",
    "HTTP_USER_AGENT=fcgi-bench", "HTTP_ACCEPT=*/*",
};

#define MAX_PARAMS 256
static char *params[MAX_PARAMS];
static int nparams;

static void
set_param(const char *nv)
{
    size_t nlen = strcspn(nv, "=");
    int i;

    if (nv[nlen] != '=')
        die("param without '=': %s", nv);
    for (i = 0; i < nparams; i++) {
        if (strncmp(params[i], nv, nlen + 1) == 0) {
            free(params[i]);
            params[i] = strdup(nv);
            return;
        }
    }
    if (nparams == MAX_PARAMS)
        die("too many params");
    params[nparams++] = strdup(nv);
}

static void
build_request(void)
{
    static const char *names[] = { "hello", "big", "echo", "split" };
    struct bytes b = { 0 }, pv = { 0 };
    unsigned char begin[8] = { 0, ROLE_RESPONDER, 0, 0, 0, 0, 0, 0 };
    unsigned char *body = NULL;
    char buf[256];
    int i;

    snprintf(buf, sizeof(buf), "QUERY_STRING=mode=%s&size=%ld&chunk=%ld",
             names[kind], body_size, app_chunk);
    set_param(buf);
    snprintf(buf, sizeof(buf), "REQUEST_URI=/bench?mode=%s", names[kind]);
    set_param(buf);
    if (kind == KIND_ECHO) {
        set_param("REQUEST_METHOD=POST");
        set_param("CONTENT_TYPE=application/octet-stream");
        snprintf(buf, sizeof(buf), "CONTENT_LENGTH=%ld", body_size);
        set_param(buf);
    }
    for (i = 0; i < nparams; i++) {
        const char *nv = params[i];
        size_t nlen = strcspn(nv, "=");

        put_length(&pv, nlen);
        put_length(&pv, strlen(nv + nlen + 1));
        bytes_add(&pv, nv, nlen);
        bytes_add(&pv, nv + nlen + 1, strlen(nv + nlen + 1));
    }

    begin[2] = keep_conn ? FLAG_KEEP_CONN : 0;
    put_record(&b, REC_BEGIN_REQUEST, begin, sizeof(begin));
    put_stream(&b, REC_PARAMS, pv.p, pv.len);
    if (kind == KIND_ECHO) {
        long off;

        body = malloc((size_t)body_size + 1);
        if (body == NULL)
            die("out of memory");
        for (off = 0; off < body_size; off++)
            body[off] = (unsigned char)bench_pattern_byte((size_t)off % BENCH_PERIOD);
    }
    put_stream(&b, REC_STDIN, body, kind == KIND_ECHO ? (size_t)body_size : 0);
    free(body);
    free(pv.p);
    request = b.p;
    request_len = b.len;
    expect_len = kind == KIND_HELLO ? (long)strlen(hello_body) : body_size;
}

/* --- one connection ------------------------------------------------- */

static void
conn_reset_response(struct conn *c)
{
    c->hlen = 0;
    c->content_left = 0;
    c->pad_left = 0;
    c->type = 0;
    c->end_len = 0;
    c->stdout_closed = 0;
    c->head_len = 0;
    c->head_done = 0;
    c->content_length = -1;
    c->body_len = 0;
}

static void
conn_connect(struct conn *c)
{
    struct timeval tv = { stall_seconds, 0 };
    int one = 1;

    c->fd = socket(address.u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s", strerror(errno));
    if (connect(c->fd, &address.u.sa, address.len) != 0)
        die("connect: %s", strerror(errno));
    c->on_conn = 0;
    if (address.u.sa.sa_family != AF_UNIX)
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* A thread's lone connection is read blocking: bound the wait. */
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void
conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void
conn_write(struct conn *c)
{
    while (c->woff < request_len) {
        ssize_t n = send(c->fd, request + c->woff, request_len - c->woff,
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            die("send: %s", strerror(errno));
        }
        c->woff += (size_t)n;
    }
}

/* Start the next request on c; 0 when there is none left to send. */
static int
conn_start(struct conn *c)
{
    int64_t deadline = __atomic_load_n(&deadline_ns, __ATOMIC_RELAXED);
    long n;

    if (deadline != 0 && now_ns() >= deadline)
        return 0;
    n = __atomic_fetch_add(&issued, 1, __ATOMIC_RELAXED);
    if (duration <= 0 && n >= warmup + measured)
        return 0;
    if (c->fd < 0)
        conn_connect(c);
    conn_reset_response(c);
    c->busy = 1;
    c->woff = 0;
    c->t0 = now_ns();
    conn_write(c);
    return 1;
}

static void
check_body(struct conn *c, const char *p, size_t n)
{
    if (c->body_len + (long)n > expect_len)
        die("body longer than %ld bytes", expect_len);
    if (check_bytes) {
        const char *want = kind == KIND_HELLO
            ? hello_body + c->body_len
            : pattern + (size_t)c->body_len % BENCH_PERIOD;

        if (memcmp(p, want, n) != 0)
            die("body bytes differ after offset %ld", c->body_len);
    }
    c->body_len += (long)n;
}

/* The response head ends at the blank line; parse the two we care for. */
static void
check_head(struct conn *c)
{
    const char *line = c->head;

    while (line < c->head + c->head_len) {
        const char *eol = strstr(line, "\r\n");

        if (eol == line)
            break;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            c->content_length = strtol(line + 15, NULL, 10);
        else if (strncasecmp(line, "Status:", 7) == 0 && atoi(line + 7) != 200)
            die("app answered %.*s", (int)(eol - line), line);
        line = eol + 2;
    }
    if (c->content_length != expect_len)
        die("Content-Length %ld, expected %ld", c->content_length, expect_len);
}

static void
on_stdout(struct conn *c, const char *p, size_t n)
{
    while (n > 0 && !c->head_done) {
        char *end;

        if (c->head_len == HEAD_MAX - 1)
            die("response head longer than %d bytes", HEAD_MAX);
        c->head[c->head_len++] = *p++;
        n--;
        c->head[c->head_len] = '\0';
        if (c->head_len >= 4
            && (end = strstr(c->head + c->head_len - 4, "\r\n\r\n")) != NULL) {
            c->head_done = 1;
            check_head(c);
        }
    }
    if (n > 0)
        check_body(c, p, n);
}

static void
on_end(struct thread *t, struct conn *c)
{
    long done;
    int64_t now;

    if (c->end[4] != 0)
        die("END_REQUEST protocol status %d", c->end[4]);
    if (c->end[0] | c->end[1] | c->end[2] | c->end[3])
        die("app status %u", (unsigned)(c->end[0] << 24 | c->end[1] << 16
                                        | c->end[2] << 8 | c->end[3]));
    if (!c->stdout_closed)
        die("END_REQUEST before the end of stdout");
    if (!c->head_done)
        die("response without a complete head");
    if (c->body_len != expect_len)
        die("body of %ld bytes, expected %ld", c->body_len, expect_len);
    if (c->woff != request_len)
        die("END_REQUEST before the request was sent");

    now = now_ns();
    c->busy = 0;
    c->on_conn++;
    done = __atomic_add_fetch(&completed, 1, __ATOMIC_RELAXED);
    if (done == warmup) {
        __atomic_store_n(&measure_start_ns, now, __ATOMIC_RELAXED);
        if (duration > 0)
            __atomic_store_n(&deadline_ns, now + (int64_t)(duration * 1e9),
                             __ATOMIC_RELAXED);
    } else if (done > warmup) {
        if (t->nlat == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 65536;
            t->lat = realloc(t->lat, t->cap * sizeof(*t->lat));
            if (t->lat == NULL)
                die("out of memory");
        }
        t->lat[t->nlat++] = now - c->t0;
        t->last_done = now;
    }
}

/* Decode n received bytes; a finished response starts the next request. */
static void
conn_input(struct thread *t, struct conn *c, const unsigned char *p, size_t n)
{
    while (n > 0) {
        size_t take;

        if (!c->busy)
            die("%zu bytes after END_REQUEST", n);
        if (c->hlen < 8) {
            take = 8 - c->hlen < n ? 8 - c->hlen : n;
            memcpy(c->hdr + c->hlen, p, take);
            c->hlen += take;
            p += take;
            n -= take;
            if (c->hlen < 8)
                return;
            if (c->hdr[0] != 1)
                die("record version %d", c->hdr[0]);
            if (c->hdr[2] != 0 || c->hdr[3] != 1)
                die("record for request %d", c->hdr[2] << 8 | c->hdr[3]);
            c->type = c->hdr[1];
            c->content_left = (size_t)c->hdr[4] << 8 | c->hdr[5];
            c->pad_left = c->hdr[6];
            switch (c->type) {
            case REC_STDOUT:
                if (c->stdout_closed)
                    die("stdout after its end");
                if (c->content_left == 0)
                    c->stdout_closed = 1;
                break;
            case REC_STDERR:
                if (c->content_left > 0)
                    die("the app wrote to stderr");
                break;
            case REC_END_REQUEST:
                if (c->content_left != 8)
                    die("END_REQUEST of %zu bytes", c->content_left);
                break;
            default:
                die("unexpected record type %d", c->type);
            }
        }
        if (c->content_left > 0) {
            take = c->content_left < n ? c->content_left : n;
            if (c->type == REC_STDOUT) {
                on_stdout(c, (const char *)p, take);
            } else {
                memcpy(c->end + c->end_len, p, take);
                c->end_len += take;
            }
            c->content_left -= take;
            p += take;
            n -= take;
        }
        if (c->content_left == 0 && c->pad_left > 0 && n > 0) {
            take = c->pad_left < n ? c->pad_left : n;
            c->pad_left -= take;
            p += take;
            n -= take;
        }
        if (c->content_left == 0 && c->pad_left == 0) {
            c->hlen = 0;
            if (c->type == REC_END_REQUEST) {
                on_end(t, c);
                if (!keep_conn)
                    conn_close(c);
                if (n > 0)
                    die("%zu bytes after END_REQUEST", n);
                if (!conn_start(c))
                    conn_close(c);
                return;
            }
        }
    }
}

static void
conn_read(struct thread *t, struct conn *c, int flags)
{
    ssize_t n;

    do
        n = recv(c->fd, c->rbuf, RBUF_SIZE, flags);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (flags == 0)
                die("no answer for %d s", stall_seconds);
            return;
        }
        die("recv: %s", strerror(errno));
    }
    if (n == 0)
        die("connection closed by the app before END_REQUEST (after %ld"
            " responses on it; %zu of %zu request bytes sent, %ld body"
            " bytes received)", c->on_conn, c->woff, request_len, c->body_len);
    conn_input(t, c, c->rbuf, (size_t)n);
}

/* --- threads --------------------------------------------------------- */

static void *
run_thread(void *arg)
{
    struct thread *t = arg;
    struct pollfd *pfd = calloc((size_t)t->nconns, sizeof(*pfd));
    struct conn **map = calloc((size_t)t->nconns, sizeof(*map));
    int i;

    if (pfd == NULL || map == NULL)
        die("out of memory");
    for (i = 0; i < t->nconns; i++)
        if (!conn_start(&t->conns[i]))
            conn_close(&t->conns[i]);
    for (;;) {
        int n = 0, r;

        for (i = 0; i < t->nconns; i++) {
            struct conn *c = &t->conns[i];

            if (c->fd < 0 || !c->busy)
                continue;
            pfd[n].fd = c->fd;
            pfd[n].events = POLLIN | (c->woff < request_len ? POLLOUT : 0);
            map[n++] = c;
        }
        if (n == 0)
            break;
        /* A lone connection with its request sent simply waits in recv. */
        if (t->nconns == 1 && map[0]->woff == request_len) {
            conn_read(t, map[0], 0);
            continue;
        }
        r = poll(pfd, (nfds_t)n, stall_seconds * 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("poll: %s", strerror(errno));
        if (r == 0)
            die("no progress for %d s", stall_seconds);
        for (i = 0; i < n; i++) {
            if (pfd[i].revents & POLLOUT)
                conn_write(map[i]);
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                conn_read(t, map[i], MSG_DONTWAIT);
        }
    }
    free(pfd);
    free(map);
    return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static double
percentile_us(const int64_t *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: client [-r hello|big|echo|split] [-s BYTES] [-C BYTES]"
            " [-c CONNS] [-T THREADS]\n"
            "              [-K] [-n COUNT | -d SECONDS] [-w COUNT]"
            " [-p NAME=VALUE] [-V] [-t SECONDS] ADDRESS\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    struct thread *threads;
    int64_t *all, end = 0;
    size_t total = 0, k;
    int c, i;

    for (i = 0; i < (int)(sizeof(default_params) / sizeof(default_params[0])); i++)
        set_param(default_params[i]);
    while ((c = getopt(argc, argv, "r:s:C:c:T:Kn:d:w:p:Vt:")) != -1) {
        switch (c) {
        case 'r':
            if (strcmp(optarg, "hello") == 0)
                kind = KIND_HELLO;
            else if (strcmp(optarg, "big") == 0)
                kind = KIND_BIG;
            else if (strcmp(optarg, "echo") == 0)
                kind = KIND_ECHO;
            else if (strcmp(optarg, "split") == 0)
                kind = KIND_SPLIT;
            else
                usage();
            break;
        case 's': body_size = atol(optarg); break;
        case 'C': app_chunk = atol(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'T': nthreads = atoi(optarg); break;
        case 'K': keep_conn = 0; break;
        case 'n': measured = atol(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atol(optarg); break;
        case 'p': set_param(optarg); break;
        case 'V': check_bytes = 0; break;
        case 't': stall_seconds = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind != argc - 1 || nconns < 1 || nthreads < 1 || measured < 1
        || stall_seconds < 1 || warmup < 0)
        usage();
    if (nthreads > nconns)
        nthreads = nconns;
    if (body_size < 0)
        body_size = kind == KIND_SPLIT ? 20 * 1024 : 1024 * 1024;
    if (bench_address_parse(argv[optind], &address) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);

    pattern = malloc(BENCH_PERIOD + RBUF_SIZE);
    if (pattern == NULL)
        die("out of memory");
    bench_pattern_fill(pattern, RBUF_SIZE);
    build_request();

    threads = calloc((size_t)nthreads, sizeof(*threads));
    if (threads == NULL)
        die("out of memory");
    for (i = 0; i < nthreads; i++) {
        struct thread *t = &threads[i];
        int j;

        t->nconns = nconns / nthreads + (i < nconns % nthreads);
        t->conns = calloc((size_t)t->nconns, sizeof(*t->conns));
        if (t->conns == NULL)
            die("out of memory");
        for (j = 0; j < t->nconns; j++) {
            t->conns[j].fd = -1;
            t->conns[j].rbuf = malloc(RBUF_SIZE);
            if (t->conns[j].rbuf == NULL)
                die("out of memory");
        }
    }
    if (warmup == 0) {
        measure_start_ns = now_ns();
        if (duration > 0)
            deadline_ns = measure_start_ns + (int64_t)(duration * 1e9);
    }
    for (i = 0; i < nthreads; i++)
        if (pthread_create(&threads[i].tid, NULL, run_thread, &threads[i]) != 0)
            die("pthread_create failed");
    for (i = 0; i < nthreads; i++) {
        pthread_join(threads[i].tid, NULL);
        total += threads[i].nlat;
        if (threads[i].last_done > end)
            end = threads[i].last_done;
    }

    all = malloc((total ? total : 1) * sizeof(*all));
    if (all == NULL)
        die("out of memory");
    for (i = 0, k = 0; i < nthreads; i++) {
        memcpy(all + k, threads[i].lat, threads[i].nlat * sizeof(*all));
        k += threads[i].nlat;
    }
    qsort(all, total, sizeof(*all), cmp_i64);
    {
        double secs = total ? (double)(end - measure_start_ns) / 1e9 : 0;

        printf("requests=%zu seconds=%.3f rps=%.1f p50_us=%.1f p90_us=%.1f"
               " p99_us=%.1f max_us=%.1f total=%ld\n",
               total, secs, secs > 0 ? (double)total / secs : 0.0,
               percentile_us(all, total, 0.50), percentile_us(all, total, 0.90),
               percentile_us(all, total, 0.99),
               total ? (double)all[total - 1] / 1000.0 : 0.0, completed);
    }
    return 0;
}
