// cgi-fcgi -start: the listening socket and the application processes.
#ifndef CGI_FCGI_SPAWN_HPP
#define CGI_FCGI_SPAWN_HPP

#include "options.hpp"

namespace cgifcgi {

// Creates the listening socket opts.conn and forks opts.servers copies of
// opts.app with it on fd 0.  With opts.supervise, stays to supervise them
// (restarts, SIGHUP, SIGTERM: see cgi-fcgi(1)) until SIGTERM or SIGINT;
// otherwise returns as soon as they are forked.  Returns an exit status:
// 0, kExitUsage (application not executable), kExitUnknownHost, or the
// errno of the failed socket call.  Messages go to stderr.
int start_servers(const Options &opts);

} // namespace cgifcgi

#endif
