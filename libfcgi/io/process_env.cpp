#include "io/process_env.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dlfcn.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace fcgi::io {

namespace {

// Lock-free atomics: safe in a signal handler and between threads.
std::atomic<int> g_shutdown{0};
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "signal-safe atomics");

void wake()
{
    int fd = g_wake_fd;
    if (fd >= 0) {
        int saved = errno;
        char b = 1;
        ssize_t r = write(fd, &b, 1);
        (void)r;
        errno = saved;
    }
}

extern "C" void on_pipe(int) {}

extern "C" void on_shutdown_signal(int)
{
    g_shutdown = 1;
    wake();
}

void install_if_default(int sig, void (*handler)(int))
{
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL)
        return;
    struct sigaction sa = {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(sig, &sa, nullptr);
}

} // namespace

void install_signal_handlers()
{
    install_if_default(SIGPIPE, on_pipe);
    install_if_default(SIGUSR1, on_shutdown_signal);
    install_if_default(SIGTERM, on_shutdown_signal);
}

bool shutdown_pending() { return g_shutdown != 0; }

void request_shutdown()
{
    g_shutdown = 1;
    wake();
}

void set_shutdown_wake_fd(int fd) { g_wake_fd = fd; }

namespace {

// The environment variable name as a number within [lo, hi], or def.
unsigned long long env_number(const char *name, unsigned long long def,
                              unsigned long long lo, unsigned long long hi)
{
    const char *s = getenv(name);
    if (!s || *s < '0' || *s > '9')
        return def;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return def;
    return v;
}

} // namespace

int close_linger_ms()
{
    return static_cast<int>(env_number("LIBFCGI_OS_CLOSE_POLL_TIMEOUT", 2000, 0, 600000));
}

Tunables read_tunables()
{
    Tunables t;
    t.close_linger_ms = close_linger_ms();
    t.params_max_bytes = env_number("FCGI_PARAMS_MAX_BYTES", t.params_max_bytes, 1024, 1ull << 31);
    t.params_max_count = env_number("FCGI_PARAMS_MAX_COUNT", t.params_max_count, 16, 1ull << 24);
    t.param_max_length = env_number("FCGI_PARAM_MAX_LENGTH", t.param_max_length, 256, 1ull << 31);
    t.params_timeout_ms = static_cast<int>(env_number("FCGI_PARAMS_TIMEOUT", t.params_timeout_ms, 1, 86400000));
    t.idle_timeout_ms = static_cast<int>(env_number("FCGI_IDLE_TIMEOUT", t.idle_timeout_ms, 1, 86400000));
    t.recycle_after = static_cast<unsigned long>(env_number("FCGI_RECYCLE_AFTER", 0, 1, 1ull << 31));
    t.max_reqs = static_cast<unsigned>(env_number("FCGI_MAX_REQS", 0, 1, 65535));
    t.keep_hold_ms = static_cast<int>(env_number("FCGI_KEEP_HOLD", t.keep_hold_ms, 0, 1000));
    return t;
}

namespace {

using ClockFn = int (*)(clockid_t, struct timespec *);

// The kernel's vDSO clock_gettime, called directly: libc's wrapper sits
// alone on its page of libc, and the kernel maps the 64 KiB of libc around
// the first call to it (fault-around), which was most of a hello-world
// process's peak RSS over the reference's.  libc's own function where
// there is no vDSO (valgrind, other architectures).
ClockFn resolve_clock()
{
#if defined(__x86_64__) || defined(__i386__)
    const char *name = "__vdso_clock_gettime";
#elif defined(__aarch64__) || defined(__powerpc64__) || defined(__s390x__)
    const char *name = "__kernel_clock_gettime";
#else
    const char *name = nullptr;
#endif
    void *vdso = name ? dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD) : nullptr;
    void *fn = vdso ? dlsym(vdso, name) : nullptr;
    return fn ? reinterpret_cast<ClockFn>(fn) : clock_gettime;
}

std::atomic<ClockFn> g_clock{nullptr};

} // namespace

long now_ms()
{
    // Resolved on first use; threads that race resolve the same function.
    ClockFn clock = g_clock.load(std::memory_order_relaxed);
    if (!clock) {
        clock = resolve_clock();
        g_clock.store(clock, std::memory_order_relaxed);
    }
    struct timespec ts;
    clock(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void adopt_activation_socket()
{
    const char *pid = getenv("LISTEN_PID");
    if (!pid || env_number("LISTEN_PID", 0, 1, 1ull << 31) != static_cast<unsigned long long>(getpid()))
        return;
    if (env_number("LISTEN_FDS", 0, 1, 1024) == 0)
        return;
    constexpr int kFirstActivatedFd = 3;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(kFirstActivatedFd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
        listening && dup2(kFirstActivatedFd, 0) == 0)
        close(kFirstActivatedFd);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

} // namespace fcgi::io
