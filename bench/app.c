/*
 * app.c: the FastCGI responder the benchmark runs (run.sh, `make bench`).
 *
 * Usage: app [-l ADDRESS [-P PORTFILE]] [-t THREADS] [-m] [-n COUNT] [-r]
 *
 *   -l ADDRESS   listen on ADDRESS and serve from there: a Unix socket path,
 *                HOST:PORT (IPv4) or [HOST]:PORT (IPv6); PORT 0 picks a free
 *                port.  Without -l the listening socket is fd 0, as a web
 *                server or spawn-fcgi hands it over.
 *   -P PORTFILE  once listening, write the port (0 for a Unix socket) to
 *                PORTFILE: the sign for run.sh that clients may connect.
 *   -t THREADS   serve from THREADS threads, each in its own FCGX_Accept_r
 *                loop (default 1).
 *   -m           serialise FCGX_Accept_r with a mutex, as the reference's
 *                examples/threaded.c does.
 *   -n COUNT     exit 0 once COUNT requests are finished, so profilers
 *                (callgrind, strace -c) see a fixed amount of work.
 *   -r           on exit, print the peak resident set (VmHWM) to stderr.
 *
 * What a request gets is steered by QUERY_STRING, so the web server side
 * (bench/client.c) picks the scenario:
 *
 *   mode=hello                 a 14-byte body, formatted with FCGX_FPrintF
 *   mode=big&size=N&chunk=C    N pattern bytes written C at a time
 *   mode=echo&chunk=C          stdin copied to stdout C bytes at a time
 *                              (Content-Length from CONTENT_LENGTH)
 *   mode=split&size=N          N pattern bytes in three FCGX_PutStr calls,
 *                              FCGX_FFlush after the first two
 *
 * It uses only what libfcgi 2.4.2 offers: the same binary, built against
 * the reference, runs on our library through LD_LIBRARY_PATH.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgiapp.h"
#include "server.h"
#include "pattern.h"

#define MAX_CHUNK (256 * 1024)
#define DEFAULT_CHUNK (64 * 1024)

struct worker {
    FCGX_Request req;
    char *iobuf;                /* echo buffer, MAX_CHUNK, made on first use */
    pthread_t thread;
};

static long limit;              /* -n; 0 = serve forever */
static long served;
static int report_rss;
static int use_mutex;
static pthread_mutex_t accept_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Made only when a scenario needs it: hello must not pay for it in RSS. */
static char *pattern;
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void
make_pattern(void)
{
    pattern = malloc(BENCH_PERIOD + MAX_CHUNK);
    if (pattern == NULL) {
        perror("app: malloc");
        exit(1);
    }
    bench_pattern_fill(pattern, MAX_CHUNK);
}

/* The number after "key=" in the query string, or def. */
static long
query_num(const char *query, const char *key, long def)
{
    size_t klen = strlen(key);
    const char *p = query;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
            return strtol(p + klen + 1, NULL, 10);
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return def;
}

static int
query_is(const char *query, const char *mode)
{
    size_t n = strlen(mode);

    return strncmp(query, "mode=", 5) == 0 && strncmp(query + 5, mode, n) == 0
        && (query[5 + n] == '\0' || query[5 + n] == '&');
}

static long
clamp_chunk(long chunk)
{
    if (chunk < 1)
        return DEFAULT_CHUNK;
    return chunk > MAX_CHUNK ? MAX_CHUNK : chunk;
}

/* Write n pattern bytes starting at body offset off, chunk bytes a call. */
static void
put_pattern(FCGX_Stream *out, long off, long n, long chunk)
{
    while (n > 0) {
        long len = n < chunk ? n : chunk;

        if (FCGX_PutStr(pattern + off % BENCH_PERIOD, (int)len, out) != len)
            return;
        off += len;
        n -= len;
    }
}

