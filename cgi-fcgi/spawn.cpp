#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/listen.hpp"
#include "net.hpp"

namespace cgifcgi {

namespace {

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
    if (opts.supervise)
        unsetenv("NOTIFY_SOCKET"); // meant for the supervisor, not for its workers
    if (opts.recycle > 0) {
        // Set here, in the worker only: the supervisor's environment stays
        // as it was given (the supervisor is single-threaded, so setenv
        // after fork is safe).
        char n[24];
        snprintf(n, sizeof n, "%ld", opts.recycle);
        if (setenv("FCGI_RECYCLE_AFTER", n, 1) != 0)
            _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    char *const argv[] = {const_cast<char *>(opts.app), nullptr};
    execv(opts.app, argv);
    int err = errno;
    dprintf(2, "cgi-fcgi: cannot run %s: %s\n", opts.app, strerror(err));
    _exit(127);
}

// ---- -supervise: the supervisor -------------------------------------------
//
// Everything runs in one thread with the handled signals blocked; they are
// taken one at a time with sigtimedwait(), whose timeout is the next
// restart that is due, so no state is ever shared with a signal handler.

enum SlotState { kEmpty, kRunning, kRetiring, kWaiting };

struct Slot {
    pid_t pid;
    SlotState state;
    bool old;      // started before the last SIGHUP: to be replaced
    long long t;   // kRunning, kRetiring: start time; kWaiting: restart time
};

constexpr long kFirstDelayMs = 100;  // first restart after a death
constexpr long kMaxDelayMs = 5000;   // back-off cap
constexpr long kStableMs = 10000;    // a worker that lived this long resets the back-off
constexpr long kRetryMs = 1000;      // a failed fork during SIGHUP is retried after
constexpr long kMinLifeMs = 100;     // after an exit 0, the earliest restart after the start

Slot g_slots[kMaxServers + 1];

const int kSupervised[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};

long long now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

const char *signal_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
    }
}

// "exited with status 3" or "was killed by signal 9 (SIGKILL)".
void describe_end(int st, char *buf, size_t size)
{
    if (WIFEXITED(st))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(st),
                 signal_name(WTERMSIG(st)));
    else
        snprintf(buf, size, "ended");
}

// Sends READY=1 to $NOTIFY_SOCKET (sd_notify(3)), if it is set.
void notify_ready()
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return;
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    size_t len = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || len >= sizeof un.sun_path) {
        fprintf(stderr, "cgi-fcgi: unusable NOTIFY_SOCKET %s\n", name);
        return;
    }
    memcpy(un.sun_path, name, len);
    socklen_t alen = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len);
    if (name[0] == '@')
        un.sun_path[0] = '\0'; // abstract: the name is exactly len bytes
    else
        ++alen;                // a path: with its terminating NUL
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    static const char kReady[] = "READY=1";
    if (s < 0 || sendto(s, kReady, sizeof kReady - 1, MSG_NOSIGNAL,
                        reinterpret_cast<struct sockaddr *>(&un), alen) < 0) {
        int e = errno;
        fprintf(stderr, "cgi-fcgi: cannot notify %s: %s\n", name, strerror(e));
    }
    if (s >= 0)
        close(s);
}

bool write_pidfile(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", static_cast<long>(getpid()));
    bool ok = write(fd, buf, static_cast<size_t>(n)) == n;
    if (close(fd) != 0)
        ok = false;
    if (!ok)
        unlink(path);
    return ok;
}

class Supervisor {
public:
    Supervisor(const Options &opts, int fd)
        : opts_(opts), fd_(fd), nslots_(opts.servers + 1) {}
    int run(const sigset_t &set);

private:
    const Options &opts_;
    int fd_;
    long nslots_;                    // servers, plus one for SIGHUP's overlap
    long next_delay_ = kFirstDelayMs;
    bool stopping_ = false;
    bool rolling_ = false;
    long long roll_at_ = 0;          // a SIGHUP step waits for a failed fork
    int result_ = 0;

    bool start_worker(Slot &s, long long now);
    void worker_ended(Slot &s, int st, long long now);
    void reap();
    void on_signal(int sig);
    void do_due(long long now);
    long alive() const;
    long long next_event() const;
};

bool Supervisor::start_worker(Slot &s, long long now)
{
    pid_t pid = fork();
    if (pid == 0)
        exec_server(fd_, opts_);
    if (pid < 0) {
        int e = errno;
        fprintf(stderr, "cgi-fcgi: fork: %s\n", strerror(e));
        return false;
    }
    s.pid = pid;
    s.state = kRunning;
    s.old = false;
    s.t = now;
    return true;
}

