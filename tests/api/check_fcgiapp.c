/*
 * check_fcgiapp.c: black-box tests of the FCGX_ interface of libfcgi.so.0.
 *
 * Each test forks an application process that serves requests through the
 * public API, and drives it from the test process with the raw-record peer
 * (tests/support/peer.h) over a real socket.  The application reports what
 * it observed through its own FastCGI output, so every assertion is made
 * here, in the test process.  Application processes end with _exit() and are
 * killed and reaped by the fixture (tests/support/fixture.h) whatever
 * happens to the test.
 *
 * Built as C against the public headers only.  Where the reference library
 * (libfcgi 2.4.2) is known to behave differently, the test says so.
 */
#define _GNU_SOURCE 1

#include <check.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "fastcgi.h"
#include "fcgiapp.h"
#include "fixture.h"
#include "peer.h"

/* ------------------------------------------------------------------ */
/* Listening sockets.                                                  */

enum listen_kind { ON_UNIX, ON_TCP4, ON_TCP6 };

static int
have_ipv6(void)
{
    struct sockaddr_in6 s6;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int ok;

    if (fd < 0)
        return 0;
    memset(&s6, 0, sizeof(s6));
    s6.sin6_family = AF_INET6;
    s6.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
    close(fd);
    return ok;
}

/* A loopback TCP listener made without the library; fills addr. */
static int
listen_plain(int family, char *addr, size_t addrlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = socket(family, SOCK_STREAM, 0);
    int port;

    ck_assert_int_ge(fd, 0);
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        len = sizeof(*s6);
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                             : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    snprintf(addr, addrlen, family == AF_INET ? "127.0.0.1:%d" : "[::1]:%d",
             port);
    return fd;
}

/* A port that was free a moment ago (for names that must carry one). */
static int
free_port(int family)
{
    char addr[64];
    int fd = listen_plain(family, addr, sizeof(addr));

    close(fd);
    return atoi(strrchr(addr, ':') + 1);
}

/* A listener made by FCGX_OpenSocket; fills addr for peer_connect. */
static int
listen_fcgx(enum listen_kind kind, char *addr, size_t addrlen)
{
    char name[128];
    int fd;

    switch (kind) {
    case ON_UNIX:
        snprintf(name, sizeof(name), "%s/app.sock", tmpdir);
        snprintf(addr, addrlen, "%s", name);
        break;
    case ON_TCP4: {
        int port = free_port(AF_INET);

        snprintf(name, sizeof(name), "127.0.0.1:%d", port);
        snprintf(addr, addrlen, "127.0.0.1:%d", port);
        break;
    }
    case ON_TCP6: {
        int port = free_port(AF_INET6);

        snprintf(name, sizeof(name), "[::1]:%d", port);
        snprintf(addr, addrlen, "[::1]:%d", port);
        break;
    }
    }
    fd = FCGX_OpenSocket(name, 64);
    ck_assert_msg(fd >= 0, "FCGX_OpenSocket(\"%s\") failed: %s", name,
                  strerror(errno));
    return fd;
}

/* ------------------------------------------------------------------ */
/* The application side.                                               */

typedef void (*handler_fn)(FCGX_Request *req);

struct app {
    pid_t pid;
    int lfd;
    int max;            /* requests to serve before exiting */
    handler_fn fn;
    const char *acl;    /* FCGI_WEB_SERVER_ADDRS, NULL to unset */
    const char *const *env; /* more NAME, VALUE pairs to set, NULL-ended */
    char addr[160];
};

static void
serve(void *arg)
{
    struct app *a = arg;
    FCGX_Request req;
    int i;

    if (a->acl != NULL)
        setenv("FCGI_WEB_SERVER_ADDRS", a->acl, 1);
    else
        unsetenv("FCGI_WEB_SERVER_ADDRS");
    for (i = 0; a->env != NULL && a->env[i] != NULL; i += 2)
        setenv(a->env[i], a->env[i + 1], 1);
    if (FCGX_Init() != 0)
        _exit(APP_INIT_FAILED);
    if (FCGX_InitRequest(&req, a->lfd, 0) != 0)
        _exit(APP_INIT_FAILED);
    for (i = 0; i < a->max; i++) {
        int rc = FCGX_Accept_r(&req);

        if (rc < 0) {
            fprintf(stderr, "app: FCGX_Accept_r returned %d\n", rc);
            _exit(APP_ACCEPT_FAILED);
        }
        a->fn(&req);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    _exit(APP_OK);
}

/* Starts an application on a new FCGX_OpenSocket listener. */
static void
app_start(struct app *a, enum listen_kind kind, handler_fn fn, int max)
{
    memset(a, 0, sizeof(*a));
    a->lfd = listen_fcgx(kind, a->addr, sizeof(a->addr));
    a->fn = fn;
    a->max = max;
    a->pid = spawn(serve, a);
    close(a->lfd);
}

/* Starts an application on a listener the caller made (lfd, addr set). */
static void
app_start_on(struct app *a, handler_fn fn, int max, const char *acl)
{
    a->fn = fn;
    a->max = max;
    a->acl = acl;
    a->pid = spawn(serve, a);
    close(a->lfd);
}

/* The application's exit code once it served all it had to. */
static int
app_finish(struct app *a)
{
    return reap(a->pid, peer_ms(PEER_TIMEOUT_MS));
}

/* Reads the whole of a stream; returns the byte count, body in *out. */
static size_t
slurp(FCGX_Stream *in, char **out)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);

    for (;;) {
        int n;

        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        n = FCGX_GetStr(buf + len, (int)(cap - len - 1), in);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    return len;
}

/* Echoes stdin to stdout. */
static void
h_echo(FCGX_Request *req)
{
    char *body;
    size_t n = slurp(req->in, &body);

    FCGX_PutStr(body, (int)n, req->out);
    free(body);
}

/* Prints selected params, both ways of reading them, then stderr. */
static void
h_basic(FCGX_Request *req)
{
    static const char *const names[] = {
        "FOO", "EMPTY", "FCGI_ROLE", "MISSING", "LONG", NULL
    };
    const char *const *n;
    char **e;

    FCGX_PutS("Content-Type: text/plain\r\n\r\n", req->out);
    for (n = names; *n != NULL; n++) {
        const char *v = FCGX_GetParam(*n, req->envp);

        if (v == NULL)
            say(req->out, "%s unset\n", *n);
        else if (strlen(v) > 40)
            say(req->out, "%s len %zu hash %08" PRIx32 "\n", *n, strlen(v),
                fnv1a(v, strlen(v)));
        else
            say(req->out, "%s=[%s]\n", *n, v);
    }
    for (e = req->envp; *e != NULL; e++)
        if (strcmp(*e, "FOO=bar") == 0)
            say(req->out, "envp has FOO=bar\n");
    FCGX_PutS("to stderr\n", req->err);
    FCGX_SetExitStatus(7, req->out);
}

static char long_value[300];

static const char *
make_long_value(void)
{
    size_t i;

    for (i = 0; i + 1 < sizeof(long_value); i++)
        long_value[i] = (char)('a' + i % 26);
    long_value[sizeof(long_value) - 1] = '\0';
    return long_value;
}

static void
expect_basic(const peer_response *r, int id)
{
    char expected[512];
    const peer_end *end = peer_end_for(r, id);

    snprintf(expected, sizeof(expected),
             "Content-Type: text/plain\r\n\r\n"
             "FOO=[bar]\nEMPTY=[]\nFCGI_ROLE=[RESPONDER]\nMISSING unset\n"
             "LONG len %zu hash %08" PRIx32 "\nenvp has FOO=bar\n",
             strlen(long_value), fnv1a(long_value, strlen(long_value)));
    ck_assert_str_eq(txt(&r->out), expected);
    ck_assert_str_eq(txt(&r->err), "to stderr\n");
    ck_assert_int_eq(r->out_eos, 1);
    ck_assert_int_eq(r->err_eos, 1);
    ck_assert_int_eq(r->foreign, 0);
    ck_assert_int_eq(r->malformed, 0);
    ck_assert_ptr_nonnull(end);
    ck_assert_uint_eq(end->app_status, 7);
    ck_assert_int_eq(end->protocol_status, FCGI_REQUEST_COMPLETE);
}

static void
basic_over(enum listen_kind kind)
{
    struct app a;
    peer_response r;
    const char *pairs[] = {
        "FOO", "bar", "EMPTY", "", "LONG", make_long_value(), NULL
    };
    int fd;

    app_start(&a, kind, h_basic, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 0x1234, PEER_RESPONDER, 0, pairs, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 0x1234, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    expect_basic(&r, 0x1234);
    /* Without FCGI_KEEP_CONN the application closes after END_REQUEST. */
    ck_assert_int_eq(peer_read(fd, &r, 0x1234, PEER_UNTIL_CLOSE, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.n_ends, 1);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}

/* ------------------------------------------------------------------ */
/* Set-up and responder basics.                                        */

static void
no_init_body(void *arg)
{
    int lfd = *(int *)arg;
    FCGX_Request req;
    int rc;

    if (FCGX_InitRequest(&req, lfd, 0) != 0)
        _exit(2);
    rc = FCGX_Accept_r(&req);
    if (rc != -9998) {
        fprintf(stderr, "FCGX_Accept_r without FCGX_Init: %d\n", rc);
        _exit(1);
    }
    _exit(0);
}

/* Must run before anything in this process touches the library. */
START_TEST(accept_without_init)
{
    char addr[64];
    int lfd = listen_plain(AF_INET, addr, sizeof(addr));
    pid_t pid = spawn(no_init_body, &lfd);

    close(lfd);
    ck_assert_int_eq(reap(pid, peer_ms(PEER_TIMEOUT_MS)), 0);
}
END_TEST

START_TEST(responder_unix)
{
    basic_over(ON_UNIX);
}
END_TEST

START_TEST(responder_tcp4)
{
    basic_over(ON_TCP4);
}
END_TEST

START_TEST(responder_tcp6)
{
    if (!have_ipv6()) {
        fprintf(stderr, "responder_tcp6: no IPv6 loopback, not run\n");
        return;
    }
    basic_over(ON_TCP6);
}
END_TEST

/* FCGX_InitRequest fills the public struct the way programs expect. */
START_TEST(init_request_fields)
{
    FCGX_Request r;

    memset(&r, 0x5a, sizeof(r));
    ck_assert_int_eq(FCGX_InitRequest(&r, 7, FCGI_FAIL_ACCEPT_ON_INTR), 0);
    ck_assert_int_eq(r.requestId, 0);
    ck_assert_int_eq(r.role, 0);
    ck_assert_ptr_null(r.in);
    ck_assert_ptr_null(r.out);
    ck_assert_ptr_null(r.err);
    ck_assert_ptr_null(r.envp);
    ck_assert_int_eq(r.ipcFd, -1);
    ck_assert_int_eq(r.isBeginProcessed, 0);
    ck_assert_int_eq(r.keepConnection, 0);
    ck_assert_int_eq(r.appStatus, 0);
    ck_assert_int_eq(r.flags, FCGI_FAIL_ACCEPT_ON_INTR);
    ck_assert_int_eq(r.listen_sock, 7);
    ck_assert_int_eq(r.detached, 0);
    /* Finishing or freeing a request that never got one does nothing. */
    FCGX_Finish_r(&r);
    FCGX_Free(&r, 0);
    ck_assert_int_eq(r.listen_sock, 7);
}
END_TEST

/* Prints every param as name, value length and hash, in envp order. */
static void
h_params(FCGX_Request *req)
{
    char **e;

    for (e = req->envp; *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        size_t nlen = eq ? (size_t)(eq - *e) : strlen(*e);
        char name[160];
        const char *v;

        /* The library's own addition; the responder tests check it. */
        if (strncmp(*e, "FCGI_ROLE=", 10) == 0)
            continue;
        if (nlen >= sizeof(name))
            nlen = sizeof(name) - 1;
        memcpy(name, *e, nlen);
        name[nlen] = '\0';
        v = FCGX_GetParam(name, req->envp);
        say(req->out, "%zu:%08" PRIx32 " %zu:%08" PRIx32 "\n", nlen,
            fnv1a(*e, nlen), v ? strlen(v) : (size_t)-1,
            v ? fnv1a(v, strlen(v)) : 0);
    }
}

/* Params in every length encoding, reassembled across tiny records. */
static void
params_split(size_t chunk, size_t big)
{
    struct app a;
    peer_response r;
    peer_buf enc = { 0 };
    peer_buf want = { 0 };
    char name130[131];
    char *value;
    size_t i;
    int fd;
    struct {
        const char *n;
        size_t nlen;
        const char *v;
        size_t vlen;
        int force_long;
    } p[5];

    /* The application first: it must not inherit the test's allocations,
     * or valgrind calls them leaks in the child. */
    app_start(&a, ON_UNIX, h_params, 1);
    value = peer_realloc(NULL, big + 1);
    memset(name130, 'N', 130);
    name130[130] = '\0';
    for (i = 0; i < big; i++)
        value[i] = (char)('A' + i % 23);
    value[big] = '\0';
    p[0].n = "SHORT"; p[0].v = "v1"; p[0].force_long = 0;
    p[1].n = "FOURBYTE_VALUE"; p[1].v = value; p[1].force_long = 0;
    p[2].n = "FORCED_LONG"; p[2].v = "tiny"; p[2].force_long = 1;
    p[3].n = name130; p[3].v = "x"; p[3].force_long = 0;
    p[4].n = "LAST"; p[4].v = ""; p[4].force_long = 0;
    for (i = 0; i < 5; i++) {
        char line[128];

        p[i].nlen = strlen(p[i].n);
        p[i].vlen = strlen(p[i].v);
        peer_nv_encode(&enc, p[i].n, p[i].nlen, p[i].v, p[i].vlen,
                       p[i].force_long);
        snprintf(line, sizeof(line), "%zu:%08" PRIx32 " %zu:%08" PRIx32 "\n",
                 p[i].nlen, fnv1a(p[i].n, p[i].nlen), p[i].vlen,
                 fnv1a(p[i].v, p[i].vlen));
        peer_buf_add(&want, line, strlen(line));
    }

    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_PARAMS, 1, enc.data, enc.len, chunk, 1), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, NULL, 0, 0, 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), txt(&want));
    ck_assert_int_eq(peer_end_for(&r, 1)->protocol_status, FCGI_REQUEST_COMPLETE);
    peer_response_free(&r);
    peer_buf_free(&enc);
    peer_buf_free(&want);
    peer_free(value);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}

