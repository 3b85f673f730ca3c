// fcgi_stdio: the FCGI_ stdio wrappers and _fcgi_sF, over the public FCGX_
// interface only.
//
// An FCGI_FILE is bound to a request stream (fcgx_stream) or to a real
// FILE (stdio_stream).  The three entries of _fcgi_sF are special: bound to
// the current request's streams between FCGI_Accept and FCGI_Finish, to the
// real stdin/stdout/stderr in CGI mode, and to nothing otherwise.  Unlike
// the reference, which dropped anything written through an unbound entry,
// an unbound standard entry acts on the process's real stdin, stdout or
// stderr (README, "Deliberate differences").
#include "capi/export.hpp"
// Keep the real stdio names in this file: the wrappers call them.
#define NO_FCGI_DEFINES 1
#include "fcgi_stdio.h"

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

extern "C" {
// Zero-initialised: nothing is bound before the first FCGI_Accept.
FCGI_FILE _fcgi_sF[3];

// The header leaves the formats unchecked; here they are printf's.
int FCGI_vfprintf(FCGI_FILE *fp, const char *format, va_list ap)
    __attribute__((format(printf, 2, 0)));
int FCGI_vprintf(const char *format, va_list ap) __attribute__((format(printf, 1, 0)));
int FCGI_fprintf(FCGI_FILE *fp, const char *format, ...) __attribute__((format(printf, 2, 3)));
int FCGI_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
}

namespace {

// Process-wide state of the stdio layer (it is not thread-safe, as the
// reference's is not).
bool g_accept_called = false;
bool g_is_cgi = false;
bool g_atexit_registered = false;
bool g_in_request = false;          // environ points at a request's params
char **g_saved_environ = nullptr;   // environ outside requests
bool g_real_closed[3] = {false, false, false};

// Where an operation on an FCGI_FILE goes: a request stream, a real FILE,
// or nowhere (a NULL or closed file).
struct Target {
    FCGX_Stream *fcgx;
    FILE *file;
};

int standard_index(const FCGI_FILE *fp)
{
    for (int i = 0; i < 3; ++i)
        if (fp == &_fcgi_sF[i])
            return i;
    return -1;
}

FILE *real_standard(int i)
{
    return i == 0 ? stdin : i == 1 ? stdout : stderr;
}

Target target_of(FCGI_FILE *fp)
{
    if (!fp)
        return {nullptr, nullptr};
    if (fp->fcgx_stream)
        return {fp->fcgx_stream, nullptr};
    if (fp->stdio_stream)
        return {nullptr, fp->stdio_stream};
    int i = standard_index(fp);
    if (i >= 0 && !g_real_closed[i])
        return {nullptr, real_standard(i)};
    return {nullptr, nullptr};
}

// Result for an operation on a NULL or closed FCGI_FILE.
template <typename T>
T bad_file(T result)
{
    errno = EBADF;
    return result;
}

// Binds the standard entries to a request's streams (or to nothing).  A
// file that freopen put behind an entry during a request ends with it.
void bind_standard(FCGX_Stream *in, FCGX_Stream *out, FCGX_Stream *err)
{
    FCGX_Stream *streams[3] = {in, out, err};
    for (int i = 0; i < 3; ++i) {
        FILE *file = _fcgi_sF[i].stdio_stream;
        if (file && file != real_standard(i))
            fclose(file);
        _fcgi_sF[i].stdio_stream = nullptr;
        _fcgi_sF[i].fcgx_stream = streams[i];
    }
}

void leave_request_environ()
{
    if (g_in_request) {
        environ = g_saved_environ;
        g_in_request = false;
    }
}

FCGI_FILE *wrap(FILE *file)
{
    if (!file)
        return nullptr;
    FCGI_FILE *fp = static_cast<FCGI_FILE *>(calloc(1, sizeof *fp));
    if (!fp) {
        fclose(file);
        errno = ENOMEM;
        return nullptr;
    }
    fp->stdio_stream = file;
    return fp;
}

// fseek and friends have nothing to move on a request stream.
int not_seekable()
{
    errno = ESPIPE;
    return -1;
}

} // namespace

