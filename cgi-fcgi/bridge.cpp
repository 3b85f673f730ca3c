#include "bridge.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buffer.hpp"
#include "io/fdio.hpp"
#include "proto/client.hpp"

extern char **environ;

namespace cgifcgi {

namespace {

using fcgi::Buffer;
using fcgi::proto::ResponseDecoder;

constexpr uint16_t kRequestId = 1;
constexpr size_t kChunk = 65536;
// Request bytes waiting for the socket before we stop reading stdin.
constexpr size_t kHighWater = 256 * 1024;

const char *const kValueNames[] = {"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"};

void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void complain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cgi-fcgi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int malformed(ResponseDecoder::Error e)
{
    complain("malformed response from the application: %s", ResponseDecoder::describe(e));
    return e == ResponseDecoder::Error::bad_version ? kExitVersion : kExitProtocol;
}

const char *protocol_status_name(uint8_t s)
{
    switch (s) {
    case fcgi::proto::kCantMpxConn:
        return "FCGI_CANT_MPX_CONN";
    case fcgi::proto::kOverloaded:
        return "FCGI_OVERLOADED";
    case fcgi::proto::kUnknownRole:
        return "FCGI_UNKNOWN_ROLE";
    default:
        return "an unknown protocol status";
    }
}

// Length of the name in "NAME=VALUE".
size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? static_cast<size_t>(eq - entry) : strlen(entry);
}

// Whether a -param from index `from` on names the same variable.
bool overridden(const Options &opts, size_t from, const char *name, size_t len)
{
    for (size_t i = from; i < opts.param_count(); ++i) {
        const char *p = opts.param(i);
        if (strncmp(p, name, len) == 0 && p[len] == '=')
            return true;
    }
    return false;
}

// The value a variable will have for the application.
const char *effective_value(const Options &opts, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = opts.param_count(); i-- > 0;) {
        const char *p = opts.param(i);
        if (strncmp(p, name, len) == 0 && p[len] == '=')
            return p + len + 1;
    }
    return getenv(name);
}

// CONTENT_LENGTH as CGI programs read it: leading digits, else 0.
unsigned long long content_length(const char *s)
{
    if (!s)
        return 0;
    while (*s == ' ' || *s == '\t')
        ++s;
    unsigned long long v = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
        unsigned d = static_cast<unsigned>(*s - '0');
        if (v > (~0ULL - d) / 10)
            return ~0ULL;
        v = v * 10 + d;
    }
    return v;
}

bool add_entry(fcgi::proto::ParamsWriter &params, const char *entry)
{
    size_t n = name_len(entry);
    const char *value = entry[n] == '=' ? entry + n + 1 : entry + n;
    return params.add(entry, n, value, strlen(value));
}

bool build_params(Buffer &out, const Options &opts)
{
    fcgi::proto::ParamsWriter params(out, kRequestId);
    for (char **e = environ; e && *e; ++e) {
        if (!strchr(*e, '=') || overridden(opts, 0, *e, name_len(*e)))
            continue;
        if (!add_entry(params, *e))
            return false;
    }
    for (size_t i = 0; i < opts.param_count(); ++i) {
        const char *p = opts.param(i);
        if (overridden(opts, i + 1, p, name_len(p)))
            continue; // a later -param wins
        if (!add_entry(params, p))
            return false;
    }
    return params.finish();
}

// Request bytes on their way to the socket.
struct Outbox {
    Buffer buf;
    size_t sent = 0;
    bool broken = false; // the application stopped reading: drop the rest

    size_t pending() const { return buf.size() - sent; }

    // Room for more at the end without moving much.
    void compact()
    {
        if (sent == buf.size()) {
            buf.clear();
            sent = 0;
        } else if (sent >= kChunk) {
            buf.consume(sent);
            sent = 0;
        }
    }

