/*
 * diffstdio.c: the fcgi_stdio application of the differential test
 * (run.sh): what diffapp.c does, written as a converted CGI program.
 *
 * Usage: diffstdio SOCKET COUNT
 * Listens on SOCKET, moves it to fd 0 as a process manager would, serves
 * COUNT requests through FCGI_Accept and stdio, exits 0.  It uses only
 * what the reference libfcgi 2.4.2 supports.
 */
#include "fcgi_stdio.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void
respond(void)
{
    const char *mode = getenv("MODE");
    const char *status = getenv("STATUS");
    const char *role = getenv("FCGI_ROLE");
    char buf[1000];
    char **e;
    long total = 0;
    size_t n;

    if (role != NULL && strcmp(role, "AUTHORIZER") == 0) {
        const char *user = getenv("REMOTE_USER");

        if (user != NULL && strcmp(user, "alice") == 0)
            printf("Status: 200\r\nVariable-AUTH_USER: %s\r\n\r\n", user);
        else
            fputs("Status: 403\r\n\r\ndenied\n", stdout);
        return;
    }

    printf("Content-Type: text/plain\r\n\r\n");
    for (e = environ; *e != NULL; e++)
        printf("env %s\n", *e);

    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
        fwrite(buf, 1, n, stdout);
        total += (long)n;
    }
    printf("\nstdin %ld bytes, eof %d\n", total, feof(stdin) != 0);
    printf("%d|%5d|%-5d|%s|%.3s|%x|%X|%o|%c|%%\n", -17, 42, 42, "text",
           "truncated", 48879, 48879, 8, 'z');
    putchar('#');
    puts(" puts adds a newline");

    if (mode != NULL && strcmp(mode, "stderr") == 0) {
        fputs("a warning\n", stderr);
        fprintf(stderr, "code %d\n", 42);
    }
    if (status != NULL)
        FCGI_SetExitStatus(atoi(status));
}

int
main(int argc, char **argv)
{
    int count;
    int fd;
    int i;

    if (argc != 3)
        return 2;
    count = atoi(argv[2]);
    fd = FCGX_OpenSocket(argv[1], 5);
    if (fd < 0 || dup2(fd, 0) != 0)
        return 3;
    close(fd);
    for (i = 0; i < count; i++) {
        if (FCGI_Accept() < 0)
            return 4;
        respond();
    }
    FCGI_Finish();
    return 0;
}
