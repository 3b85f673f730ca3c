// FCGX_VFPrintF.  A format made only of plain conversions (%s %d %i %u %x
// %X %c %%, with l, ll or z before the integer ones; no flags, width,
// precision or positions) is formatted here, straight into the stream's
// buffer: for a response header that is a few copies and a few digits,
// where vsnprintf spends most of a thousand instructions on setting up a
// string FILE and parsing.  Every other format goes to the C library's
// vsnprintf, so each C99 conversion and length modifier behaves exactly
// as in printf(3).
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/types.h>

#include "stream/stream.hpp"

namespace fcgi::stream {
namespace {

enum class Length : uint8_t { none, l, ll, z };

// Reads the length modifier at f, if any, and steps past it.
Length length_at(const char *&f)
{
    if (*f == 'z') {
        ++f;
        return Length::z;
    }
    if (*f != 'l')
        return Length::none;
    if (*++f != 'l')
        return Length::l;
    ++f;
    return Length::ll;
}

// Whether format_plain can do every conversion of f.  Decided before any
// argument is taken: a va_list cannot be rewound, and the vsnprintf path
// must get it untouched.
bool is_plain(const char *f)
{
    while ((f = strchr(f, '%')) != nullptr) {
        ++f;
        Length len = length_at(f);
        switch (*f++) {
        case 'd':
        case 'i':
        case 'u':
        case 'x':
        case 'X':
            break;
        case 's':
        case 'c':
        case '%':
            // %ls and %lc are wide characters; %zs and the like, undefined.
            if (len != Length::none)
                return false;
            break;
        default:
            return false;
        }
    }
    return true;
}

// The digits of v, written backwards so that they end at end; returns the
// first.  A loop per base, so that each divides by a constant (a multiply
// or a shift) rather than by a variable.
char *decimal(unsigned long long v, char *end)
{
    do {
        *--end = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

char *hex(unsigned long long v, const char *digits, char *end)
{
    do {
        *--end = digits[v & 15];
        v >>= 4;
    } while (v);
    return end;
}

long long signed_arg(Length len, va_list *ap)
{
    switch (len) {
    case Length::l: return va_arg(*ap, long);
    case Length::ll: return va_arg(*ap, long long);
    case Length::z: return va_arg(*ap, ssize_t);
    default: return va_arg(*ap, int);
    }
}

unsigned long long unsigned_arg(Length len, va_list *ap)
{
    switch (len) {
    case Length::l: return va_arg(*ap, unsigned long);
    case Length::ll: return va_arg(*ap, unsigned long long);
    case Length::z: return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

// Formats f, which is_plain accepted; returns what snprintf would, or EOF.
// Each round takes one piece, a literal run or a conversion, and appends
// it in place when it fits the buffer's free space, else through put_str,
// which sends full records.
int format_plain(FCGX_Stream *s, const char *f, va_list *ap)
{
    size_t total = 0;
    char num[24]; // room for "-9223372036854775808"
    char *const end = num + sizeof num;
    while (*f) {
        const char *p = num;
        size_t n = 1;
        if (*f != '%') {
            p = f;
            const char *pct = strchr(f, '%');
            n = pct ? static_cast<size_t>(pct - f) : strlen(f);
            f += n;
        } else {
            ++f;
            Length len = length_at(f);
            switch (char conv = *f++) {
            case '%':
                p = "%";
                break;
            case 'c':
                num[0] = static_cast<char>(va_arg(*ap, int)); // '\0' too
                break;
            case 's':
                p = va_arg(*ap, const char *);
                if (!p)
                    p = "(null)"; // glibc's text for it
                n = strlen(p);
                break;
            case 'd':
            case 'i': {
                long long v = signed_arg(len, ap);
                // Negated as unsigned, so that LLONG_MIN has a magnitude.
                char *d = decimal(v < 0 ? 0ULL - static_cast<unsigned long long>(v)
                                        : static_cast<unsigned long long>(v),
                                  end);
                if (v < 0)
                    *--d = '-';
                p = d;
                n = static_cast<size_t>(end - d);
                break;
            }
            default: { // u, x, X
                unsigned long long v = unsigned_arg(len, ap);
                p = conv == 'u'   ? decimal(v, end)
                    : conv == 'x' ? hex(v, "0123456789abcdef", end)
                                  : hex(v, "0123456789ABCDEF", end);
                n = static_cast<size_t>(end - p);
                break;
            }
            }
        }
        // snprintf's result is an int; past INT_MAX it fails (EOVERFLOW),
        // here with what came before already in the stream.
        if (n > static_cast<size_t>(INT_MAX) - total)
            return EOF;
        total += n;
        if (n <= static_cast<size_t>(s->stop - s->wrNext)) {
            memcpy(s->wrNext, p, n);
            s->wrNext += n;
        } else if (put_str(p, static_cast<int>(n), s) < 0) {
            return EOF;
        }
    }
    return static_cast<int>(total);
}

} // namespace

int vprintf(FCGX_Stream *s, const char *format, va_list ap)
{
    if (s->isClosed || s->isReader || !format)
        return EOF;
    if (is_plain(format)) {
        // Passed on by address: a va_list handed to a function that takes
        // arguments from it is indeterminate afterwards in the caller.
        va_list args;
        va_copy(args, ap);
        int n = format_plain(s, format, &args);
        va_end(args);
        return n;
    }
    va_list again;
    va_copy(again, ap);
    size_t room = static_cast<size_t>(s->stop - s->wrNext);
    int n = vsnprintf(reinterpret_cast<char *>(s->wrNext), room, format, ap);
    if (n < 0) {
        va_end(again);
        return EOF;
    }
    if (static_cast<size_t>(n) < room) {
        s->wrNext += n;
        va_end(again);
        return n;
    }
    // Too long for the buffer's free space: format aside, then copy.
    char small[1024];
    char *tmp = static_cast<size_t>(n) < sizeof small ? small : static_cast<char *>(malloc(static_cast<size_t>(n) + 1));
    if (!tmp) {
        va_end(again);
        return EOF;
    }
    vsnprintf(tmp, static_cast<size_t>(n) + 1, format, again);
    va_end(again);
    int rc = put_str(tmp, n, s);
    if (tmp != small)
        free(tmp);
    return rc < 0 ? EOF : n;
}

} // namespace fcgi::stream