START_TEST(params_one_byte_records)
{
    params_split(1, 300);
}
END_TEST

START_TEST(params_value_beyond_record)
{
    /* One value longer than a record can carry. */
    params_split(1000, 70000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

static void
h_getchar(FCGX_Request *req)
{
    FCGX_Stream *in = req->in;
    FCGX_Stream *o = req->out;
    char buf[128];
    char *p;
    int c;

    memset(buf, '#', sizeof(buf));
    say(o, "getstr0=%d\n", FCGX_GetStr(buf, 0, in));
    say(o, "eof0=%d\n", FCGX_HasSeenEOF(in));
    c = FCGX_GetChar(in);
    say(o, "getchar=%c\n", c);
    say(o, "unget=%c\n", FCGX_UnGetChar(c, in));
    say(o, "getchar=%c\n", FCGX_GetChar(in));
    say(o, "ungeteof=%d\n", FCGX_UnGetChar(EOF, in));
    c = FCGX_GetStr(buf, 1, in);
    say(o, "getstr1=%d[%c]\n", c, buf[0]);
    memset(buf, '#', sizeof(buf));
    p = FCGX_GetLine(buf, 1, in);
    say(o, "getline1=%s[%s]\n", p == buf ? "buf" : "other", buf);
    p = FCGX_GetLine(buf, 10, in);
    say(o, "getline10=%s[%s]\n", p == buf ? "buf" : "other", buf);
    p = FCGX_GetLine(buf, 4, in);
    say(o, "getline4=%s[%s]\n", p == buf ? "buf" : "other", buf);
    p = FCGX_GetLine(buf, 100, in);
    say(o, "getline100=%s[%s]\n", p == buf ? "buf" : "other", buf);
    say(o, "eof1=%d\n", FCGX_HasSeenEOF(in));
    memset(buf, 0, sizeof(buf));
    say(o, "getstr100=%d[%s]\n", FCGX_GetStr(buf, 100, in), buf);
    say(o, "getstr_end=%d\n", FCGX_GetStr(buf, 100, in));
    say(o, "getchar_end=%d\n", FCGX_GetChar(in));
    say(o, "eof2=%d\n", FCGX_HasSeenEOF(in));
    p = FCGX_GetLine(buf, 100, in);
    say(o, "getline_end=%s\n", p == NULL ? "NULL" : "not NULL");
    say(o, "getchar_out=%d\n", FCGX_GetChar(o));
    say(o, "getstr_out=%d\n", FCGX_GetStr(buf, 10, o));
}

START_TEST(read_edge_cases)
{
    static const char body[] = "abc\ndefghij\nk";
    static const char expected[] =
        "getstr0=0\n"
        "eof0=0\n"
        "getchar=a\n"
        "unget=a\n"
        "getchar=a\n"
        "ungeteof=-1\n"
        "getstr1=1[b]\n"
        "getline1=buf[]\n"
        "getline10=buf[c\n]\n"
        "getline4=buf[def]\n"
        "getline100=buf[ghij\n]\n"
        "eof1=0\n"
        "getstr100=1[k]\n"
        "getstr_end=0\n"
        "getchar_end=-1\n"
        "eof2=-1\n"
        "getline_end=NULL\n"
        "getchar_out=-1\n"
        "getstr_out=0\n";
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_getchar, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    /* Records of 3 bytes: every read crosses record boundaries. */
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, body, strlen(body), 3, 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), expected);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

static void
h_stdin_sum(FCGX_Request *req)
{
    char *body;
    size_t n = slurp(req->in, &body);

    say(req->out, "%zu %08" PRIx32, n, fnv1a(body, n));
    free(body);
}

/*
 * A program that made its connection non-blocking (FCGX_Request.ipcFd) and
 * reads a body that arrives late: the library waits for it in poll(), not
 * in a loop of failing reads.  Says the body's length and the CPU time the
 * reading took, in milliseconds.
 */
static void
h_stdin_nonblocking(FCGX_Request *req)
{
    struct timespec t0;
    struct timespec t1;
    char *body;
    size_t n;

    fcntl(req->ipcFd, F_SETFL, fcntl(req->ipcFd, F_GETFL) | O_NONBLOCK);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    n = slurp(req->in, &body);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    say(req->out, "%zu %ld", n,
        (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    free(body);
}

#define LATE_BODY_PAUSE_MS 500

START_TEST(stdin_late_on_nonblocking_fd)
{
    static const char half[] = "0123456789abcdef";
    struct app a;
    peer_response r;
    unsigned len;
    long cpu_ms;
    int fd;

    app_start(&a, ON_UNIX, h_stdin_nonblocking, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, half, 16, 0, 0), 0);
    usleep(LATE_BODY_PAUSE_MS * 1000);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, half, 16, 0, 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(sscanf(txt(&r.out), "%u %ld", &len, &cpu_ms), 2);
    ck_assert_uint_eq(len, 32);
    /* Reading again and again through the pause would take most of it. */
    ck_assert_msg(cpu_ms < LATE_BODY_PAUSE_MS / 5,
                  "reading a late body took %ld ms of CPU time", cpu_ms);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* A 20 000-byte body in records of 1, 7 and 1000 bytes. */
START_TEST(stdin_across_records)
{
    static const size_t chunks[] = { 1, 7, 1000, 0 };
    size_t len = 20000;
    char *body;
    char expected[64];
    struct app a;
    size_t i;

    app_start(&a, ON_UNIX, h_stdin_sum, 4);
    body = peer_realloc(NULL, len);
    for (i = 0; i < len; i++)
        body[i] = (char)(i * 7 + i / 256);
    snprintf(expected, sizeof(expected), "%zu %08" PRIx32, len, fnv1a(body, len));
    for (i = 0; i < 4; i++) {
        peer_response r;
        int fd = peer_connect(a.addr);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
        ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
        ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, body, len, chunks[i], 1), 0);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_str_eq(txt(&r.out), expected);
        peer_response_free(&r);
        close(fd);
    }
    peer_free(body);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * Reads stdin 100 000 bytes a call (past record ends), then sums it, and
 * says whether any byte past the input was written: the library may only
 * ever put input there (the records behind it are not the program's).
 */
static void
h_stdin_big_reads(FCGX_Request *req)
{
    size_t cap = 1 << 20, len = 0, i;
    char *body = peer_realloc(NULL, cap);
    int n, clean = 1;

    memset(body, 0xa5, cap);
    while ((n = FCGX_GetStr(body + len, 100000, req->in)) > 0) {
        len += (size_t)n;
        if (cap - len < 100000) {
            body = peer_realloc(body, cap * 2);
            memset(body + cap, 0xa5, cap);
            cap *= 2;
        }
    }
    for (i = len; i < len + 100000; i++)
        clean &= (unsigned char)body[i] == 0xa5;
    say(req->out, "%zu %08" PRIx32 "%s", len, fnv1a(body, len), clean ? "" : " wrote past");
    peer_free(body);
}

/*
 * Large reads go on past the end of a STDIN record into the next one.
 * Sent in one piece, so that reads find every kind of record behind a
 * STDIN one: more STDIN (padded or not), GET_VALUES (answered meanwhile),
 * another id's STDIN (skipped), an empty STDIN (the end), and on a kept
 * connection the next request right behind.
 */
START_TEST(stdin_reads_past_records)
{
    static const char *const names[] = { "FCGI_MPXS_CONNS", NULL };
    size_t len = 400000, off, i;
    char *body = peer_realloc(NULL, len);
    char expected[64];
    struct app a;
    peer_response r;
    int fd, round;

    for (i = 0; i < len; i++)
        body[i] = (char)(i * 13 + i / 1000);
    snprintf(expected, sizeof(expected), "%zu %08" PRIx32, len, fnv1a(body, len));
    app_start(&a, ON_UNIX, h_stdin_big_reads, 4);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    for (round = 0; round < 3; round++) {
        peer_buf b = { 0 };

        ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, PEER_KEEP_CONN), 0);
        ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
        for (off = 0, i = 0; off < len; i++) {
            /* Full records with 1 byte of padding, then odd sizes with
             * none or the most. */
            size_t n = round == 0 ? 65535 : i % 3 == 0 ? 40000 : i % 3 == 1 ? 33001 : 65535;
            size_t pad = round == 0 ? 1 : i % 2 ? 255 : 0;

            if (n > len - off)
                n = len - off;
            peer_record_add(&b, PEER_STDIN, 1, body + off, n, pad);
            off += n;
            if (round == 1 && i == 2) {
                peer_buf v = { 0 };

                peer_nv_encode(&v, names[0], strlen(names[0]), "", 0, 0);
                peer_record_add(&b, PEER_GET_VALUES, 0, v.data, v.len, 0);
                peer_record_add(&b, PEER_STDIN, 7, "other", 5, 3);
                peer_buf_free(&v);
            }
        }
        peer_record_add(&b, PEER_STDIN, 1, NULL, 0, 0);
        if (round == 2) {
            /* The next request, right behind. */
            static const char begin[8] = { 0, PEER_RESPONDER, PEER_KEEP_CONN };

            peer_record_add(&b, PEER_BEGIN_REQUEST, 2, begin, sizeof(begin), 0);
            peer_record_add(&b, PEER_PARAMS, 2, NULL, 0, 0);
            peer_record_add(&b, PEER_STDIN, 2, "tail", 4, 4);
            peer_record_add(&b, PEER_STDIN, 2, NULL, 0, 0);
        }
        ck_assert_int_eq(peer_send_raw(fd, b.data, b.len), 0);
        peer_buf_free(&b);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_str_eq(txt(&r.out), expected);
        ck_assert_int_eq(r.n_values_records, round == 1);
        ck_assert_int_eq(r.foreign, 0);
        peer_response_free(&r);
    }
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 2, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    snprintf(expected, sizeof(expected), "4 %08" PRIx32, fnv1a("tail", 4));
    ck_assert_str_eq(txt(&r.out), expected);
    peer_response_free(&r);
    close(fd);
    peer_free(body);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * A record's content read straight into the program's memory, with the
 * end of STDIN and a GET_VALUES right behind it: those bytes must not
 * land past the input in the program's buffer.
 */
START_TEST(stdin_reads_stay_in_input)
{
    static const char *const names[] = { "FCGI_MAX_REQS", NULL };
    size_t len = 60000, i;
    char *body = peer_realloc(NULL, len);
    char expected[64];
    struct app a;
    peer_response r;
    peer_buf b = { 0 }, v = { 0 };
    int fd;

    for (i = 0; i < len; i++)
        body[i] = (char)(i * 31 + i / 700);
    snprintf(expected, sizeof(expected), "%zu %08" PRIx32, len, fnv1a(body, len));
    app_start(&a, ON_UNIX, h_stdin_big_reads, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    /* Let the parameters be taken first, so the body is read directly. */
    usleep(100000);
    peer_nv_encode(&v, names[0], strlen(names[0]), "", 0, 0);
    ck_assert_int_eq(peer_record_add(&b, PEER_STDIN, 1, body, len, 0), 0);
    ck_assert_int_eq(peer_record_add(&b, PEER_STDIN, 1, NULL, 0, 0), 0);
    ck_assert_int_eq(peer_record_add(&b, PEER_GET_VALUES, 0, v.data, v.len, 0), 0);
    ck_assert_int_eq(peer_send_raw(fd, b.data, b.len), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), expected);
    peer_response_free(&r);
    peer_buf_free(&b);
    peer_buf_free(&v);
    close(fd);
    peer_free(body);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Writing.                                                            */

#define BIG_OUT 20000

static char *
big_pattern(void)
{
    char *p = peer_realloc(NULL, BIG_OUT + 1);
    int i;

    for (i = 0; i < BIG_OUT; i++)
        p[i] = (char)('0' + i % 10);
    p[BIG_OUT] = '\0';
    return p;
}

static void
h_put(FCGX_Request *req)
{
    FCGX_Stream *o = req->out;
    FCGX_Stream *e = req->err;
    char *big = big_pattern();

    say(e, "putchar=%d\n", FCGX_PutChar('A', o));
    say(e, "putstr0=%d\n", FCGX_PutStr("zzz", 0, o));
    say(e, "putstr3=%d\n", FCGX_PutStr("bcd", 3, o));
    say(e, "puts=%d\n", FCGX_PutS("efg\n", o));
    say(e, "putsempty=%d\n", FCGX_PutS("", o));
    say(e, "putchar_nul=%d\n", FCGX_PutChar(0, o));
    say(e, "putchar_255=%d\n", FCGX_PutChar(0xff, o));
    say(e, "putbig=%d\n", FCGX_PutStr(big, BIG_OUT, o));
    say(e, "putchar_in=%d\n", FCGX_PutChar('x', req->in));
    say(e, "putstr_in=%d\n", FCGX_PutStr("x", 1, req->in));
    say(e, "puts_in=%d\n", FCGX_PutS("x", req->in));
    peer_free(big);
}

START_TEST(write_functions)
{
    struct app a;
    peer_response r;
    char *big;
    peer_buf want = { 0 };
    int fd;

    app_start(&a, ON_UNIX, h_put, 1);
    big = big_pattern();
    peer_buf_add(&want, "Abcdefg\n\0\xff", 10);
    peer_buf_add(&want, big, BIG_OUT);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, NULL, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.err),
                     "putchar=65\nputstr0=0\nputstr3=3\nputs=4\nputsempty=0\n"
                     "putchar_nul=0\nputchar_255=255\nputbig=20000\n"
                     "putchar_in=-1\nputstr_in=-1\nputs_in=-1\n");
    ck_assert_uint_eq(r.out.len, want.len);
    ck_assert_mem_eq(r.out.data, want.data, want.len);
    ck_assert_int_eq(r.out_eos, 1);
    peer_response_free(&r);
    peer_buf_free(&want);
    peer_free(big);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * printf cases: each line is printed by FCGX_FPrintF in the application and
 * by snprintf here; the results must be byte-identical, return values too.
 * The reference's own formatter lacks hh, j, z, t, %a and %F and truncates
 * at them.  Formats of plain conversions only (%s %d %i %u %x %X %c %%, with
 * l, ll or z) take the library's own path, every other one vsnprintf; the
 * cases cover both, the first with its edge values.  Some formats are odd on
 * purpose: empty, or given an argument they do not use.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#pragma GCC diagnostic ignored "-Wformat-extra-args"

static char pf_long[10001];
/* More than a stdout record's buffer holds. */
static char pf_huge[20001];
/* Not a constant, so that the compiler does not see the null it passes. */
static const char *volatile pf_null;
static int pf_count;

/* A 20000-byte format without a conversion, from 10-byte pieces. */
#define PF_L10 "a literal "
#define PF_L100 PF_L10 PF_L10 PF_L10 PF_L10 PF_L10 PF_L10 PF_L10 PF_L10 PF_L10 PF_L10
#define PF_L1000                                                           \
    PF_L100 PF_L100 PF_L100 PF_L100 PF_L100 PF_L100 PF_L100 PF_L100 PF_L100 PF_L100
#define PF_L10000                                                          \
    PF_L1000 PF_L1000 PF_L1000 PF_L1000 PF_L1000 PF_L1000 PF_L1000 PF_L1000 \
    PF_L1000 PF_L1000

#define PF_CASES(X)                                                        \
    X("%d|%i|%u", -42, 42, 4000000000u)                                    \
    X("%x|%X|%o|%#x|%#o", 0xbeefu, 0xbeefu, 8u, 255u, 8u)                  \
    X("%c%c%%", 'o', 'k')                                                  \
    X("[%5d][%-5d][%05d][%+d][% d]", 42, 42, 42, 42, 42)                   \
    X("[%s][%.3s][%10s][%-10s]", "str", "truncate", "right", "left")      \
    X("[%*d][%-*s][%.*f]", 6, 42, 6, "ab", 2, 3.14159)                     \
    X("%ld|%lu|%lx", -1234567890123L, 1234567890123UL, 0xdeadbeefcafeUL)   \
    X("%lld|%llu|%llx", -9223372036854775807LL - 1, 18446744073709551615ULL, 0x1234567890abcdefULL) \
    X("%hd|%hu", (short)-300, (unsigned short)65000)                       \
    X("%hhd|%hhu|%hhx", (signed char)-5, (unsigned char)250, (unsigned char)171) \
    X("%zu|%zd|%zx", (size_t)123456789012ULL, (ssize_t)-77, (size_t)0xabcdef) \
    X("%jd|%ju", (intmax_t)-9000000000LL, (uintmax_t)18000000000ULL)       \
    X("%td", (ptrdiff_t)-123456)                                           \
    X("%f|%.0f|%10.4f|%-10.2f|", 3.5, 2.5, -1.0 / 3, 1e3)                  \
    X("%e|%E|%.2e", 12345.678, 0.000123, 6.02214076e23)                    \
    X("%g|%G|%g|%g", 0.0001, 1e-10, 123456789.0, 100.0)                    \
    X("%a|%A|%.3a", 1.0, -0.375, 3.14159)                                  \
    X("%Lf|%Le|%Lg", (long double)1.5L, (long double)-2.25e100L, (long double)1e-300L) \
    X("%F|%lf", 1.25, 2.75)                                                \
    X("%.300f", 1e300)                                                     \
    X("%s", pf_long)                                                       \
    X("%5.1s|%-3c|%3c", "xyz", 'a', 'b')                                   \
    X("%u|%d", 0u, 0)                                                      \
    X("%#.3g|%+.2e|%08.3f", 1.0, 5.0, -3.14159)                            \
    /* Plain conversions, at their limits. */                              \
    X("%d|%i|%d|%i|%d", INT_MIN, INT_MAX, 0, -1, 7)                        \
    X("%u|%u|%x|%X|%x|%X|%x", 0u, UINT_MAX, 0u, 0u, UINT_MAX, UINT_MAX, 0x10u) \
    X("%ld|%li|%ld|%lu|%lu|%lx|%lX", LONG_MIN, LONG_MAX, 0L, 0UL, ULONG_MAX, \
      ULONG_MAX, 0xfedcba98UL)                                             \
    X("%lld|%lli|%lld|%llu|%llu|%llx|%llX", LLONG_MIN, LLONG_MAX, 0LL, 0ULL, \
      ULLONG_MAX, ULLONG_MAX, 0x0123456789abcdefULL)                       \
    X("%zu|%zu|%zx|%zX|%zd|%zi|%zd", SIZE_MAX, (size_t)0, SIZE_MAX,        \
      (size_t)0xbeef, (ssize_t)-1, (ssize_t)SSIZE_MAX, -SSIZE_MAX - 1)     \
    X("[%c][%c][%c][%c]", 'a', 0, 255, -1) /* '\0' is a byte too */        \
    X("[%s][%s][%s]", "", "x", pf_null) /* glibc's "(null)" */             \
    X("", 0)                                                               \
    X("only literal text, no conversion", 0)                               \
    X("%%", 0)                                                             \
    X("%%%d%%%s%%", 5, "mid")                                              \
    X(PF_L10000 PF_L10000, 0)                                              \
    X(PF_L10000 "%d" PF_L10000 "%s%%", INT_MIN, pf_long)                   \
    X("[%s]", pf_huge)                                                     \
    X("%d %i %u %x %X %c %s %ld %li %lu %lx %lX %lld %lli %llu %llx %llX "  \
      "%zu %zx %zX %zd %zi %% %s.", -1, 2, 3u, 0xau, 0xbu, 'c', "s", -4L,  \
      5L, 6UL, 0xdUL, 0xeUL, -7LL, 8LL, 9ULL, 0xfULL, 0xaULL, (size_t)10,  \
      (size_t)11, (size_t)12, (ssize_t)-13, (ssize_t)14, "end")            \
    /* Not plain: after a plain conversion, vsnprintf still gets every    \
       argument. */                                                         \
    X("%d %s %5d %s", 1, "two", 3, "four")                                 \
    X("[%-s][%p][%p]", "l", (void *)0x1234, (void *)0)                     \
    X("%s|%ls", "n", L"wide")                                              \
    X("%2$s %1$s", "world", "hello")                                       \
    X("%d|ab%ncd", 9, &pf_count)                                           \
    X("%u|%hhd|%lc|%Lf", 1u, 300, (wint_t)'w', 1.5L)

#define PF_COUNT_ONE(fmt, ...) +1
enum { PF_N = 0 PF_CASES(PF_COUNT_ONE) };

static void
fill_pf_long(void)
{
    size_t i;

    for (i = 0; i + 1 < sizeof(pf_long); i++)
        pf_long[i] = (char)('a' + i % 26);
    pf_long[sizeof(pf_long) - 1] = '\0';
    for (i = 0; i + 1 < sizeof(pf_huge); i++)
        pf_huge[i] = (char)('A' + i % 26);
    pf_huge[sizeof(pf_huge) - 1] = '\0';
}

static void
h_printf(FCGX_Request *req)
{
    int i = 0;

    fill_pf_long();
#define PF_EMIT(fmt, ...)                                                  \
    do {                                                                   \
        int want = snprintf(NULL, 0, fmt, __VA_ARGS__);                    \
        int got = FCGX_FPrintF(req->out, fmt, __VA_ARGS__);                \
        FCGX_PutChar('\n', req->out);                                      \
        if (got != want)                                                   \
            say(req->err, "case %d (%s): returned %d, want %d\n", i, fmt,  \
                got, want);                                                \
        i++;                                                               \
    } while (0);
    PF_CASES(PF_EMIT)
#undef PF_EMIT
}

START_TEST(printf_matches_snprintf)
{
    struct app a;
    peer_response r;
    peer_buf want = { 0 };
    int fd;

    app_start(&a, ON_UNIX, h_printf, 1);
    fill_pf_long();
#define PF_EXPECT(fmt, ...)                                                \
    do {                                                                   \
        int n = snprintf(NULL, 0, fmt, __VA_ARGS__);                       \
        char *s = peer_realloc(NULL, (size_t)n + 1);                       \
        snprintf(s, (size_t)n + 1, fmt, __VA_ARGS__);                      \
        peer_buf_add(&want, s, (size_t)n);                                 \
        peer_buf_add(&want, "\n", 1);                                      \
        peer_free(s);                                                      \
    } while (0);
    PF_CASES(PF_EXPECT)
#undef PF_EXPECT

    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, NULL, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.err), "");
    if (r.out.len != want.len || memcmp(r.out.data, want.data, want.len) != 0) {
        /* Name the first line that differs. */
        const char *g = txt(&r.out);
        const char *w = txt(&want);
        int line = 0;

        while (*g && *g == *w) {
            if (*g == '\n')
                line++;
            g++;
            w++;
        }
        ck_abort_msg("printf case %d of %d differs: got \"%.60s\", want \"%.60s\"",
                     line, PF_N, g, w);
    }
    peer_response_free(&r);
    peer_buf_free(&want);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

#pragma GCC diagnostic pop

/*
 * Formatted output that runs past the end of the stream's buffer, cut at
 * every offset of it: before each line the handler flushes, then pads the
 * buffer's free space with '.' down to k bytes (k = 0 .. PF_EDGE_MAX), so
 * that the cut falls inside each number, string and literal in turn.  The
 * test strips the dots and compares the rest with snprintf.
 */
#define PF_EDGE_FMT "<%d|%llu|%s|%lX|%c>"
#define PF_EDGE_ARGS INT_MIN, ULLONG_MAX, "text", 0xfedcba9876543210UL, 'z'
enum { PF_EDGE_MAX = 60 };

static void
h_printf_edge(FCGX_Request *req)
{
    FCGX_Stream *o = req->out;
    int want = snprintf(NULL, 0, PF_EDGE_FMT, PF_EDGE_ARGS);
    char dots[512];
    int k;

    memset(dots, '.', sizeof(dots));
    for (k = 0; k <= PF_EDGE_MAX; k++) {
        int pad, got;

        FCGX_FFlush(o);
        for (pad = (int)(o->stop - o->wrNext) - k; pad > 0; pad -= (int)sizeof(dots))
            FCGX_PutStr(dots, pad < (int)sizeof(dots) ? pad : (int)sizeof(dots), o);
        if (o->stop - o->wrNext != k)
            say(req->err, "k=%d: free space %d\n", k, (int)(o->stop - o->wrNext));
        got = FCGX_FPrintF(o, PF_EDGE_FMT, PF_EDGE_ARGS);
        if (o->wrNext > o->stop)
            say(req->err, "k=%d: wrote past the buffer\n", k);
        if (got != want)
            say(req->err, "k=%d: returned %d, want %d\n", k, got, want);
        FCGX_PutChar('\n', o);
    }
}

START_TEST(printf_across_buffer_end)
{
    struct app a;
    peer_response r;
    char want[128];
    const char *p, *end;
    size_t first = 0;
    int fd, k;

    ck_assert_int_lt(snprintf(want, sizeof(want), PF_EDGE_FMT, PF_EDGE_ARGS),
                     (int)sizeof(want));
    app_start(&a, ON_UNIX, h_printf_edge, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, NULL, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.err), "");
    p = (const char *)r.out.data;
    end = p + r.out.len;
    for (k = 0; k <= PF_EDGE_MAX; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ndots = 0;

        ck_assert_msg(nl != NULL, "line %d missing", k);
        while (p[ndots] == '.')
            ndots++;
        /* The same buffer each time: the dots and k add up alike. */
        if (k == 0)
            first = ndots;
        ck_assert_uint_eq(ndots + (size_t)k, first);
        ck_assert_uint_eq((size_t)(nl - p) - ndots, strlen(want));
        ck_assert_msg(memcmp(p + ndots, want, strlen(want)) == 0,
                      "k=%d: got \"%.*s\"", k, (int)strlen(want), p + ndots);
        p = nl + 1;
    }
    ck_assert_ptr_eq(p, end);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

static int
vprint(FCGX_Stream *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = FCGX_VFPrintF(s, fmt, ap);
    va_end(ap);
    return n;
}

static void
h_vprintf(FCGX_Request *req)
{
    int n1 = vprint(req->out, "%s=%d;", "answer", 42);
    int n2 = vprint(req->out, "%5.2f|%-4s|%lld;", 2.0 / 3, "x", 1LL << 40);
    int n3 = vprint(req->out, "%s", "");
    int n4 = vprint(req->out, "plain");

    say(req->err, "%d %d %d %d", n1, n2, n3, n4);
}

START_TEST(vfprintf_va_list)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_vprintf, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, NULL, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "answer=42; 0.67|x   |1099511627776;plain");
    ck_assert_str_eq(txt(&r.err), "10 25 0 5");
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

