/*
 * echo.c: a CGI program that also runs as a FastCGI responder, written
 * with fcgi_stdio.h.
 *
 * Each response is plain text: a request counter, the environment the
 * request sees, then the request body (CONTENT_LENGTH bytes) as it came.
 * Started with a FastCGI listening socket on fd 0 (cgi-fcgi -start, a web
 * server, or systemd) it serves request after request; started any other
 * way it answers the one CGI request and exits.
 *
 * FCGI_LISTEN_ADDR, when set, names a socket to listen on instead of fd 0
 * ("/path", "host:port", ...); the tests use it.
 */
#include "fcgi_stdio.h"

#include <stdlib.h>
#include <unistd.h>

extern char **environ;

/* Copies up to len bytes of the body to the response; returns the count. */
static long echo_body(long len)
{
    char chunk[4096];
    long done = 0;

    while (done < len) {
        size_t want = len - done < (long)sizeof chunk ? (size_t)(len - done) : sizeof chunk;
        size_t got = fread(chunk, 1, want, stdin);
        if (got == 0)
            break;
        fwrite(chunk, 1, got, stdout);
        done += (long)got;
    }
    return done;
}

int main(void)
{
    const char *addr = getenv("FCGI_LISTEN_ADDR");
    int count = 0;

    if (addr && *addr) {
        int fd = FCGX_OpenSocket(addr, 16);
        if (fd < 0 || dup2(fd, 0) < 0) {
            perror(addr);
            return 1;
        }
        if (fd != 0)
            close(fd);
    }

    while (FCGI_Accept() >= 0) {
        const char *cl = getenv("CONTENT_LENGTH");
        long len = cl ? strtol(cl, NULL, 10) : 0;
        char **p;

        if (len < 0)
            len = 0;
        printf("Content-type: text/plain\r\n\r\n");
        printf("echo: request number %d, process %ld\n", ++count, (long)getpid());
        printf("Environment:\n");
        for (p = environ; p && *p; ++p)
            printf("%s\n", *p);
        printf("Body (%ld bytes):\n", len);
        if (echo_body(len) < len)
            printf("\n(the body ended early)\n");
    }
    return 0;
}
