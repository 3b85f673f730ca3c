// cgi-fcgi: one request over a connected socket, and the GET_VALUES probe.
#ifndef CGI_FCGI_BRIDGE_HPP
#define CGI_FCGI_BRIDGE_HPP

#include "options.hpp"

namespace cgifcgi {

// Sends the environment (with the -param changes) as FCGI_PARAMS and stdin,
// up to CONTENT_LENGTH bytes, as FCGI_STDIN; copies FCGI_STDOUT to stdout
// and FCGI_STDERR to stderr.  fd is a connected non-blocking socket, closed
// on return.  Returns the exit status: the application's status, or one of
// kExitTimeout, kExitProtocol, kExitVersion with a message on stderr.
int run_request(int fd, const Options &opts, const Deadline &deadline);

// Sends FCGI_GET_VALUES for FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS
// and prints the answer as NAME=VALUE lines.  Same conventions.
int run_values(int fd, const Options &opts, const Deadline &deadline);

} // namespace cgifcgi

#endif