static void
h_flush(FCGX_Request *req)
{
    FCGX_PutS("early", req->out);
    if (FCGX_FFlush(req->out) != 0)
        FCGX_PutS("[flush failed]", req->out);
    /* Blocks until the test has seen "early" and sends stdin. */
    if (FCGX_GetChar(req->in) != 'x')
        FCGX_PutS("[no x]", req->out);
    FCGX_PutS("late", req->out);
}

START_TEST(fflush_sends_now)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_flush, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_RECORD, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.records[0].type, PEER_STDOUT);
    ck_assert_str_eq(txt(&r.out), "early");
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "x", 1, 0, 1), 0);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "earlylate");
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

static void
h_fclose(FCGX_Request *req)
{
    FCGX_PutS("data", req->out);
    say(req->err, "fclose=%d\n", FCGX_FClose(req->out));
    say(req->err, "puts_after=%d\n", FCGX_PutS("more", req->out));
    say(req->err, "putchar_after=%d\n", FCGX_PutChar('m', req->out));
    say(req->err, "fclose_in=%d\n", FCGX_FClose(req->in));
    say(req->err, "getchar_after=%d\n", FCGX_GetChar(req->in));
}

START_TEST(fclose_ends_stream)
{
    struct app a;
    peer_response r;
    size_t i;
    int fd;
    int out_before_err = 0;

    app_start(&a, ON_UNIX, h_fclose, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, NULL, "unread", 6), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "data");
    ck_assert_int_eq(r.out_eos, 1);   /* one end-of-stream, not two */
    ck_assert_str_eq(txt(&r.err),
                     "fclose=0\nputs_after=-1\nputchar_after=-1\n"
                     "fclose_in=0\ngetchar_after=-1\n");
    /* FClose sent stdout's end before anything went to stderr. */
    for (i = 0; i < r.n_records; i++) {
        if (r.records[i].type == PEER_STDOUT && r.records[i].content_len == 0)
            out_before_err = 1;
        if (r.records[i].type == PEER_STDERR)
            break;
    }
    ck_assert_int_eq(out_before_err, 1);
    ck_assert_int_eq(peer_end_for(&r, 1)->protocol_status, FCGI_REQUEST_COMPLETE);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

