/*
 * rawapp.c: a stand-in FastCGI application that answers one connection
 * with hand-made records, so the tests can show cgi-fcgi responses no
 * libfcgi application would send.
 *
 * Usage: rawapp SOCKET-PATH SCENARIO [REPORT-FILE]
 *
 * It listens on SOCKET-PATH, reads one request (through the empty
 * FCGI_STDIN record, or one FCGI_GET_VALUES record), answers as SCENARIO
 * says and exits.  With REPORT-FILE it writes there what it received:
 *   REC type id content-length padding   one line per record
 *   PAIR name value-length               one line per FCGI_PARAMS pair
 *   STRADDLE name                        a pair that crossed a record
 *                                        boundary although it would have
 *                                        fitted in one record
 *   STDIN n                              bytes of request body
 * It exits 0 when it answered, 2 on bad usage, 3 on a socket error or when
 * no request came within 20 seconds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { T_BEGIN = 1, T_END = 3, T_PARAMS = 4, T_STDIN = 5, T_STDOUT = 6, T_STDERR = 7,
       T_GET_VALUES = 9, T_VALUES_RESULT = 10, T_UNKNOWN = 11 };

static unsigned char *req;
static size_t req_len, req_cap;

static void die(const char *what)
{
    perror(what);
    exit(3);
}

/* Appends a record with content c[0..n) and padding to 8 to *buf. */
static size_t rec(unsigned char *buf, int version, int type, int id, const void *c, size_t n)
{
    size_t pad = (8 - n % 8) % 8;
    buf[0] = (unsigned char)version;
    buf[1] = (unsigned char)type;
    buf[2] = (unsigned char)(id >> 8);
    buf[3] = (unsigned char)id;
    buf[4] = (unsigned char)(n >> 8);
    buf[5] = (unsigned char)n;
    buf[6] = (unsigned char)pad;
    buf[7] = 0;
    memcpy(buf + 8, c, n);
    memset(buf + 8 + n, 0, pad);
    return 8 + n + pad;
}

static size_t end_request(unsigned char *buf, int id, unsigned status, int proto)
{
    unsigned char body[8] = {(unsigned char)(status >> 24), (unsigned char)(status >> 16),
                             (unsigned char)(status >> 8), (unsigned char)status,
                             (unsigned char)proto, 0, 0, 0};
    return rec(buf, 1, T_END, id, body, 8);
}

static void send_all(int fd, const unsigned char *p, size_t n, int bytewise)
{
    while (n > 0) {
        ssize_t w = send(fd, p, bytewise ? 1 : n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* the client is gone; nothing to report to */
        }
        if (bytewise)
            usleep(200);
        p += w;
        n -= (size_t)w;
    }
}

/* Reads until the request is complete: 1 when it is, 0 at EOF. */
static int read_request(int fd)
{
    for (;;) {
        size_t pos = 0;
        while (pos + 8 <= req_len) {
            size_t clen = (size_t)req[pos + 4] << 8 | req[pos + 5];
            size_t total = 8 + clen + req[pos + 6];
            if (pos + total > req_len)
                break;
            if ((req[pos + 1] == T_STDIN && clen == 0) || req[pos + 1] == T_GET_VALUES)
                return 1;
            pos += total;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20000) <= 0)
            return 0;
        if (req_cap - req_len < 65536) {
            req_cap = req_cap ? req_cap * 2 : 1 << 20;
            req = realloc(req, req_cap);
            if (!req)
                die("realloc");
        }
        ssize_t r = read(fd, req + req_len, req_cap - req_len);
        if (r <= 0)
            return 0;
        req_len += (size_t)r;
    }
}

