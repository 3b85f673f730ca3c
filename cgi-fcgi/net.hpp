// cgi-fcgi: addresses and connecting under a deadline.
#ifndef CGI_FCGI_NET_HPP
#define CGI_FCGI_NET_HPP

#include "io/listen.hpp"
#include "options.hpp"

namespace cgifcgi {

// Resolves name (see io/listen.hpp).  Returns 0; or kExitUnknownHost after
// printing the reference's "Unknown host" message; or -1 with errno.
int resolve(const char *name, bool passive, fcgi::io::Address &addr);

// Connects to name before the deadline.  A host name is tried at each of
// its addresses in turn ("localhost" may be ::1 and 127.0.0.1); ":port"
// and "*:port" mean this host, as they did for the reference.  Returns a
// non-blocking socket, or -1 with *status set to kExitUnknownHost (message
// printed), kExitTimeout (deadline passed, nothing printed) or the errno.
int connect_name(const char *name, const Deadline &deadline, int *status);

} // namespace cgifcgi

#endif
