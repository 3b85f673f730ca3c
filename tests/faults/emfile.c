/*
 * emfile.c: FCGX_Accept_r when accept(2) fails for want of descriptors.
 *
 * The application lowers RLIMIT_NOFILE and fills every free descriptor,
 * so accepting the connection the test makes fails with EMFILE; a helper
 * thread frees some descriptors 1.5 s later.  The desired behaviour, which
 * this test requires:
 *  - FCGX_Accept_r does not return an error for it (a typical program's
 *    `while (FCGX_Accept_r(&r) >= 0)` loop would end and the process
 *    exit);
 *  - it does not spin while it waits (the pending connection keeps the
 *    listening socket readable, so a poll-and-retry loop without a pause
 *    burns a CPU): under half the wall time in CPU;
 *  - once descriptors are free it accepts the connection and the request
 *    is answered.
 * When FCGX_Accept_r returns an error instead, the test says so (with the
 * value and how fast it came back), checks that a second call serves the
 * request once descriptors are free, and fails.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcgiapp.h"
#include "faultlib.h"

#define FREE_AFTER_MS 1500
#define LIMIT 64

struct app {
    int listen_fd;
    int report_fd;
};

static int dummies[LIMIT];
static int ndummies;
static volatile long freed_at;

static long
cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
free_later(void *arg)
{
    int i;

    (void)arg;
    usleep(FREE_AFTER_MS * 1000);
    for (i = 0; i < 8 && ndummies > 0; i++)
        close(dummies[--ndummies]);
    freed_at = fl_now_ms();
    return NULL;
}

static void
serve(struct app *app, FCGX_Request *r)
{
    char buf[1024];

    while (FCGX_GetStr(buf, sizeof(buf), r->in) > 0)
        ;
    FCGX_FPrintF(r->out, "Content-type: text/plain\r\n\r\nserved fd=%d\n", r->ipcFd);
    FCGX_Finish_r(r);
    fl_report(app->report_fd, "served");
}

static int
app_main(void *arg)
{
    struct app *app = arg;
    struct rlimit rl;
    FCGX_Request r;
    pthread_t helper;
    long t0, c0, t1, c1;
    int rc, fd;

    if (FCGX_Init() != 0)
        return 2;
    FCGX_InitRequest(&r, app->listen_fd, 0);
    /* Every descriptor below the limit in use: accept gets EMFILE. */
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = LIMIT;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 2;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        dummies[ndummies++] = fd;
    if (errno != EMFILE)
        return 2;
    if (pthread_create(&helper, NULL, free_later, NULL) != 0)
        return 2;
    fl_report(app->report_fd, "ready");

    t0 = fl_now_ms();
    c0 = cpu_ms();
    rc = FCGX_Accept_r(&r);
    t1 = fl_now_ms();
    c1 = cpu_ms();
    fl_report(app->report_fd, "accept rc=%d after=%ld cpu=%ld freed=%d", rc, t1 - t0,
              c1 - c0, freed_at != 0 && freed_at <= t1);
    if (rc < 0) {
        /* Returned the error: does a second call recover? */
        pthread_join(helper, NULL);
        rc = FCGX_Accept_r(&r);
        fl_report(app->report_fd, "retry rc=%d", rc);
        if (rc < 0)
            return 0;
    } else {
        pthread_join(helper, NULL);
    }
    serve(app, &r);
    while (FCGX_Accept_r(&r) >= 0)
        serve(app, &r);
    return 0;
}

static long
field(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    if (!p)
        fl_fail("no %s in '%s'", key, line);
    return atol(p + strlen(key));
}

int
main(void)
{
    const char *env[] = {"SCRIPT_NAME=/emfile", NULL};
    char line[256], retry[256] = "";
    fl_response resp = {0};
    struct app app;
    fl_addr addr;
    int p[2], rc, status, answered;
    long after, cpu;
    pid_t pid;

    signal(SIGPIPE, SIG_IGN);
    alarm(60);
    app.listen_fd = fl_listen(&addr, 0);
    FL_CHECK(app.listen_fd >= 0, "listen");
    FL_CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
    app.report_fd = p[1];
    pid = fl_spawn(app_main, &app);
    close(p[1]);
    close(app.listen_fd);
    FL_CHECK(fl_read_line(p[0], line, sizeof(line), 10000) == 0 && strcmp(line, "ready") == 0,
             "the application did not start");

    answered = fl_exchange(&addr, env, NULL, 0, &resp, 10000) == 0 &&
               resp.protocol_status == 0;
    FL_CHECK(fl_read_line(p[0], line, sizeof(line), 10000) == 0,
             "no word from FCGX_Accept_r in 10 s (descriptors were freed after %d ms)",
             FREE_AFTER_MS);
    rc = (int)field(line, "rc=");
    after = field(line, "after=");
    cpu = field(line, "cpu=");
    if (rc < 0 && fl_read_line(p[0], retry, sizeof(retry), 5000) != 0)
        snprintf(retry, sizeof(retry), "no retry result");
    status = fl_stop(pid, 5000);
    close(p[0]);
    fl_cleanup(&addr);
    fl_response_free(&resp);

    fl_note("# accept with EMFILE: FCGX_Accept_r returned %d after %ld ms using %ld ms "
            "of CPU%s%s; the request was %sanswered", rc, after, cpu,
            rc < 0 ? "; then " : "", retry, answered ? "" : "NOT ");
    FL_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
             "the application ended badly (wait status %#x)", status);
    FL_CHECK(rc == 0, "FCGX_Accept_r returned %d (%s) on EMFILE instead of waiting for "
             "descriptors", rc, rc < 0 ? strerror(-rc) : "?");
    FL_CHECK(after >= FREE_AFTER_MS - 100, "FCGX_Accept_r returned after %ld ms, before "
             "descriptors were freed", after);
    FL_CHECK(cpu * 2 < after, "FCGX_Accept_r spun: %ld ms of CPU in %ld ms", cpu, after);
    FL_CHECK(answered, "the request was not answered after descriptors were freed");
    fl_note("ok - accept with EMFILE waits without spinning and recovers");
    return 0;
}
