/*
 * threads.c: 32 threads in FCGX_Accept_r, 200 connections at once.
 *
 * The application (a child process) runs 32 threads, each looping on
 * FCGX_Accept_r with its own FCGX_Request on one listening socket, with no
 * lock of its own around the call.  The test opens 200 connections at
 * once and sends a request on each; 50 of them are kept connections that
 * carry three requests one after the other.  Every one of the 300
 * requests must be answered with its own body (its ID and the length of
 * the body it sent), within 60 s; more than one thread must have served.
 * Then, once the threads are idle, SIGTERM: every thread must return from
 * FCGX_Accept_r and the process exit 0, its served count matching.
 *
 * With --shutdown-race, SIGTERM comes instead the moment the last
 * response arrives, while threads are on their way back into
 * FCGX_Accept_r and the backlog is empty; 30 rounds, each with a fresh
 * process, and every thread must return every time.
 *
 * Built a second time with -fsanitize=thread by `make check-tsan`.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fcgiapp.h"
#include "faultlib.h"

#define THREADS 32
#define CONNS 200
#define KEPT 50          /* connections 0..KEPT-1 keep the connection */
#define PER_KEPT 3
#define TOTAL (CONNS - KEPT + KEPT * PER_KEPT)

struct app {
    int listen_fd;
    int report_fd;
};

struct worker {
    struct app *app;
    pthread_t tid;
    int served;
    int last_rc;
};

static void *
work(void *arg)
{
    struct worker *w = arg;
    FCGX_Request r;
    char buf[4096];

    FCGX_InitRequest(&r, w->app->listen_fd, 0);
    for (;;) {
        const char *id;
        long in = 0;
        int n;

        w->last_rc = FCGX_Accept_r(&r);
        if (w->last_rc < 0)
            break;
        while ((n = FCGX_GetStr(buf, sizeof(buf), r.in)) > 0)
            in += n;
        id = FCGX_GetParam("ID", r.envp);
        /* A little work, so requests overlap across threads. */
        usleep(2000);
        FCGX_FPrintF(r.out, "Content-type: text/plain\r\n\r\nid=%s in=%ld err=%d\n",
                     id ? id : "?", in, FCGX_GetError(r.in));
        FCGX_Finish_r(&r);
        w->served++;
    }
    FCGX_Free(&r, 1);
    return NULL;
}

static int
app_main(void *arg)
{
    struct app *app = arg;
    static struct worker w[THREADS];
    int i, total = 0, busy = 0;

    if (FCGX_Init() != 0)
        return 2;
    for (i = 0; i < THREADS; i++) {
        w[i].app = app;
        if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
            return 2;
    }
    fl_report(app->report_fd, "ready");
    for (i = 0; i < THREADS; i++) {
        pthread_join(w[i].tid, NULL);
        total += w[i].served;
        busy += w[i].served > 0;
        if (w[i].last_rc != -1)
            fl_report(app->report_fd, "thread %d returned %d", i, w[i].last_rc);
    }
    fl_report(app->report_fd, "done served=%d threads=%d", total, busy);
    return 0;
}

/* --- the web server ------------------------------------------------------ */

struct conn {
    int fd;
    int sent;        /* requests sent */
    int answered;
    fl_response r;
};

static void
send_request(struct conn *c, int index, int keep)
{
    char idp[32];
    const char *env[] = {"SCRIPT_NAME=/threads", idp, NULL};
    static char body[8000];
    size_t len = (size_t)(index * 37 + c->sent * 11) % sizeof(body);
    fl_buf b = {0};

    memset(body, 'q', sizeof(body));
    snprintf(idp, sizeof(idp), "ID=%d.%d", index, c->sent);
    fl_request(&b, 1, keep, env, body, len);
    FL_CHECK(fl_send(c->fd, b.data, b.len, 10000) == 0, "send on connection %d", index);
    fl_buf_free(&b);
    c->sent++;
}

static void
check_answer(struct conn *c, int index)
{
    char want[96];
    size_t len = (size_t)(index * 37 + (c->sent - 1) * 11) % 8000;

    snprintf(want, sizeof(want), "\r\n\r\nid=%d.%d in=%zu err=0\n", index, c->sent - 1, len);
    fl_buf_add(&c->r.out, "", 1);
    FL_CHECK(c->r.protocol_status == 0, "connection %d: protocol status %d", index,
             c->r.protocol_status);
    FL_CHECK(strstr((char *)c->r.out.data, want) != NULL, "connection %d: got '%s', want "
             "'%s'", index, (char *)c->r.out.data, want);
    c->answered++;
    fl_response_free(&c->r);
}

struct round {
    int conns;       /* connections opened at once */
    int kept;        /* the first `kept` carry PER_KEPT requests */
    int total;       /* requests in all */
    int settle_ms;   /* pause between the last answer and SIGTERM */
    long answer_ms;  /* out: time to answer everything */
    int threads;     /* out: threads that served */
};

/*
 * One application process, one round of requests, then SIGTERM.  Returns
 * 0, or -1 when the application did not stop (a thread stayed in
 * FCGX_Accept_r); any other failure ends the test.
 */
