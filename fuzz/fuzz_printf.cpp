// FCGX_VFPrintF (with FCGX_PutStr, FCGX_PutChar and FCGX_FFlush between
// calls) on a writer from FCGX_CreateWriter over a pipe, compared with
// vsnprintf.
//
// Input: a byte choosing the writer's buffer size, a byte for the record
// type, two for the request id, then operations.  Each operation either
// writes raw bytes, a character, flushes, or formats: a literal prefix, one
// or more conversions built from the input (flags, width, precision, length
// modifier, conversion; '*' width and precision from the input), a literal
// suffix.  Only conversions whose arguments are passed with the right type
// are generated, and never %n.  The records read back from the pipe must
// be well framed (version 1, the writer's type and id, content within one
// record, padding to 8 and zeroed), end with the empty record FCGX_FClose
// sends, and carry exactly the bytes vsnprintf produced; every FCGX_FPrintF
// must return what vsnprintf returned.
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <type_traits>

#include "fcgiapp.h"
#include "fuzz.hpp"

namespace {

// Reads input bytes; zeros once it runs out.
class Input {
public:
    Input(const uint8_t *p, size_t n) : p_(p), n_(n) {}
    bool empty() const { return pos_ >= n_; }
    uint8_t byte() { return pos_ < n_ ? p_[pos_++] : 0; }
    unsigned u16() { return byte() | unsigned(byte()) << 8; }
    uint64_t u64()
    {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v = v << 8 | byte();
        return v;
    }

private:
    const uint8_t *p_;
    size_t n_;
    size_t pos_ = 0;
};

// Everything expected on the wire, and the pipe's collected bytes.
struct Run {
    FCGX_Stream *s = nullptr;
    int rd = -1, wr = -1;
    std::string expect;
    std::string wire;
    bool trace = false; // FUZZ_TRACE set: print each format
};

void drain(Run &r)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(r.rd, buf, sizeof buf);
        if (n > 0) {
            r.wire.append(buf, static_cast<size_t>(n));
            continue;
        }
        FUZZ_CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        return;
    }
}

// Formats with both, compares return values, and remembers the bytes.
__attribute__((format(printf, 2, 3))) void both(Run &r, const char *fmt, ...)
{
    va_list a, b;
    va_start(a, fmt);
    va_copy(b, a);
    int want = vsnprintf(nullptr, 0, fmt, a);
    va_end(a);
    FUZZ_CHECK(want >= 0);
    std::string text(static_cast<size_t>(want) + 1, '\0');
    va_start(a, fmt);
    vsnprintf(&text[0], text.size(), fmt, a);
    va_end(a);
    text.resize(static_cast<size_t>(want));
    if (r.trace)
        fprintf(stderr, "format \"%s\" -> %d bytes\n", fmt, want);
    int got = FCGX_VFPrintF(r.s, fmt, b);
    va_end(b);
    FUZZ_CHECK(got == want);
    r.expect += text;
    drain(r);
}

// A literal with no '%' and no NUL.
void literal(Input &in, std::string &fmt)
{
    unsigned n = in.byte() % 24;
    for (unsigned i = 0; i < n; ++i) {
        char c = static_cast<char>(in.byte());
        if (c == '%' || c == 0)
            c = '.';
        fmt += c;
    }
}

// Width or precision digits: mostly small, sometimes past the stream's
// buffer and past the formatter's 1024-byte scratch space.
int magnitude(Input &in)
{
    uint8_t b = in.byte();
    switch (b & 3) {
    case 0: return b >> 2;
    case 1: return (b >> 2) * 17;
    case 2: return 1000 + (b >> 2) * 8;
    default: return 8000 + (b >> 2) * 64;
    }
}

enum class Arg { i, u, l, ul, ll, ull, j, uj, z, uz, t, ut, d, ld, s, c };

// Appends flags, width and precision; says which are '*'.
void spec_head(Input &in, std::string &fmt, const char *allowed_flags, bool allow_prec,
               bool &star_w, bool &star_p)
{
    uint8_t f = in.byte();
    for (int i = 0; allowed_flags[i]; ++i)
        if (f & (1 << i))
            fmt += allowed_flags[i];
    star_w = star_p = false;
    uint8_t wp = in.byte();
    switch (wp & 3) {
    case 1: fmt += std::to_string(magnitude(in)); break;
    case 2: fmt += '*'; star_w = true; break;
    default: break;
    }
    if (!allow_prec)
        return;
    switch (wp >> 2 & 3) {
    case 1: fmt += '.'; break;
    case 2: fmt += '.' + std::to_string(magnitude(in)); break;
    case 3: fmt += ".*"; star_p = true; break;
    default: break;
    }
}

