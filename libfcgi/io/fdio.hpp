// Descriptor I/O with the retries every caller needs: EINTR, partial
// writes, waiting on non-blocking descriptors.  Socket writes never raise
// SIGPIPE.  Errors come back as -1 with errno set.
#ifndef FCGI_IO_FDIO_HPP
#define FCGI_IO_FDIO_HPP

#include <cstddef>
#include <sys/types.h>
#include <sys/uio.h>

namespace fcgi::io {

// One read(); EINTR retried.  -1 with EAGAIN when nothing is ready.
ssize_t read_some(int fd, void *buf, size_t len);
// Connections are blocking sockets, so that waiting for input is the read
// itself, one system call where poll() and a read were two: the request
// waiting for more of its body (recv_wait), and a process holding its one
// kept connection (recv_blocking, see hold_locked in request.cpp).  Reads
// that must not wait go through recv_now.
//
// recv() with MSG_DONTWAIT: -1 with EAGAIN when nothing is ready; EINTR
// retried.
ssize_t recv_now(int fd, void *buf, size_t len);
// recv() / recvmsg() until some input or its end arrives, through signals
// and SO_RCVTIMEO expiries: > 0, 0 at the end, -1 on an error.
ssize_t recv_wait(int fd, void *buf, size_t len);
ssize_t recv_wait_vec(int fd, struct iovec *iov, int n);
// One recv() that waits, as long as the socket's SO_RCVTIMEO allows;
// EINTR is returned, not retried.
ssize_t recv_blocking(int fd, void *buf, size_t len);
// Writes all of iov[0..n), waiting as needed; 0 or -1.  The iovec array is
// modified.
int write_all(int fd, struct iovec *iov, int n);
int write_all(int fd, const void *buf, size_t len);
// Waits until fd is readable (events POLLIN) or writable; -1 on error,
// 0 on timeout, 1 when ready.  timeout_ms < 0 waits for ever.
int wait_fd(int fd, short events, int timeout_ms);
int set_nonblocking(int fd, bool on);
// Closes a connection.  When linger_ms > 0, first shuts down the sending
// side and discards what the peer still sends for up to linger_ms, so
// unread input does not turn the close into a reset that could destroy the
// response in flight.
void close_conn(int fd, int linger_ms);

} // namespace fcgi::io

#endif
