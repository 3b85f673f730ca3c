#include "options.hpp"

#include "io/fdio.hpp"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace cgifcgi {

namespace {

// The reference's usage text, byte for byte: scripts and people know it.
const char kUsage[] =
    "Usage:\n"
    "    cgi-fcgi -f <cmdPath> , or\n"
    "    cgi-fcgi -connect <connName> <appPath> [<nServers>] , or\n"
    "    cgi-fcgi -start -connect <connName> <appPath> [<nServers>] , or\n"
    "    cgi-fcgi -bind -connect <connName> ,\n"
    "where <connName> is either the pathname of a UNIX domain socket\n"
    "or (if -bind is given) a hostName:portNumber specification\n"
    "or (if -start is given) a :portNumber specification (uses local host).\n";

// Command files are a line or two; this only stops a wrong path (a device,
// a huge file) from eating memory.
constexpr size_t kMaxCommandFile = 1 << 20;

// "SECONDS" or "SECONDS.FRACTION", more than zero, at most a day.
bool parse_seconds(const char *s, long &ms)
{
    long whole = 0, frac = 0, scale = 1000;
    const char *p = s;
    if (!isdigit(static_cast<unsigned char>(*p)))
        return false;
    for (; isdigit(static_cast<unsigned char>(*p)); ++p) {
        whole = whole * 10 + (*p - '0');
        if (whole > 86400)
            return false;
    }
    if (*p == '.') {
        for (++p; isdigit(static_cast<unsigned char>(*p)); ++p) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p != '\0')
        return false;
    ms = whole * 1000 + frac;
    return ms > 0 && ms <= 86400L * 1000;
}

// Decimal digits only (no sign, no spaces), from 1 to max.
bool parse_count(const char *s, long max, long &value)
{
    long v = 0;
    if (!isdigit(static_cast<unsigned char>(*s)))
        return false;
    for (; isdigit(static_cast<unsigned char>(*s)); ++s) {
        v = v * 10 + (*s - '0');
        if (v > max)
            return false;
    }
    if (*s != '\0' || v == 0)
        return false;
    value = v;
    return true;
}

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

} // namespace

void print_usage()
{
    fputs(kUsage, stderr);
}

const char *Options::param(size_t i) const
{
    const char *p;
    memcpy(&p, params.data() + i * sizeof p, sizeof p);
    return p;
}

void Options::reset()
{
    bind = start = supervise = values = false;
    conn = app = pidfile = nullptr;
    recycle = 0;
    servers = 1;
    timeout_ms = -1;
    params.clear();
}

int ArgParser::parse(int argc, char **argv, Options &opts)
{
    opts.reset();
    return parse_list(argv + 1, argc > 0 ? static_cast<size_t>(argc - 1) : 0, 0, opts);
}

// Reads a command file: '#' at the start of a line comments the line out,
// the rest splits at white space into arguments, wherever the lines break.
int ArgParser::parse_file(const char *path, int depth, Options &opts)
{
    if (depth >= kMaxDepth) {
        fprintf(stderr, "Too many nested -f command files at %s\n", path);
        print_usage();
        return kExitUsage;
    }
    fcgi::Buffer &text = text_[depth];
    fcgi::Buffer &args = argv_[depth];
    text.clear();
    args.clear();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "Cannot open command file %s\n", path);
        print_usage();
        return kExitUsage;
    }
    for (;;) {
        uint8_t *p = text.size() <= kMaxCommandFile ? text.extend(4096) : nullptr;
        ssize_t r = p ? fcgi::io::read_some(fd, p, 4096) : -1;
        if (r < 0) {
            close(fd);
            fprintf(stderr, "Cannot read command file %s\n", path);
            print_usage();
            return kExitUsage;
        }
        text.resize_down(text.size() - 4096 + static_cast<size_t>(r));
        if (r == 0)
            break;
    }
    close(fd);
    if (!text.push('\0'))
        return kExitUsage;

    char *s = reinterpret_cast<char *>(text.data());
    char *end = s + text.size() - 1;
    bool line_start = true;
    while (s < end) {
        if (line_start && *s == '#') {
            while (s < end && *s != '\n')
                ++s;
            continue;
        }
        if (is_space(*s)) {
            line_start = *s == '\n';
            *s++ = '\0';
            continue;
        }
        const char *word = s;
        if (!args.append(&word, sizeof word)) {
            fprintf(stderr, "Cannot allocate memory for command file %s\n", path);
            return kExitUsage;
        }
        while (s < end && !is_space(*s))
            ++s;
        line_start = false;
    }
    opts.reset();
    return parse_list(reinterpret_cast<const char *const *>(args.data()),
                      args.size() / sizeof(const char *), depth + 1, opts);
}

