#include "io/accept.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fcgi::io {

AddrFilter::~AddrFilter() { free(addrs_); }

static void map_v4(const struct in_addr &v4, struct in6_addr &out)
{
    memset(&out, 0, sizeof out);
    out.s6_addr[10] = 0xff;
    out.s6_addr[11] = 0xff;
    memcpy(&out.s6_addr[12], &v4, 4);
}

bool AddrFilter::set(const char *spec)
{
    free(addrs_);
    addrs_ = nullptr;
    count_ = 0;
    active_ = spec && *spec;
    if (!active_)
        return true;
    size_t entries = 1;
    for (const char *p = spec; *p; ++p)
        entries += *p == ',';
    addrs_ = static_cast<struct in6_addr *>(calloc(entries, sizeof *addrs_));
    if (!addrs_)
        return false;
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            ++p;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ' && *end != '\t')
            ++end;
        char item[INET6_ADDRSTRLEN + 1];
        size_t len = static_cast<size_t>(end - p);
        if (len > 0 && len < sizeof item) {
            memcpy(item, p, len);
            item[len] = '\0';
            struct in_addr v4;
            if (inet_pton(AF_INET, item, &v4) == 1)
                map_v4(v4, addrs_[count_++]);
            else if (inet_pton(AF_INET6, item, &addrs_[count_]) == 1)
                ++count_;
        }
        p = end;
    }
    return true;
}

bool AddrFilter::admits(const struct sockaddr *sa) const
{
    if (!active_)
        return true;
    struct in6_addr peer;
    if (sa->sa_family == AF_INET)
        map_v4(reinterpret_cast<const struct sockaddr_in *>(sa)->sin_addr, peer);
    else if (sa->sa_family == AF_INET6)
        peer = reinterpret_cast<const struct sockaddr_in6 *>(sa)->sin6_addr;
    else
        return true;
    for (size_t i = 0; i < count_; ++i)
        if (memcmp(&addrs_[i], &peer, sizeof peer) == 0)
            return true;
    return false;
}

AcceptResult accept_one(int listen_fd, const AddrFilter *filter, int &fd_out,
                        bool &tcp_out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(listen_fd, reinterpret_cast<struct sockaddr *>(&ss), &len,
                     SOCK_CLOEXEC);
    if (fd < 0) {
        switch (errno) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
            return AcceptResult::again;
        // The peer gave up before we got to it: try the next one.
        case ECONNABORTED:
        case EPROTO:
        case ECONNRESET:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case ENETUNREACH:
            return AcceptResult::again;
        default:
            return AcceptResult::error;
        }
    }
    const struct sockaddr *sa = reinterpret_cast<const struct sockaddr *>(&ss);
    tcp_out = sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
    if (filter && !filter->admits(sa)) {
        close(fd);
        return AcceptResult::rejected;
    }
    if (tcp_out) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    fd_out = fd;
    return AcceptResult::ok;
}

} // namespace fcgi::io
