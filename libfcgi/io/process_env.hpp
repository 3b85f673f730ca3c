// Process-wide settings read from the environment, the shutdown flag and
// the signal handlers that set it.  The only process-wide state of io/.
#ifndef FCGI_IO_PROCESS_ENV_HPP
#define FCGI_IO_PROCESS_ENV_HPP

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

// How long a closing connection with unread input is drained
// (LIBFCGI_OS_CLOSE_POLL_TIMEOUT, milliseconds, default 2000).
int close_linger_ms();

} // namespace fcgi::io

#endif
