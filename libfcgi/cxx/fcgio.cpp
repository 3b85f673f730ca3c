// libfcgi++: std::streambuf over an FCGX_Stream, through the public FCGX_
// calls only.
//
// Unbuffered (no buffer given): every character goes straight to the
// FCGX_Stream, which buffers on its own.  Buffered: the buffer is the get
// area of a reader or the put area of a writer, decided by the stream's
// isReader when a stream is attached.
#include "capi/export.hpp"
#include "fcgio.h"

#include <climits>
#include <cstring>

namespace {

using traits = std::streambuf::traits_type;

// FCGX_GetStr and FCGX_PutStr count in int.
int clamp_int(std::streamsize n)
{
    return n > INT_MAX ? INT_MAX : static_cast<int>(n);
}

} // namespace

fcgi_streambuf::fcgi_streambuf(FCGX_Stream *fs, char *b, int bs)
{
    init(fs, b, bs);
}

fcgi_streambuf::fcgi_streambuf(char_type *b, std::streamsize bs)
{
    init(nullptr, b, bs);
}

fcgi_streambuf::fcgi_streambuf(FCGX_Stream *fs)
{
    init(fs, nullptr, 0);
}

fcgi_streambuf::~fcgi_streambuf(void)
{
    // Hand buffered output to the FCGX_Stream; it flushes on its own close.
    overflow(traits::eof());
}

void fcgi_streambuf::init(FCGX_Stream *fs, char_type *b, std::streamsize bs)
{
    fcgx = fs;
    buf = nullptr;
    bufsize = 0;
    setbuf(b, bs);
}

// Lays the buffer out for the attached stream's direction.
void fcgi_streambuf::reset(void)
{
    setg(nullptr, nullptr, nullptr);
    setp(nullptr, nullptr);
    if (!buf || !fcgx)
        return;
    if (fcgx->isReader)
        setg(buf, buf, buf);
    else
        setp(buf, buf + bufsize);
}

int fcgi_streambuf::attach(FCGX_Stream *fs)
{
    overflow(traits::eof());
    fcgx = fs;
    reset();
    return 0;
}

std::streambuf *fcgi_streambuf::setbuf(char_type *b, std::streamsize bs)
{
    // Bytes already taken from the FCGX_Stream cannot be given back.
    if (gptr() != egptr())
        return nullptr;
    if (overflow(traits::eof()) == traits::eof())
        return nullptr;
    if (b && bs > 0) {
        buf = b;
        bufsize = bs > INT_MAX ? INT_MAX : bs;
    } else {
        buf = nullptr;
        bufsize = 0;
    }
    reset();
    return this;
}

int fcgi_streambuf::overflow(int c)
{
    if (pbase() && pptr() > pbase()) {
        int n = static_cast<int>(pptr() - pbase());
        if (!fcgx || FCGX_PutStr(pbase(), n, fcgx) != n)
            return traits::eof();
        setp(buf, buf + bufsize);
    }
    if (traits::eq_int_type(c, traits::eof()))
        return traits::not_eof(c);
    if (!fcgx)
        return traits::eof();
    if (pptr() && pptr() < epptr()) {
        *pptr() = traits::to_char_type(c);
        pbump(1);
        return c;
    }
    return FCGX_PutChar(c, fcgx) == EOF ? traits::eof() : c;
}

int fcgi_streambuf::sync()
{
    if (overflow(traits::eof()) == traits::eof())
        return -1;
    if (fcgx && FCGX_FFlush(fcgx) < 0)
        return -1;
    return 0;
}

int fcgi_streambuf::underflow()
{
    if (gptr() < egptr())
        return traits::to_int_type(*gptr());
    if (!fcgx)
        return traits::eof();
    if (buf && fcgx->isReader) {
        int n = FCGX_GetStr(buf, clamp_int(bufsize), fcgx);
        if (n <= 0)
            return traits::eof();
        setg(buf, buf, buf + n);
        return traits::to_int_type(*gptr());
    }
    // Peek without consuming.
    int c = FCGX_GetChar(fcgx);
    if (c != EOF)
        FCGX_UnGetChar(c, fcgx);
    return c == EOF ? traits::eof() : c;
}

int fcgi_streambuf::uflow()
{
    if (gptr() < egptr() || (buf && fcgx && fcgx->isReader)) {
        int c = underflow();
        if (!traits::eq_int_type(c, traits::eof()))
            gbump(1);
        return c;
    }
    if (!fcgx)
        return traits::eof();
    int c = FCGX_GetChar(fcgx);
    return c == EOF ? traits::eof() : c;
}

std::streamsize fcgi_streambuf::xsgetn(char_type *s, std::streamsize n)
{
    std::streamsize done = 0;
    if (n <= 0)
        return 0;
    // Buffered bytes first, then the rest straight from the stream.
    std::streamsize avail = egptr() - gptr();
    if (avail > 0) {
        done = avail < n ? avail : n;
        memcpy(s, gptr(), static_cast<size_t>(done));
        gbump(static_cast<int>(done));
    }
    if (!fcgx)
        return done;
    while (done < n) {
        int want = clamp_int(n - done);
        int got = FCGX_GetStr(s + done, want, fcgx);
        if (got <= 0)
            break;
        done += got;
        if (got < want)
            break;
    }
    return done;
}

std::streamsize fcgi_streambuf::xsputn(const char_type *s, std::streamsize n)
{
    if (n <= 0)
        return 0;
    if (pbase()) {
        std::streamsize room = epptr() - pptr();
        if (n <= room) {
            memcpy(pptr(), s, static_cast<size_t>(n));
            pbump(static_cast<int>(n));
            return n;
        }
        if (overflow(traits::eof()) == traits::eof())
            return 0;
        if (n < bufsize) {
            memcpy(pptr(), s, static_cast<size_t>(n));
            pbump(static_cast<int>(n));
            return n;
        }
    }
    if (!fcgx)
        return 0;
    std::streamsize done = 0;
    while (done < n) {
        int chunk = clamp_int(n - done);
        if (FCGX_PutStr(s + done, chunk, fcgx) != chunk)
            break;
        done += chunk;
    }
    return done;
}

fcgi_istream::fcgi_istream(FCGX_Stream *fs)
    : std::istream(nullptr), fcgi_strmbuf(fs)
{
    rdbuf(&fcgi_strmbuf);
}

void fcgi_istream::attach(FCGX_Stream *fs)
{
    fcgi_strmbuf.attach(fs);
    clear();
}

fcgi_ostream::fcgi_ostream(FCGX_Stream *fs)
    : std::ostream(nullptr), fcgi_strmbuf(fs)
{
    rdbuf(&fcgi_strmbuf);
}

void fcgi_ostream::attach(FCGX_Stream *fs)
{
    fcgi_strmbuf.attach(fs);
    clear();
}
