/*
 * address.h: the socket addresses the benchmark programs accept.
 *
 *   /path/to/socket   a Unix socket (anything with a '/' or without ':')
 *   HOST:PORT         IPv4; an empty HOST means 127.0.0.1
 *   [HOST]:PORT       IPv6, e.g. [::1]:9000
 */
#ifndef FCGI_BENCH_ADDRESS_H
#define FCGI_BENCH_ADDRESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

struct bench_address {
    union {
        struct sockaddr sa;
        struct sockaddr_un un;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len;
};

/* Fill addr from text; 0 on success, -1 (with a message on stderr) if not. */
static inline int
bench_address_parse(const char *text, struct bench_address *addr)
{
    const char *colon = strrchr(text, ':');
    char host[256];
    size_t hlen;
    long port;

    memset(addr, 0, sizeof(*addr));
    if (colon == NULL || strchr(text, '/') != NULL) {
        if (strlen(text) >= sizeof(addr->u.un.sun_path)) {
            fprintf(stderr, "socket path too long: %s\n", text);
            return -1;
        }
        addr->u.un.sun_family = AF_UNIX;
        strcpy(addr->u.un.sun_path, text);
        addr->len = sizeof(addr->u.un);
        return 0;
    }
    hlen = (size_t)(colon - text);
    port = strtol(colon + 1, NULL, 10);
    if (hlen >= sizeof(host) || port < 0 || port > 65535) {
        fprintf(stderr, "bad address: %s\n", text);
        return -1;
    }
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        addr->u.in6.sin6_family = AF_INET6;
        addr->u.in6.sin6_port = htons((unsigned short)port);
        addr->len = sizeof(addr->u.in6);
        if (inet_pton(AF_INET6, host + 1, &addr->u.in6.sin6_addr) == 1)
            return 0;
    } else {
        addr->u.in.sin_family = AF_INET;
        addr->u.in.sin_port = htons((unsigned short)port);
        addr->len = sizeof(addr->u.in);
        if (inet_pton(AF_INET, hlen > 0 ? host : "127.0.0.1",
                      &addr->u.in.sin_addr) == 1)
            return 0;
    }
    fprintf(stderr, "bad address: %s\n", text);
    return -1;
}

/* The port of a bound or parsed internet address, 0 for a Unix socket. */
static inline int
bench_address_port(const struct bench_address *addr)
{
    switch (addr->u.sa.sa_family) {
    case AF_INET:
        return ntohs(addr->u.in.sin_port);
    case AF_INET6:
        return ntohs(addr->u.in6.sin6_port);
    default:
        return 0;
    }
}

#endif
