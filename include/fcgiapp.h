/*
 * fcgiapp.h: the FCGX_ interface of libfcgi, the FastCGI application library.
 *
 * Conventions, once for the whole header:
 *  - A FastCGI request arrives as three streams (in, out, err) and a
 *    parameter array of "NAME=VALUE" strings ending in NULL.
 *  - Functions that return int report failure with a negative number:
 *    EOF (-1) for end of stream or a stream error, one of the FCGX_ codes
 *    below for protocol problems, or the negative of an errno value.
 *  - FCGX_Stream and FCGX_Request are allocated by the caller and their
 *    layout is part of the ABI.  Only the fields above "not for programs"
 *    are for programs to read; the rest belongs to the library.
 *  - The _r functions are safe to call from several threads, each with its
 *    own FCGX_Request, once FCGX_Init has returned.
 */
#ifndef _FCGIAPP_H
#define _FCGIAPP_H

#include <stdarg.h>

/* Export marker.  Empty for programs; the library's build defines it. */
#ifndef DLLAPI
#define DLLAPI
#endif

#if defined (c_plusplus) || defined (__cplusplus)
extern "C" {
#endif

/* Error codes beyond EOF (-1) and negative errno values. */
#define FCGX_UNSUPPORTED_VERSION -2
#define FCGX_PROTOCOL_ERROR -3
#define FCGX_PARAMS_ERROR -4
#define FCGX_CALL_SEQ_ERROR -5

/*
 * A byte stream of a request.  Readers consume [rdNext, stop); writers
 * fill [wrNext, stop).  fillBuffProc and emptyBuffProc refill or drain the
 * buffer; data points at the library's private state.
 */
typedef struct FCGX_Stream {
    unsigned char *rdNext;
    unsigned char *wrNext;
    unsigned char *stop;
    unsigned char *stopUnget;
    int isReader;
    int isClosed;
    int wasFCloseCalled;
    int FCGI_errno;
    void (*fillBuffProc) (struct FCGX_Stream *stream);
    void (*emptyBuffProc) (struct FCGX_Stream *stream, int doClose);
    void *data;
} FCGX_Stream;

/* NULL-terminated array of "NAME=VALUE" strings. */
typedef char **FCGX_ParamArray;

/* FCGX_InitRequest flag: FCGX_Accept_r returns on EINTR instead of retrying. */
#define FCGI_FAIL_ACCEPT_ON_INTR	1

/* One request, owned by the caller; initialise it with FCGX_InitRequest. */
typedef struct FCGX_Request {
    int requestId;
    int role;
    FCGX_Stream *in;
    FCGX_Stream *out;
    FCGX_Stream *err;
    char **envp;

    /* not for programs: the library's bookkeeping */
    struct Params *paramsPtr;
    int ipcFd;                /* connection descriptor, < 0 when none */
    int isBeginProcessed;
    int keepConnection;
    int appStatus;
    int nWriters;
    int flags;
    int listen_sock;
    int detached;
} FCGX_Request;

/* Process set-up */
DLLAPI int FCGX_IsCGI(void);
DLLAPI int FCGX_Init(void);
DLLAPI int FCGX_OpenSocket(const char *path, int backlog);
DLLAPI int FCGX_InitRequest(FCGX_Request *request, int sock, int flags);

/* Request life cycle */
DLLAPI int FCGX_Accept_r(FCGX_Request *request);
DLLAPI void FCGX_Finish_r(FCGX_Request *request);
DLLAPI void FCGX_Free(FCGX_Request *request, int close);
DLLAPI int FCGX_Accept(FCGX_Stream **in, FCGX_Stream **out,
                       FCGX_Stream **err, FCGX_ParamArray *envp);
DLLAPI void FCGX_Finish(void);
DLLAPI int FCGX_StartFilterData(FCGX_Stream *stream);
DLLAPI void FCGX_SetExitStatus(int status, FCGX_Stream *stream);
DLLAPI char *FCGX_GetParam(const char *name, FCGX_ParamArray envp);

/* Reading */
DLLAPI int FCGX_GetChar(FCGX_Stream *stream);
DLLAPI int FCGX_UnGetChar(int c, FCGX_Stream *stream);
DLLAPI int FCGX_GetStr(char *str, int n, FCGX_Stream *stream);
DLLAPI char *FCGX_GetLine(char *str, int n, FCGX_Stream *stream);
DLLAPI int FCGX_HasSeenEOF(FCGX_Stream *stream);

/* Writing */
DLLAPI int FCGX_PutChar(int c, FCGX_Stream *stream);
DLLAPI int FCGX_PutStr(const char *str, int n, FCGX_Stream *stream);
DLLAPI int FCGX_PutS(const char *str, FCGX_Stream *stream);
DLLAPI int FCGX_FPrintF(FCGX_Stream *stream, const char *format, ...);
DLLAPI int FCGX_VFPrintF(FCGX_Stream *stream, const char *format, va_list arg);
DLLAPI int FCGX_FFlush(FCGX_Stream *stream);

/* Closing and errors */
DLLAPI int FCGX_FClose(FCGX_Stream *stream);
DLLAPI int FCGX_GetError(FCGX_Stream *stream);
DLLAPI void FCGX_ClearError(FCGX_Stream *stream);
DLLAPI FCGX_Stream *FCGX_CreateWriter(int socket, int requestId,
                                      int bufflen, int streamType);
DLLAPI void FCGX_FreeStream(FCGX_Stream **stream);

/* Shutdown and hand-over */
DLLAPI void FCGX_ShutdownPending(void);
DLLAPI int FCGX_Attach(FCGX_Request *r);
DLLAPI int FCGX_Detach(FCGX_Request *r);

#if defined (__cplusplus) || defined (c_plusplus)
}
#endif

#endif /* _FCGIAPP_H */
