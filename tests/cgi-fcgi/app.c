/*
 * app.c: the FastCGI application the cgi-fcgi tests talk to.
 *
 * Usage: app [ADDRESS]
 *   Without ADDRESS the listening socket is fd 0 (as cgi-fcgi -start hands
 *   it over); with ADDRESS the program opens it itself (FCGX_OpenSocket).
 *   When APP_PIDDIR is set, the process creates an empty file named after
 *   its pid there (and removes it when it exits normally), so that tests
 *   can find and stop every copy cgi-fcgi -start has forked.
 *
 * Each request is answered by a text/plain response.  QUERY_STRING holds
 * commands separated by '&'; with none, the response lists every parameter
 * as NAME=VALUE lines, then "STDIN-LENGTH=n" and the request body.
 *   body        the response body is the request body, byte for byte
 *   big=N       the response body is N bytes of a fixed pattern: lines of
 *               PATTERN (below) and a newline, cut at N bytes
 *   param=NAME  the response body is the value of NAME and a newline
 *   pid         the response body is the process id and a newline
 *   stderr=TEXT TEXT and a newline go to the FastCGI error stream
 *   sleep=N     wait N milliseconds before answering
 *   status=N    the request ends with application status N
 *   crash       send part of a response, then die without ending it
 *   exit        the process exits after this request
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgiapp.h"

#define PATTERN "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-"

static char pidfile[4096];

static void remove_pidfile(void)
{
    if (pidfile[0])
        unlink(pidfile);
}

static void pause_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Appends the whole request body to *buf; returns its length. */
static size_t read_body(FCGX_Stream *in, char **buf)
{
    size_t len = 0, cap = 0;
    *buf = NULL;
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(*buf, cap);
            if (!p) {
                perror("app: realloc");
                exit(70);
            }
            *buf = p;
        }
        int n = FCGX_GetStr(*buf + len, (int)(cap - len), in);
        if (n <= 0)
            return len;
        len += (size_t)n;
    }
}

static void put_pattern(FCGX_Stream *out, long n)
{
    static const char line[] = PATTERN "\n";
    while (n > 0) {
        int chunk = n < (long)sizeof line - 1 ? (int)n : (int)sizeof line - 1;
        FCGX_PutStr(line, chunk, out);
        n -= chunk;
    }
}

static const char *param(FCGX_Request *req, const char *name)
{
    const char *v = FCGX_GetParam(name, req->envp);
    return v ? v : "";
}

/* Serves one request; returns nonzero when the process should exit. */
static int serve(FCGX_Request *req)
{
    char *query = strdup(param(req, "QUERY_STRING"));
    char *save = NULL, *body = NULL;
    int mode_body = 0, crash = 0, quit = 0, status = 0;
    long big = -1;
    const char *only = NULL;
    const char *errtext = NULL;
    int pid = 0;

    for (char *tok = strtok_r(query, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        if (strcmp(tok, "body") == 0)
            mode_body = 1;
        else if (strncmp(tok, "big=", 4) == 0)
            big = atol(tok + 4);
        else if (strncmp(tok, "param=", 6) == 0)
            only = tok + 6;
        else if (strncmp(tok, "stderr=", 7) == 0)
            errtext = tok + 7;
        else if (strncmp(tok, "sleep=", 6) == 0)
            pause_ms(atol(tok + 6));
        else if (strncmp(tok, "status=", 7) == 0)
            status = atoi(tok + 7);
        else if (strcmp(tok, "crash") == 0)
            crash = 1;
        else if (strcmp(tok, "exit") == 0)
            quit = 1;
        else if (strcmp(tok, "pid") == 0)
            pid = 1;
    }

    size_t body_len = read_body(req->in, &body);
    FCGX_PutS("Content-type: text/plain\r\n\r\n", req->out);
    if (errtext)
        FCGX_FPrintF(req->err, "%s\n", errtext);
    if (crash) {
        FCGX_PutS("partial response\n", req->out);
        FCGX_FFlush(req->out);
        remove_pidfile();
        _exit(99);
    }
    if (big >= 0) {
        put_pattern(req->out, big);
    } else if (mode_body) {
        FCGX_PutStr(body, (int)body_len, req->out);
    } else if (pid) {
        FCGX_FPrintF(req->out, "%ld\n", (long)getpid());
    } else if (only) {
        FCGX_FPrintF(req->out, "%s\n", param(req, only));
    } else {
        for (char **e = req->envp; *e; ++e)
            FCGX_FPrintF(req->out, "%s\n", *e);
        FCGX_FPrintF(req->out, "STDIN-LENGTH=%lu\n", (unsigned long)body_len);
        FCGX_PutStr(body, (int)body_len, req->out);
    }
    FCGX_SetExitStatus(status, req->out);
    free(body);
    free(query);
    return quit;
}

int main(int argc, char **argv)
{
    int sock = 0;
    FCGX_Request req;
    const char *piddir = getenv("APP_PIDDIR");

    if (piddir) {
        snprintf(pidfile, sizeof pidfile, "%s/%ld", piddir, (long)getpid());
        FILE *f = fopen(pidfile, "w");
        if (f)
            fclose(f);
        atexit(remove_pidfile);
    }

    if (FCGX_Init() != 0) {
        fprintf(stderr, "app: FCGX_Init failed\n");
        return 70;
    }
    if (argc > 1) {
        sock = FCGX_OpenSocket(argv[1], 16);
        if (sock < 0) {
            perror(argv[1]);
            return 71;
        }
    }
    if (FCGX_InitRequest(&req, sock, 0) != 0)
        return 70;
    while (FCGX_Accept_r(&req) >= 0) {
        int quit = serve(&req);
        FCGX_Finish_r(&req);
        if (quit)
            break;
    }
    FCGX_Free(&req, 1);
    return 0;
}