    void flush(int fd)
    {
        while (!broken && sent < buf.size()) {
            ssize_t w = send(fd, buf.data() + sent, buf.size() - sent, MSG_NOSIGNAL);
            if (w > 0) {
                sent += static_cast<size_t>(w);
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            } else {
                // The application closed its side.  What it already sent,
                // maybe a whole response, is still to be read.
                broken = true;
                buf.clear();
                sent = 0;
                return;
            }
        }
        compact();
    }
};

// Copies response bytes to fd 1 or 2.  After a failure (the reader went
// away) the rest is discarded, but the response is still read to its end.
void copy_out(int fd, const uint8_t *p, size_t n, bool &failed)
{
    if (failed || n == 0)
        return;
    if (fcgi::io::write_all(fd, p, n) < 0) {
        int err = errno;
        failed = true;
        complain("cannot write to %s: %s", fd == 1 ? "standard output" : "standard error",
                 strerror(err));
    }
}

class Exchange {
public:
    Exchange(int fd, const Deadline &deadline) : fd_(fd), deadline_(deadline) {}
    ~Exchange() { close(fd_); }
    Exchange(const Exchange &) = delete;
    Exchange &operator=(const Exchange &) = delete;

    Outbox box;
    ResponseDecoder decoder{kRequestId};
    unsigned long long stdin_left = 0;
    bool stdin_open = false;

    // Waits for the socket (and stdin); moves bytes.  Returns 1 with bytes
    // in chunk[0..*n), 0 at end of input, or an exit status < 0 negated.
    int step(uint8_t *chunk, size_t *n);

private:
    int fd_;
    const Deadline &deadline_;
    bool read_stdin(uint8_t *chunk);
};

bool Exchange::read_stdin(uint8_t *chunk)
{
    size_t want = stdin_left < kChunk ? static_cast<size_t>(stdin_left) : kChunk;
    ssize_t r = fcgi::io::read_some(0, chunk, want);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
    if (r > 0) {
        box.compact();
        if (!fcgi::proto::append_stream(box.buf, fcgi::proto::kStdin, kRequestId, chunk,
                                        static_cast<size_t>(r)))
            return false;
        stdin_left -= static_cast<unsigned long long>(r);
    }
    if (r <= 0 || stdin_left == 0) {
        // End of the body, early or not: the application must learn it.
        stdin_open = false;
        return fcgi::proto::append_stream_end(box.buf, fcgi::proto::kStdin, kRequestId);
    }
    return true;
}

int Exchange::step(uint8_t *chunk, size_t *n)
{
    for (;;) {
        struct pollfd p[2] = {};
        p[0].fd = fd_;
        p[0].events = static_cast<short>(POLLIN | (box.pending() ? POLLOUT : 0));
        nfds_t np = 1;
        if (stdin_open && box.broken)
            stdin_open = false;
        if (stdin_open && box.pending() < kHighWater) {
            p[1].fd = 0;
            p[1].events = POLLIN;
            np = 2;
        }
        int r = poll(p, np, deadline_.remaining_ms());
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            complain("poll: %s", strerror(err));
            return -err;
        }
        if (r == 0)
            return -report_timeout(deadline_, "waiting for the application");
        if (p[0].revents & (POLLOUT | POLLERR | POLLHUP))
            box.flush(fd_);
        if (np == 2 && p[1].revents) {
            if (!read_stdin(chunk)) {
                complain("out of memory");
                return -ENOMEM;
            }
            box.flush(fd_);
        }
        if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            ssize_t got = fcgi::io::read_some(fd_, chunk, kChunk);
            if (got > 0) {
                *n = static_cast<size_t>(got);
                return 1;
            }
            if (got == 0 || errno == ECONNRESET || errno == EPIPE)
                return 0;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                int err = errno;
                complain("read from the application: %s", strerror(err));
                return -err;
            }
        }
    }
}

} // namespace

