/*
 * failmalloc.c: the library when malloc, calloc or realloc fail.
 *
 * This program defines malloc, calloc, realloc and free itself (over
 * glibc's __libc_ entry points), so they take the place of the C
 * library's for libfcgi.so too, without LD_PRELOAD.  While armed they
 * count calls and fail the Nth (or, in the persistent mode, the Nth and
 * every later one).
 *
 * A first run with nothing failing counts the allocations K that FCGX_Init
 * and two requests (many parameters, one long; a 40 KB body; a long
 * formatted line) make.  Then for N = 1..K, in each mode, a fresh
 * application process fails allocation N while the test sends the two
 * requests, retrying a request whose connection failed.  Required:
 *  - the application never crashes and never hangs (it exits 0 on its
 *    own, or on SIGTERM);
 *  - each failure shows as an error: FCGX_Init or FCGX_Accept_r returning
 *    a negative value, a stream error, a refused (FCGI_OVERLOADED) or
 *    closed connection; never as a wrong response: a response that ended
 *    with FCGI_REQUEST_COMPLETE, from a request the application saw no
 *    error in, must carry exactly the expected body;
 *  - with a single failure, both requests are eventually answered.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fcgiapp.h"
#include "faultlib.h"

/* --- the allocator ------------------------------------------------------- */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static volatile int armed;
static long calls;
static long fail_at;     /* 0: never */
static int persistent;   /* fail every call from fail_at on */
static long failed;      /* calls failed */

static int trace_fd = -1; /* FAILMALLOC_TRACE set: call stacks to stderr */

