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
// One readv(); EINTR retried.
ssize_t read_vec(int fd, const struct iovec *iov, int n);
// Reads at least one byte, waiting on a non-blocking descriptor if needed.
// Returns 0 at end of file.
ssize_t read_wait(int fd, void *buf, size_t len);
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
