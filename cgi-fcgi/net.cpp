#include "net.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/fdio.hpp"

namespace cgifcgi {

namespace {

// Connects a non-blocking socket to one address; -1 with errno (ETIMEDOUT
// when the deadline passed).
int connect_one(const struct sockaddr *sa, socklen_t len, const Deadline &deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    for (;;) {
        if (connect(fd, sa, len) == 0)
            return fd;
        int err = errno;
        if (err == EINPROGRESS || err == EINTR) {
            // TCP: wait for the handshake, then read its result.
            int r = fcgi::io::wait_fd(fd, POLLOUT, deadline.remaining_ms());
            if (r > 0) {
                socklen_t elen = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
                    err = errno;
                if (err == 0)
                    return fd;
            } else {
                err = r == 0 ? ETIMEDOUT : errno;
            }
        } else if (err == EAGAIN && !deadline.expired()) {
            // A Unix socket whose backlog is full: try again shortly.
            int wait = deadline.remaining_ms();
            poll(nullptr, 0, wait < 0 || wait > 10 ? 10 : wait);
            continue;
        } else if (err == EAGAIN) {
            err = ETIMEDOUT;
        }
        close(fd);
        errno = err;
        return -1;
    }
}

} // namespace

int resolve(const char *name, bool passive, fcgi::io::Address &addr)
{
    if (fcgi::io::parse_address(name, passive, addr) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    // Only a host name can fail to be found: print it without the port
    // and brackets, as the reference did.
    const char *colon = strrchr(name, ':');
    size_t len = colon ? static_cast<size_t>(colon - name) : strlen(name);
    const char *host = name;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        ++host;
        len -= 2;
    }
    fprintf(stderr, "Unknown host: %.*s\n", static_cast<int>(len), host);
    return kExitUnknownHost;
}

int connect_name(const char *name, const Deadline &deadline, int *status)
{
    // Passive parsing accepts ":port"; the syntax is checked here once.
    fcgi::io::Address addr;
    int rc = resolve(name, true, addr);
    if (rc != 0) {
        *status = rc > 0 ? rc : errno;
        return -1;
    }
    int fd = -1;
    if (addr.ss.ss_family == AF_UNIX) {
        fd = connect_one(reinterpret_cast<const struct sockaddr *>(&addr.ss), addr.len,
                         deadline);
    } else {
        // "host:port" or "[host]:port", checked above.
        char host[256];
        const char *colon = strrchr(name, ':');
        size_t hlen = static_cast<size_t>(colon - name);
        const char *h = name;
        if (hlen >= 2 && h[0] == '[') {
            ++h;
            hlen -= 2;
        }
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        struct addrinfo hints = {};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        struct addrinfo *list = nullptr;
        bool here = hlen == 0 || strcmp(host, "*") == 0; // loopback addresses
        if (getaddrinfo(here ? nullptr : host, colon + 1, &hints, &list) != 0 || !list) {
            errno = ENOENT;
            list = nullptr;
        }
        int err = errno;
        for (struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
            fd = connect_one(ai->ai_addr, ai->ai_addrlen, deadline);
            if (fd < 0) {
                err = errno;
                if (deadline.expired())
                    break;
            }
        }
        if (list)
            freeaddrinfo(list);
        errno = err;
    }
    if (fd >= 0)
        return fd;
    *status = errno != 0 ? errno : EINVAL;
    if (deadline.expired())
        *status = kExitTimeout;
    return -1;
}

} // namespace cgifcgi
