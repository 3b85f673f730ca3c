/*
 * notify-recv.c: a stand-in for systemd's notification socket, for the
 * cgi-fcgi -supervise tests (python is not everywhere).
 *
 * Usage: notify-recv NAME SECONDS
 *   Binds a Unix datagram socket to NAME (a path, or an abstract name when
 *   NAME starts with '@'), prints "bound" once it is, then prints each
 *   datagram it receives on a line of its own.  Exits 0 after a datagram
 *   holding the line READY=1, 1 when SECONDS pass without one, 2 on errors.
 *   A path socket is removed on exit.
 */
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A READY=1 line among the newline-separated assignments of msg. */
static int has_ready(const char *msg)
{
    const char *p = msg;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == 7 && memcmp(p, "READY=1", 7) == 0)
            return 1;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: notify-recv NAME SECONDS\n");
        return 2;
    }
    const char *name = argv[1];
    long long end = now_ms() + atol(argv[2]) * 1000;
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof un.sun_path) {
        fprintf(stderr, "notify-recv: bad name %s\n", name);
        return 2;
    }
    memcpy(un.sun_path, name, len);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    int abstract = name[0] == '@';
    if (abstract)
        un.sun_path[0] = '\0';
    else
        alen++;
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&un, alen) != 0) {
        perror("notify-recv: bind");
        return 2;
    }
    printf("bound\n");
    fflush(stdout);

    int rc = 1;
    for (;;) {
        long long left = end - now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {s, POLLIN, 0};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        char buf[4097];
        ssize_t n = recv(s, buf, sizeof buf - 1, 0);
        if (n < 0)
            continue;
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
        if (has_ready(buf)) {
            rc = 0;
            break;
        }
    }
    close(s);
    if (!abstract)
        unlink(name);
    return rc;
}
