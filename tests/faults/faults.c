/*
 * faults.c: a FastCGI application under a misbehaving web server.
 *
 * Each scenario starts the application (FCGX_Accept_r on a listening
 * socket, in a child process), misbehaves at it from this process as the
 * web server, then checks that the application saw the failure through
 * its streams, finished the request, and still serves a normal request on
 * a new connection; finally SIGTERM must make it leave its accept loop and
 * exit 0.  The application reports what it saw, one line per request,
 * over a pipe.
 *
 *   close-stdin       the server closes while the app reads the body
 *   close-response    the server closes while the app writes a large body
 *   close-response-sigdfl  the same with SIGPIPE at its default action
 *   stop-reading      the server stops reading: the app blocks (without
 *                     spinning), then the server closes: the app recovers
 *   abandon           1,000 connections opened and given up in four ways
 *   high-fds          listening and accepted descriptors above 1024
 *
 * Scenarios run over a Unix socket and over loopback TCP.  Arguments name
 * the scenarios to run (all by default).
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fcgiapp.h"
#include "faultlib.h"

#define BIG_BODY (64L << 20)

struct app {
    int listen_fd;
    int report_fd;     /* write end */
    int sigpipe_dfl;   /* SIGPIPE back to SIG_DFL after FCGX_Init */
    int high_fds;      /* move everything above descriptor 1024 first */
};

static const char *
param(FCGX_Request *r, const char *name)
{
    const char *v = FCGX_GetParam(name, r->envp);

    return v ? v : "";
}

/* Serves one request: reads the body, then writes what SCRIPT_NAME asks. */
static void
serve(struct app *app, FCGX_Request *r)
{
    static char buf[8192];
    char what[128];
    const char *script = param(r, "SCRIPT_NAME");
    long in = 0, out = 0;
    int n, in_err, out_rc = 0, out_err, fd = r->ipcFd;

    while ((n = FCGX_GetStr(buf, sizeof(buf), r->in)) > 0)
        in += n;
    in_err = FCGX_GetError(r->in);
    if (strcmp(script, "/big") == 0) {
        long want = atol(param(r, "BIG"));

        memset(buf, 'b', sizeof(buf));
        while (out < want) {
            out_rc = FCGX_PutStr(buf, sizeof(buf), r->out);
            if (out_rc < 0)
                break;
            out += out_rc;
        }
    } else {
        out_rc = FCGX_FPrintF(r->out, "Content-type: text/plain\r\n\r\n"
                              "hello %s in=%ld fd=%d\n", param(r, "ID"), in, fd);
    }
    out_err = FCGX_GetError(r->out);
    snprintf(what, sizeof(what), "%s id=%s", script, param(r, "ID"));
    FCGX_Finish_r(r);
    fl_report(app->report_fd, "served %s in=%ld in_err=%d out=%ld out_rc=%d "
              "out_err=%d fd=%d", what, in, in_err, out, out_rc, out_err, fd);
}

/* Fills the lowest free descriptors up to (not including) `upto`. */
static int
fill_fds(int upto)
{
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (null < 0)
        return -1;
    for (;;) {
        int fd = fcntl(null, F_DUPFD_CLOEXEC, 0);

        if (fd < 0)
            return -1;
        if (fd >= upto - 1)
            return 0;
    }
}

static int
app_main(void *arg)
{
    struct app *app = arg;
    FCGX_Request r;
    int lfd = app->listen_fd;

    if (app->high_fds) {
        struct rlimit rl = {4096, 4096};

        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fl_report(app->report_fd, "skip setrlimit: %s", strerror(errno));
            return 77;
        }
        if (dup2(lfd, 1500) != 1500)
            return 2;
        close(lfd);
        lfd = 1500;
        /* Accepted sockets and the library's own descriptors land higher. */
        if (fill_fds(1100) != 0)
            return 2;
    }
    if (FCGX_Init() != 0) {
        fl_report(app->report_fd, "init failed");
        return 2;
    }
    if (app->sigpipe_dfl)
        signal(SIGPIPE, SIG_DFL);
    FCGX_InitRequest(&r, lfd, 0);
    fl_report(app->report_fd, "ready");
    for (;;) {
        int rc = FCGX_Accept_r(&r);

        if (rc < 0) {
            fl_report(app->report_fd, "accept %d", rc);
            break;
        }
        serve(app, &r);
    }
    FCGX_Free(&r, 1);
    return 0;
}

/* --- the test side ------------------------------------------------------ */

struct run {
    const char *name;
    int tcp;
    fl_addr addr;
    pid_t pid;
    int report;       /* read end */
    struct app app;
};

