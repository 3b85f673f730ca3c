/*
 * diffapp.c: the application of the differential test (run.sh).
 *
 * Usage: diffapp SOCKET COUNT
 * Listens on SOCKET with FCGX_OpenSocket, serves COUNT requests, exits 0.
 *
 * It uses only what the reference libfcgi 2.4.2 supports, so the same
 * source built against either library must answer byte for byte the same.
 * What it prints is steered by params:
 *   MODE=stderr   also writes to the error stream
 *   STATUS=n      FCGX_SetExitStatus(n)
 * In the Authorizer role it answers as an authorizer does.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgiapp.h"

static void
respond(FCGX_Request *req)
{
    const char *mode = FCGX_GetParam("MODE", req->envp);
    const char *status = FCGX_GetParam("STATUS", req->envp);
    const char *role = FCGX_GetParam("FCGI_ROLE", req->envp);
    char buf[1024];
    char **e;
    long total = 0;
    int n;

    if (role != NULL && strcmp(role, "AUTHORIZER") == 0) {
        const char *user = FCGX_GetParam("REMOTE_USER", req->envp);

        if (user != NULL && strcmp(user, "alice") == 0)
            FCGX_FPrintF(req->out, "Status: 200\r\nVariable-AUTH_USER: %s\r\n\r\n", user);
        else
            FCGX_PutS("Status: 403\r\n\r\ndenied\n", req->out);
        return;
    }

    FCGX_PutS("Content-Type: text/plain\r\n\r\n", req->out);
    for (e = req->envp; *e != NULL; e++)
        FCGX_FPrintF(req->out, "env %s\n", *e);

    /* Echo stdin, line by line where there are lines. */
    while ((n = FCGX_GetStr(buf, sizeof(buf), req->in)) > 0) {
        FCGX_PutStr(buf, n, req->out);
        total += n;
    }
    FCGX_FPrintF(req->out, "\nstdin %ld bytes, eof %d\n", total,
                 FCGX_HasSeenEOF(req->in));

    FCGX_FPrintF(req->out, "%d|%5d|%-5d|%s|%.3s|%x|%X|%o|%c|%%\n", -17, 42, 42,
                 "text", "truncated", 48879, 48879, 8, 'z');
    FCGX_FPrintF(req->out, "%ld|%lu|%lld|%llx\n", -1234567890L, 4000000000UL,
                 -9000000000000LL, 0x123456789abcULL);

    if (mode != NULL && strcmp(mode, "stderr") == 0) {
        FCGX_PutS("a warning\n", req->err);
        FCGX_FPrintF(req->err, "code %d\n", 42);
    }
    if (status != NULL)
        FCGX_SetExitStatus(atoi(status), req->out);
}

int
main(int argc, char **argv)
{
    FCGX_Request req;
    int count;
    int fd;
    int i;

    if (argc != 3)
        return 2;
    count = atoi(argv[2]);
    fd = FCGX_OpenSocket(argv[1], 5);
    if (fd < 0 || FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
        return 3;
    for (i = 0; i < count; i++) {
        if (FCGX_Accept_r(&req) < 0)
            return 4;
        respond(&req);
        FCGX_Finish_r(&req);
    }
    FCGX_Free(&req, 1);
    return 0;
}
