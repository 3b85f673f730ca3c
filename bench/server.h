/*
 * server.h: what the benchmark's two responders share, bench/app (on
 * libfcgi) and bench/limit (on raw sockets): the listening socket run.sh
 * asks for, and the peak RSS report.
 */
#ifndef FCGI_BENCH_SERVER_H
#define FCGI_BENCH_SERVER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"

/*
 * Binds and listens on address (see address.h); once listening, writes the
 * port (0 for a Unix socket) to portfile, if any, under a temporary name
 * first, so that run.sh never reads half of it.  Exits 2 on failure, with a
 * message naming prog.  Returns the listening socket.
 */
static inline int
bench_listen(const char *prog, const char *address, const char *portfile)
{
    struct bench_address addr;
    int fd, one = 1;

    if (bench_address_parse(address, &addr) != 0)
        exit(2);
    if (addr.u.sa.sa_family == AF_UNIX)
        unlink(addr.u.un.sun_path);
    fd = socket(addr.u.sa.sa_family, SOCK_STREAM, 0);
    if (fd < 0) {
        fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
        exit(2);
    }
    if (addr.u.sa.sa_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, &addr.u.sa, addr.len) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, address, strerror(errno));
        exit(2);
    }
    addr.len = sizeof(addr.u);
    getsockname(fd, &addr.u.sa, &addr.len);
    if (portfile != NULL) {
        char tmp[4096];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
        f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%d\n", bench_address_port(&addr)) < 0
            || fclose(f) != 0 || rename(tmp, portfile) != 0) {
            fprintf(stderr, "%s: cannot write %s\n", prog, portfile);
            exit(2);
        }
    }
    return fd;
}

/* Prints the process's peak resident set (VmHWM) to stderr for run.sh. */
static inline void
bench_print_rss(void)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0)
            fprintf(stderr, "vmhwm_kb=%ld\n", strtol(line + 6, NULL, 10));
    fclose(f);
}

#endif