static int
should_fail(void)
{
    long k;

    if (!armed)
        return 0;
    k = ++calls;
    if (trace_fd >= 0) {
        void *pcs[8];
        int n;

        armed = 0;
        n = backtrace(pcs, 8);
        dprintf(trace_fd, "allocation %ld:\n", k);
        backtrace_symbols_fd(pcs + 2, n - 2, trace_fd);
        armed = 1;
    }
    if (fail_at > 0 && (k == fail_at || (persistent && k > fail_at))) {
        failed++;
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *
malloc(size_t n)
{
    return should_fail() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __libc_realloc(p, n);
}

void
free(void *p)
{
    __libc_free(p);
}

/* --- the application ---------------------------------------------------- */

#define NPARAMS 40
#define BODY_LEN 40000
#define LONG_VALUE 6000
#define WIDE 3000

struct app {
    int listen_fd;
    int report_fd;
    long fail_at;
    int persistent;
};

/* What a request looks like; both sides build it the same way. */
static char long_value[LONG_VALUE + 1];
static char body[BODY_LEN];
static char *env_strings[NPARAMS + 3];

static void
build_request(void)
{
    static char slots[NPARAMS][64];
    static char long_param[LONG_VALUE + 16];
    int i;

    memset(long_value, 'v', LONG_VALUE);
    for (i = 0; i < BODY_LEN; i++)
        body[i] = (char)('a' + i % 26);
    for (i = 0; i < NPARAMS; i++) {
        snprintf(slots[i], sizeof(slots[i]), "PARAM_%02d=value number %d", i, i);
        env_strings[i] = slots[i];
    }
    snprintf(long_param, sizeof(long_param), "LONG=%s", long_value);
    env_strings[NPARAMS] = long_param;
    env_strings[NPARAMS + 1] = (char *)"SCRIPT_NAME=/fail";
    env_strings[NPARAMS + 2] = NULL;
}

/* The body the application writes when nothing fails. */
static void
expected_body(fl_buf *b, long in)
{
    char line[WIDE + 64];

    snprintf(line, sizeof(line), "Content-type: text/plain\r\n\r\nin=%ld params=%d\n",
             in, NPARAMS);
    fl_buf_add(b, line, strlen(line));
    snprintf(line, sizeof(line), "[%*s]\n", WIDE, "wide");
    fl_buf_add(b, line, strlen(line));
    fl_buf_add(b, long_value, LONG_VALUE);
}

/* Serves one request; returns 1 when no call reported an error. */
static int
serve(FCGX_Request *r, long *in_out)
{
    static char buf[8192];
    int ok = 1, n, i;
    long in = 0;
    const char *lv;

    while ((n = FCGX_GetStr(buf, sizeof(buf), r->in)) > 0) {
        if (memcmp(buf, body + in, (size_t)n) != 0)
            ok = 0;
        in += n;
    }
    if (FCGX_GetError(r->in) != 0 || in != BODY_LEN)
        ok = 0;
    for (i = 0; i < NPARAMS; i++) {
        char name[32], want[64];
        const char *v;

        snprintf(name, sizeof(name), "PARAM_%02d", i);
        snprintf(want, sizeof(want), "value number %d", i);
        v = FCGX_GetParam(name, r->envp);
        if (!v || strcmp(v, want) != 0)
            ok = 0;
    }
    lv = FCGX_GetParam("LONG", r->envp);
    if (!lv || strcmp(lv, long_value) != 0)
        ok = 0;
    if (FCGX_FPrintF(r->out, "Content-type: text/plain\r\n\r\nin=%ld params=%d\n",
                     in, NPARAMS) < 0)
        ok = 0;
    /* Longer than the formatter's scratch space: it allocates. */
    if (FCGX_FPrintF(r->out, "[%*s]\n", WIDE, "wide") != WIDE + 3)
        ok = 0;
    if (FCGX_PutStr(long_value, LONG_VALUE, r->out) != LONG_VALUE)
        ok = 0;
    if (FCGX_GetError(r->out) != 0)
        ok = 0;
    *in_out = in;
    return ok;
}

static int
app_main(void *arg)
{
    struct app *app = arg;
    FCGX_Request r;
    int rc, served = 0, good = 0, errors = 0;

    if (getenv("FAILMALLOC_TRACE")) {
        void *pc;

        backtrace(&pc, 1); /* loads what backtrace needs, unarmed */
        trace_fd = 2;
    }
    fail_at = app->fail_at;
    persistent = app->persistent;
    calls = failed = 0;
    armed = 1;
    rc = FCGX_Init();
    if (rc != 0) {
        armed = 0;
        fl_report(app->report_fd, "init %d", rc);
        return 0;
    }
    FCGX_InitRequest(&r, app->listen_fd, 0);
    armed = 0;
    fl_report(app->report_fd, "ready");
    armed = 1;
    /* Two good requests, within bounds: the test retries failed ones. */
    while (good < 2 && served < 8 && errors < 16) {
        long in = 0;
        int ok;

        rc = FCGX_Accept_r(&r);
        if (rc < 0) {
            armed = 0;
            fl_report(app->report_fd, "accept %d", rc);
            armed = 1;
            if (rc == -1) /* shutdown asked for */
                break;
            errors++;
            continue;
        }
        ok = serve(&r, &in);
        FCGX_Finish_r(&r);
        armed = 0;
        fl_report(app->report_fd, "served ok=%d in=%ld", ok, in);
        armed = 1;
        served++;
        good += ok;
    }
    FCGX_Free(&r, 1);
    armed = 0;
    fl_report(app->report_fd, "done calls=%ld failed=%ld served=%d", calls, failed, served);
    return 0;
}

/* --- the test ------------------------------------------------------------ */

struct outcome {
    long calls;      /* from the "done" report */
    long failed;     /* allocations failed, from the same */
    int answered;    /* requests answered in full */
    int init_failed; /* FCGX_Init returned an error (it stays failed) */
    char seen[160];  /* what the failure looked like, for the log */
};

static void
seen(struct outcome *o, const char *what)
{
    size_t n = strlen(o->seen);

    if (strstr(o->seen, what) == NULL && n + strlen(what) + 2 < sizeof(o->seen))
        snprintf(o->seen + n, sizeof(o->seen) - n, "%s%s", n ? ", " : "", what);
}

static long
field(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    return p ? atol(p + strlen(key)) : -1;
}

/* Reads reports until one about a request (or the end) arrives. */
static void
read_reports(int fd, int timeout_ms, int *last_ok, struct outcome *o)
{
    char line[256];

    while (fl_read_line(fd, line, sizeof(line), timeout_ms) == 0) {
        if (strncmp(line, "served", 6) == 0) {
            *last_ok = (int)field(line, "ok=");
            if (*last_ok == 0)
                seen(o, "stream error");
            return;
        }
        if (strncmp(line, "done", 4) == 0) {
            o->calls = field(line, "calls=");
            o->failed = field(line, "failed=");
            return;
        }
        if (strncmp(line, "accept", 6) == 0)
            seen(o, line);
    }
}

static void
run(long n, int persist, struct outcome *o)
{
    fl_addr addr;
    struct app app;
    int p[2], status, req, last_ok = -1;
    char line[256];
    pid_t pid;
    fl_buf want = {0};

    memset(o, 0, sizeof(*o));
    o->calls = o->failed = -1;
    app.listen_fd = fl_listen(&addr, 0);
    FL_CHECK(app.listen_fd >= 0, "listen");
    FL_CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
    app.report_fd = p[1];
    app.fail_at = n;
    app.persistent = persist;
    pid = fl_spawn(app_main, &app);
    close(p[1]);
    close(app.listen_fd);

    FL_CHECK(fl_read_line(p[0], line, sizeof(line), 5000) == 0,
             "N=%ld%s: no word from the application", n, persist ? "+" : "");
    if (strncmp(line, "init", 4) == 0) {
        o->init_failed = 1;
        seen(o, line);
    } else
        FL_CHECK(strcmp(line, "ready") == 0, "N=%ld: '%s'", n, line);

    expected_body(&want, BODY_LEN);
    for (req = 0; req < 2 && !o->init_failed; req++) {
        int attempt, done = 0;

        last_ok = -1;
        for (attempt = 0; attempt < (persist ? 1 : 4) && !done; attempt++) {
            fl_response r = {0};
            int rc = fl_exchange(&addr, (const char *const *)env_strings, body, BODY_LEN,
                                 &r, 5000);

            FL_CHECK(!r.timed_out, "N=%ld%s request %d: the application hung", n,
                     persist ? "+" : "", req);
            FL_CHECK(!r.malformed, "N=%ld%s request %d: malformed response", n,
                     persist ? "+" : "", req);
            if (rc != 0)
                seen(o, r.closed ? "connection closed" : "connection refused or reset");
            else if (r.protocol_status != 0)
                seen(o, r.protocol_status == 2 ? "FCGI_OVERLOADED" : "refused");
            read_reports(p[0], rc == 0 ? 2000 : 200, &last_ok, o);
            if (rc == 0 && r.protocol_status == 0 && last_ok == 1) {
                FL_CHECK(r.out.len == want.len && memcmp(r.out.data, want.data, want.len) == 0,
                         "N=%ld%s request %d: wrong body (%zu bytes, want %zu)", n,
                         persist ? "+" : "", req, r.out.len, want.len);
                done = 1;
                o->answered++;
            }
            fl_response_free(&r);
        }
    }
    fl_buf_free(&want);

    /* It ends on its own after two good requests, or else on SIGTERM. */
    status = o->answered == 2 || o->init_failed ? fl_wait(pid, 5000) : fl_stop(pid, 5000);
    FL_CHECK(status != -1, "N=%ld%s: the application did not exit (answered %d)", n,
             persist ? "+" : "", o->answered);
    FL_CHECK(!WIFSIGNALED(status), "N=%ld%s: the application died of signal %d (%s)", n,
             persist ? "+" : "", WTERMSIG(status), strsignal(WTERMSIG(status)));
    FL_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "N=%ld: exit status %d", n,
             WEXITSTATUS(status));
    while (o->calls < 0 && fl_read_line(p[0], line, sizeof(line), 100) == 0)
        if (strncmp(line, "done", 4) == 0) {
            o->calls = field(line, "calls=");
            o->failed = field(line, "failed=");
        }
    close(p[0]);
    fl_cleanup(&addr);
}

int
main(void)
{
    struct outcome o;
    long k, n;
    int persist, not_answered = 0;

    signal(SIGPIPE, SIG_IGN);
    alarm(280);
    build_request();
    run(0, 0, &o);
    FL_CHECK(o.answered == 2 && o.calls > 0, "the run without failures: answered %d, %ld "
             "allocations", o.answered, o.calls);
    k = o.calls;
    fl_note("# FCGX_Init and two requests make %ld allocations", k);
    for (persist = 0; persist <= 1; persist++) {
        for (n = 1; n <= k; n++) {
            char nfailed[24] = "?";

            run(n, persist, &o);
            if (o.failed >= 0)
                snprintf(nfailed, sizeof(nfailed), "%ld", o.failed);
            fl_note("# N=%ld%s: %s allocation(s) failed, %d of 2 requests answered; %s", n,
                    persist ? "+" : "", nfailed, o.answered,
                    o.seen[0] ? o.seen : "no error seen");
            if (!persist && !o.init_failed && o.answered != 2) {
                fl_note("# N=%ld: only %d of 2 requests answered", n, o.answered);
                not_answered++;
            }
        }
        fl_note("ok - allocation N=1..%ld fails%s: no crash, no hang, no wrong response",
                k, persist ? " and every later one too" : "");
    }
    FL_CHECK(not_answered == 0, "%d single failures left a request unanswered", not_answered);
    return 0;
}
