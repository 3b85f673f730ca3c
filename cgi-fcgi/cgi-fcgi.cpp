// cgi-fcgi: bridge from CGI to FastCGI, application starter and probe.
// See cgi-fcgi(1) for the modes, options and exit codes.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bridge.hpp"
#include "net.hpp"
#include "options.hpp"
#include "spawn.hpp"

using namespace cgifcgi;

namespace {

int report_connect_failure(const Options &opts, const Deadline &deadline, int status)
{
    if (status == kExitTimeout) {
        char what[512];
        snprintf(what, sizeof what, "connecting to %s", opts.conn);
        report_timeout(deadline, what);
    } else if (status != kExitUnknownHost) {
        fprintf(stderr, "Could not connect to %s\n", opts.conn);
    }
    return status;
}

} // namespace

int main(int argc, char **argv)
{
    ArgParser parser;
    Options opts;
    int rc = parser.parse(argc, argv, opts);
    if (rc != 0)
        return rc;

    if (opts.start)
        return start_servers(opts);

    Deadline deadline(opts.timeout_ms);
    int status = 0;
    int fd = connect_name(opts.conn, deadline, &status);
    if (fd < 0 && opts.connect_mode() && status != kExitUnknownHost &&
        status != kExitTimeout) {
        // Nobody answers: start the application, then try once more.
        rc = start_servers(opts);
        if (rc != 0)
            return rc;
        fd = connect_name(opts.conn, deadline, &status);
    }
    if (fd < 0)
        return report_connect_failure(opts, deadline, status);
    return opts.values ? run_values(fd, opts, deadline) : run_request(fd, opts, deadline);
}