static size_t get_len(const unsigned char *p, size_t *used)
{
    if (!(p[0] & 0x80)) {
        *used = 1;
        return p[0];
    }
    *used = 4;
    return (size_t)(p[0] & 0x7f) << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* Writes the report: records, then the PARAMS stream decoded as a whole. */
static void report(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die(path);
    unsigned char *params = malloc(req_len + 1);
    size_t *bounds = malloc((req_len / 8 + 2) * sizeof *bounds); /* record ends */
    size_t plen = 0, nbounds = 0, stdin_len = 0;
    if (!params || !bounds)
        die("malloc");
    for (size_t pos = 0; pos + 8 <= req_len;) {
        const unsigned char *h = req + pos;
        size_t clen = (size_t)h[4] << 8 | h[5];
        fprintf(f, "REC %d %d %zu %d\n", h[1], h[2] << 8 | h[3], clen, h[6]);
        if (h[1] == T_PARAMS && clen > 0) {
            memcpy(params + plen, h + 8, clen);
            plen += clen;
            bounds[nbounds++] = plen;
        }
        if (h[1] == T_STDIN)
            stdin_len += clen;
        pos += 8 + clen + h[6];
    }
    for (size_t pos = 0, b = 0; pos < plen;) {
        size_t u1, u2;
        size_t start = pos;
        size_t nlen = get_len(params + pos, &u1);
        size_t vlen = get_len(params + pos + u1, &u2);
        size_t size = u1 + u2 + nlen + vlen;
        fprintf(f, "PAIR %.*s %zu\n", (int)nlen, params + pos + u1 + u2, vlen);
        while (b < nbounds && bounds[b] <= start)
            ++b;
        if (size <= 65535 && b < nbounds && start + size > bounds[b])
            fprintf(f, "STRADDLE %.*s\n", (int)nlen, params + pos + u1 + u2);
        pos += size;
    }
    fprintf(f, "STDIN %zu\n", stdin_len);
    fclose(f);
    free(params);
    free(bounds);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rawapp SOCKET-PATH SCENARIO [REPORT-FILE]\n");
        return 2;
    }
    const char *scenario = argv[2];
    struct sockaddr_un un = {0};
    un.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof un.sun_path)
        return 2;
    strcpy(un.sun_path, argv[1]);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&un, sizeof un) < 0 || listen(ls, 4) < 0)
        die(argv[1]);
    struct pollfd lp = {ls, POLLIN, 0};
    if (poll(&lp, 1, 20000) <= 0)
        return 3;
    int fd = accept(ls, NULL, NULL);
    if (fd < 0)
        die("accept");
    if (!read_request(fd))
        return 3;
    if (argc > 3)
        report(argv[3]);

    static unsigned char out[1 << 16];
    size_t n = 0;
    int bytewise = 0;
    if (strcmp(scenario, "ok") == 0) {
        n += rec(out + n, 1, T_STDOUT, 1, "ok\n", 3);
        n += rec(out + n, 1, T_STDOUT, 1, "", 0);
        n += end_request(out + n, 1, 0, 0);
    } else if (strcmp(scenario, "split") == 0) {
        /* A good response, one byte per write: any split must work. */
        bytewise = 1;
        n += rec(out + n, 1, T_STDOUT, 1, "Status: 200\r\n\r\nsplit body\n", 26);
        n += rec(out + n, 1, T_STDERR, 1, "split stderr\n", 13);
        n += rec(out + n, 1, T_STDERR, 1, "", 0);
        n += rec(out + n, 1, T_STDOUT, 1, "", 0);
        n += end_request(out + n, 1, 42, 0);
    } else if (strcmp(scenario, "truncated") == 0) {
        n += rec(out + n, 1, T_STDOUT, 1, "partial\n", 8);
    } else if (strcmp(scenario, "midrecord") == 0) {
        n += rec(out + n, 1, T_STDOUT, 1, "0123456789abcdef", 16);
        n -= 10; /* cut inside the content */
    } else if (strcmp(scenario, "version") == 0) {
        n += rec(out + n, 2, T_STDOUT, 1, "v2\n", 3);
        n += end_request(out + n, 1, 0, 0);
    } else if (strcmp(scenario, "wrongid") == 0) {
        n += rec(out + n, 1, T_STDOUT, 2, "id2\n", 4);
        n += end_request(out + n, 1, 0, 0);
    } else if (strcmp(scenario, "badtype") == 0) {
        n += rec(out + n, 1, T_PARAMS, 1, "\1\1AB", 4);
        n += end_request(out + n, 1, 0, 0);
    } else if (strcmp(scenario, "endshort") == 0) {
        n += rec(out + n, 1, T_END, 1, "\0\0\0\0", 4);
    } else if (strcmp(scenario, "overloaded") == 0) {
        n += end_request(out + n, 1, 0, 2);
    } else if (strcmp(scenario, "unknowntype") == 0) {
        n += rec(out + n, 1, T_UNKNOWN, 0, "\x63\0\0\0\0\0\0\0", 8);
        n += end_request(out + n, 1, 0, 0);
    } else if (strcmp(scenario, "aftereos") == 0) {
        n += rec(out + n, 1, T_STDOUT, 1, "", 0);
        n += rec(out + n, 1, T_STDOUT, 1, "late\n", 5);
        n += end_request(out + n, 1, 0, 0);
    } else if (strcmp(scenario, "values") == 0) {
        /* Out of order, an extra name, split byte by byte. */
        static const char body[] =
            "\x0f\x01" "FCGI_MPXS_CONNS" "1"
            "\x05\x02" "OTHER" "xx"
            "\x0d\x02" "FCGI_MAX_REQS" "50"
            "\x0e\x02" "FCGI_MAX_CONNS" "10";
        bytewise = 1;
        n += rec(out + n, 1, T_VALUES_RESULT, 0, body, sizeof body - 1);
    } else if (strcmp(scenario, "values-unknown") == 0) {
        n += rec(out + n, 1, T_UNKNOWN, 0, "\x09\0\0\0\0\0\0\0", 8);
    } else if (strcmp(scenario, "values-bad") == 0) {
        n += rec(out + n, 1, T_VALUES_RESULT, 0, "\x0e\x7f" "FCGI_MAX_CONNS", 16);
    } else if (strcmp(scenario, "silent") == 0) {
        /* Never answer; exit when the client gives up. */
        char c;
        while (read(fd, &c, 1) > 0)
            ;
    } else {
        fprintf(stderr, "rawapp: unknown scenario %s\n", scenario);
        return 2;
    }
    send_all(fd, out, n, bytewise);
    close(fd);
    unlink(argv[1]);
    free(req);
    return 0;
}
