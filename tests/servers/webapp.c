/*
 * The FastCGI application the web-server tests put behind nginx, lighttpd,
 * Apache, spawn-fcgi and HAProxy.  It uses only the public FCGX_ API.
 *
 * Where it listens:
 *   WEBAPP_LISTEN=path or host:port   FCGX_OpenSocket; otherwise fd 0, as
 *                                     handed over by spawn-fcgi, lighttpd's
 *                                     bin-path or srvtool bindexec
 * Tuning and bookkeeping:
 *   WEBAPP_THREADS=N      N threads in FCGX_Accept_r on the same socket (1)
 *   WEBAPP_COUNTER=file   an 8-byte counter of requests served, kept in a
 *                         shared mapping, so it survives kill -9
 *   WEBAPP_NAME=label     printed in every response (default "webapp")
 *
 * What it answers, by the last path segment of the request URI:
 *   echo        the request body, byte for byte, once all of it is read
 *   big?n=N     N bytes of the pattern that "webapp pattern N" prints
 *   redirect    Status: 302 and a Location header
 *   status?code=N   an empty response with that status
 *   stderr?x    a line on the error stream, then a short body
 *   sleep?ms=N  waits N ms (all of them, even when a signal such as
 *               SIGTERM arrives meanwhile), then as below
 *   anything else: a text/plain dump (pid, counters, keep-conn flag, peer,
 *               role, method, query string, content length, HTTP_ variables)
 * In the Authorizer role it admits a request whose Authorization header is
 * "Bearer letmein" (200 with Variable-AUTH_USER: alice) and refuses others
 * with 403.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fastcgi.h"
#include "fcgiapp.h"

static int listen_fd;
static const char *app_name = "webapp";
static unsigned long served;            /* this process, all threads */
static unsigned long long *shared_count; /* WEBAPP_COUNTER, or NULL */

/* Byte i of the "big" response: printable, and not periodic at any power
 * of two, so a dropped or repeated record shows up in a checksum. */
static char pattern_byte(unsigned long i)
{
    return (char)('a' + (i * 7 + i / 251) % 26);
}

static void put_pattern(FCGX_Stream *out, FILE *file, unsigned long n)
{
    char buf[4096];
    unsigned long i = 0;
    while (i < n) {
        size_t k = 0;
        while (k < sizeof buf && i < n)
            buf[k++] = pattern_byte(i++);
        if (out)
            FCGX_PutStr(buf, (int)k, out);
        else
            fwrite(buf, 1, k, file);
    }
}

/* The value of key in a query string "a=1&b=2", as a number, or def. */
static unsigned long query_number(const char *query, const char *key,
                                  unsigned long def)
{
    size_t klen = strlen(key);
    const char *p = query;
    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
            return strtoul(p + klen + 1, NULL, 10);
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return def;
}

/* The last segment of the URI path: "/keep/echo?x" gives "echo". */
static void last_segment(const char *uri, char *seg, size_t size)
{
    size_t end = strcspn(uri, "?");
    size_t start = end;
    while (start > 0 && uri[start - 1] != '/')
        start--;
    size_t len = end - start;
    if (len >= size)
        len = size - 1;
    memcpy(seg, uri + start, len);
    seg[len] = '\0';
}

static const char *param(FCGX_Request *r, const char *name)
{
    const char *v = FCGX_GetParam(name, r->envp);
    return v ? v : "";
}

static void describe_peer(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    snprintf(buf, size, "unknown");
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        /* Unix peers have no address; the descriptor tells connections
         * apart well enough for "was this one kept". */
        snprintf(buf, size, "unix/fd%d", fd);
    }
}

/* Reads the whole body before answering: nginx stops sending the rest of
 * a request body once the response has begun, so an application that
 * echoes while it reads would wait for bytes that never come. */
static void echo_body(FCGX_Request *r)
{
    size_t len = 0, cap = 65536;
    char *body = malloc(cap);
    int n;
    while (body && (n = FCGX_GetStr(body + len, (int)(cap - len), r->in)) > 0) {
        len += (size_t)n;
        if (len == cap) {
            char *bigger = realloc(body, cap * 2);
            if (!bigger) {
                free(body);
                body = NULL;
                break;
            }
            body = bigger;
            cap *= 2;
        }
    }
    if (!body) {
        FCGX_FPrintF(r->out, "Status: 500\r\nContent-Type: text/plain\r\n\r\nout of memory\n");
        return;
    }
    FCGX_FPrintF(r->out, "Content-Type: application/octet-stream\r\n"
                         "Content-Length: %lu\r\n\r\n", (unsigned long)len);
    FCGX_PutStr(body, (int)len, r->out);
    free(body);
}

static void authorize(FCGX_Request *r)
{
    if (strcmp(param(r, "HTTP_AUTHORIZATION"), "Bearer letmein") == 0) {
        FCGX_FPrintF(r->out, "Status: 200 OK\r\n"
                             "Variable-AUTH_USER: alice\r\n\r\n");
    } else {
        FCGX_FPrintF(r->out, "Status: 403 Forbidden\r\n"
                             "Content-Type: text/plain\r\n\r\n"
                             "denied by %s\n", app_name);
    }
}