static void
h_input_error(FCGX_Request *req)
{
    char *body;
    size_t n = slurp(req->in, &body);
    int e1 = FCGX_GetError(req->in);

    FCGX_ClearError(req->in);
    say(req->out, "read=%zu[%s] err=%d cleared=%d out_err=%d", n, body, e1,
        FCGX_GetError(req->in), FCGX_GetError(req->out));
    free(body);
}

/* A record with a bad version inside stdin is an error on the in stream. */
START_TEST(get_error_and_clear)
{
    struct app a;
    peer_response r;
    unsigned char h[8];
    int fd;

    app_start(&a, ON_UNIX, h_input_error, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "ok", 2, 0, 0), 0);
    peer_header(h, 2, PEER_STDIN, 1, 0, 0);
    ck_assert_int_eq(peer_send_raw(fd, h, sizeof(h)), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END | PEER_UNTIL_CLOSE,
                               peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "read=2[ok] err=-2 cleared=0 out_err=0");
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* FCGX_CreateWriter on one end of a socketpair, read back at the other. */
/*
 * Nothing reads the socketpair until the writer is done, so `size` stays
 * well below what the socket buffers: small records cost a lot of it.
 */
static void
writer_case(int bufflen, int type, int id, int size)
{
    int sv[2];
    FCGX_Stream *w;
    peer_response r;
    peer_buf want = { 0 };
    char *big = big_pattern();
    size_t i;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    w = FCGX_CreateWriter(sv[0], id, bufflen, type);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(FCGX_PutS("hello", w), 5);
    ck_assert_int_eq(FCGX_FFlush(w), 0);
    ck_assert_int_eq(FCGX_PutStr(big, size, w), size);
    ck_assert_int_eq(FCGX_FClose(w), 0);
    ck_assert_int_eq(FCGX_GetError(w), 0);
    FCGX_FreeStream(&w);
    ck_assert_ptr_null(w);
    FCGX_FreeStream(&w);   /* NULL is ignored */
    /* The writer does not own the descriptor. */
    ck_assert_int_eq(fcntl(sv[0], F_GETFD), 0);
    close(sv[0]);

    peer_response_init(&r);
    ck_assert_int_eq(peer_read(sv[1], &r, id, PEER_UNTIL_CLOSE, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.malformed, 0);
    ck_assert_uint_ge(r.n_records, 3);
    /* FFlush made "hello" a record of its own. */
    ck_assert_uint_eq(r.records[0].content_len, 5);
    for (i = 0; i < r.n_records; i++) {
        const peer_record *rec = &r.records[i];

        ck_assert_int_eq(rec->version, 1);
        ck_assert_int_eq(rec->type, type);
        ck_assert_int_eq(rec->id, id);
        ck_assert_uint_le(rec->content_len, (size_t)bufflen);
        ck_assert_uint_eq((rec->content_len + rec->padding_len) % 8, 0);
        ck_assert_uint_lt(rec->padding_len, 8);
        /* Only the last record is empty: the end of the stream. */
        ck_assert_int_eq(rec->content_len == 0, i + 1 == r.n_records);
    }
    peer_buf_add(&want, "hello", 5);
    peer_buf_add(&want, big, (size_t)size);
    if (type == PEER_STDOUT) {
        ck_assert_uint_eq(r.out.len, want.len);
        ck_assert_mem_eq(r.out.data, want.data, want.len);
    } else {
        ck_assert_uint_eq(r.err.len, want.len);
        ck_assert_mem_eq(r.err.data, want.data, want.len);
    }
    peer_response_free(&r);
    peer_buf_free(&want);
    peer_free(big);
    close(sv[1]);
}

START_TEST(create_writer_framing)
{
    writer_case(8192, PEER_STDERR, 5, BIG_OUT);
    writer_case(64, PEER_STDOUT, 300, 2000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Roles.                                                              */

static void
h_filter(FCGX_Request *req)
{
    const char *mode = FCGX_GetParam("MODE", req->envp);
    char *in;
    char *data;
    size_t nin;
    size_t ndata;
    int early;

    say(req->out, "role=%s len=%s\n", FCGX_GetParam("FCGI_ROLE", req->envp),
        FCGX_GetParam("FCGI_DATA_LENGTH", req->envp));
    say(req->out, "first=%c\n", FCGX_GetChar(req->in));
    if (mode != NULL && strcmp(mode, "early") == 0) {
        /* Too early: stdin has not reached its end. */
        early = FCGX_StartFilterData(req->in);
        say(req->out, "early=%d err=%d\n", early, FCGX_GetError(req->in));
        return;
    }
    nin = slurp(req->in, &in);
    say(req->out, "stdin=%zu[%s]\n", nin, in);
    say(req->out, "start=%d\n", FCGX_StartFilterData(req->in));
    ndata = slurp(req->in, &data);
    say(req->out, "data=%zu[%s]\n", ndata, data);
    free(in);
    free(data);
}

START_TEST(filter_role_data_stream)
{
    const char *pairs[] = { "FCGI_DATA_LENGTH", "11", NULL };
    const char *early[] = { "FCGI_DATA_LENGTH", "11", "MODE", "early", NULL };
    struct app a;
    peer_response r;
    int fd;
    int i;

    app_start(&a, ON_UNIX, h_filter, 2);
    for (i = 0; i < 2; i++) {
        fd = peer_connect(a.addr);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(peer_begin(fd, 2, PEER_FILTER, 0), 0);
        ck_assert_int_eq(peer_params(fd, 2, i ? early : pairs, 0), 0);
        ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 2, "input", 5, 2, 1), 0);
        ck_assert_int_eq(peer_stream(fd, PEER_DATA, 2, "file-bytes!", 11, 4, 1), 0);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, 2, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_str_eq(txt(&r.out),
                         i ? "role=FILTER len=11\nfirst=i\nearly=-1 err=-5\n"
                           : "role=FILTER len=11\nfirst=i\n"
                             "stdin=4[nput]\nstart=0\ndata=11[file-bytes!]\n");
        ck_assert_int_eq(peer_end_for(&r, 2)->protocol_status, FCGI_REQUEST_COMPLETE);
        peer_response_free(&r);
        close(fd);
    }
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

static void
h_authorizer(FCGX_Request *req)
{
    const char *user = FCGX_GetParam("REMOTE_USER", req->envp);

    say(req->out, "role=%s role_field=%d\n",
        FCGX_GetParam("FCGI_ROLE", req->envp), req->role);
    if (user != NULL && strcmp(user, "alice") == 0)
        FCGX_PutS("Status: 200 OK\r\nVariable-USER: alice\r\n\r\n", req->out);
    else
        FCGX_PutS("Status: 403 Forbidden\r\n\r\n", req->out);
}

START_TEST(authorizer_role)
{
    const char *alice[] = { "REMOTE_USER", "alice", NULL };
    const char *bob[] = { "REMOTE_USER", "bob", NULL };
    struct app a;
    int i;

    app_start(&a, ON_UNIX, h_authorizer, 2);
    for (i = 0; i < 2; i++) {
        peer_response r;
        int fd = peer_connect(a.addr);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(peer_request(fd, 9, PEER_AUTHORIZER, 0, i ? bob : alice, NULL, 0), 0);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, 9, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_str_eq(txt(&r.out),
                         i ? "role=AUTHORIZER role_field=2\nStatus: 403 Forbidden\r\n\r\n"
                           : "role=AUTHORIZER role_field=2\nStatus: 200 OK\r\n"
                             "Variable-USER: alice\r\n\r\n");
        ck_assert_int_eq(peer_end_for(&r, 9)->protocol_status, FCGI_REQUEST_COMPLETE);
        peer_response_free(&r);
        close(fd);
    }
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

START_TEST(unknown_role_refused)
{
    const char *pairs[] = { "FOO", "bar", "EMPTY", "", "LONG", make_long_value(), NULL };
    struct app a;
    peer_response r;
    const peer_end *end;
    int fd;

    app_start(&a, ON_UNIX, h_basic, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 3, 9, 0, pairs, "body", 4), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 3, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    end = peer_end_for(&r, 3);
    ck_assert_int_eq(end->protocol_status, FCGI_UNKNOWN_ROLE);
    ck_assert_uint_eq(r.out.len, 0);
    peer_response_free(&r);
    close(fd);

    /* The application goes on to serve a proper request. */
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 4, PEER_RESPONDER, 0, pairs, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 4, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    expect_basic(&r, 4);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One connection, several request ids.                                */

START_TEST(second_begin_cant_mpx)
{
    struct app a;
    peer_response r;
    const peer_end *e1;
    const peer_end *e2;
    int fd;

    app_start(&a, ON_UNIX, h_echo, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    ck_assert_int_eq(peer_begin(fd, 2, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "abc", 3, 0, 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    e1 = peer_end_for(&r, 1);
    e2 = peer_end_for(&r, 2);
    ck_assert_ptr_nonnull(e2);
    ck_assert_int_eq(e2->protocol_status, FCGI_CANT_MPX_CONN);
    ck_assert_int_eq(e1->protocol_status, FCGI_REQUEST_COMPLETE);
    ck_assert_str_eq(txt(&r.out), "abc");
    ck_assert_int_eq(r.foreign, 0);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

START_TEST(other_ids_skipped)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_echo, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 7, "before", 6, 0, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 7, "zzz", 3, 0, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "o", 1, 0, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_DATA, 7, "data", 4, 0, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_PARAMS, 8, "\x01\x01""ab", 4, 0, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "k", 1, 0, 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "ok");
    ck_assert_int_eq(r.n_ends, 1);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * Empty (end-of-stream) records of other ids end nothing of ours.  (The
 * reference takes them for the end of its own stdin and loses the rest.)
 */
START_TEST(other_ids_empty_records)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_echo, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 1, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 1, NULL, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "o", 1, 0, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 7, NULL, 0, 0, 1), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_DATA, 7, NULL, 0, 0, 1), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_PARAMS, 8, NULL, 0, 0, 1), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 1, "k", 1, 0, 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "ok");
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGI_KEEP_CONN.                                                     */

/* MODE=noread leaves the body unread; otherwise echoes SEQ and the body. */
static void
h_keep(FCGX_Request *req)
{
    const char *mode = FCGX_GetParam("MODE", req->envp);
    const char *seq = FCGX_GetParam("SEQ", req->envp);
    char *body;
    size_t n;

    if (mode != NULL && strcmp(mode, "noread") == 0) {
        say(req->out, "seq %s unread", seq ? seq : "?");
        return;
    }
    n = slurp(req->in, &body);
    say(req->out, "seq %s keep=%d body %zu[%.20s]", seq ? seq : "?",
        req->keepConnection, n, body);
    free(body);
}

static void
keep_conn_requests(int count)
{
    struct app a;
    int fd;
    int i;

    app_start(&a, ON_UNIX, h_keep, count);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    for (i = 0; i < count; i++) {
        char seq[16];
        char body[32];
        char expected[96];
        const char *pairs[] = { "SEQ", seq, NULL };
        peer_response r;
        int id = i % 2 ? 1 : 2 + i;

        snprintf(seq, sizeof(seq), "%d", i);
        snprintf(body, sizeof(body), "body-%d", i);
        snprintf(expected, sizeof(expected), "seq %d keep=1 body %zu[%s]", i,
                 strlen(body), body);
        ck_assert_int_eq(peer_request(fd, id, PEER_RESPONDER, PEER_KEEP_CONN,
                                      pairs, body, strlen(body)), 0);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, id, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_str_eq(txt(&r.out), expected);
        ck_assert_int_eq(peer_end_for(&r, id)->protocol_status, FCGI_REQUEST_COMPLETE);
        ck_assert_int_eq(r.closed, 0);
        peer_response_free(&r);
    }
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}

START_TEST(keep_conn_two)
{
    keep_conn_requests(2);
}
END_TEST

START_TEST(keep_conn_ten)
{
    keep_conn_requests(10);
}
END_TEST

/*
 * The first request leaves a 100 KB body unread; the second one on the same
 * connection must still be served.  (The reference drops it: the leftover
 * stdin records make it close the connection.)
 */
START_TEST(keep_conn_unread_body)
{
    const char *noread[] = { "MODE", "noread", "SEQ", "1", NULL };
    const char *echo[] = { "SEQ", "2", NULL };
    size_t len = 100 * 1000;
    char *body;
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_keep, 2);
    body = peer_realloc(NULL, len);
    memset(body, 'b', len);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, PEER_KEEP_CONN, noread, body, len), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "seq 1 unread");
    peer_response_free(&r);

    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, PEER_KEEP_CONN, echo, "second", 6), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "seq 2 keep=1 body 6[second]");
    peer_response_free(&r);
    peer_free(body);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Management records.                                                 */

