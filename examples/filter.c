/*
 * filter.c: a FastCGI filter (FCGI_ROLE=FILTER), written with fcgi_stdio.h.
 *
 * The web server sends the request body on stdin and then the file to be
 * filtered (FCGI_DATA_LENGTH bytes) on the data stream.  This program
 * reads the body to its end, switches stdin to the data with
 * FCGI_StartFilterData, and answers with the file's bytes upper-cased.  A
 * header X-Stdin-Length tells how many body bytes it read.  The program
 * serves on the listening socket on fd 0, or on the socket named by
 * FCGI_LISTEN_ADDR when that is set.
 */
#include "fcgi_stdio.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    const char *addr = getenv("FCGI_LISTEN_ADDR");

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
        const char *role = getenv("FCGI_ROLE");
        const char *data_len = getenv("FCGI_DATA_LENGTH");
        long left = data_len ? strtol(data_len, NULL, 10) : -1;
        long body = 0;
        char chunk[4096];
        size_t n;

        if (!role || strcmp(role, "FILTER") != 0) {
            printf("Status: 500 Internal Server Error\r\n"
                   "Content-type: text/plain\r\n\r\n"
                   "filter: run in the %s role, not FILTER\n", role ? role : "CGI");
            continue;
        }
        /* The data stream can only be read once stdin is at its end. */
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            body += (long)n;
        if (FCGI_StartFilterData() != 0) {
            printf("Status: 500 Internal Server Error\r\n"
                   "Content-type: text/plain\r\n\r\n"
                   "filter: the data stream cannot be started\n");
            continue;
        }

        printf("Content-type: text/plain\r\n"
               "X-Stdin-Length: %ld\r\n\r\n", body);
        while (left != 0) {
            size_t want = left < 0 || left > (long)sizeof chunk ? sizeof chunk : (size_t)left;
            size_t i;

            n = fread(chunk, 1, want, stdin);
            if (n == 0)
                break;
            for (i = 0; i < n; ++i)
                chunk[i] = (char)toupper((unsigned char)chunk[i]);
            fwrite(chunk, 1, n, stdout);
            if (left > 0)
                left -= (long)n;
        }
    }
    return 0;
}