static void dump(FCGX_Request *r, unsigned long count)
{
    char peer[80];
    describe_peer(r->ipcFd, peer, sizeof peer);
    FCGX_FPrintF(r->out, "Content-Type: text/plain\r\n\r\n");
    FCGX_FPrintF(r->out, "app=%s pid=%ld count=%lu keep=%d peer=%s\n",
                 app_name, (long)getpid(), count, r->keepConnection, peer);
    FCGX_FPrintF(r->out, "role=%s\nmethod=%s\nquery=%s\nuri=%s\n"
                         "content_length=%s\n",
                 param(r, "FCGI_ROLE"), param(r, "REQUEST_METHOD"),
                 param(r, "QUERY_STRING"), param(r, "REQUEST_URI"),
                 param(r, "CONTENT_LENGTH"));
    for (char **e = r->envp; e && *e; e++) {
        if (strncmp(*e, "HTTP_", 5) == 0)
            FCGX_FPrintF(r->out, "%s\n", *e);
    }
}

static void respond(FCGX_Request *r, unsigned long count)
{
    char seg[64];
    const char *query = param(r, "QUERY_STRING");

    if (r->role == FCGI_AUTHORIZER) {
        authorize(r);
        return;
    }
    last_segment(param(r, "REQUEST_URI"), seg, sizeof seg);
    if (strcmp(seg, "echo") == 0) {
        echo_body(r);
    } else if (strcmp(seg, "big") == 0) {
        FCGX_FPrintF(r->out, "Content-Type: application/octet-stream\r\n\r\n");
        put_pattern(r->out, NULL, query_number(query, "n", 0));
    } else if (strcmp(seg, "redirect") == 0) {
        FCGX_FPrintF(r->out, "Status: 302 Found\r\n"
                             "Location: http://example.invalid/moved/here\r\n"
                             "Content-Type: text/plain\r\n\r\nmoved\n");
    } else if (strcmp(seg, "status") == 0) {
        FCGX_FPrintF(r->out, "Status: %lu\r\nContent-Type: text/plain\r\n\r\n",
                     query_number(query, "code", 200));
    } else if (strcmp(seg, "stderr") == 0) {
        FCGX_FPrintF(r->err, "webapp-stderr-marker %s\n", query);
        FCGX_FPrintF(r->out, "Content-Type: text/plain\r\n\r\nlogged\n");
    } else {
        if (strcmp(seg, "sleep") == 0) {
            unsigned long ms = query_number(query, "ms", 0);
            struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
            /* The library's SIGTERM handler interrupts the sleep; a request
             * in flight during a graceful stop must still take its time. */
            while (nanosleep(&ts, &ts) != 0)
                ;
        }
        dump(r, count);
    }
}

static void *serve(void *unused)
{
    FCGX_Request r;
    (void)unused;
    if (FCGX_InitRequest(&r, listen_fd, 0) != 0)
        return NULL;
    while (FCGX_Accept_r(&r) >= 0) {
        unsigned long count = __atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
        if (shared_count)
            __atomic_add_fetch(shared_count, 1, __ATOMIC_RELAXED);
        respond(&r, count);
        FCGX_Finish_r(&r);
    }
    return NULL;
}

static unsigned long long *map_counter(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ftruncate(fd, sizeof(unsigned long long)) != 0) {
        perror(path);
        exit(1);
    }
    void *p = mmap(NULL, sizeof(unsigned long long), PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *env;
    int threads = 1;

    if (argc == 3 && strcmp(argv[1], "pattern") == 0) {
        put_pattern(NULL, stdout, strtoul(argv[2], NULL, 10));
        return fflush(stdout) != 0;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "webapp: FCGX_Init failed\n");
        return 1;
    }
    if ((env = getenv("WEBAPP_NAME")) && *env)
        app_name = env;
    if ((env = getenv("WEBAPP_THREADS")) && atoi(env) > 0)
        threads = atoi(env);
    if ((env = getenv("WEBAPP_COUNTER")) && *env)
        shared_count = map_counter(env);
    if ((env = getenv("WEBAPP_LISTEN")) && *env) {
        listen_fd = FCGX_OpenSocket(env, 128);
        if (listen_fd < 0) {
            fprintf(stderr, "webapp: cannot listen on %s\n", env);
            return 1;
        }
    } else if (FCGX_IsCGI()) {
        fprintf(stderr, "webapp: fd 0 is not a listening socket; "
                        "set WEBAPP_LISTEN or start it from a FastCGI spawner\n");
        return 1;
    }

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!tids)
        return 1;
    for (int i = 1; i < threads; i++)
        pthread_create(&tids[i], NULL, serve, NULL);
    serve(NULL);
    for (int i = 1; i < threads; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    return 0;
}