long Supervisor::alive() const
{
    long n = 0;
    for (long i = 0; i < nslots_; ++i)
        if (g_slots[i].state == kRunning || g_slots[i].state == kRetiring)
            ++n;
    return n;
}

void Supervisor::worker_ended(Slot &s, int st, long long now)
{
    char how[64];
    describe_end(st, how, sizeof how);
    if (stopping_) {
        // Ended by our SIGTERM, or by a SIGINT from the terminal: clean.
        int status = 0;
        if (WIFEXITED(st))
            status = WEXITSTATUS(st);
        else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM && WTERMSIG(st) != SIGINT)
            status = 128 + WTERMSIG(st);
        if (result_ == 0)
            result_ = status;
        fprintf(stderr, "cgi-fcgi: worker %ld %s\n", static_cast<long>(s.pid), how);
        s.state = kEmpty;
    } else if (s.state == kRetiring) {
        fprintf(stderr, "cgi-fcgi: worker %ld %s (replaced)\n", static_cast<long>(s.pid), how);
        s.state = kEmpty;
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        // A normal exit (FCGI_RECYCLE_AFTER, or the program's own choice)
        // is no crash: restart at once and leave the back-off alone.  Only
        // a worker that exits 0 as soon as it starts waits, so that such a
        // program cannot make us fork in a tight loop.
        long long at = s.t + kMinLifeMs;
        s.state = kWaiting;
        s.t = at > now ? at : now;
        if (s.t > now)
            fprintf(stderr, "cgi-fcgi: worker %ld %s, restarting in %lld ms\n",
                    static_cast<long>(s.pid), how, s.t - now);
        else
            fprintf(stderr, "cgi-fcgi: worker %ld %s, restarting\n", static_cast<long>(s.pid),
                    how);
    } else {
        if (now - s.t >= kStableMs)
            next_delay_ = kFirstDelayMs;
        long delay = next_delay_;
        next_delay_ = delay * 2 > kMaxDelayMs ? kMaxDelayMs : delay * 2;
        fprintf(stderr, "cgi-fcgi: worker %ld %s, restarting in %ld ms\n",
                static_cast<long>(s.pid), how, delay);
        s.state = kWaiting;
        s.t = now + delay;
    }
}

void Supervisor::reap()
{
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0)
            return;
        long long now = now_ms();
        for (long i = 0; i < nslots_; ++i) {
            Slot &s = g_slots[i];
            if ((s.state == kRunning || s.state == kRetiring) && s.pid == pid) {
                worker_ended(s, st, now);
                break;
            }
        }
    }
}

void Supervisor::on_signal(int sig)
{
    if (sig == SIGCHLD || stopping_)
        return;
    if (sig == SIGTERM || sig == SIGINT) {
        stopping_ = true;
        fprintf(stderr, "cgi-fcgi: %s received, stopping %ld workers\n", signal_name(sig),
                alive());
        for (long i = 0; i < nslots_; ++i) {
            Slot &s = g_slots[i];
            if (s.state == kRunning)
                kill(s.pid, SIGTERM);
            else if (s.state == kWaiting)
                s.state = kEmpty;
        }
        return;
    }
    if (sig == SIGHUP) {
        long n = 0;
        for (long i = 0; i < nslots_; ++i) {
            if (g_slots[i].state == kRunning) {
                g_slots[i].old = true;
                ++n;
            }
        }
        fprintf(stderr, "cgi-fcgi: SIGHUP received, replacing %ld workers one by one\n", n);
        rolling_ = true;
        roll_at_ = 0;
        return;
    }
    fprintf(stderr, "cgi-fcgi: passing %s on to %ld workers\n", signal_name(sig), alive());
    for (long i = 0; i < nslots_; ++i)
        if (g_slots[i].state == kRunning || g_slots[i].state == kRetiring)
            kill(g_slots[i].pid, sig);
}

