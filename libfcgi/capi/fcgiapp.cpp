// The FCGX_ entry points: check arguments, delegate to the core.
#include "capi/export.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fastcgi.h"
#include "fcgiapp.h"
#include "io/listen.hpp"
#include "io/process_env.hpp"
#include "stream/request.hpp"
#include "stream/stream.hpp"

using namespace fcgi;

namespace {

// The request behind FCGX_Accept / FCGX_Finish (and FCGI_Accept).
FCGX_Request g_default_request;
bool g_default_ready = false;

} // namespace

extern "C" {

int FCGX_Init(void) { return request::init(); }

int FCGX_IsCGI(void)
{
    if (!request::initialized() && FCGX_Init() != 0)
        return 1;
    return !io::is_listener(FCGI_LISTENSOCK_FILENO);
}

int FCGX_OpenSocket(const char *path, int backlog)
{
    if (!path) {
        errno = EINVAL;
        return -1;
    }
    return io::open_listener(path, backlog);
}

int FCGX_InitRequest(FCGX_Request *request, int sock, int flags)
{
    if (!request)
        return -1;
    memset(request, 0, sizeof *request);
    request->listen_sock = sock;
    request->flags = flags;
    request->ipcFd = -1;
    return 0;
}

int FCGX_Accept_r(FCGX_Request *request)
{
    if (!request)
        return -EINVAL;
    return request::accept(request);
}

void FCGX_Finish_r(FCGX_Request *request)
{
    if (request)
        request::finish(request);
}

void FCGX_Free(FCGX_Request *request, int close)
{
    if (request)
        request::free(request, close != 0);
}

int FCGX_Accept(FCGX_Stream **in, FCGX_Stream **out, FCGX_Stream **err,
                FCGX_ParamArray *envp)
{
    if (!request::initialized()) {
        int rc = FCGX_Init();
        if (rc != 0)
            return rc;
    }
    if (!g_default_ready) {
        FCGX_InitRequest(&g_default_request, FCGI_LISTENSOCK_FILENO, 0);
        g_default_ready = true;
    }
    int rc = FCGX_Accept_r(&g_default_request);
    if (rc >= 0) {
        if (in) *in = g_default_request.in;
        if (out) *out = g_default_request.out;
        if (err) *err = g_default_request.err;
        if (envp) *envp = g_default_request.envp;
    }
    return rc;
}

void FCGX_Finish(void)
{
    if (g_default_ready)
        FCGX_Finish_r(&g_default_request);
}

int FCGX_StartFilterData(FCGX_Stream *stream)
{
    return stream ? request::start_filter_data(stream) : -1;
}

void FCGX_SetExitStatus(int status, FCGX_Stream *stream)
{
    if (stream)
        request::set_exit_status(status, stream);
}

char *FCGX_GetParam(const char *name, FCGX_ParamArray envp)
{
    if (!name || !envp)
        return nullptr;
    size_t len = strlen(name);
    for (char **p = envp; *p; ++p)
        if (strncmp(name, *p, len) == 0 && (*p)[len] == '=')
            return *p + len + 1;
    return nullptr;
}

int FCGX_GetChar(FCGX_Stream *stream) { return stream ? stream::get_char(stream) : EOF; }

int FCGX_UnGetChar(int c, FCGX_Stream *stream)
{
    return stream ? stream::unget_char(c, stream) : EOF;
}

int FCGX_GetStr(char *str, int n, FCGX_Stream *stream)
{
    return stream && str ? stream::get_str(str, n, stream) : 0;
}

char *FCGX_GetLine(char *str, int n, FCGX_Stream *stream)
{
    return stream && str ? stream::get_line(str, n, stream) : nullptr;
}

int FCGX_HasSeenEOF(FCGX_Stream *stream) { return stream ? stream::has_seen_eof(stream) : EOF; }

int FCGX_PutChar(int c, FCGX_Stream *stream) { return stream ? stream::put_char(c, stream) : EOF; }

int FCGX_PutStr(const char *str, int n, FCGX_Stream *stream)
{
    return stream && (str || n == 0) ? stream::put_str(str, n, stream) : EOF;
}

int FCGX_PutS(const char *str, FCGX_Stream *stream)
{
    if (!stream || !str)
        return EOF;
    return stream::put_str(str, static_cast<int>(strlen(str)), stream);
}

int FCGX_VFPrintF(FCGX_Stream *stream, const char *format, va_list arg)
{
    return stream ? stream::vprintf(stream, format, arg) : EOF;
}

int FCGX_FPrintF(FCGX_Stream *stream, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    int rc = FCGX_VFPrintF(stream, format, ap);
    va_end(ap);
    return rc;
}

int FCGX_FFlush(FCGX_Stream *stream) { return stream ? stream::flush(stream) : 0; }

int FCGX_FClose(FCGX_Stream *stream) { return stream ? stream::close(stream) : 0; }

int FCGX_GetError(FCGX_Stream *stream) { return stream ? stream->FCGI_errno : 0; }

void FCGX_ClearError(FCGX_Stream *stream)
{
    // The error goes; a closed stream stays closed, as in the reference.
    if (stream)
        stream->FCGI_errno = 0;
}

FCGX_Stream *FCGX_CreateWriter(int socket, int requestId, int bufflen, int streamType)
{
    return stream::create_writer(socket, requestId, bufflen, streamType);
}

void FCGX_FreeStream(FCGX_Stream **stream) { stream::free_stream(stream); }

void FCGX_ShutdownPending(void) { io::request_shutdown(); }

int FCGX_Attach(FCGX_Request *r)
{
    if (!r)
        return -1;
    r->detached = 0;
    return 0;
}

int FCGX_Detach(FCGX_Request *r)
{
    if (!r || r->ipcFd <= 0)
        return -1;
    r->detached = 1;
    return 0;
}

} // extern "C"