static int
is_number(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static void
expect_known_values(const peer_response *r)
{
    size_t i;

    ck_assert_int_eq(r->bad_values, 0);
    for (i = 0; i < r->n_values; i++) {
        const char *n = r->values[i].name;

        ck_assert_msg(strcmp(n, "FCGI_MAX_CONNS") == 0
                      || strcmp(n, "FCGI_MAX_REQS") == 0
                      || strcmp(n, "FCGI_MPXS_CONNS") == 0,
                      "unexpected name in GET_VALUES_RESULT: %s", n);
        ck_assert_msg(is_number(r->values[i].value), "%s has value \"%s\"", n,
                      r->values[i].value);
        ck_assert_int_ge(atoi(r->values[i].value), strcmp(n, "FCGI_MPXS_CONNS") ? 1 : 0);
    }
}

/* A proper request on fd afterwards, to show the connection still works. */
static void
then_request(int fd, int id)
{
    const char *pairs[] = { "SEQ", "after", NULL };
    peer_response r;

    ck_assert_int_eq(peer_request(fd, id, PEER_RESPONDER, 0, pairs, "z", 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, id, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "seq after keep=0 body 1[z]");
    peer_response_free(&r);
}

/* ------------------------------------------------------------------ */
/* Limits and timeouts from the environment (libfcgi(3)).              */

/* Starts h_keep on a Unix socket with extra environment for the app. */
static void
app_start_env(struct app *a, int max, const char *const *env)
{
    memset(a, 0, sizeof(*a));
    a->lfd = listen_fcgx(ON_UNIX, a->addr, sizeof(a->addr));
    a->env = env;
    app_start_on(a, h_keep, max, NULL);
}

/* A request over a bound gets FCGI_OVERLOADED; the next one is served. */
static void
overloaded_then_served(const char *const *env, const char *const *pairs)
{
    struct app a;
    peer_response r;
    int fd;

    app_start_env(&a, 1, env);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, pairs, "z", 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_ptr_nonnull(peer_end_for(&r, 1));
    ck_assert_int_eq(peer_end_for(&r, 1)->protocol_status, FCGI_OVERLOADED);
    ck_assert_uint_eq(r.out.len, 0);
    peer_response_free(&r);
    close(fd);

    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}

START_TEST(limit_params_bytes)
{
    static const char *const env[] = { "FCGI_PARAMS_MAX_BYTES", "2048", NULL };
    static char big[4001];
    const char *pairs[] = { "BIG", big, NULL };

    memset(big, 'x', sizeof(big) - 1);
    overloaded_then_served(env, pairs);
}
END_TEST

START_TEST(limit_params_count)
{
    static const char *const env[] = { "FCGI_PARAMS_MAX_COUNT", "20", NULL };
    static char names[30][16];
    const char *pairs[61];
    int i;

    for (i = 0; i < 30; i++) {
        snprintf(names[i], sizeof(names[i]), "P%d", i);
        pairs[2 * i] = names[i];
        pairs[2 * i + 1] = "v";
    }
    pairs[60] = NULL;
    overloaded_then_served(env, pairs);
}
END_TEST

START_TEST(limit_param_length)
{
    static const char *const env[] = { "FCGI_PARAM_MAX_LENGTH", "1000", NULL };
    static char big[1201];
    const char *pairs[] = { "SMALL", "ok", "BIG", big, NULL };

    memset(big, 'y', sizeof(big) - 1);
    overloaded_then_served(env, pairs);
}
END_TEST

static long
elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

/* A peer that starts a request and stalls is dropped after
 * FCGI_PARAMS_TIMEOUT; the process serves the next one meanwhile. */
START_TEST(timeout_request_head)
{
    static const char *const env[] = { "FCGI_PARAMS_TIMEOUT", "400", NULL };
    struct app a;
    struct timespec t0;
    long ms;
    int slow, fd;

    app_start_env(&a, 2, env);
    slow = peer_connect(a.addr);
    ck_assert_int_ge(slow, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(peer_begin(slow, 1, PEER_RESPONDER, 0), 0);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(peer_wait_close(slow, peer_ms(5000)), 1);
    ms = elapsed_ms(&t0);
    ck_assert_msg(ms >= 300, "dropped after %ld ms, before the timeout", ms);
    close(slow);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* A kept connection left idle is closed after FCGI_IDLE_TIMEOUT. */
START_TEST(timeout_idle_kept_connection)
{
    static const char *const env[] = { "FCGI_IDLE_TIMEOUT", "400", NULL };
    const char *pairs[] = { "SEQ", "1", NULL };
    struct app a;
    peer_response r;
    struct timespec t0;
    long ms;
    int fd;

    app_start_env(&a, 2, env);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, PEER_KEEP_CONN, pairs, "z", 1), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "seq 1 keep=1 body 1[z]");
    peer_response_free(&r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(peer_wait_close(fd, peer_ms(5000)), 1);
    ms = elapsed_ms(&t0);
    ck_assert_msg(ms >= 300, "closed after %ld ms, before the timeout", ms);
    close(fd);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* FCGI_RECYCLE_AFTER=3: three requests are served, the third closes its
 * kept connection, and the next FCGX_Accept_r returns -1. */
START_TEST(recycle_after_requests)
{
    static const char *const env[] = { "FCGI_RECYCLE_AFTER", "3", NULL };
    const char *pairs[] = { "SEQ", "1", NULL };
    struct app a;
    peer_response r;
    int fd, id;

    app_start_env(&a, 4, env);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    for (id = 1; id <= 3; id++) {
        ck_assert_int_eq(peer_request(fd, id, PEER_RESPONDER, PEER_KEEP_CONN, pairs, "z", 1), 0);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, id, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_str_eq(txt(&r.out), "seq 1 keep=1 body 1[z]");
        peer_response_free(&r);
    }
    ck_assert_int_eq(peer_wait_close(fd, peer_ms(PEER_TIMEOUT_MS)), 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_ACCEPT_FAILED);
}
END_TEST

/* GET_VALUES with nothing behind it must be answered (the reference waits). */
START_TEST(get_values_alone)
{
    static const char *const names[] = {
        "FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", NULL
    };
    struct app a;
    peer_response r;
    const char *mpxs;
    int fd;

    app_start(&a, ON_UNIX, h_keep, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_get_values(fd, names), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 0, PEER_UNTIL_MGMT, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.n_values_records, 1);
    ck_assert_uint_eq(r.n_values, 3);
    expect_known_values(&r);
    ck_assert_ptr_nonnull(peer_value(&r, "FCGI_MAX_CONNS"));
    ck_assert_ptr_nonnull(peer_value(&r, "FCGI_MAX_REQS"));
    mpxs = peer_value(&r, "FCGI_MPXS_CONNS");
    ck_assert_ptr_nonnull(mpxs);
    ck_assert_msg(strcmp(mpxs, "0") == 0 || strcmp(mpxs, "1") == 0, "MPXS %s", mpxs);
    ck_assert_int_eq(r.records[0].type, PEER_GET_VALUES_RESULT);
    ck_assert_int_eq(r.records[0].id, 0);
    peer_response_free(&r);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

START_TEST(get_values_unknown_names_omitted)
{
    static const char *const names[] = { "FOO", "FCGI_MAX_REQS", "fcgi_max_conns", "", NULL };
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_keep, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_get_values(fd, names), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 0, PEER_UNTIL_MGMT, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_uint_eq(r.n_values, 1);
    ck_assert_str_eq(r.values[0].name, "FCGI_MAX_REQS");
    expect_known_values(&r);
    peer_response_free(&r);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * 10 000 names, most of them repeats, in four records.  (The reference
 * overflows a stack buffer from the fourth name on.)
 */
START_TEST(get_values_many_duplicates)
{
    static const char *const known[] = {
        "FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"
    };
    struct app a;
    peer_response r;
    int fd;
    int rec;

    app_start(&a, ON_UNIX, h_keep, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    peer_response_init(&r);
    for (rec = 0; rec < 4; rec++) {
        peer_buf b = { 0 };
        int i;

        for (i = 0; i < 2500; i++) {
            const char *n = known[(i + rec) % 3];

            peer_nv_encode(&b, n, strlen(n), "", 0, 0);
        }
        ck_assert_uint_le(b.len, 65535);
        ck_assert_int_eq(peer_send_record(fd, PEER_GET_VALUES, 0, b.data, b.len, 0), 0);
        peer_buf_free(&b);
        ck_assert_int_eq(peer_read(fd, &r, 0, PEER_UNTIL_MGMT, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_int_eq(r.n_values_records, rec + 1);
    }
    ck_assert_uint_ge(r.n_values, 4 * 3);   /* each record named all three */
    expect_known_values(&r);
    ck_assert_int_eq(r.closed, 0);
    peer_response_free(&r);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

START_TEST(unknown_management_type)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_keep, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_send_record(fd, 12, 0, "xyzw", 4, 4), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 0, PEER_UNTIL_MGMT, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.unknown_type, 12);
    ck_assert_int_eq(r.records[0].type, PEER_UNKNOWN_TYPE);
    ck_assert_int_eq(r.records[0].id, 0);
    ck_assert_uint_eq(r.records[0].content_len, 8);
    peer_response_free(&r);

    peer_response_init(&r);
    ck_assert_int_eq(peer_send_record(fd, 200, 0, NULL, 0, 0), 0);
    ck_assert_int_eq(peer_read(fd, &r, 0, PEER_UNTIL_MGMT, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.unknown_type, 200);
    peer_response_free(&r);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ABORT_REQUEST.                                                      */

static void
h_abort(FCGX_Request *req)
{
    char *body;
    size_t n = slurp(req->in, &body);

    say(req->out, "read %zu", n);
    free(body);
    FCGX_SetExitStatus(3, req->out);
}

START_TEST(abort_request_ends_it)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_abort, 2);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 5, PEER_RESPONDER, 0), 0);
    ck_assert_int_eq(peer_params(fd, 5, NULL, 0), 0);
    ck_assert_int_eq(peer_stream(fd, PEER_STDIN, 5, "part", 4, 0, 0), 0);
    ck_assert_int_eq(peer_abort(fd, 5), 0);
    peer_response_init(&r);
    /* The application's read ends and END_REQUEST follows. */
    ck_assert_int_eq(peer_read(fd, &r, 5, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_ptr_nonnull(peer_end_for(&r, 5));
    peer_response_free(&r);
    close(fd);

    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 6, PEER_RESPONDER, 0, NULL, "abc", 3), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 6, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "read 3");
    ck_assert_uint_eq(peer_end_for(&r, 6)->app_status, 3);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* With FCGI_KEEP_CONN the connection outlives the aborted request. */
START_TEST(abort_request_keep_conn)
{
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_abort, 2);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_begin(fd, 5, PEER_RESPONDER, PEER_KEEP_CONN), 0);
    ck_assert_int_eq(peer_params(fd, 5, NULL, 0), 0);
    ck_assert_int_eq(peer_abort(fd, 5), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 5, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    peer_response_free(&r);

    ck_assert_int_eq(peer_request(fd, 6, PEER_RESPONDER, PEER_KEEP_CONN, NULL, "abc", 3), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 6, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_str_eq(txt(&r.out), "read 3");
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hostile peers: the application must neither crash nor stop serving.  */

struct hostile {
    const char *name;
    const unsigned char *bytes;
    size_t len;
    int then_wait;   /* wait for the application to close, else close first */
};

static const unsigned char h_truncated_header[] = { 1, 1, 0 };
static const unsigned char h_bad_version[] = {
    2, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
};
static const unsigned char h_huge_name[] = {
    1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,       /* BEGIN */
    1, 4, 0, 1, 0, 8, 0, 0,                               /* PARAMS, 8 bytes */
    0xff, 0xff, 0xff, 0xff, 0x00, 'a', 'b', 'c'
};
static const unsigned char h_huge_value[] = {
    1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
    1, 4, 0, 1, 0, 10, 0, 0,
    0x03, 0xff, 0xff, 0xff, 0xf0, 'a', 'b', 'c', 'd', 'e'
};
static const unsigned char h_short_content[] = {
    1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
    1, 4, 0, 1, 0xff, 0xff, 0, 0, 3, 1, 'a', 'b'
};
static const unsigned char h_short_begin[] = {
    1, 1, 0, 1, 0, 2, 0, 0, 0, 1
};
static const unsigned char h_stdin_first[] = {
    1, 5, 0, 1, 0, 3, 5, 0, 'a', 'b', 'c', 0, 0, 0, 0, 0
};
static const unsigned char h_bad_get_values[] = {
    1, 9, 0, 0, 0, 6, 2, 0, 0x80, 0, 0, 0x50, 'F', 'C', 0, 0
};
static const unsigned char h_garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#define HOSTILE(bytes, wait) { #bytes, bytes, sizeof(bytes), wait }

static const struct hostile hostiles[] = {
    HOSTILE(h_truncated_header, 0),
    HOSTILE(h_bad_version, 1),
    HOSTILE(h_huge_name, 0),
    HOSTILE(h_huge_value, 0),
    HOSTILE(h_short_content, 0),
    HOSTILE(h_short_begin, 0),
    HOSTILE(h_stdin_first, 0),
    HOSTILE(h_bad_get_values, 0),
    HOSTILE(h_garbage, 1),
};

#define N_HOSTILE (sizeof(hostiles) / sizeof(hostiles[0]))

START_TEST(hostile_then_serve)
{
    const struct hostile *h = &hostiles[_i];
    struct app a;
    int fd;

    app_start(&a, ON_UNIX, h_keep, 1);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_send_raw(fd, h->bytes, h->len), 0);
    if (h->then_wait)
        ck_assert_msg(peer_wait_close(fd, peer_ms(PEER_TIMEOUT_MS)) == 1,
                      "%s: connection not closed", h->name);
    close(fd);
    ck_assert_msg(alive(a.pid), "%s: application died", h->name);

    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The web server goes away in the middle of a response.               */

static int prev_put_rc;
static int prev_err;
static int prev_err_cleared;

static void
h_flood(FCGX_Request *req)
{
    const char *mode = FCGX_GetParam("MODE", req->envp);
    char chunk[8192];
    int i;

    if (mode != NULL && strcmp(mode, "flood") == 0) {
        int rc = 0;

        memset(chunk, 'f', sizeof(chunk));
        /* 64 MB at most; the peer is gone long before. */
        for (i = 0; i < 8192 && rc >= 0; i++)
            rc = FCGX_PutStr(chunk, sizeof(chunk), req->out);
        if (rc >= 0)
            rc = FCGX_FFlush(req->out);
        prev_put_rc = rc;
        prev_err = FCGX_GetError(req->out);
        FCGX_ClearError(req->out);
        prev_err_cleared = FCGX_GetError(req->out);
        return;
    }
    say(req->out, "previous: rc=%d err=%d cleared=%d", prev_put_rc,
        prev_err, prev_err_cleared);
}

START_TEST(peer_closes_mid_response)
{
    const char *flood[] = { "MODE", "flood", NULL };
    char expected[128];
    struct app a;
    peer_response r;
    int fd;

    app_start(&a, ON_UNIX, h_flood, 2);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, flood, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_RECORD, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_int_eq(r.records[0].type, PEER_STDOUT);
    peer_response_free(&r);
    close(fd);

    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, NULL, NULL, 0), 0);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
    /* The write failed with EPIPE (or ECONNRESET) instead of killing us. */
    snprintf(expected, sizeof(expected), "previous: rc=-1 err=%d cleared=0", EPIPE);
    if (strstr(txt(&r.out), "err=104") != NULL)
        snprintf(expected, sizeof(expected), "previous: rc=-1 err=%d cleared=0",
                 ECONNRESET);
    ck_assert_str_eq(txt(&r.out), expected);
    peer_response_free(&r);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kept connections used in turn by one single-threaded process.       */

#define RR_CONNS 8
#define RR_ROUNDS 4

static void
h_rr(FCGX_Request *req)
{
    say(req->out, "conn %s round %s", FCGX_GetParam("CONN", req->envp),
        FCGX_GetParam("ROUND", req->envp));
}

/* Asks for "conn C round N" on fd and checks the answer. */
static void
rr_ask(int fd, int c, int round, int flags)
{
    char conn[8];
    char rnd[8];
    char expected[64];
    const char *pairs[] = { "CONN", conn, "ROUND", rnd, NULL };
    peer_response r;

    snprintf(conn, sizeof(conn), "%d", c);
    snprintf(rnd, sizeof(rnd), "%d", round);
    snprintf(expected, sizeof(expected), "conn %d round %d", c, round);
    ck_assert_msg(peer_request_whole(fd, 1, PEER_RESPONDER, flags, pairs) == 0,
                  "round %d connection %d: sending failed (%s)", round, c,
                  strerror(errno));
    peer_response_init(&r);
    ck_assert_msg(peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)) == 0,
                  "round %d connection %d: no answer (%s)", round, c,
                  r.closed ? "closed" : "timed out");
    ck_assert_str_eq(txt(&r.out), expected);
    peer_response_free(&r);
}

START_TEST(round_robin_kept_connections)
{
    struct app a;
    int fds[RR_CONNS];
    int round;
    int i;

    app_start(&a, ON_UNIX, h_rr, RR_CONNS * RR_ROUNDS);
    for (i = 0; i < RR_CONNS; i++) {
        fds[i] = peer_connect(a.addr);
        ck_assert_int_ge(fds[i], 0);
    }
    for (round = 0; round < RR_ROUNDS; round++) {
        for (i = 0; i < RR_CONNS; i++) {
            int c = round % 2 ? RR_CONNS - 1 - i : i;   /* vary the order */

            rr_ask(fds[c], c, round, PEER_KEEP_CONN);
        }
    }
    for (i = 0; i < RR_CONNS; i++)
        close(fds[i]);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * A single-threaded process waits for the next request on its one kept
 * connection in recv() for a moment (see README, Performance); a new
 * connection must still be served while the kept one stays open and idle,
 * as the reference did not.
 */
START_TEST(kept_connection_idle_lets_new_ones_in)
{
    struct app a;
    int kept;
    int fresh;

    app_start(&a, ON_UNIX, h_rr, 3);
    kept = peer_connect(a.addr);
    ck_assert_int_ge(kept, 0);
    rr_ask(kept, 0, 0, PEER_KEEP_CONN);
    fresh = peer_connect(a.addr);
    ck_assert_int_ge(fresh, 0);
    rr_ask(fresh, 1, 0, 0);
    close(fresh);
    rr_ask(kept, 0, 1, PEER_KEEP_CONN);
    close(kept);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/*
 * The same while the kept connection is never idle: requests back to back
 * on it must not keep a new connection out.  The process looks at its
 * listening socket every few milliseconds, so the new connection is served
 * long before the kept one has had all of BUSY_ROUNDS.
 */
#define BUSY_ROUNDS 3000

static int
readable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };

    return poll(&p, 1, 0) == 1;
}

START_TEST(kept_connection_busy_lets_new_ones_in)
{
    struct app a;
    peer_response r;
    int kept;
    int fresh;
    int round;
    int answered = -1;

    app_start(&a, ON_UNIX, h_rr, BUSY_ROUNDS + 1);
    kept = peer_connect(a.addr);
    ck_assert_int_ge(kept, 0);
    rr_ask(kept, 0, 0, PEER_KEEP_CONN);
    fresh = peer_connect(a.addr);
    ck_assert_int_ge(fresh, 0);
    {
        const char *pairs[] = { "CONN", "1", "ROUND", "0", NULL };

        ck_assert_int_eq(peer_request(fresh, 1, PEER_RESPONDER, 0, pairs, NULL, 0), 0);
    }
    peer_response_init(&r);
    for (round = 1; round < BUSY_ROUNDS; round++) {
        rr_ask(kept, 0, round, PEER_KEEP_CONN);
        if (answered < 0 && readable(fresh)) {
            ck_assert_int_eq(peer_read(fresh, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)), 0);
            answered = round;
        }
    }
    ck_assert_msg(answered > 0, "the new connection waited for %d requests on the kept one",
                  BUSY_ROUNDS);
    ck_assert_str_eq(txt(&r.out), "conn 1 round 0");
    peer_response_free(&r);
    close(fresh);
    close(kept);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGI_FAIL_ACCEPT_ON_INTR: a signal ends the wait in FCGX_Accept_r.   */

static void
on_usr2(int sig)
{
    (void)sig;
}

/* Serves one request, then expects the next FCGX_Accept_r to fail with
 * -EINTR when the test signals it. */
static void
serve_until_signal(void *arg)
{
    struct app *a = arg;
    struct sigaction sa;
    FCGX_Request req;
    int i;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;    /* no SA_RESTART */
    sigaction(SIGUSR2, &sa, NULL);
    for (i = 0; a->env != NULL && a->env[i] != NULL; i += 2)
        setenv(a->env[i], a->env[i + 1], 1);
    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, a->lfd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
        _exit(APP_INIT_FAILED);
    if (FCGX_Accept_r(&req) != 0)
        _exit(APP_ACCEPT_FAILED);
    a->fn(&req);
    rc = FCGX_Accept_r(&req);
    if (rc != -EINTR) {
        fprintf(stderr, "app: FCGX_Accept_r returned %d, not -EINTR\n", rc);
        _exit(APP_ACCEPT_FAILED);
    }
    FCGX_Free(&req, 1);
    _exit(APP_OK);
}

/* The system call pid sleeps in, from /proc/PID/syscall: -1 if running,
 * -2 if that cannot be read here. */
static long
blocked_in(pid_t pid)
{
    char path[64];
    char line[256];
    FILE *f;
    long nr = -2;

    snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -2;
    if (fgets(line, sizeof(line), f) != NULL)
        nr = strncmp(line, "running", 7) == 0 ? -1 : strtol(line, NULL, 10);
    fclose(f);
    return nr;
}

/*
 * With one kept connection idle, the process waits in recv() on it
 * (FCGI_KEEP_HOLD, here long enough to be seen) or, with FCGI_KEEP_HOLD=0,
 * in poll(); a signal ends either wait with -EINTR.
 */
static void
accept_fails_on_signal(const char *hold_ms, long nr1, long nr2)
{
    const char *env[] = { "FCGI_KEEP_HOLD", hold_ms, NULL };
    struct app a;
    int fd;
    int i;
    long nr = -1;

    memset(&a, 0, sizeof(a));
    a.lfd = listen_fcgx(ON_UNIX, a.addr, sizeof(a.addr));
    a.fn = h_rr;
    a.env = env;
    a.pid = spawn(serve_until_signal, &a);
    close(a.lfd);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    rr_ask(fd, 0, 0, PEER_KEEP_CONN);
    for (i = 0; i < 1000; i++) {
        nr = blocked_in(a.pid);
        if (nr == -2 || nr == nr1 || nr == nr2)
            break;
        usleep(5000);
    }
    if (nr == -2) {
        /* No /proc/PID/syscall (no ptrace access): signal it blind. */
        usleep(200000);
    } else {
        ck_assert_msg(nr == nr1 || nr == nr2, "the app waits in system call %ld", nr);
    }
    kill(a.pid, SIGUSR2);
    ck_assert_int_eq(app_finish(&a), APP_OK);
    close(fd);
}

START_TEST(accept_fails_on_signal_holding)
{
    accept_fails_on_signal("1000", SYS_recvfrom, SYS_recvfrom);
}
END_TEST

START_TEST(accept_fails_on_signal_polling)
{
#ifdef SYS_poll
    accept_fails_on_signal("0", SYS_poll, SYS_ppoll);
#else
    accept_fails_on_signal("0", SYS_ppoll, SYS_ppoll);
#endif
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGX_OpenSocket.                                                    */

static void
expect_listener(int fd, int family)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int on = 0;
    socklen_t olen = sizeof(on);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    ck_assert_int_eq(ss.ss_family, family);
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen), 0);
    ck_assert_int_eq(on, 1);
}

/* Connects to addr and accepts the connection on lfd. */
static void
expect_connectable(int lfd, const char *addr)
{
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    int fd = peer_connect(addr);
    int c;

    ck_assert_msg(fd >= 0, "connect %s: %s", addr, strerror(errno));
    ck_assert_int_eq(poll(&pfd, 1, peer_ms(PEER_TIMEOUT_MS)), 1);
    c = accept(lfd, NULL, NULL);
    ck_assert_int_ge(c, 0);
    close(c);
    close(fd);
}

START_TEST(open_socket_forms)
{
    char name[160];
    char addr[160];
    struct sockaddr_un sun;
    socklen_t len = sizeof(sun);
    int fd;
    int port;

    snprintf(name, sizeof(name), "%s/form.sock", tmpdir);
    fd = FCGX_OpenSocket(name, 5);
    expect_listener(fd, AF_UNIX);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sun, &len), 0);
    ck_assert_str_eq(sun.sun_path, name);
    expect_connectable(fd, name);
    close(fd);

    port = free_port(AF_INET);
    snprintf(name, sizeof(name), "127.0.0.1:%d", port);
    fd = FCGX_OpenSocket(name, 5);
    expect_listener(fd, AF_INET);
    expect_connectable(fd, name);
    close(fd);

    /* ":port" listens on every interface: at least 127.0.0.1 answers. */
    port = free_port(AF_INET);
    snprintf(name, sizeof(name), ":%d", port);
    fd = FCGX_OpenSocket(name, 5);
    ck_assert_int_ge(fd, 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    expect_connectable(fd, addr);
    close(fd);

    if (have_ipv6()) {
        port = free_port(AF_INET6);
        snprintf(name, sizeof(name), "[::1]:%d", port);
        fd = FCGX_OpenSocket(name, 5);
        expect_listener(fd, AF_INET6);
        expect_connectable(fd, name);
        close(fd);
    }

    /* Abstract Unix name: no file appears. */
    snprintf(name, sizeof(name), "@fcgi-api-test-%ld", (long)getpid());
    fd = FCGX_OpenSocket(name, 5);
    expect_listener(fd, AF_UNIX);
    len = sizeof(sun);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sun, &len), 0);
    ck_assert_int_eq(sun.sun_path[0], '\0');
    ck_assert_int_eq(memcmp(sun.sun_path + 1, name + 1, strlen(name) - 1), 0);
    expect_connectable(fd, name);
    close(fd);
}
END_TEST