int run_request(int fd, const Options &opts, const Deadline &deadline)
{
    Exchange ex(fd, deadline);
    ex.stdin_left = content_length(effective_value(opts, "CONTENT_LENGTH"));
    ex.stdin_open = ex.stdin_left > 0;
    if (!fcgi::proto::append_begin_request(ex.box.buf, kRequestId, fcgi::proto::kResponder, 0) ||
        !build_params(ex.box.buf, opts) ||
        (!ex.stdin_open &&
         !fcgi::proto::append_stream_end(ex.box.buf, fcgi::proto::kStdin, kRequestId))) {
        complain("out of memory building the request");
        return ENOMEM;
    }

    uint8_t chunk[kChunk];
    bool out_failed = false, err_failed = false;
    for (;;) {
        size_t n = 0;
        int r = ex.step(chunk, &n);
        if (r < 0)
            return -r;
        if (r == 0) {
            ResponseDecoder::Error e = ex.decoder.finish();
            if (e == ResponseDecoder::Error::truncated) {
                complain("the application closed the connection before the end of the response");
                return kExitProtocol;
            }
            return malformed(e);
        }
        size_t off = 0;
        while (off < n) {
            ResponseDecoder::Event ev;
            off += ex.decoder.feed(chunk + off, n - off, ev);
            switch (ev.kind) {
            case ResponseDecoder::Kind::need_more:
                break;
            case ResponseDecoder::Kind::out:
                copy_out(1, ev.data, ev.len, out_failed);
                continue;
            case ResponseDecoder::Kind::err:
                copy_out(2, ev.data, ev.len, err_failed);
                continue;
            case ResponseDecoder::Kind::end_request:
                if (ev.protocol_status != fcgi::proto::kRequestComplete) {
                    complain("the application refused the request: %s",
                             protocol_status_name(ev.protocol_status));
                    return kExitProtocol;
                }
                return static_cast<int>(ev.app_status & 0xff);
            case ResponseDecoder::Kind::values_result:
            case ResponseDecoder::Kind::unknown_type:
                complain("malformed response from the application: "
                         "a management record nobody asked for");
                return kExitProtocol;
            case ResponseDecoder::Kind::error:
                return malformed(ex.decoder.error());
            }
            break;
        }
    }
}

int run_values(int fd, const Options &opts, const Deadline &deadline)
{
    (void)opts;
    Exchange ex(fd, deadline);
    if (!fcgi::proto::append_get_values(ex.box.buf, kValueNames,
                                        sizeof kValueNames / sizeof *kValueNames)) {
        complain("out of memory building the request");
        return ENOMEM;
    }
    uint8_t chunk[kChunk];
    for (;;) {
        size_t n = 0;
        int r = ex.step(chunk, &n);
        if (r < 0)
            return -r;
        if (r == 0) {
            complain("the application closed the connection without answering "
                     "FCGI_GET_VALUES");
            return kExitProtocol;
        }
        size_t off = 0;
        while (off < n) {
            ResponseDecoder::Event ev;
            off += ex.decoder.feed(chunk + off, n - off, ev);
            switch (ev.kind) {
            case ResponseDecoder::Kind::need_more:
                break;
            case ResponseDecoder::Kind::values_result:
                // In our order, each name once, whatever order they came in.
                for (const char *name : kValueNames) {
                    size_t pos = 0;
                    fcgi::proto::PairView pair;
                    size_t len = strlen(name);
                    while (fcgi::proto::next_pair(ev.data, ev.len, &pos, pair)) {
                        if (pair.name_len == len && memcmp(pair.name, name, len) == 0) {
                            printf("%s=%.*s\n", name, static_cast<int>(pair.value_len),
                                   reinterpret_cast<const char *>(pair.value));
                            break;
                        }
                    }
                }
                if (fflush(stdout) != 0) {
                    int err = errno;
                    complain("cannot write to standard output: %s", strerror(err));
                    return err;
                }
                return kExitOk;
            case ResponseDecoder::Kind::unknown_type:
                complain("the application does not support FCGI_GET_VALUES");
                return kExitProtocol;
            case ResponseDecoder::Kind::error:
                return malformed(ex.decoder.error());
            default:
                complain("malformed response from the application: "
                         "a request record in answer to FCGI_GET_VALUES");
                return kExitProtocol;
            }
            break;
        }
    }
}

} // namespace cgifcgi
