// cgi-fcgi: command line, exit codes and the deadline every mode shares.
#ifndef CGI_FCGI_OPTIONS_HPP
#define CGI_FCGI_OPTIONS_HPP

#include <cstddef>

#include "base/buffer.hpp"

namespace cgifcgi {

// Exit codes besides the application's own status and the errno of a
// failed connect; each is documented in cgi-fcgi(1).
enum ExitCode {
    kExitOk = 0,
    kExitUsage = 1,          // bad arguments, unusable command file, app not executable
    kExitTimeout = 124,      // -timeout expired (as timeout(1))
    kExitUnknownHost = 232,  // host name does not resolve (the reference's exit(1000))
    kExitProtocol = 253,     // malformed, truncated or rejected response (as the reference)
    kExitVersion = 254,      // response in another FastCGI version (as the reference)
};

// Most servers -start may fork.
constexpr long kMaxServers = 1024;

// Largest -recycle: the most FCGI_RECYCLE_AFTER the library accepts is
// 2^31, and a value it rejects would silently mean "never".
constexpr long kMaxRecycle = 2147483647L;

struct Options {
    bool bind = false;       // -bind
    bool start = false;      // -start
    bool supervise = false;  // -supervise
    bool values = false;     // -values
    const char *conn = nullptr;
    const char *app = nullptr;
    const char *pidfile = nullptr; // -pidfile
    long recycle = 0;        // -recycle: FCGI_RECYCLE_AFTER for workers; 0: not set
    long servers = 1;
    long timeout_ms = -1;    // -timeout; < 0: none
    fcgi::Buffer params;     // -param strings, as const char * elements

    size_t param_count() const { return params.size() / sizeof(const char *); }
    const char *param(size_t i) const;
    // Neither -bind nor -start: connect, starting the application if needed.
    bool connect_mode() const { return !bind && !start; }
    void reset();
};

// Parses the command line the way the reference does (messages, the order
// they come in, -f files anywhere) plus the new options.  Returns 0, or the
// exit status after the usage text has been printed.  The parser owns the
// memory of arguments read from files, so it must outlive opts.
class ArgParser {
public:
    int parse(int argc, char **argv, Options &opts);

private:
    static constexpr int kMaxDepth = 8; // -f files naming -f files
    fcgi::Buffer text_[kMaxDepth];
    fcgi::Buffer argv_[kMaxDepth];

    int parse_list(const char *const *args, size_t n, int depth, Options &opts);
    int parse_file(const char *path, int depth, Options &opts);
};

void print_usage();

// A point in time after which the current operation gives up.
class Deadline {
public:
    explicit Deadline(long timeout_ms);
    bool none() const { return timeout_ms_ < 0; }
    // Milliseconds left for poll(): -1 without a deadline, 0 once expired.
    int remaining_ms() const;
    bool expired() const { return !none() && remaining_ms() == 0; }
    long timeout_ms() const { return timeout_ms_; }

private:
    long timeout_ms_;
    long long end_ms_ = 0;
};

// Prints "cgi-fcgi: timed out after N s <what>"; returns kExitTimeout.
int report_timeout(const Deadline &deadline, const char *what);

} // namespace cgifcgi

#endif