extern "C" {

int FCGI_Accept(void)
{
    if (!g_accept_called) {
        g_accept_called = true;
        g_is_cgi = FCGX_IsCGI() != 0;
        if (g_is_cgi) {
            _fcgi_sF[0].stdio_stream = stdin;
            _fcgi_sF[1].stdio_stream = stdout;
            _fcgi_sF[2].stdio_stream = stderr;
            return 0;
        }
    } else if (g_is_cgi) {
        return -1;
    }

    if (!g_in_request)
        g_saved_environ = environ;
    FCGX_Stream *in = nullptr, *out = nullptr, *err = nullptr;
    FCGX_ParamArray envp = nullptr;
    // Finishes the previous request first.
    int rc = FCGX_Accept(&in, &out, &err, &envp);
    if (rc < 0) {
        bind_standard(nullptr, nullptr, nullptr);
        leave_request_environ();
        return -1;
    }
    bind_standard(in, out, err);
    environ = envp;
    g_in_request = true;
    if (!g_atexit_registered && atexit(FCGI_Finish) == 0)
        g_atexit_registered = true;
    return 0;
}

void FCGI_Finish(void)
{
    if (!g_accept_called || g_is_cgi)
        return;
    FCGX_Finish();
    bind_standard(nullptr, nullptr, nullptr);
    leave_request_environ();
}

int FCGI_StartFilterData(void)
{
    if (g_is_cgi || !_fcgi_sF[0].fcgx_stream)
        return -1;
    return FCGX_StartFilterData(_fcgi_sF[0].fcgx_stream);
}

void FCGI_SetExitStatus(int status)
{
    for (int i = 1; i >= 0; --i) {
        if (_fcgi_sF[i].fcgx_stream) {
            FCGX_SetExitStatus(status, _fcgi_sF[i].fcgx_stream);
            return;
        }
    }
}

void FCGI_perror(const char *str)
{
    const char *message = strerror(errno);
    if (str && *str) {
        FCGI_fputs(str, FCGI_stderr);
        FCGI_fputs(": ", FCGI_stderr);
    }
    FCGI_fputs(message, FCGI_stderr);
    FCGI_fputc('\n', FCGI_stderr);
}

FCGI_FILE *FCGI_fopen(const char *path, const char *mode)
{
    return wrap(fopen(path, mode));
}

FCGI_FILE *FCGI_fdopen(int fd, const char *mode)
{
    return wrap(fdopen(fd, mode));
}

FCGI_FILE *FCGI_tmpfile(void)
{
    return wrap(tmpfile());
}

FCGI_FILE *FCGI_popen(const char *cmd, const char *type)
{
    FILE *file = popen(cmd, type);
    if (!file)
        return nullptr;
    FCGI_FILE *fp = static_cast<FCGI_FILE *>(calloc(1, sizeof *fp));
    if (!fp) {
        pclose(file);
        errno = ENOMEM;
        return nullptr;
    }
    fp->stdio_stream = file;
    return fp;
}

int FCGI_pclose(FCGI_FILE *fp)
{
    // Only a file from FCGI_popen has a child to wait for.
    if (!fp || !fp->stdio_stream)
        return bad_file(-1);
    int rc = pclose(fp->stdio_stream);
    fp->stdio_stream = nullptr;
    if (standard_index(fp) < 0)
        free(fp);
    return rc;
}

int FCGI_fclose(FCGI_FILE *fp)
{
    if (!fp)
        return bad_file(EOF);
    int i = standard_index(fp);
    int rc;
    if (fp->fcgx_stream) {
        // The entry stays bound, so later calls fail on the closed stream
        // instead of reaching the real stdout.
        rc = FCGX_FClose(fp->fcgx_stream) < 0 ? EOF : 0;
    } else {
        Target t = target_of(fp);
        if (!t.file)
            return bad_file(EOF);
        rc = fclose(t.file);
        if (i >= 0 && t.file == real_standard(i))
            g_real_closed[i] = true;
        fp->stdio_stream = nullptr;
    }
    if (i < 0)
        free(fp);
    return rc;
}

int FCGI_fflush(FCGI_FILE *fp)
{
    if (!fp) {
        // Every output stream: the C library's and the request's.
        int rc = fflush(nullptr);
        for (int i = 1; i < 3; ++i)
            if (_fcgi_sF[i].fcgx_stream && FCGX_FFlush(_fcgi_sF[i].fcgx_stream) < 0)
                rc = EOF;
        return rc;
    }
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_FFlush(t.fcgx) < 0 ? EOF : 0;
    if (t.file)
        return fflush(t.file);
    return bad_file(EOF);
}

FCGI_FILE *FCGI_freopen(const char *path, const char *mode, FCGI_FILE *fp)
{
    if (!fp)
        return bad_file<FCGI_FILE *>(nullptr);
    int i = standard_index(fp);
    if (fp->fcgx_stream) {
        if (!path) {
            // No file name to reopen a request stream by.
            errno = EINVAL;
            return nullptr;
        }
        FCGX_FClose(fp->fcgx_stream);
        fp->fcgx_stream = nullptr;
        fp->stdio_stream = fopen(path, mode);
        if (!fp->stdio_stream) {
            if (i >= 0)
                g_real_closed[i] = true;
            return nullptr;
        }
        return fp;
    }
    Target t = target_of(fp);
    if (!t.file)
        return bad_file<FCGI_FILE *>(nullptr);
    FILE *file = freopen(path, mode, t.file);
    fp->stdio_stream = file;
    if (!file) {
        // freopen closed the original whatever happened.
        if (i >= 0 && t.file == real_standard(i))
            g_real_closed[i] = true;
        return nullptr;
    }
    return fp;
}

int FCGI_setvbuf(FCGI_FILE *fp, char *buf, int bufmode, size_t size)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return 0;   // the request stream keeps its own buffer
    if (t.file)
        return setvbuf(t.file, buf, bufmode, size);
    return bad_file(-1);
}