static void
bad_names_body(void *arg __attribute__((unused)))
{
    static const char *const bad[] = {
        "[::1]", "[nonsense]:80", "127.0.0.1:99999", "127.0.0.1:port",
        "/nonexistent-dir-fcgi/x/y.sock", NULL
    };
    const char *const *n;
    int failures = 0;

    /* Should a name be taken for a relative path, the file lands here. */
    if (chdir(tmpdir) != 0)
        _exit(100);

    for (n = bad; *n != NULL; n++) {
        int fd;

        errno = 0;
        fd = FCGX_OpenSocket(*n, 5);
        if (fd >= 0 || errno == 0) {
            fprintf(stderr, "FCGX_OpenSocket(\"%s\") = %d, errno %d\n", *n, fd, errno);
            failures++;
        }
        if (fd >= 0)
            close(fd);
    }
    _exit(failures);
}

/* Bad names give -1 and errno; the library must not exit() the program. */
START_TEST(open_socket_bad_names)
{
    pid_t pid = spawn(bad_names_body, NULL);

    ck_assert_int_eq(reap(pid, peer_ms(PEER_TIMEOUT_MS)), 0);
}
END_TEST

START_TEST(open_socket_live_path_not_stolen)
{
    struct sockaddr_un sun;
    char name[100];
    int first;
    int second;
    int stale;

    snprintf(name, sizeof(name), "%s/live.sock", tmpdir);
    first = FCGX_OpenSocket(name, 5);
    ck_assert_int_ge(first, 0);
    errno = 0;
    second = FCGX_OpenSocket(name, 5);
    ck_assert_int_eq(second, -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    expect_connectable(first, name);
    close(first);

    /* A socket file nobody listens on any more is replaced. */
    snprintf(name, sizeof(name), "%s/stale.sock", tmpdir);
    stale = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", name);
    ck_assert_int_eq(bind(stale, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(stale, 1), 0);
    close(stale);
    first = FCGX_OpenSocket(name, 5);
    ck_assert_int_ge(first, 0);
    expect_connectable(first, name);
    close(first);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGX_IsCGI.                                                         */

static void
is_cgi_body(void *arg)
{
    int fd0 = *(int *)arg;

    if (dup2(fd0, 0) < 0)
        _exit(100);
    _exit(FCGX_IsCGI());
}

static int
is_cgi_with_fd0(int fd)
{
    pid_t pid = spawn(is_cgi_body, &fd);
    int rc = reap(pid, peer_ms(PEER_TIMEOUT_MS));

    close(fd);
    return rc;
}

START_TEST(is_cgi_detection)
{
    char name[160];
    char addr[64];
    int p[2];
    int lfd;
    int conn;

    ck_assert_int_eq(pipe(p), 0);
    close(p[1]);
    ck_assert_int_eq(is_cgi_with_fd0(p[0]), 1);
    ck_assert_int_eq(is_cgi_with_fd0(open("/dev/null", O_RDONLY)), 1);

    snprintf(name, sizeof(name), "%s/cgi.sock", tmpdir);
    lfd = FCGX_OpenSocket(name, 5);
    ck_assert_int_ge(lfd, 0);
    /* A connected socket, as mod_cgid hands over, means CGI. */
    conn = peer_connect(name);
    ck_assert_int_ge(conn, 0);
    ck_assert_int_eq(is_cgi_with_fd0(conn), 1);
    ck_assert_int_eq(is_cgi_with_fd0(lfd), 0);

    ck_assert_int_eq(is_cgi_with_fd0(listen_plain(AF_INET, addr, sizeof(addr))), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FCGI_WEB_SERVER_ADDRS.                                              */

static void
acl_case(int family, const char *admit, const char *refuse)
{
    struct app a;
    peer_response r;
    int fd;
    int i;

    memset(&a, 0, sizeof(a));
    a.lfd = listen_plain(family, a.addr, sizeof(a.addr));
    app_start_on(&a, h_keep, 1, admit);
    fd = peer_connect(a.addr);
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);

    memset(&a, 0, sizeof(a));
    a.lfd = listen_plain(family, a.addr, sizeof(a.addr));
    app_start_on(&a, h_keep, 1, refuse);
    for (i = 0; i < 2; i++) {
        fd = peer_connect(a.addr);
        ck_assert_msg(fd >= 0, "connect %s: %s (application gone?)", a.addr,
                      strerror(errno));
        /* The request is sent, but nothing may come back. */
        peer_request(fd, 1, PEER_RESPONDER, 0, NULL, "z", 1);
        peer_response_init(&r);
        ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_CLOSE, peer_ms(PEER_TIMEOUT_MS)), 0);
        ck_assert_msg(r.n_records == 0, "refused peer got %zu records", r.n_records);
        peer_response_free(&r);
        close(fd);
        ck_assert(alive(a.pid));
    }
}

START_TEST(web_server_addrs_ipv4)
{
    acl_case(AF_INET, "127.0.0.1", "10.0.0.1");
    acl_case(AF_INET, "10.0.0.1,127.0.0.1", "10.0.0.1,10.0.0.2");
}
END_TEST

/* One application refuses 127.0.0.2, then serves 127.0.0.1. */
START_TEST(web_server_addrs_refuse_then_serve)
{
    struct app a;
    peer_response r;
    int fd;

    memset(&a, 0, sizeof(a));
    a.lfd = listen_plain(AF_INET, a.addr, sizeof(a.addr));
    app_start_on(&a, h_keep, 1, "127.0.0.1");
    fd = peer_connect_from(a.addr, "127.0.0.2");
    if (fd < 0) {
        fprintf(stderr, "web_server_addrs_refuse_then_serve: cannot use "
                "127.0.0.2 (%s), not run\n", strerror(errno));
        return;
    }
    peer_request(fd, 1, PEER_RESPONDER, 0, NULL, "z", 1);
    peer_response_init(&r);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_CLOSE, peer_ms(PEER_TIMEOUT_MS)), 0);
    ck_assert_uint_eq(r.n_records, 0);
    peer_response_free(&r);
    close(fd);

    fd = peer_connect_from(a.addr, "127.0.0.1");
    ck_assert_int_ge(fd, 0);
    then_request(fd, 1);
    close(fd);
    ck_assert_int_eq(app_finish(&a), APP_OK);
}
END_TEST

