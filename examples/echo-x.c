/*
 * echo-x.c: the echo responder written with the FCGX_ interface: one
 * FCGX_Request, its streams and its parameter array instead of stdio and
 * environ.
 *
 * Each response is plain text: a request counter, the request's
 * parameters, then the request body (CONTENT_LENGTH bytes) as it came.
 * The program serves on the listening socket on fd 0, or on the socket
 * named by FCGI_LISTEN_ADDR when that is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fcgiapp.h"

/* Copies up to len bytes from in to out; returns the count. */
static long echo_body(FCGX_Stream *in, FCGX_Stream *out, long len)
{
    char chunk[4096];
    long done = 0;

    while (done < len) {
        int want = len - done < (long)sizeof chunk ? (int)(len - done) : (int)sizeof chunk;
        int got = FCGX_GetStr(chunk, want, in);
        if (got <= 0)
            break;
        FCGX_PutStr(chunk, got, out);
        done += got;
    }
    return done;
}

int main(void)
{
    const char *addr = getenv("FCGI_LISTEN_ADDR");
    int sock = 0;
    int count = 0;
    FCGX_Request request;

    if (FCGX_Init() != 0) {
        fprintf(stderr, "echo-x: FCGX_Init failed\n");
        return 1;
    }
    if (addr && *addr) {
        sock = FCGX_OpenSocket(addr, 16);
        if (sock < 0) {
            perror(addr);
            return 1;
        }
    }
    FCGX_InitRequest(&request, sock, 0);

    while (FCGX_Accept_r(&request) >= 0) {
        const char *cl = FCGX_GetParam("CONTENT_LENGTH", request.envp);
        long len = cl ? strtol(cl, NULL, 10) : 0;
        char **p;

        if (len < 0)
            len = 0;
        FCGX_FPrintF(request.out, "Content-type: text/plain\r\n\r\n");
        FCGX_FPrintF(request.out, "echo-x: request number %d, process %ld\n",
                     ++count, (long)getpid());
        FCGX_FPrintF(request.out, "Parameters:\n");
        for (p = request.envp; *p; ++p)
            FCGX_FPrintF(request.out, "%s\n", *p);
        FCGX_FPrintF(request.out, "Body (%ld bytes):\n", len);
        if (echo_body(request.in, request.out, len) < len)
            FCGX_FPrintF(request.out, "\n(the body ended early)\n");
        FCGX_Finish_r(&request);
    }
    FCGX_Free(&request, 1);
    return 0;
}
