#include "io/fdio.hpp"

#include "io/process_env.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fcgi::io {

ssize_t read_some(int fd, void *buf, size_t len)
{
    ssize_t r;
    do
        r = read(fd, buf, len);
    while (r < 0 && errno == EINTR);
    return r;
}

ssize_t recv_now(int fd, void *buf, size_t len)
{
    ssize_t r;
    do
        r = recv(fd, buf, len, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r;
}

// Whether a recv() that waits should be tried again: after a signal, after
// SO_RCVTIMEO expired, or (in poll(), not spinning) when the program made
// the descriptor non-blocking.
static bool wait_again(int fd)
{
    if (errno == EINTR)
        return true;
    return (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLIN, -1) >= 0;
}

ssize_t recv_wait(int fd, void *buf, size_t len)
{
    ssize_t r;
    do
        r = recv(fd, buf, len, 0);
    while (r < 0 && wait_again(fd));
    return r;
}

ssize_t recv_wait_vec(int fd, struct iovec *iov, int n)
{
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t r;
    do
        r = recvmsg(fd, &msg, 0);
    while (r < 0 && wait_again(fd));
    return r;
}

ssize_t recv_blocking(int fd, void *buf, size_t len) { return recv(fd, buf, len, 0); }

int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r;
}

// sendmsg with MSG_NOSIGNAL on sockets; writev elsewhere (pipes, files).
static ssize_t write_vec(int fd, struct iovec *iov, int n)
{
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t r = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (r < 0 && errno == ENOTSOCK)
        r = writev(fd, iov, n);
    return r;
}

int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        if (iov->iov_len == 0) {
            ++iov;
            --n;
            continue;
        }
        ssize_t r = write_vec(fd, iov, n < IOV_MAX ? n : IOV_MAX);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(fd, POLLOUT, -1) < 0)
                    return -1;
                continue;
            }
            return -1;
        }
        size_t left = static_cast<size_t>(r);
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --n;
        }
        if (n > 0) {
            iov->iov_base = static_cast<char *>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
    struct iovec iov = {const_cast<void *>(buf), len};
    return write_all(fd, &iov, 1);
}

int set_nonblocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    int want = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return want == fl ? 0 : fcntl(fd, F_SETFL, want);
}

void close_conn(int fd, int linger_ms)
{
    if (fd < 0)
        return;
    if (linger_ms > 0 && shutdown(fd, SHUT_WR) == 0) {
        long deadline = now_ms() + linger_ms;
        char sink[4096];
        for (;;) {
            ssize_t r = recv_now(fd, sink, sizeof sink);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                break;
            if (r > 0)
                continue;
            long left = deadline - now_ms();
            if (left <= 0 || wait_fd(fd, POLLIN, static_cast<int>(left)) <= 0)
                break;
        }
    }
    close(fd);
}

} // namespace fcgi::io
