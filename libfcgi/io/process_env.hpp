// Process-wide settings read from the environment, the shutdown flag and
// the signal handlers that set it.  The only process-wide state of io/.
#ifndef FCGI_IO_PROCESS_ENV_HPP
#define FCGI_IO_PROCESS_ENV_HPP

#include <cstddef>

namespace fcgi::io {

// Installs the reference's handlers, each only where the program left the
// default disposition, so a program's own handler always wins: SIGPIPE
// does nothing (writes fail with EPIPE instead), SIGUSR1 and SIGTERM ask
// for shutdown.  Installed without SA_RESTART so a waiting accept wakes.
void install_signal_handlers();

// Shutdown requested (signal or FCGX_ShutdownPending): no more accepts.
bool shutdown_pending();
void request_shutdown();

// A descriptor that the signal handler and request_shutdown() write one
// byte to, so that a thread waiting in poll() wakes up.  -1 for none.
void set_shutdown_wake_fd(int fd);

// Limits and timeouts, read from the environment once at start-up.  Each
// variable is a decimal number; a malformed or out-of-range value keeps
// the default.
struct Tunables {
    int close_linger_ms = 2000;        // LIBFCGI_OS_CLOSE_POLL_TIMEOUT
    size_t params_max_bytes = 8u << 20;  // FCGI_PARAMS_MAX_BYTES
    size_t params_max_count = 100000;    // FCGI_PARAMS_MAX_COUNT
    size_t param_max_length = 4u << 20;  // FCGI_PARAM_MAX_LENGTH (name + value)
    int params_timeout_ms = 60000;     // FCGI_PARAMS_TIMEOUT: whole request head
    int idle_timeout_ms = 300000;      // FCGI_IDLE_TIMEOUT: kept connection, idle
    unsigned long recycle_after = 0;   // FCGI_RECYCLE_AFTER: requests, 0 = never
    unsigned max_reqs = 0;             // FCGI_MAX_REQS: 0 = the threads serving
    int keep_hold_ms = 1;              // FCGI_KEEP_HOLD: 0 = never hold
};
Tunables read_tunables();

// How long a closing connection with unread input is drained
// (LIBFCGI_OS_CLOSE_POLL_TIMEOUT, milliseconds, default 2000).
int close_linger_ms();

// Milliseconds of a monotonic clock.
long now_ms();

// systemd socket activation: when LISTEN_PID is this process and
// LISTEN_FDS names at least one descriptor, moves the first (fd 3) onto
// FCGI_LISTENSOCK_FILENO, where the library and programs look for their
// listening socket, and removes the variables so children do not see them.
void adopt_activation_socket();

} // namespace fcgi::io

#endif
