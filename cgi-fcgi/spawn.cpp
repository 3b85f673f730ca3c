#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/listen.hpp"
#include "net.hpp"

namespace cgifcgi {

namespace {

// Children of -supervise, read by the signal handler.  Signals are blocked
// except inside sigsuspend(), so the handler never sees a half-made change.
pid_t g_children[kMaxServers];
long g_nchildren;
volatile sig_atomic_t g_forwarded;

const int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void forward_signal(int sig)
{
    g_forwarded = sig;
    for (long i = 0; i < g_nchildren; ++i)
        if (g_children[i] > 0)
            kill(g_children[i], sig);
}

void note_child(int) {}

bool is_executable(const char *path)
{
    struct stat st;
    return access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void close_from(int lowfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lowfd, ~0U, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = lowfd; fd < max; ++fd)
        close(fd);
}

// In the child: the socket becomes fd 0; unless supervised, stdout and
// stderr go to /dev/null, so that a web server waiting for the end of our
// output is not kept waiting by the application holding it open.
[[noreturn]] void exec_server(int listen_fd, const Options &opts)
{
    if (listen_fd != 0) {
        if (dup2(listen_fd, 0) < 0)
            _exit(127);
    }
    if (!opts.supervise) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
    }
    close_from(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    char *const argv[] = {const_cast<char *>(opts.app), nullptr};
    execv(opts.app, argv);
    int err = errno;
    dprintf(2, "cgi-fcgi: cannot run %s: %s\n", opts.app, strerror(err));
    _exit(127);
}

// Status a server's end contributes: 0 when it ended cleanly or by a
// signal we passed on, otherwise its exit code or 128 + signal number.
int child_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (g_forwarded != 0 && sig == g_forwarded)
            return 0;
        return 128 + sig;
    }
    return 0;
}

// Waits for every server; returns the first nonzero child_status, or 0.
int supervise(const sigset_t &waitmask)
{
    int result = 0;
    long alive = g_nchildren;
    while (alive > 0) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid > 0) {
            for (long i = 0; i < g_nchildren; ++i) {
                if (g_children[i] == pid) {
                    g_children[i] = 0;
                    --alive;
                    int s = child_status(st);
                    if (result == 0)
                        result = s;
                }
            }
            continue;
        }
        if (pid < 0 && errno == ECHILD)
            break;
        sigsuspend(&waitmask);
    }
    return result;
}

} // namespace

int start_servers(const Options &opts)
{
    if (!is_executable(opts.app)) {
        fprintf(stderr, "%s is not executable\n", opts.app);
        return kExitUsage;
    }
    fcgi::io::Address addr;
    int rc = resolve(opts.conn, true, addr);
    if (rc > 0)
        return rc;
    if (rc < 0) {
        int e = errno;
        fprintf(stderr, "cgi-fcgi: cannot listen on %s: %s\n", opts.conn, strerror(e));
        return e;
    }

    // Socket files get read and write permission as the umask allows;
    // execute bits mean nothing on a socket.
    mode_t old = umask(0);
    umask(old | 0111);
    int fd = fcgi::io::open_listener(opts.conn, 0);
    int err = errno;
    umask(old);
    if (fd < 0) {
        fprintf(stderr, "cgi-fcgi: cannot listen on %s: %s\n", opts.conn, strerror(err));
        return err;
    }

    // Block what the supervisor handles before the first fork: a signal
    // then waits for sigsuspend() instead of killing us half-way.
    sigset_t block, oldmask;
    sigemptyset(&block);
    if (opts.supervise) {
        for (int sig : kForwarded)
            sigaddset(&block, sig);
        sigaddset(&block, SIGCHLD);
    }
    sigprocmask(SIG_BLOCK, &block, &oldmask);

    g_nchildren = 0;
    g_forwarded = 0;
    int result = 0;
    for (long i = 0; i < opts.servers; ++i) {
        pid_t pid = fork();
        if (pid == 0)
            exec_server(fd, opts);
        if (pid < 0) {
            result = errno;
            fprintf(stderr, "cgi-fcgi: fork: %s\n", strerror(result));
            break;
        }
        g_children[g_nchildren++] = pid;
    }
    close(fd);

    if (opts.supervise && g_nchildren > 0) {
        struct sigaction sa = {};
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = forward_signal;
        for (int sig : kForwarded)
            sigaction(sig, &sa, nullptr);
        sa.sa_handler = note_child;
        sa.sa_flags = SA_NOCLDSTOP;
        sigaction(SIGCHLD, &sa, nullptr);
        sigset_t waitmask = oldmask;
        for (int sig : kForwarded)
            sigdelset(&waitmask, sig);
        sigdelset(&waitmask, SIGCHLD);
        int status = supervise(waitmask);
        if (result == 0)
            result = status;
        // The socket belonged to these servers only: remove its file.
        const struct sockaddr_un *un = reinterpret_cast<const struct sockaddr_un *>(&addr.ss);
        if (addr.ss.ss_family == AF_UNIX && un->sun_path[0] != '\0')
            unlink(un->sun_path);
    }
    sigprocmask(SIG_SETMASK, &oldmask, nullptr);
    return result;
}

} // namespace cgifcgi