/* The reference does not check IPv6 peers at all. */
START_TEST(web_server_addrs_ipv6)
{
    if (!have_ipv6()) {
        fprintf(stderr, "web_server_addrs_ipv6: no IPv6 loopback, not run\n");
        return;
    }
    acl_case(AF_INET6, "::1", "10.0.0.1");
    acl_case(AF_INET6, "10.0.0.1,::1", "::2");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads.                                                            */

#define APP_THREADS 8
#define CLIENT_THREADS 4
#define THREAD_REQUESTS 200

static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;
static int served;

struct threaded {
    int lfd;
    char addr[160];
};

/* Serves until a request carries QUIT. */
static void *
app_thread(void *arg)
{
    struct threaded *t = arg;
    FCGX_Request req;

    if (FCGX_InitRequest(&req, t->lfd, 0) != 0)
        _exit(APP_INIT_FAILED);
    for (;;) {
        char *body;
        size_t n;

        if (FCGX_Accept_r(&req) < 0)
            _exit(APP_ACCEPT_FAILED);
        if (FCGX_GetParam("QUIT", req.envp) != NULL) {
            FCGX_Finish_r(&req);
            break;
        }
        n = slurp(req.in, &body);
        say(req.out, "%s:%zu:%s", FCGX_GetParam("N", req.envp), n, body);
        free(body);
        FCGX_Finish_r(&req);
        pthread_mutex_lock(&served_lock);
        served++;
        pthread_mutex_unlock(&served_lock);
    }
    FCGX_Free(&req, 1);
    return NULL;
}

static void
threaded_app(void *arg)
{
    static const char *const quit[] = { "QUIT", "1", NULL };
    struct threaded *t = arg;
    pthread_t th[APP_THREADS];
    int i;

    if (FCGX_Init() != 0)
        _exit(APP_INIT_FAILED);
    for (i = 0; i < APP_THREADS; i++)
        if (pthread_create(&th[i], NULL, app_thread, t) != 0)
            _exit(APP_INIT_FAILED);
    for (;;) {
        int done;

        pthread_mutex_lock(&served_lock);
        done = served >= THREAD_REQUESTS;
        pthread_mutex_unlock(&served_lock);
        if (done)
            break;
        usleep(5000);
    }
    /* One QUIT per thread, then every thread must have ended. */
    for (i = 0; i < APP_THREADS; i++) {
        peer_response r;
        int fd = peer_connect(t->addr);

        peer_response_init(&r);
        if (fd < 0 || peer_request(fd, 1, PEER_RESPONDER, 0, quit, NULL, 0) != 0
            || peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)) != 0)
            _exit(30);
        peer_response_free(&r);
        close(fd);
    }
    for (i = 0; i < APP_THREADS; i++)
        pthread_join(th[i], NULL);
    _exit(APP_OK);
}

