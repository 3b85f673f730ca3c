// FCGX_VFPrintF: the C library's vsnprintf formats, straight into the
// stream's buffer when the result fits, so every C99 conversion and
// length modifier behaves exactly as in printf(3).
#include <cstdio>
#include <cstdlib>

#include "stream/stream.hpp"

namespace fcgi::stream {

int vprintf(FCGX_Stream *s, const char *format, va_list ap)
{
    if (s->isClosed || s->isReader || !format)
        return EOF;
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