void Supervisor::do_due(long long now)
{
    if (stopping_)
        return;
    for (long i = 0; i < nslots_; ++i) {
        Slot &s = g_slots[i];
        if (s.state != kWaiting || s.t > now)
            continue;
        if (start_worker(s, now)) {
            fprintf(stderr, "cgi-fcgi: worker %ld started\n", static_cast<long>(s.pid));
        } else {
            long delay = next_delay_;
            next_delay_ = delay * 2 > kMaxDelayMs ? kMaxDelayMs : delay * 2;
            s.t = now + delay;
        }
    }
    if (!rolling_)
        return;
    // SIGHUP: one step at a time; the next waits for the last old one to go.
    Slot *old = nullptr, *spare = nullptr;
    for (long i = 0; i < nslots_; ++i) {
        Slot &s = g_slots[i];
        if (s.state == kRetiring)
            return;
        if (s.state == kRunning && s.old && !old)
            old = &s;
        if (s.state == kEmpty && !spare)
            spare = &s;
    }
    if (!old) {
        rolling_ = false;
        fprintf(stderr, "cgi-fcgi: all workers replaced\n");
        return;
    }
    if (now < roll_at_ || !spare)
        return;
    if (!start_worker(*spare, now)) {
        roll_at_ = now + kRetryMs;
        return;
    }
    fprintf(stderr, "cgi-fcgi: worker %ld started to replace worker %ld, stopping it\n",
            static_cast<long>(spare->pid), static_cast<long>(old->pid));
    kill(old->pid, SIGTERM);
    old->state = kRetiring;
}

// When something is due next: -1 for nothing.
long long Supervisor::next_event() const
{
    long long next = -1;
    if (stopping_)
        return next;
    for (long i = 0; i < nslots_; ++i)
        if (g_slots[i].state == kWaiting && (next < 0 || g_slots[i].t < next))
            next = g_slots[i].t;
    if (rolling_ && roll_at_ > 0 && (next < 0 || roll_at_ < next))
        next = roll_at_;
    return next;
}

int Supervisor::run(const sigset_t &set)
{
    long long now = now_ms();
    for (long i = 0; i < nslots_; ++i)
        g_slots[i].state = kEmpty;
    for (long i = 0; i < opts_.servers; ++i) {
        Slot &s = g_slots[i];
        if (start_worker(s, now)) {
            fprintf(stderr, "cgi-fcgi: worker %ld started\n", static_cast<long>(s.pid));
        } else {
            s.state = kWaiting;
            s.t = now + next_delay_;
        }
    }
    notify_ready();
    for (;;) {
        reap();
        now = now_ms();
        do_due(now);
        if (stopping_ && alive() == 0)
            break;
        long long next = next_event();
        struct timespec ts, *tp = nullptr;
        if (next >= 0) {
            long long wait = next - now_ms();
            if (wait < 0)
                wait = 0;
            ts.tv_sec = static_cast<time_t>(wait / 1000);
            ts.tv_nsec = static_cast<long>(wait % 1000) * 1000000L;
            tp = &ts;
        }
        int sig = sigtimedwait(&set, nullptr, tp);
        if (sig > 0)
            on_signal(sig);
    }
    fprintf(stderr, "cgi-fcgi: all workers stopped, exiting with status %d\n", result_);
    return result_;
}

void note_child(int) {}

// Runs the supervisor on the bound socket fd until SIGTERM or SIGINT has
// stopped every worker; removes the socket file and the pid file.
int run_supervisor(const Options &opts, int fd, const fcgi::io::Address &addr)
{
    sigset_t set, oldmask;
    sigemptyset(&set);
    for (int sig : kSupervised)
        sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &oldmask);
    // A handler, not SIG_DFL: the kernel may drop a signal ignored by default.
    struct sigaction sa, oldchld;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = note_child;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, &oldchld);

    const struct sockaddr_un *un = reinterpret_cast<const struct sockaddr_un *>(&addr.ss);
    bool socket_file = addr.ss.ss_family == AF_UNIX && un->sun_path[0] != '\0';
    int result;
    if (opts.pidfile && !write_pidfile(opts.pidfile)) {
        int e = errno;
        fprintf(stderr, "cgi-fcgi: cannot write %s: %s\n", opts.pidfile, strerror(e));
        result = kExitUsage;
    } else {
        Supervisor sup(opts, fd);
        result = sup.run(set);
        if (opts.pidfile)
            unlink(opts.pidfile);
    }
    close(fd);
    // The socket belonged to these workers only: remove its file.
    if (socket_file)
        unlink(un->sun_path);
    sigaction(SIGCHLD, &oldchld, nullptr);
    sigprocmask(SIG_SETMASK, &oldmask, nullptr);
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

    if (opts.supervise)
        return run_supervisor(opts, fd, addr);

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
    }
    close(fd);
    return result;
}

} // namespace cgifcgi
