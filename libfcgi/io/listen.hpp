// Socket addresses by name, listening and connecting.
//
// Names: "/path" or "relative/path" (Unix socket), "@name" (Linux abstract
// Unix socket), "host:port", "[v6addr]:port", ":port" or "*:port" (all
// interfaces, IPv6 and IPv4 where the host allows).
#ifndef FCGI_IO_LISTEN_HPP
#define FCGI_IO_LISTEN_HPP

#include <sys/socket.h>

namespace fcgi::io {

struct Address {
    struct sockaddr_storage ss;
    socklen_t len;
};

// Fills addr from name; passive selects the wildcard for an empty host.
// Returns 0, or -1 with errno (EINVAL for a malformed name,
// ENAMETOOLONG for a path that does not fit, ENOENT when a host does not
// resolve).
int parse_address(const char *name, bool passive, Address &addr);

// Creates a listening socket; -1 with errno on failure (never exits).  A
// Unix path that a live process still serves is left alone (EADDRINUSE);
// a stale socket file is replaced.
int open_listener(const char *name, int backlog);

// Connects a blocking stream socket to name; -1 with errno.
int connect_to(const char *name);

// The reference's FastCGI detection: fd is an unconnected socket
// (getpeername fails with ENOTCONN).
bool is_listener(int fd);

} // namespace fcgi::io

#endif
