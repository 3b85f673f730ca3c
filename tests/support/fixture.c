/*
 * fixture.c: the Check fixture the FCGX_ suites share.
 * See fixture.h for the contract.
 */
#define _GNU_SOURCE 1

#include "fixture.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define MAX_CHILDREN 16

/*
 * basedir belongs to a test case and is made and removed by the runner
 * process; each test makes its tmpdir inside it.  A test that fails in
 * CK_FORK mode exits without its checked teardown, so the runner's
 * unchecked teardown is what removes whatever such a test left.
 */
static const char *base_tag = "api";
static char basedir[32];
char tmpdir[64];
static pid_t children[MAX_CHILDREN];
static int n_children;

/* Removes dir and the files and directories directly inside it. */
static void
remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            char path[PATH_MAX];

            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (unlink(path) != 0 && depth > 0)
                remove_tree(path, depth - 1);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void
case_setup(void)
{
    int n = snprintf(basedir, sizeof(basedir), "/tmp/fcgi-%s-XXXXXX", base_tag);

    if (n < 0 || (size_t)n >= sizeof(basedir) || mkdtemp(basedir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static void
case_teardown(void)
{
    remove_tree(basedir, 1);
}

static void
setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/t-XXXXXX", basedir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    n_children = 0;
    /* The test process must survive writes to connections the
     * application closed; applications get SIG_DFL back (see spawn). */
    signal(SIGPIPE, SIG_IGN);
}

/* Kills and reaps the applications, removes the temporary directory. */
static void
teardown(void)
{
    int i;

    for (i = 0; i < n_children; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
    n_children = 0;
    remove_tree(tmpdir, 0);
}

TCase *
tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

int
fixture_run(Suite *s, const char *tag)
{
    SRunner *sr = srunner_create(s);
    const char *vg = getenv("VALGRIND");
    int failed;

    base_tag = tag;
    /* Under valgrind, run in one process so the tool sees the tests. */
    if (vg != NULL && *vg != '\0' && getenv("CK_FORK") == NULL)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

pid_t
spawn(void (*body)(void *), void *arg)
{
    pid_t pid;

    ck_assert_int_lt(n_children, MAX_CHILDREN);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        signal(SIGPIPE, SIG_DFL);
        /* Backstop should the test process vanish without killing us. */
        alarm((unsigned)(peer_ms(60000) / 1000));
        body(arg);
        _exit(120);
    }
    children[n_children++] = pid;
    return pid;
}

/* Drops pid from the children teardown kills: it has been reaped. */
static void
forget(pid_t pid)
{
    int i;

    for (i = 0; i < n_children; i++)
        if (children[i] == pid)
            children[i] = 0;
}

int
reap(pid_t pid, int timeout_ms)
{
    int waited = 0;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            break;
        if (waited >= timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            forget(pid);
            return -1;
        }
        usleep(10000);
        waited += 10;
    }
    forget(pid);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 200 + WTERMSIG(status);
}

int
alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

const char *
txt(const peer_buf *b)
{
    return b->data != NULL ? (const char *)b->data : "";
}

void
say(FCGX_Stream *s, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = (int)sizeof(buf) - 1;
    FCGX_PutStr(buf, n, s);
}

uint32_t
fnv1a(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint32_t h = 2166136261u;

    while (n-- > 0) {
        h ^= *c++;
        h *= 16777619u;
    }
    return h;
}