static void
respond(struct worker *w)
{
    static const char hello[] = "Hello, world!\n";
    FCGX_Request *req = &w->req;
    const char *query = FCGX_GetParam("QUERY_STRING", req->envp);

    if (query == NULL)
        query = "";
    if (query_is(query, "hello")) {
        FCGX_FPrintF(req->out,
                     "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
                     (int)(sizeof(hello) - 1), hello);
    } else if (query_is(query, "big")) {
        long size = query_num(query, "size", 1024 * 1024);
        long chunk = clamp_chunk(query_num(query, "chunk", DEFAULT_CHUNK));

        pthread_once(&pattern_once, make_pattern);
        FCGX_FPrintF(req->out,
                     "Content-Type: application/octet-stream\r\n"
                     "Content-Length: %ld\r\n\r\n", size);
        put_pattern(req->out, 0, size, chunk);
    } else if (query_is(query, "echo")) {
        const char *clen = FCGX_GetParam("CONTENT_LENGTH", req->envp);
        long chunk = clamp_chunk(query_num(query, "chunk", DEFAULT_CHUNK));
        int n;

        if (w->iobuf == NULL && (w->iobuf = malloc(MAX_CHUNK)) == NULL) {
            perror("app: malloc");
            exit(1);
        }
        FCGX_FPrintF(req->out,
                     "Content-Type: application/octet-stream\r\n"
                     "Content-Length: %ld\r\n\r\n",
                     clen != NULL ? strtol(clen, NULL, 10) : 0L);
        while ((n = FCGX_GetStr(w->iobuf, (int)chunk, req->in)) > 0)
            if (FCGX_PutStr(w->iobuf, n, req->out) != n)
                break;
    } else if (query_is(query, "split")) {
        long size = query_num(query, "size", 20 * 1024);
        long third = size / 3;

        pthread_once(&pattern_once, make_pattern);
        FCGX_FPrintF(req->out,
                     "Content-Type: application/octet-stream\r\n"
                     "Content-Length: %ld\r\n\r\n", size);
        put_pattern(req->out, 0, third, MAX_CHUNK);
        FCGX_FFlush(req->out);
        put_pattern(req->out, third, third, MAX_CHUNK);
        FCGX_FFlush(req->out);
        put_pattern(req->out, 2 * third, size - 2 * third, MAX_CHUNK);
    } else {
        FCGX_PutS("Status: 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                  req->out);
    }
}

static void *
serve(void *arg)
{
    struct worker *w = arg;
    int rc;

    if (FCGX_InitRequest(&w->req, 0, 0) != 0) {
        fprintf(stderr, "app: FCGX_InitRequest failed\n");
        exit(1);
    }
    for (;;) {
        if (use_mutex)
            pthread_mutex_lock(&accept_mutex);
        rc = FCGX_Accept_r(&w->req);
        if (use_mutex)
            pthread_mutex_unlock(&accept_mutex);
        if (rc < 0)
            break;
        respond(w);
        /* Finished (flushed) before it counts: with -n, the thread that
         * finishes the last request exits while the others wait. */
        FCGX_Finish_r(&w->req);
        if (limit > 0 && __atomic_add_fetch(&served, 1, __ATOMIC_SEQ_CST) >= limit) {
            if (report_rss)
                bench_print_rss();
            exit(0);
        }
    }
    fprintf(stderr, "app: FCGX_Accept_r returned %d\n", rc);
    exit(1);
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *address = NULL, *portfile = NULL;
    struct worker *workers;
    int threads = 1;
    int c, i;

    while ((c = getopt(argc, argv, "l:P:t:mn:r")) != -1) {
        switch (c) {
        case 'l': address = optarg; break;
        case 'P': portfile = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'm': use_mutex = 1; break;
        case 'n': limit = atol(optarg); break;
        case 'r': report_rss = 1; break;
        default:
            fprintf(stderr, "usage: app [-l ADDRESS [-P PORTFILE]] [-t THREADS]"
                            " [-m] [-n COUNT] [-r]\n");
            return 2;
        }
    }
    if (threads < 1)
        threads = 1;
    /* The library takes its listening socket from fd 0, as under a web server. */
    if (address != NULL) {
        int fd = bench_listen("app", address, portfile);

        if (fd != 0 && (dup2(fd, 0) != 0 || close(fd) != 0)) {
            perror("app: dup2");
            return 2;
        }
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "app: FCGX_Init failed\n");
        return 1;
    }
    workers = calloc((size_t)threads, sizeof(*workers));
    if (workers == NULL) {
        perror("app: calloc");
        return 1;
    }
    for (i = 1; i < threads; i++) {
        if (pthread_create(&workers[i].thread, NULL, serve, &workers[i]) != 0) {
            perror("app: pthread_create");
            return 1;
        }
    }
    serve(&workers[0]);
    return 1;
}