// Builds one conversion and says what argument it takes.
Arg conversion(Input &in, std::string &fmt, bool &star_w, bool &star_p)
{
    fmt += '%';
    uint8_t k = in.byte();
    switch (k % 5) {
    case 0: { // integers
        static const char *const mods[] = {"", "hh", "h", "l", "ll", "j", "z", "t"};
        static const char convs[] = "diouxX";
        int m = k >> 3 & 7;
        char conv = convs[in.byte() % 6];
        bool sign = conv == 'd' || conv == 'i';
        spec_head(in, fmt, sign ? "-+ 0" : "-#0", true, star_w, star_p);
        fmt += mods[m];
        fmt += conv;
        switch (m) {
        case 3: return sign ? Arg::l : Arg::ul;
        case 4: return sign ? Arg::ll : Arg::ull;
        case 5: return sign ? Arg::j : Arg::uj;
        case 6: return sign ? Arg::z : Arg::uz;
        case 7: return sign ? Arg::t : Arg::ut;
        default: return sign ? Arg::i : Arg::u;
        }
    }
    case 1: { // floating point
        static const char convs[] = "fFeEgGaA";
        char conv = convs[in.byte() % 8];
        spec_head(in, fmt, "-+ #0", true, star_w, star_p);
        bool ld = k & 8;
        if (ld)
            fmt += 'L';
        fmt += conv;
        return ld ? Arg::ld : Arg::d;
    }
    case 2:
        spec_head(in, fmt, "-", true, star_w, star_p);
        fmt += 's';
        return Arg::s;
    case 3:
        spec_head(in, fmt, "-", false, star_w, star_p);
        fmt += 'c';
        return Arg::c;
    default:
        fmt += '%';
        star_w = star_p = false;
        return Arg::c; // "%%" takes nothing; the extra int is ignored
    }
}

double a_double(Input &in)
{
    uint8_t kind = in.byte();
    switch (kind & 7) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return 1e308 * 10 * ((kind & 8) ? -1 : 1); // infinities
    case 3: return __builtin_nan("");
    case 4: return static_cast<double>(static_cast<int64_t>(in.u64())) / (1 + in.byte());
    default: {
        uint64_t bits = in.u64();
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    }
}

std::string a_string(Input &in)
{
    std::string s;
    unsigned n = in.byte();
    if (n & 0x80)
        n = (n & 0x7f) * 40; // long strings, up to about 5 KB
    for (unsigned i = 0; i < n && !in.empty(); ++i) {
        char c = static_cast<char>(in.byte());
        s += c ? c : 'z';
    }
    return s;
}

// One call with one conversion: the value's exact type, '*' arguments in
// front when asked for.
void one(Run &r, Input &in)
{
    std::string fmt;
    literal(in, fmt);
    bool sw, sp;
    Arg arg = conversion(in, fmt, sw, sp);
    literal(in, fmt);
    int w = static_cast<int>(static_cast<int16_t>(in.u16())) % 9000;
    int p = static_cast<int>(static_cast<int16_t>(in.u16())) % 9000;
    uint64_t v = in.u64();
    double d = a_double(in);
    std::string str = arg == Arg::s ? a_string(in) : std::string();
    const char *f = fmt.c_str();

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
#define CALL(value)                                                         \
    do {                                                                    \
        if (sw && sp)                                                       \
            both(r, f, w, p, value);                                        \
        else if (sw)                                                        \
            both(r, f, w, value);                                           \
        else if (sp)                                                        \
            both(r, f, p, value);                                           \
        else                                                                \
            both(r, f, value);                                              \
    } while (0)
    switch (arg) {
    case Arg::i: CALL(static_cast<int>(v)); break;
    case Arg::u: CALL(static_cast<unsigned>(v)); break;
    case Arg::l: CALL(static_cast<long>(v)); break;
    case Arg::ul: CALL(static_cast<unsigned long>(v)); break;
    case Arg::ll: CALL(static_cast<long long>(v)); break;
    case Arg::ull: CALL(static_cast<unsigned long long>(v)); break;
    case Arg::j: CALL(static_cast<intmax_t>(v)); break;
    case Arg::uj: CALL(static_cast<uintmax_t>(v)); break;
    case Arg::z: CALL(static_cast<std::make_signed_t<size_t>>(v)); break;
    case Arg::uz: CALL(static_cast<size_t>(v)); break;
    case Arg::t: CALL(static_cast<ptrdiff_t>(v)); break;
    case Arg::ut: CALL(static_cast<std::make_unsigned_t<ptrdiff_t>>(v)); break;
    case Arg::d: CALL(d); break;
    case Arg::ld: CALL(static_cast<long double>(d)); break;
    case Arg::s: CALL(str.c_str()); break;
    case Arg::c: CALL(static_cast<int>(v & 0xff)); break;
    }
#undef CALL
#pragma GCC diagnostic pop
}

