/* harness.c: child processes for the stdio and iostream tests. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "peer.h"

void child_fail(const char *file, int line, const char *what)
{
    dprintf(2, "%s:%d: check failed in the application process: %s\n", file, line, what);
}

void *real_std(int i)
{
    return i == 0 ? (void *)stdin : i == 1 ? (void *)stdout : (void *)stderr;
}

/*
 * The child of a test that failed half-way (with CK_FORK=no Check jumps
 * out of the test, past app_wait): the next test kills it.
 */
static pid_t live_pid = -1;

static void reap_live(void)
{
    if (live_pid > 0) {
        kill(live_pid, SIGKILL);
        waitpid(live_pid, NULL, 0);
    }
    live_pid = -1;
}

/* In the child: die with the test process, and in any case in time. */
static void bind_lifetime(pid_t parent)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != parent)
        _exit(97);
    alarm((unsigned)(peer_ms(60000) / 1000));
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sun;
    size_t len = strlen(path);
    int fd;

    if (len >= sizeof sun.sun_path)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len);
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(fd, APP_MAX_CONNS) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int app_start(app_proc *p, int (*app)(void *), void *arg, int nconn, int *fds)
{
    const char *tmp = getenv("TMPDIR");
    char dir[64];
    char path[128];
    pid_t parent = getpid();
    int lfd, i, rc;

    reap_live();
    p->pid = -1;
    if (nconn < 0 || nconn > APP_MAX_CONNS)
        return -1;
    snprintf(dir, sizeof dir, "%s/fcgi-stdio.XXXXXX",
             tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/sock", dir);
    lfd = listen_unix(path);
    if (lfd >= 0) {
        /* Nothing buffered may be written twice, by the parent and the child. */
        fflush(NULL);
        p->pid = fork();
        if (p->pid == 0) {
            bind_lifetime(parent);
            if (dup2(lfd, 0) < 0)
                _exit(99);
            close(lfd);
            rc = app(arg);
            fflush(NULL);
            _exit(rc);
        }
        close(lfd);
    }
    live_pid = p->pid;
    rc = p->pid > 0 ? 0 : -1;
    for (i = 0; i < nconn; ++i)
        fds[i] = -1;
    for (i = 0; rc == 0 && i < nconn; ++i) {
        fds[i] = peer_connect(path);
        if (fds[i] < 0)
            rc = -1;
    }
    unlink(path);
    rmdir(dir);
    return rc;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int app_wait(app_proc *p, int timeout_ms)
{
    long long deadline = now_ms() + peer_ms(timeout_ms);
    int status = 0;
    int result = -1;

    if (p->pid <= 0)
        return -1;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            if (WIFEXITED(status))
                result = WEXITSTATUS(status);
            else if (WIFSIGNALED(status))
                result = 128 + WTERMSIG(status);
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (now_ms() >= deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            dprintf(2, "harness: application process %ld killed after %d ms\n",
                    (long)p->pid, peer_ms(timeout_ms));
            break;
        }
        usleep(2000);
    }
    if (live_pid == p->pid)
        live_pid = -1;
    p->pid = -1;
    return result;
}

static int redirect(int fd, const char *path, int flags)
{
    int f;

    if (!path)
        return 0;
    f = open(path, flags, 0600);
    if (f < 0)
        return -1;
    if (f != fd) {
        if (dup2(f, fd) < 0)
            return -1;
        close(f);
    }
    return 0;
}

int run_redirected(int (*fn)(void *), void *arg, const char *in_path,
                   const char *out_path, const char *err_path, int timeout_ms)
{
    pid_t parent = getpid();
    app_proc p;
    int rc;

    reap_live();
    fflush(NULL);
    p.pid = fork();
    if (p.pid < 0)
        return -1;
    if (p.pid == 0) {
        bind_lifetime(parent);
        if (redirect(0, in_path, O_RDONLY) < 0
            || redirect(1, out_path, O_WRONLY | O_CREAT | O_TRUNC) < 0
            || redirect(2, err_path, O_WRONLY | O_CREAT | O_TRUNC) < 0)
            _exit(98);
        rc = fn(arg);
        fflush(NULL);
        _exit(rc);
    }
    live_pid = p.pid;
    return app_wait(&p, timeout_ms);
}
