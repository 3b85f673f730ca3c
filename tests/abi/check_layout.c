/*
 * check_layout.c: the public structs keep the reference's layout (x86-64
 * numbers from shared/reference/abi.md).  Programs built against the
 * reference headers read these fields directly, so a difference is an ABI
 * break.  Everything is checked at compile time; the program only runs so
 * that `make check` reports it.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "fcgiapp.h"
#include "fcgi_stdio.h"
#include "fastcgi.h"

#define LAYOUT(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " moved")

#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof(FCGX_Stream) == 72, "sizeof(FCGX_Stream)");
LAYOUT(FCGX_Stream, rdNext, 0);
LAYOUT(FCGX_Stream, wrNext, 8);
LAYOUT(FCGX_Stream, stop, 16);
LAYOUT(FCGX_Stream, stopUnget, 24);
LAYOUT(FCGX_Stream, isReader, 32);
LAYOUT(FCGX_Stream, isClosed, 36);
LAYOUT(FCGX_Stream, wasFCloseCalled, 40);
LAYOUT(FCGX_Stream, FCGI_errno, 44);
LAYOUT(FCGX_Stream, fillBuffProc, 48);
LAYOUT(FCGX_Stream, emptyBuffProc, 56);
LAYOUT(FCGX_Stream, data, 64);

_Static_assert(sizeof(FCGX_Request) == 80, "sizeof(FCGX_Request)");
LAYOUT(FCGX_Request, requestId, 0);
LAYOUT(FCGX_Request, role, 4);
LAYOUT(FCGX_Request, in, 8);
LAYOUT(FCGX_Request, out, 16);
LAYOUT(FCGX_Request, err, 24);
LAYOUT(FCGX_Request, envp, 32);
LAYOUT(FCGX_Request, paramsPtr, 40);
LAYOUT(FCGX_Request, ipcFd, 48);
LAYOUT(FCGX_Request, isBeginProcessed, 52);
LAYOUT(FCGX_Request, keepConnection, 56);
LAYOUT(FCGX_Request, appStatus, 60);
LAYOUT(FCGX_Request, nWriters, 64);
LAYOUT(FCGX_Request, flags, 68);
LAYOUT(FCGX_Request, listen_sock, 72);
LAYOUT(FCGX_Request, detached, 76);

_Static_assert(sizeof(FCGI_FILE) == 16, "sizeof(FCGI_FILE)");
LAYOUT(FCGI_FILE, stdio_stream, 0);
LAYOUT(FCGI_FILE, fcgx_stream, 8);
#define CHECKED_LP64 1
#endif

/* The wire structures are the same on every host. */
_Static_assert(sizeof(FCGI_Header) == 8, "sizeof(FCGI_Header)");
_Static_assert(sizeof(FCGI_BeginRequestBody) == 8, "sizeof(FCGI_BeginRequestBody)");
_Static_assert(sizeof(FCGI_BeginRequestRecord) == 16, "sizeof(FCGI_BeginRequestRecord)");
_Static_assert(sizeof(FCGI_EndRequestBody) == 8, "sizeof(FCGI_EndRequestBody)");
_Static_assert(sizeof(FCGI_EndRequestRecord) == 16, "sizeof(FCGI_EndRequestRecord)");
_Static_assert(sizeof(FCGI_UnknownTypeBody) == 8, "sizeof(FCGI_UnknownTypeBody)");
_Static_assert(sizeof(FCGI_UnknownTypeRecord) == 16, "sizeof(FCGI_UnknownTypeRecord)");
LAYOUT(FCGI_Header, version, 0);
LAYOUT(FCGI_Header, type, 1);
LAYOUT(FCGI_Header, requestIdB1, 2);
LAYOUT(FCGI_Header, requestIdB0, 3);
LAYOUT(FCGI_Header, contentLengthB1, 4);
LAYOUT(FCGI_Header, contentLengthB0, 5);
LAYOUT(FCGI_Header, paddingLength, 6);
LAYOUT(FCGI_Header, reserved, 7);
LAYOUT(FCGI_EndRequestBody, protocolStatus, 4);

/* The numbers programs compile in. */
_Static_assert(FCGX_UNSUPPORTED_VERSION == -2 && FCGX_PROTOCOL_ERROR == -3
               && FCGX_PARAMS_ERROR == -4 && FCGX_CALL_SEQ_ERROR == -5,
               "FCGX_ error codes");
_Static_assert(FCGI_FAIL_ACCEPT_ON_INTR == 1, "FCGI_FAIL_ACCEPT_ON_INTR");
_Static_assert(FCGI_LISTENSOCK_FILENO == 0 && FCGI_HEADER_LEN == 8
               && FCGI_MAX_LENGTH == 0xffff && FCGI_VERSION_1 == 1,
               "fastcgi.h constants");
_Static_assert(FCGI_BEGIN_REQUEST == 1 && FCGI_ABORT_REQUEST == 2
               && FCGI_END_REQUEST == 3 && FCGI_PARAMS == 4 && FCGI_STDIN == 5
               && FCGI_STDOUT == 6 && FCGI_STDERR == 7 && FCGI_DATA == 8
               && FCGI_GET_VALUES == 9 && FCGI_GET_VALUES_RESULT == 10
               && FCGI_UNKNOWN_TYPE == 11 && FCGI_MAXTYPE == 11,
               "record types");
_Static_assert(FCGI_KEEP_CONN == 1 && FCGI_RESPONDER == 1
               && FCGI_AUTHORIZER == 2 && FCGI_FILTER == 3, "roles, flags");
_Static_assert(FCGI_REQUEST_COMPLETE == 0 && FCGI_CANT_MPX_CONN == 1
               && FCGI_OVERLOADED == 2 && FCGI_UNKNOWN_ROLE == 3,
               "protocol status");

int
main(void)
{
    /* fcgi_stdio.h renames stdio, so say it with write(2). */
#ifdef CHECKED_LP64
    static const char msg[] = "layout: x86-64 struct layouts and protocol constants match\n";
#else
    static const char msg[] = "layout: protocol constants match; struct offsets are x86-64 only\n";
#endif
    return write(1, msg, strlen(msg)) < 0;
}