static void
start(struct run *t, const char *name, int tcp, int sigpipe_dfl, int high_fds)
{
    int p[2];
    char line[512];

    memset(t, 0, sizeof(*t));
    t->name = name;
    t->tcp = tcp;
    t->app.listen_fd = fl_listen(&t->addr, tcp);
    FL_CHECK(t->app.listen_fd >= 0, "%s: listen: %s", name, strerror(errno));
    FL_CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
    t->app.report_fd = p[1];
    t->app.sigpipe_dfl = sigpipe_dfl;
    t->app.high_fds = high_fds;
    t->pid = fl_spawn(app_main, &t->app);
    close(p[1]);
    close(t->app.listen_fd);
    t->report = p[0];
    FL_CHECK(fl_read_line(t->report, line, sizeof(line), 10000) == 0,
             "%s: the application did not start", name);
    if (strncmp(line, "skip", 4) == 0) {
        fl_note("ok - %s # SKIP %s", name, line);
        fl_stop(t->pid, 5000);
        t->pid = 0;
        return;
    }
    FL_CHECK(strcmp(line, "ready") == 0, "%s: application said '%s'", name, line);
}

/* Reads the application's next report line. */
static void
report(struct run *t, char *line, size_t size, int timeout_ms)
{
    int status;

    if (fl_read_line(t->report, line, size, timeout_ms) == 0)
        return;
    if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
        if (WIFSIGNALED(status))
            fl_fail("%s: the application died of signal %d (%s)", t->name,
                    WTERMSIG(status), strsignal(WTERMSIG(status)));
        fl_fail("%s: the application exited with status %d", t->name,
                WEXITSTATUS(status));
    }
    fl_fail("%s: no report from the application in %d ms", t->name, timeout_ms);
}

/* Pulls key=value out of a report line. */
static long
field(const char *line, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(line, pat);
    if (!p)
        fl_fail("no %s in report '%s'", key, line);
    return atol(p + strlen(pat));
}

/* A normal request on a new connection must be answered in full. */
static void
normal_request(struct run *t, const char *id)
{
    char idp[64], line[512], want[128];
    const char *env[] = {"SCRIPT_NAME=/hello", idp, "REQUEST_METHOD=POST", NULL};
    fl_response r = {0};
    int rc;

    snprintf(idp, sizeof(idp), "ID=%s", id);
    rc = fl_exchange(&t->addr, env, "body", 4, &r, 10000);
    FL_CHECK(rc == 0, "%s: normal request %s after the fault: ended=%d closed=%d "
             "timed_out=%d malformed=%d", t->name, id, r.ended, r.closed, r.timed_out,
             r.malformed);
    FL_CHECK(r.protocol_status == 0 && r.app_status == 0, "%s: status", t->name);
    snprintf(want, sizeof(want), "hello %s in=4 fd=", id);
    fl_buf_add(&r.out, "", 1);
    FL_CHECK(strstr((char *)r.out.data, want) != NULL, "%s: body '%s'", t->name,
             (char *)r.out.data);
    fl_response_free(&r);
    report(t, line, sizeof(line), 10000);
    FL_CHECK(strncmp(line, "served /hello", 13) == 0 && field(line, "in_err") == 0 &&
             field(line, "out_err") == 0, "%s: report '%s'", t->name, line);
}

/* SIGTERM: the application must leave FCGX_Accept_r and exit 0. */
static void
finish(struct run *t)
{
    char line[512];
    int status;

    kill(t->pid, SIGTERM);
    report(t, line, sizeof(line), 5000);
    FL_CHECK(strcmp(line, "accept -1") == 0, "%s: after SIGTERM: '%s'", t->name, line);
    status = fl_wait(t->pid, 5000);
    FL_CHECK(status != -1, "%s: the application did not exit after SIGTERM", t->name);
    FL_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "%s: the application ended with wait status %#x", t->name, status);
    close(t->report);
    fl_cleanup(&t->addr);
    fl_note("ok - %s (%s)", t->name, t->tcp ? "tcp" : "unix");
}

static void
send_head(int fd, int id, const char *const *env)
{
    fl_buf b = {0};

    fl_begin(&b, id, 0);
    fl_params(&b, id, env);
    FL_CHECK(fl_send(fd, b.data, b.len, 5000) == 0, "send");
    fl_buf_free(&b);
}

