// Accepting connections: descriptor flags, TCP_NODELAY and the
// FCGI_WEB_SERVER_ADDRS filter.
#ifndef FCGI_IO_ACCEPT_HPP
#define FCGI_IO_ACCEPT_HPP

#include <cstddef>
#include <netinet/in.h>

namespace fcgi::io {

// The addresses from which connections are accepted.  Entries are IPv4 or
// IPv6 addresses separated by commas (spaces allowed); IPv4 peers that
// arrive as IPv4-mapped IPv6 addresses match their IPv4 entry.  An empty
// filter admits everyone; Unix-socket peers are always admitted.
class AddrFilter {
public:
    AddrFilter() = default;
    ~AddrFilter();
    AddrFilter(const AddrFilter &) = delete;
    AddrFilter &operator=(const AddrFilter &) = delete;

    // Replaces the list; a NULL or empty spec clears it.  Entries that are
    // not addresses match nothing.  Returns false when out of memory.
    bool set(const char *spec);
    bool active() const { return active_; }
    bool admits(const struct sockaddr *sa) const;

private:
    struct in6_addr *addrs_ = nullptr; // IPv4 stored IPv4-mapped
    size_t count_ = 0;
    bool active_ = false;
};

enum class AcceptResult { ok, again, rejected, error };

// Accepts one connection from a (non-blocking) listening socket.  The new
// descriptor is blocking, as the reference's were (see io::recv_now), and
// close-on-exec; TCP connections of either family get TCP_NODELAY.  On
// error, errno is set.
AcceptResult accept_one(int listen_fd, const AddrFilter *filter, int &fd_out,
                        bool &tcp_out);

} // namespace fcgi::io

#endif