void FCGI_setbuf(FCGI_FILE *fp, char *buf)
{
    Target t = target_of(fp);
    if (t.file)
        setbuf(t.file, buf);
}

int FCGI_fseek(FCGI_FILE *fp, long offset, int whence)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return not_seekable();
    if (t.file)
        return fseek(t.file, offset, whence);
    return bad_file(-1);
}

int FCGI_ftell(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return not_seekable();
    if (!t.file)
        return bad_file(-1);
    long pos = ftell(t.file);
    if (pos > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return static_cast<int>(pos);
}

void FCGI_rewind(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        not_seekable();
    else if (t.file)
        rewind(t.file);
    else
        bad_file(0);
}

int FCGI_fgetpos(FCGI_FILE *fp, fpos_t *pos)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return not_seekable();
    if (t.file)
        return fgetpos(t.file, pos);
    return bad_file(-1);
}

int FCGI_fsetpos(FCGI_FILE *fp, const fpos_t *pos)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return not_seekable();
    if (t.file)
        return fsetpos(t.file, pos);
    return bad_file(-1);
}

int FCGI_fgetc(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_GetChar(t.fcgx);
    if (t.file)
        return fgetc(t.file);
    return bad_file(EOF);
}

int FCGI_getchar(void)
{
    return FCGI_fgetc(FCGI_stdin);
}

int FCGI_ungetc(int c, FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_UnGetChar(c, t.fcgx);
    if (t.file)
        return ungetc(c, t.file);
    return bad_file(EOF);
}

char *FCGI_fgets(char *str, int size, FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_GetLine(str, size, t.fcgx);
    if (t.file)
        return fgets(str, size, t.file);
    return bad_file<char *>(nullptr);
}

// gets(3) is gone from C11; this one reads a line from FCGI_stdin, drops
// the newline and, like the original, trusts the caller's buffer size.
char *FCGI_gets(char *str)
{
    Target t = target_of(FCGI_stdin);
    if (!t.fcgx && !t.file)
        return bad_file<char *>(nullptr);
    char *p = str;
    for (;;) {
        int c = t.fcgx ? FCGX_GetChar(t.fcgx) : getc(t.file);
        if (c == EOF) {
            if (p == str)
                return nullptr;
            break;
        }
        if (c == '\n')
            break;
        *p++ = static_cast<char>(c);
    }
    *p = '\0';
    return str;
}