/* The server closes while the application still reads the body. */
static void
close_stdin(int tcp)
{
    struct run t;
    const char *env[] = {"SCRIPT_NAME=/read", "ID=cut", "CONTENT_LENGTH=1000000", NULL};
    static char body[3 * 8192];
    char line[512];
    fl_buf b = {0};
    int fd;

    start(&t, "close-stdin", tcp, 0, 0);
    fd = fl_connect(&t.addr);
    FL_CHECK(fd >= 0, "connect");
    send_head(fd, 1, env);
    memset(body, 'i', sizeof(body));
    fl_stdin(&b, 1, body, sizeof(body), 0);
    FL_CHECK(fl_send(fd, b.data, b.len, 5000) == 0, "send body");
    fl_buf_free(&b);
    usleep(100000);
    close(fd);
    report(&t, line, sizeof(line), 10000);
    /* All that was sent was read, then an error, not a clean end. */
    FL_CHECK(field(line, "in") == (long)sizeof(body), "report '%s'", line);
    FL_CHECK(field(line, "in_err") != 0, "a truncated body read as complete: '%s'", line);
    fl_note("# close-stdin (%s): %s", tcp ? "tcp" : "unix", line);
    normal_request(&t, "after-close-stdin");
    finish(&t);
}

/* Reads about `want` bytes of the response, then closes. */
static void
read_some(int fd, long want)
{
    static char buf[65536];
    long got = 0, deadline = fl_now_ms() + 10000;

    while (got < want) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0) {
            got += n;
            continue;
        }
        FL_CHECK(n < 0 && (errno == EAGAIN || errno == EINTR), "response ended early");
        FL_CHECK(fl_now_ms() < deadline, "response too slow");
        usleep(1000);
    }
}

/* The server closes in the middle of a large response. */
static void
close_response(int tcp, int sigpipe_dfl)
{
    const char *name = sigpipe_dfl ? "close-response-sigdfl" : "close-response";
    char big[64], line[512];
    const char *env[] = {"SCRIPT_NAME=/big", "ID=big", big, NULL};
    fl_buf b = {0};
    struct run t;
    long out;
    int fd, err;

    snprintf(big, sizeof(big), "BIG=%ld", BIG_BODY);
    start(&t, name, tcp, sigpipe_dfl, 0);
    fd = fl_connect(&t.addr);
    FL_CHECK(fd >= 0, "connect");
    fl_request(&b, 1, 0, env, NULL, 0);
    FL_CHECK(fl_send(fd, b.data, b.len, 5000) == 0, "send");
    fl_buf_free(&b);
    read_some(fd, 200000);
    close(fd);
    report(&t, line, sizeof(line), 20000);
    out = field(line, "out");
    err = (int)field(line, "out_err");
    FL_CHECK(out < BIG_BODY && field(line, "out_rc") == -1,
             "the writes never failed: '%s'", line);
    FL_CHECK(err == EPIPE || err == ECONNRESET, "out_err %d, not EPIPE/ECONNRESET: '%s'",
             err, line);
    fl_note("# %s (%s): %s", name, tcp ? "tcp" : "unix", line);
    normal_request(&t, "after-close-response");
    finish(&t);
}

/* The server stops reading: the application blocks, then the server goes. */
static void
stop_reading(int tcp)
{
    char big[64], line[512];
    const char *env[] = {"SCRIPT_NAME=/big", "ID=stall", big, NULL};
    fl_buf b = {0};
    struct run t;
    long cpu0, cpu1;
    int fd;

    snprintf(big, sizeof(big), "BIG=%ld", BIG_BODY);
    start(&t, "stop-reading", tcp, 0, 0);
    fd = fl_connect(&t.addr);
    FL_CHECK(fd >= 0, "connect");
    fl_request(&b, 1, 0, env, NULL, 0);
    FL_CHECK(fl_send(fd, b.data, b.len, 5000) == 0, "send");
    fl_buf_free(&b);
    /* Let the socket buffers fill, then watch the blocked application. */
    usleep(300000);
    cpu0 = fl_cpu_ms(t.pid);
    FL_CHECK(fl_read_line(t.report, line, sizeof(line), 1500) != 0,
             "the application finished without its reader: '%s'", line);
    cpu1 = fl_cpu_ms(t.pid);
    FL_CHECK(cpu0 >= 0 && cpu1 >= 0, "cpu time");
    FL_CHECK(cpu1 - cpu0 < 300, "a blocked writer used %ld ms of CPU in 1.5 s", cpu1 - cpu0);
    close(fd);
    report(&t, line, sizeof(line), 10000);
    FL_CHECK(field(line, "out_rc") == -1 && field(line, "out_err") != 0,
             "report '%s'", line);
    fl_note("# stop-reading (%s): blocked writer used %ld ms CPU in 1.5 s; %s",
            tcp ? "tcp" : "unix", cpu1 - cpu0, line);
    normal_request(&t, "after-stop-reading");
    finish(&t);
}

