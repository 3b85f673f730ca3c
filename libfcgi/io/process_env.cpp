#include "io/process_env.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace fcgi::io {

namespace {

volatile sig_atomic_t g_shutdown = 0;
volatile sig_atomic_t g_wake_fd = -1;

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

int close_linger_ms()
{
    const char *s = getenv("LIBFCGI_OS_CLOSE_POLL_TIMEOUT");
    if (!s || !*s)
        return 2000;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 600000)
        return 2000;
    return static_cast<int>(v);
}

} // namespace fcgi::io