int FCGI_fputc(int c, FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_PutChar(c, t.fcgx);
    if (t.file)
        return fputc(c, t.file);
    return bad_file(EOF);
}

int FCGI_putchar(int c)
{
    return FCGI_fputc(c, FCGI_stdout);
}

int FCGI_fputs(const char *str, FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_PutS(str, t.fcgx) < 0 ? EOF : 0;
    if (t.file)
        return fputs(str, t.file);
    return bad_file(EOF);
}

int FCGI_puts(const char *str)
{
    if (FCGI_fputs(str, FCGI_stdout) == EOF)
        return EOF;
    return FCGI_fputc('\n', FCGI_stdout) == EOF ? EOF : 0;
}

int FCGI_vfprintf(FCGI_FILE *fp, const char *format, va_list ap)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_VFPrintF(t.fcgx, format, ap);
    if (t.file)
        return vfprintf(t.file, format, ap);
    return bad_file(-1);
}

int FCGI_vprintf(const char *format, va_list ap)
{
    return FCGI_vfprintf(FCGI_stdout, format, ap);
}

int FCGI_fprintf(FCGI_FILE *fp, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = FCGI_vfprintf(fp, format, ap);
    va_end(ap);
    return n;
}

int FCGI_printf(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int n = FCGI_vfprintf(FCGI_stdout, format, ap);
    va_end(ap);
    return n;
}

// FCGX_GetStr and FCGX_PutStr take int counts; larger transfers go in
// pieces.  Both return whole items, as fread(3) and fwrite(3) do.
size_t FCGI_fread(void *ptr, size_t size, size_t nmemb, FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.file)
        return fread(ptr, size, nmemb, t.file);
    if (!t.fcgx)
        return bad_file<size_t>(0);
    if (size == 0 || nmemb == 0)
        return 0;
    if (nmemb > SIZE_MAX / size)
        nmemb = SIZE_MAX / size;
    size_t want = size * nmemb;
    size_t done = 0;
    char *p = static_cast<char *>(ptr);
    while (done < want) {
        size_t chunk = want - done < INT_MAX ? want - done : INT_MAX;
        int n = FCGX_GetStr(p + done, static_cast<int>(chunk), t.fcgx);
        if (n <= 0)
            break;
        done += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < chunk)
            break;  // end of stream or an error
    }
    return done / size;
}

size_t FCGI_fwrite(const void *ptr, size_t size, size_t nmemb, FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.file)
        return fwrite(ptr, size, nmemb, t.file);
    if (!t.fcgx)
        return bad_file<size_t>(0);
    if (size == 0 || nmemb == 0)
        return 0;
    if (nmemb > SIZE_MAX / size)
        nmemb = SIZE_MAX / size;
    size_t want = size * nmemb;
    size_t done = 0;
    const char *p = static_cast<const char *>(ptr);
    while (done < want) {
        size_t chunk = want - done < INT_MAX ? want - done : INT_MAX;
        if (FCGX_PutStr(p + done, static_cast<int>(chunk), t.fcgx) != static_cast<int>(chunk))
            break;
        done += chunk;
    }
    return done / size;
}

int FCGI_feof(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_HasSeenEOF(t.fcgx);
    if (t.file)
        return feof(t.file);
    return 0;
}

int FCGI_ferror(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        return FCGX_GetError(t.fcgx);
    if (t.file)
        return ferror(t.file);
    return 0;
}

void FCGI_clearerr(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.fcgx)
        FCGX_ClearError(t.fcgx);
    else if (t.file)
        clearerr(t.file);
}

int FCGI_fileno(FCGI_FILE *fp)
{
    Target t = target_of(fp);
    if (t.file)
        return fileno(t.file);
    // A request stream has no descriptor of its own.
    return bad_file(-1);
}

} // extern "C"