/* 1,000 connections given up in four ways, 50 at a time. */
static void
abandon(int tcp)
{
    const char *env[] = {"SCRIPT_NAME=/hello", "ID=abandoned", NULL};
    struct run t;
    int fds[50], base, now = -1, served = 0;
    long deadline;
    fl_buf full = {0}, head = {0};
    char line[512];
    int i, j;

    start(&t, "abandon", tcp, 0, 0);
    base = fl_count_fds(t.pid);
    fl_request(&full, 1, 0, env, "x", 1);
    fl_begin(&head, 1, 0);
    fl_params(&head, 1, env);
    for (i = 0; i < 1000; i += 50) {
        for (j = 0; j < 50; j++) {
            int kind = (i + j) % 4;

            fds[j] = fl_connect(&t.addr);
            FL_CHECK(fds[j] >= 0, "connect %d: %s", i + j, strerror(errno));
            if (kind == 1) /* part of a header */
                FL_CHECK(fl_send(fds[j], full.data, 3, 1000) == 0, "send");
            else if (kind == 2) /* BEGIN_REQUEST and half the parameters */
                FL_CHECK(fl_send(fds[j], head.data, 8 + 8 + (head.len - 16) / 2, 1000) == 0,
                         "send");
            else if (kind == 3) /* a whole request, never read */
                FL_CHECK(fl_send(fds[j], full.data, full.len, 1000) == 0, "send");
        }
        for (j = 0; j < 50; j++)
            close(fds[j]);
    }
    fl_buf_free(&full);
    fl_buf_free(&head);
    /* The whole requests were served (or failed) one by one. */
    while (fl_read_line(t.report, line, sizeof(line), 2000) == 0) {
        FL_CHECK(strncmp(line, "served", 6) == 0, "report '%s'", line);
        served++;
    }
    normal_request(&t, "after-abandon");
    /* Nothing leaked: back to the descriptors it had before. */
    deadline = fl_now_ms() + 5000;
    while (fl_now_ms() < deadline && (now = fl_count_fds(t.pid)) > base)
        usleep(20000);
    FL_CHECK(now <= base, "descriptors: %d before, %d after", base, now);
    fl_note("# abandon (%s): 1000 connections, %d abandoned requests were served, "
            "descriptors %d before and %d after", tcp ? "tcp" : "unix", served, base, now);
    finish(&t);
}

/* Listening socket at 1500, accepted ones above 1100. */
static void
high_fds(int tcp)
{
    char line[512];
    struct run t;
    fl_buf b = {0};
    int i, fd;

    start(&t, "high-fds", tcp, 0, 1);
    if (t.pid == 0)
        return;
    for (i = 0; i < 5; i++) {
        char id[16];

        snprintf(id, sizeof(id), "h%d", i);
        normal_request(&t, id);
    }
    /* A kept connection waits between requests in the poll set. */
    fd = fl_connect(&t.addr);
    FL_CHECK(fd >= 0, "connect");
    for (i = 0; i < 3; i++) {
        const char *env[] = {"SCRIPT_NAME=/hello", "ID=kept", NULL};
        fl_response r = {0};

        b.len = 0;
        fl_request(&b, 1, 1, env, "abcd", 4);
        FL_CHECK(fl_send(fd, b.data, b.len, 5000) == 0, "send");
        FL_CHECK(fl_read_response(fd, 1, &r, 10000) == 0, "kept request %d: closed=%d "
                 "timed_out=%d", i, r.closed, r.timed_out);
        fl_response_free(&r);
        report(&t, line, sizeof(line), 5000);
        FL_CHECK(field(line, "fd") > 1024, "accepted descriptor: '%s'", line);
        usleep(50000);
    }
    fl_note("# high-fds (%s): %s", tcp ? "tcp" : "unix", line);
    close(fd);
    fl_buf_free(&b);
    finish(&t);
}

static int
wanted(int argc, char **argv, const char *name)
{
    int i;

    if (argc < 2)
        return 1;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int
main(int argc, char **argv)
{
    int tcp;

    /* This process is the web server: its writes to a closed application
     * must fail, not kill it. */
    signal(SIGPIPE, SIG_IGN);
    alarm(280);
    for (tcp = 0; tcp <= 1; tcp++) {
        if (wanted(argc, argv, "close-stdin"))
            close_stdin(tcp);
        if (wanted(argc, argv, "close-response"))
            close_response(tcp, 0);
        if (wanted(argc, argv, "close-response-sigdfl"))
            close_response(tcp, 1);
        if (wanted(argc, argv, "stop-reading"))
            stop_reading(tcp);
        if (wanted(argc, argv, "abandon"))
            abandon(tcp);
        if (wanted(argc, argv, "high-fds"))
            high_fds(tcp);
    }
    return 0;
}