static int
run_round(struct round *rd)
{
    static struct conn conns[CONNS];
    static struct pollfd pfds[CONNS];
    struct app app;
    fl_addr addr;
    char line[256];
    int p[2], i, answered = 0, status, served = -1, threads = -1;
    long start, deadline;
    pid_t pid;

    memset(conns, 0, sizeof(conns));
    app.listen_fd = fl_listen(&addr, 0);
    FL_CHECK(app.listen_fd >= 0, "listen");
    FL_CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
    app.report_fd = p[1];
    pid = fl_spawn(app_main, &app);
    close(p[1]);
    close(app.listen_fd);
    FL_CHECK(fl_read_line(p[0], line, sizeof(line), 10000) == 0 && strcmp(line, "ready") == 0,
             "the application did not start");

    start = fl_now_ms();
    for (i = 0; i < rd->conns; i++) {
        conns[i].fd = fl_connect(&addr);
        FL_CHECK(conns[i].fd >= 0, "connect %d: %s", i, strerror(errno));
    }
    for (i = 0; i < rd->conns; i++)
        send_request(&conns[i], i, i < rd->kept);

    deadline = start + 60000;
    while (answered < rd->total) {
        int n = 0, k;

        for (i = 0; i < rd->conns; i++) {
            int want = i < rd->kept ? PER_KEPT : 1;

            pfds[i].fd = conns[i].answered < want ? conns[i].fd : -1;
            pfds[i].events = POLLIN;
            pfds[i].revents = 0;
        }
        FL_CHECK(fl_now_ms() < deadline, "only %d of %d requests answered in 60 s",
                 answered, rd->total);
        n = poll(pfds, (nfds_t)rd->conns, 1000);
        FL_CHECK(n >= 0 || errno == EINTR, "poll");
        for (i = 0; i < rd->conns && n > 0; i++) {
            char buf[16384];
            ssize_t got;

            if (!pfds[i].revents)
                continue;
            got = recv(conns[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            FL_CHECK(got > 0, "connection %d closed after %d answers", i,
                     conns[i].answered);
            k = fl_feed(&conns[i].r, 1, buf, (size_t)got);
            FL_CHECK(k >= 0, "connection %d: malformed response", i);
            if (k == 1) {
                check_answer(&conns[i], i);
                answered++;
                if (i < rd->kept && conns[i].sent < PER_KEPT)
                    send_request(&conns[i], i, 1);
            }
        }
    }
    rd->answer_ms = fl_now_ms() - start;
    if (rd->settle_ms)
        usleep((useconds_t)rd->settle_ms * 1000);

    /* Every thread must leave FCGX_Accept_r on SIGTERM. */
    kill(pid, SIGTERM);
    while (fl_read_line(p[0], line, sizeof(line), 5000) == 0) {
        if (strncmp(line, "thread", 6) == 0)
            fl_fail("after SIGTERM: %s", line);
        if (sscanf(line, "done served=%d threads=%d", &served, &threads) == 2)
            break;
    }
    status = fl_wait(pid, 5000);
    for (i = 0; i < rd->conns; i++)
        close(conns[i].fd);
    close(p[0]);
    fl_cleanup(&addr);
    if (status != -1 && WIFSIGNALED(status))
        fl_fail("after SIGTERM the application died of signal %d (%s) instead of "
                "leaving FCGX_Accept_r", WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (served < 0)
        return -1;
    FL_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "the application ended with wait status %#x", status);
    FL_CHECK(served == rd->total, "the application counted %d requests, the test %d",
             served, rd->total);
    rd->threads = threads;
    return 0;
}

int
main(int argc, char **argv)
{
    struct round rd;

    signal(SIGPIPE, SIG_IGN);
    alarm(200);
    if (argc > 1 && strcmp(argv[1], "--shutdown-race") == 0) {
        int k;

        for (k = 1; k <= 30; k++) {
            rd = (struct round){CONNS, KEPT, TOTAL, 0, 0, 0};
            FL_CHECK(run_round(&rd) == 0, "round %d: SIGTERM as the last of %d responses "
                     "arrived: a thread stayed in FCGX_Accept_r (the process did not exit "
                     "in 5 s)", k, TOTAL);
        }
        fl_note("ok - 30 rounds: SIGTERM while threads re-enter FCGX_Accept_r, all left");
        return 0;
    }
    rd = (struct round){CONNS, KEPT, TOTAL, 300, 0, 0};
    FL_CHECK(run_round(&rd) == 0, "SIGTERM to idle threads: a thread stayed in "
             "FCGX_Accept_r (the process did not exit in 5 s)");
    fl_note("# %d requests on %d connections answered in %ld ms", TOTAL, CONNS,
            rd.answer_ms);
    FL_CHECK(rd.threads >= 2, "only %d thread(s) served", rd.threads);
    fl_note("ok - %d threads served %d requests on %d concurrent connections (%d threads "
            "busy) and all left FCGX_Accept_r on SIGTERM", THREADS, TOTAL, CONNS, rd.threads);
    return 0;
}