// Several conversions in one format, all taking int (including '*'
// widths and precisions), passed eight ints; unused ones are ignored.
void many_ints(Run &r, Input &in)
{
    std::string fmt;
    unsigned n = 1 + in.byte() % 4;
    int args_used = 0;
    for (unsigned i = 0; i < n; ++i) {
        literal(in, fmt);
        fmt += '%';
        bool sw, sp;
        static const char convs[] = "diouxXc";
        char conv = convs[in.byte() % 7];
        bool sign = conv == 'd' || conv == 'i';
        bool chr = conv == 'c';
        spec_head(in, fmt, sign ? "-+ 0" : chr ? "-" : "-#0", !chr, sw, sp);
        args_used += 1 + sw + sp;
        if (args_used > 8)
            break;
        uint8_t m = in.byte() % 3;
        if (!chr)
            fmt += m == 1 ? "h" : m == 2 ? "hh" : "";
        fmt += conv;
    }
    if (args_used > 8)
        return;
    literal(in, fmt);
    int a[8];
    for (int &x : a)
        x = static_cast<int>(in.u16() | unsigned(in.u16()) << 16) % 20000;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
    both(r, fmt.c_str(), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
#pragma GCC diagnostic pop
}

const int kBufLens[16] = {0,    1,     8,     9,     15,    16,    17,    100,
                          1023, 1024,  4096,  8192,  8200,  65535, 65543, 1 << 20};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in(data, size);
    int bufflen = kBufLens[in.byte() & 15];
    static const int kTypes[4] = {6, 7, 8, 5}; // STDOUT, STDERR, DATA, STDIN
    int type = kTypes[in.byte() & 3];
    int id = static_cast<int>(in.u16());

    Run r;
    r.trace = getenv("FUZZ_TRACE") != nullptr;
    int fds[2];
    FUZZ_CHECK(pipe2(fds, O_CLOEXEC) == 0);
    r.rd = fds[0];
    r.wr = fds[1];
    // Each operation's output is read before the next, so the pipe only
    // needs to hold one call's records; make it roomy anyway.
    FUZZ_CHECK(fcntl(r.wr, F_SETPIPE_SZ, 1 << 20) >= 0);
    fcntl(r.rd, F_SETFL, O_NONBLOCK);
    r.s = FCGX_CreateWriter(r.wr, id, bufflen, type);
    FUZZ_CHECK(r.s != nullptr);

    for (int ops = 0; !in.empty() && ops < 64; ++ops) {
        uint8_t op = in.byte();
        switch (op % 8) {
        case 0: {
            std::string raw = a_string(in);
            FUZZ_CHECK(FCGX_PutStr(raw.data(), static_cast<int>(raw.size()), r.s) ==
                       static_cast<int>(raw.size()));
            r.expect += raw;
            drain(r);
            break;
        }
        case 1: {
            // Programs pass plain (often signed) chars as well as the
            // unsigned char values putc(3) takes; either way the byte is
            // written and its unsigned value returned, as the reference
            // does, so that a 0xff byte never looks like EOF.
            uint8_t b = in.byte();
            int c = b;
            if (op & 8)
                c = static_cast<signed char>(b);
            FUZZ_CHECK(FCGX_PutChar(c, r.s) == b);
            r.expect += static_cast<char>(b);
            drain(r);
            break;
        }
        case 2:
            FUZZ_CHECK(FCGX_FFlush(r.s) == 0);
            drain(r);
            break;
        case 3:
        case 4:
            many_ints(r, in);
            break;
        default:
            one(r, in);
            break;
        }
    }
    FUZZ_CHECK(FCGX_FClose(r.s) == 0);
    FUZZ_CHECK(FCGX_GetError(r.s) == 0);
    drain(r);
    FCGX_FreeStream(&r.s);
    FUZZ_CHECK(r.s == nullptr);
    close(r.wr);
    close(r.rd);

    // Decode the records.
    const uint8_t *w = reinterpret_cast<const uint8_t *>(r.wire.data());
    size_t n = r.wire.size(), at = 0;
    std::string content;
    bool ended = false;
    while (at < n) {
        FUZZ_CHECK(!ended);
        FUZZ_CHECK(n - at >= 8);
        const uint8_t *h = w + at;
        FUZZ_CHECK(h[0] == 1 && h[1] == type && (h[2] << 8 | h[3]) == (id & 0xffff));
        size_t cl = size_t(h[4]) << 8 | h[5], pl = h[6];
        FUZZ_CHECK(h[7] == 0);
        FUZZ_CHECK(n - at >= 8 + cl + pl);
        FUZZ_CHECK((cl + pl) % 8 == 0 && pl < 8);
        for (size_t i = 0; i < pl; ++i)
            FUZZ_CHECK(w[at + 8 + cl + i] == 0);
        if (cl == 0)
            ended = true;
        content.append(reinterpret_cast<const char *>(w + at + 8), cl);
        at += 8 + cl + pl;
    }
    // The end-of-stream record; like the reference, an error stream that
    // never carried anything ends silently.
    FUZZ_CHECK(ended || (type == 7 && r.expect.empty()));
    FUZZ_CHECK(content == r.expect);
    return 0;
}
