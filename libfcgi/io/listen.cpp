#include "io/listen.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace fcgi::io {

static int parse_port(const char *s, unsigned short &port)
{
    if (*s == '\0')
        return -1;
    unsigned long v = 0;
    for (const char *p = s; *p; ++p) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + static_cast<unsigned long>(*p - '0');
        if (v > 65535)
            return -1;
    }
    port = static_cast<unsigned short>(v);
    return 0;
}

static int resolve(const char *host, const char *port, bool passive, int family,
                   Address &addr)
{
    struct addrinfo hints = {};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    struct addrinfo *res = nullptr;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        errno = rc == EAI_SYSTEM ? errno : ENOENT;
        return -1;
    }
    memcpy(&addr.ss, res->ai_addr, res->ai_addrlen);
    addr.len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

// A TCP name split at its last colon: host (NULL for "" or "*", without
// the brackets of "[v6addr]"), port, and AF_INET6 when bracketed.
struct TcpName {
    char buf[256];
    const char *host;
    const char *port;
    int family;
};

static int split_tcp_name(const char *name, const char *colon, TcpName &t)
{
    unsigned short port;
    size_t hlen = static_cast<size_t>(colon - name);
    if (parse_port(colon + 1, port) < 0 || hlen >= sizeof t.buf) {
        errno = EINVAL;
        return -1;
    }
    memcpy(t.buf, name, hlen);
    t.buf[hlen] = '\0';
    t.port = colon + 1;
    t.family = AF_UNSPEC;
    char *h = t.buf;
    if (h[0] == '[') {
        if (hlen < 2 || h[hlen - 1] != ']') {
            errno = EINVAL;
            return -1;
        }
        h[hlen - 1] = '\0';
        ++h;
        t.family = AF_INET6;
    }
    t.host = h[0] == '\0' || strcmp(h, "*") == 0 ? nullptr : h;
    return 0;
}

int parse_address(const char *name, bool passive, Address &addr)
{
    memset(&addr, 0, sizeof addr);
    if (!name || !*name) {
        errno = EINVAL;
        return -1;
    }
    const char *colon = strrchr(name, ':');
    if (name[0] == '@' || strchr(name, '/') || !colon) {
        struct sockaddr_un *un = reinterpret_cast<struct sockaddr_un *>(&addr.ss);
        size_t len = strlen(name);
        if (len >= sizeof un->sun_path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, name, len);
        if (name[0] == '@')
            un->sun_path[0] = '\0'; // abstract: the length counts, no NUL
        addr.len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len +
                                          (name[0] == '@' ? 0 : 1));
        return 0;
    }
    TcpName t;
    if (split_tcp_name(name, colon, t) < 0)
        return -1;
    if (!t.host) {
        // Listening: all interfaces.  Connecting: this host (loopback),
        // as the reference's cgi-fcgi did for ":port".  IPv6 (dual stack)
        // when available.
        int family = t.family == AF_UNSPEC ? AF_INET6 : t.family;
        if (resolve(nullptr, t.port, passive, family, addr) == 0)
            return 0;
        return resolve(nullptr, t.port, passive, AF_INET, addr);
    }
    return resolve(t.host, t.port, passive, t.family, addr);
}

// A Unix socket file that refuses connections belongs to nobody.
static bool unix_path_is_stale(const struct sockaddr *sa, socklen_t len)
{
    const struct sockaddr_un *un = reinterpret_cast<const struct sockaddr_un *>(sa);
    struct stat st;
    if (un->sun_path[0] == '\0' || lstat(un->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int rc = connect(fd, sa, len);
    int err = errno;
    close(fd);
    return rc != 0 && err == ECONNREFUSED;
}

int open_listener(const char *name, int backlog)
{
    Address addr;
    if (parse_address(name, true, addr) < 0)
        return -1;
    const struct sockaddr *sa = reinterpret_cast<const struct sockaddr *>(&addr.ss);
    int family = addr.ss.ss_family;
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    if (family != AF_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, sa, addr.len) < 0) {
        if (family != AF_UNIX || errno != EADDRINUSE || !unix_path_is_stale(sa, addr.len))
            goto fail;
        unlink(reinterpret_cast<const struct sockaddr_un *>(sa)->sun_path);
        if (bind(fd, sa, addr.len) < 0)
            goto fail;
    }
    if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
        goto fail;
    return fd;
fail:
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}

static int connect_one(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = connect(fd, sa, len);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int connect_to(const char *name)
{
    Address addr;
    if (parse_address(name, false, addr) < 0)
        return -1;
    if (addr.ss.ss_family == AF_UNIX)
        return connect_one(reinterpret_cast<struct sockaddr *>(&addr.ss), addr.len);
    // A host name may stand for several addresses (::1 and 127.0.0.1 for
    // localhost): try each in turn, reporting the last failure.
    TcpName t;
    if (split_tcp_name(name, strrchr(name, ':'), t) < 0)
        return -1;
    struct addrinfo hints = {};
    hints.ai_family = t.family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = nullptr;
    if (getaddrinfo(t.host, t.port, &hints, &res) != 0 || !res)
        return connect_one(reinterpret_cast<struct sockaddr *>(&addr.ss), addr.len);
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai->ai_addr, ai->ai_addrlen);
    int err = errno;
    freeaddrinfo(res);
    errno = err;
    return fd;
}

bool is_listener(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    errno = 0;
    return getpeername(fd, reinterpret_cast<struct sockaddr *>(&ss), &len) != 0 &&
           errno == ENOTCONN;
}

} // namespace fcgi::io