int ArgParser::parse_list(const char *const *args, size_t n, int depth, Options &opts)
{
    bool bad = false;
    bool have_servers = false;
    for (size_t i = 0; i < n; ++i) {
        const char *a = args[i];
        if (strcmp(a, "-f") == 0) {
            // The file's arguments replace all others, given before or after.
            if (i + 1 >= n) {
                fputs("Missing command file name after -f\n", stderr);
                print_usage();
                return kExitUsage;
            }
            return parse_file(args[i + 1], depth, opts);
        }
        if (a[0] == '-') {
            if (strcmp(a, "-start") == 0) {
                opts.start = true;
            } else if (strcmp(a, "-bind") == 0) {
                opts.bind = true;
            } else if (strcmp(a, "-connect") == 0) {
                if (i + 1 < n) {
                    opts.conn = args[++i];
                } else {
                    fputs("Missing connection name after -connect\n", stderr);
                    bad = true;
                }
            } else if (strcmp(a, "-supervise") == 0) {
                opts.supervise = true;
            } else if (strcmp(a, "-pidfile") == 0) {
                if (i + 1 < n && args[i + 1][0] != '\0') {
                    opts.pidfile = args[++i];
                } else {
                    fputs("Missing file name after -pidfile\n", stderr);
                    bad = true;
                }
            } else if (strcmp(a, "-recycle") == 0) {
                if (i + 1 >= n) {
                    fputs("Missing number of requests after -recycle\n", stderr);
                    bad = true;
                } else if (!parse_count(args[++i], kMaxRecycle, opts.recycle)) {
                    fprintf(stderr, "Invalid -recycle %s (requests, 1 to %ld)\n", args[i],
                            kMaxRecycle);
                    bad = true;
                }
            } else if (strcmp(a, "-values") == 0) {
                opts.values = true;
            } else if (strcmp(a, "-timeout") == 0) {
                if (i + 1 >= n) {
                    fputs("Missing seconds after -timeout\n", stderr);
                    bad = true;
                } else if (!parse_seconds(args[++i], opts.timeout_ms)) {
                    fprintf(stderr, "Invalid -timeout %s (seconds, more than 0)\n", args[i]);
                    bad = true;
                }
            } else if (strcmp(a, "-param") == 0) {
                if (i + 1 >= n) {
                    fputs("Missing NAME=VALUE after -param\n", stderr);
                    bad = true;
                } else if (args[i + 1][0] == '=' || !strchr(args[i + 1], '=')) {
                    fprintf(stderr, "Invalid -param %s (NAME=VALUE expected)\n", args[++i]);
                    bad = true;
                } else {
                    const char *p = args[++i];
                    if (!opts.params.append(&p, sizeof p)) {
                        fputs("Out of memory\n", stderr);
                        return kExitUsage;
                    }
                }
            } else {
                fprintf(stderr, "Unknown option %s\n", a);
                bad = true;
            }
        } else if (!opts.app) {
            opts.app = a;
        } else if (!have_servers && isdigit(static_cast<unsigned char>(a[0]))) {
            errno = 0;
            long v = strtol(a, nullptr, 10);
            if (v <= 0) {
                fputs("Number of servers must be greater than 0\n", stderr);
                bad = true;
            } else if (v > kMaxServers || errno == ERANGE) {
                fprintf(stderr, "Number of servers must be at most %ld\n", kMaxServers);
                bad = true;
            } else {
                opts.servers = v;
                have_servers = true;
            }
        } else {
            fprintf(stderr, "Unknown argument %s\n", a);
            bad = true;
        }
    }
    if ((opts.start || opts.connect_mode()) && !opts.app) {
        fputs("Missing application pathname\n", stderr);
        bad = true;
    }
    if (!opts.conn) {
        fputs("Missing -connect <connName>\n", stderr);
        bad = true;
    }
    if (opts.start && opts.bind) {
        fputs("Use -start or -bind, not both\n", stderr);
        bad = true;
    }
    if (opts.supervise && !opts.start) {
        fputs("-supervise needs -start\n", stderr);
        bad = true;
    }
    if (opts.pidfile && !opts.supervise) {
        fputs("-pidfile needs -start -supervise\n", stderr);
        bad = true;
    }
    if (opts.recycle > 0 && !opts.supervise) {
        fputs("-recycle needs -start -supervise\n", stderr);
        bad = true;
    }
    if (opts.start && (opts.values || opts.timeout_ms >= 0 || opts.param_count() > 0)) {
        fputs("-values, -timeout and -param need -bind or -connect without -start\n",
              stderr);
        bad = true;
    }
    if (bad) {
        print_usage();
        return kExitUsage;
    }
    return 0;
}

static long long monotonic_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Deadline::Deadline(long timeout_ms) : timeout_ms_(timeout_ms)
{
    if (timeout_ms_ >= 0)
        end_ms_ = monotonic_ms() + timeout_ms_;
}

int Deadline::remaining_ms() const
{
    if (none())
        return -1;
    long long left = end_ms_ - monotonic_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

int report_timeout(const Deadline &deadline, const char *what)
{
    long ms = deadline.timeout_ms();
    if (ms % 1000 == 0)
        fprintf(stderr, "cgi-fcgi: timed out after %ld s %s\n", ms / 1000, what);
    else
        fprintf(stderr, "cgi-fcgi: timed out after %ld.%03ld s %s\n", ms / 1000, ms % 1000,
                what);
    return kExitTimeout;
}

} // namespace cgifcgi