struct client {
    const char *addr;
    int first;
    int ok;
    char failure[160];
};

static void *
client_thread(void *arg)
{
    struct client *c = arg;
    int i;

    for (i = 0; i < THREAD_REQUESTS / CLIENT_THREADS; i++) {
        char n[16];
        char body[32];
        char expected[64];
        const char *pairs[] = { "N", n, NULL };
        peer_response r;
        int fd = peer_connect(c->addr);

        snprintf(n, sizeof(n), "%d", c->first + i);
        snprintf(body, sizeof(body), "body%d", c->first + i);
        snprintf(expected, sizeof(expected), "%s:%zu:%s", n, strlen(body), body);
        if (fd < 0) {
            snprintf(c->failure, sizeof(c->failure), "connect: %s", strerror(errno));
            return NULL;
        }
        peer_response_init(&r);
        if (peer_request(fd, 1, PEER_RESPONDER, 0, pairs, body, strlen(body)) != 0
            || peer_read(fd, &r, 1, PEER_UNTIL_END, peer_ms(PEER_TIMEOUT_MS)) != 0
            || strcmp(txt(&r.out), expected) != 0) {
            snprintf(c->failure, sizeof(c->failure), "request %s: got \"%.40s\"%s",
                     n, txt(&r.out), r.timed_out ? " (timed out)" : "");
            peer_response_free(&r);
            close(fd);
            return NULL;
        }
        c->ok++;
        peer_response_free(&r);
        close(fd);
    }
    return NULL;
}

START_TEST(threads_share_listener)
{
    struct client clients[CLIENT_THREADS];
    pthread_t t[CLIENT_THREADS];
    struct threaded app;
    pid_t pid;
    int total = 0;
    int i;

    app.lfd = listen_fcgx(ON_UNIX, app.addr, sizeof(app.addr));
    pid = spawn(threaded_app, &app);
    close(app.lfd);
    for (i = 0; i < CLIENT_THREADS; i++) {
        memset(&clients[i], 0, sizeof(clients[i]));
        clients[i].addr = app.addr;
        clients[i].first = i * 1000;
        ck_assert_int_eq(pthread_create(&t[i], NULL, client_thread, &clients[i]), 0);
    }
    for (i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(t[i], NULL);
        total += clients[i].ok;
    }
    for (i = 0; i < CLIENT_THREADS; i++)
        ck_assert_msg(clients[i].failure[0] == '\0', "client %d: %s", i,
                      clients[i].failure);
    ck_assert_int_eq(total, THREAD_REQUESTS);
    ck_assert_int_eq(reap(pid, peer_ms(PEER_TIMEOUT_MS)), APP_OK);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
fcgiapp_suite(void)
{
    Suite *s = suite_create("fcgiapp");
    TCase *tc;

    /* First: nothing may have initialised the library in this process. */
    tc = tcase(s, "init", 30);
    tcase_add_test(tc, accept_without_init);

    tc = tcase(s, "responder", 30);
    tcase_add_test(tc, init_request_fields);
    tcase_add_test(tc, responder_unix);
    tcase_add_test(tc, responder_tcp4);
    tcase_add_test(tc, responder_tcp6);
    tcase_add_test(tc, params_one_byte_records);
    tcase_add_test(tc, params_value_beyond_record);

    tc = tcase(s, "read", 30);
    tcase_add_test(tc, read_edge_cases);
    tcase_add_test(tc, stdin_across_records);
    tcase_add_test(tc, stdin_reads_past_records);
    tcase_add_test(tc, stdin_reads_stay_in_input);
    tcase_add_test(tc, stdin_late_on_nonblocking_fd);
    tcase_add_test(tc, get_error_and_clear);

    tc = tcase(s, "write", 30);
    tcase_add_test(tc, write_functions);
    tcase_add_test(tc, printf_matches_snprintf);
    tcase_add_test(tc, printf_across_buffer_end);
    tcase_add_test(tc, vfprintf_va_list);
    tcase_add_test(tc, fflush_sends_now);
    tcase_add_test(tc, fclose_ends_stream);
    tcase_add_test(tc, create_writer_framing);

    tc = tcase(s, "roles", 30);
    tcase_add_test(tc, filter_role_data_stream);
    tcase_add_test(tc, authorizer_role);
    tcase_add_test(tc, unknown_role_refused);

    tc = tcase(s, "connection", 60);
    tcase_add_test(tc, second_begin_cant_mpx);
    tcase_add_test(tc, other_ids_skipped);
    tcase_add_test(tc, other_ids_empty_records);
    tcase_add_test(tc, keep_conn_two);
    tcase_add_test(tc, keep_conn_ten);
    tcase_add_test(tc, keep_conn_unread_body);
    tcase_add_test(tc, abort_request_ends_it);
    tcase_add_test(tc, abort_request_keep_conn);
    tcase_add_test(tc, round_robin_kept_connections);
    tcase_add_test(tc, kept_connection_idle_lets_new_ones_in);
    tcase_add_test(tc, kept_connection_busy_lets_new_ones_in);
    tcase_add_test(tc, accept_fails_on_signal_holding);
    tcase_add_test(tc, accept_fails_on_signal_polling);

    tc = tcase(s, "management", 60);
    tcase_add_test(tc, limit_params_bytes);
    tcase_add_test(tc, limit_params_count);
    tcase_add_test(tc, limit_param_length);
    tcase_add_test(tc, timeout_request_head);
    tcase_add_test(tc, timeout_idle_kept_connection);
    tcase_add_test(tc, recycle_after_requests);
    tcase_add_test(tc, get_values_alone);
    tcase_add_test(tc, get_values_unknown_names_omitted);
    tcase_add_test(tc, get_values_many_duplicates);
    tcase_add_test(tc, unknown_management_type);

    tc = tcase(s, "hostile", 60);
    tcase_add_loop_test(tc, hostile_then_serve, 0, (int)N_HOSTILE);
    tcase_add_test(tc, peer_closes_mid_response);

    tc = tcase(s, "sockets", 30);
    tcase_add_test(tc, open_socket_forms);
    tcase_add_test(tc, open_socket_bad_names);
    tcase_add_test(tc, open_socket_live_path_not_stolen);
    tcase_add_test(tc, is_cgi_detection);
    tcase_add_test(tc, web_server_addrs_ipv4);
    tcase_add_test(tc, web_server_addrs_refuse_then_serve);
    tcase_add_test(tc, web_server_addrs_ipv6);

    tc = tcase(s, "threads", 120);
    tcase_add_test(tc, threads_share_listener);

    return s;
}

int
main(void)
{
    return fixture_run(fcgiapp_suite(), "api");
}
