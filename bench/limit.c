/*
 * limit.c: the physical limit for the hello-world scenarios of `make bench`
 * (run.sh): a FastCGI responder with no library at all, doing one read()
 * and one write() per request on a kept connection.
 *
 * Usage: limit [-l ADDRESS [-P PORTFILE]] [-n COUNT] [-r]
 *
 *   -l ADDRESS   listen on ADDRESS: a Unix socket path, HOST:PORT (IPv4) or
 *                [HOST]:PORT (IPv6); PORT 0 picks a free port.  Without -l
 *                the listening socket is fd 0, as for bench/app.
 *   -P PORTFILE  once listening, write the port (0 for a Unix socket) to
 *                PORTFILE.
 *   -n COUNT     exit 0 once COUNT responses are written.
 *   -r           on that exit, print the peak resident set (VmHWM) to stderr.
 *
 * Single-threaded, blocking sockets, one connection at a time: accept, then
 * per request read() into a buffer until the request's empty FCGI_STDIN
 * record has arrived (one read in the common case; records split across
 * reads and several records in one read are decoded all the same), then
 * one write() of a canned response, byte for byte what bench/app sends
 * for mode=hello through the reference libfcgi 2.4.2: FCGI_STDOUT with the
 * head and "Hello, world!\n" (padded to 8), the empty FCGI_STDOUT and
 * FCGI_END_REQUEST (app status 0, FCGI_REQUEST_COMPLETE), all carrying the
 * request's id.  Then the next request when BEGIN_REQUEST had
 * FCGI_KEEP_CONN, close() when not.
 *
 * It reads no params: every request gets the hello answer, whatever its
 * QUERY_STRING (so bench/client -r big, echo or split rejects it).  It
 * takes one request at a time on a connection.  Anything else closes the
 * connection, and the next one is accepted: a bad version, a record of
 * another type than BEGIN_REQUEST, PARAMS or STDIN (management records,
 * ABORT_REQUEST and FCGI_DATA included), a record for another request id
 * than the one being read, a role other than FCGI_RESPONDER, a
 * BEGIN_REQUEST whose content is not 8 bytes, and end of file or an error
 * before the request is complete.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

enum {
    FCGI_VERSION = 1,
    TYPE_BEGIN_REQUEST = 1,
    TYPE_END_REQUEST = 3,
    TYPE_PARAMS = 4,
    TYPE_STDIN = 5,
    TYPE_STDOUT = 6,
    ROLE_RESPONDER = 1,
    FLAG_KEEP_CONN = 1,
    HEADER_LEN = 8,
    READ_BUF = 64 * 1024
};

/* The decoder of one connection; records may arrive in any pieces. */
struct conn {
    unsigned char hdr[HEADER_LEN];
    size_t hlen;                /* header bytes so far; 8 = in the content */
    int type;
    unsigned id;
    size_t clen;                /* the record's content length */
    size_t content_left;
    size_t pad_left;
    unsigned char begin[8];     /* BEGIN_REQUEST content */
    size_t blen;
    unsigned active;            /* the request being read; 0 = none yet */
    int keep;                   /* its FCGI_KEEP_CONN */
};

static unsigned char buf[READ_BUF];

/* The response, made once; the id goes in at id_at[] before each write. */
static unsigned char response[256];
static size_t response_len;
static size_t id_at[3];

static long limit;              /* -n; 0 = serve forever */
static long served;
static int report_rss;

static void
put_header(int type, size_t clen, size_t pad, int slot)
{
    unsigned char *h = response + response_len;

    id_at[slot] = response_len + 2;
    h[0] = FCGI_VERSION;
    h[1] = (unsigned char)type;
    h[2] = 0;
    h[3] = 0;
    h[4] = (unsigned char)(clen >> 8);
    h[5] = (unsigned char)clen;
    h[6] = (unsigned char)pad;
    h[7] = 0;
    response_len += HEADER_LEN;
}

static void
make_response(void)
{
    static const char hello[] = "Hello, world!\n";
    char body[128];
    int n;
    size_t pad;

    n = snprintf(body, sizeof(body),
                 "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
                 (int)(sizeof(hello) - 1), hello);
    pad = (8 - (size_t)n % 8) % 8;
    put_header(TYPE_STDOUT, (size_t)n, pad, 0);
    memcpy(response + response_len, body, (size_t)n);
    response_len += (size_t)n;
    memset(response + response_len, 0, pad);
    response_len += pad;
    put_header(TYPE_STDOUT, 0, 0, 1);
    put_header(TYPE_END_REQUEST, 8, 0, 2);
    /* appStatus 0, protocolStatus FCGI_REQUEST_COMPLETE (0), reserved */
    memset(response + response_len, 0, 8);
    response_len += 8;
}

/*
 * Decode up to n bytes at p; *used says how many were taken.  Returns 1
 * when the active request's empty FCGI_STDIN record (padding included) has
 * just ended, 0 when all n bytes were taken and more are needed, -1 on
 * anything this responder does not take (see the top of the file).
 */
static int
decode(struct conn *c, const unsigned char *p, size_t n, size_t *used)
{
    const unsigned char *start = p;
    size_t take;

    while (n > 0) {
        if (c->hlen < HEADER_LEN) {
            take = HEADER_LEN - c->hlen < n ? HEADER_LEN - c->hlen : n;
            memcpy(c->hdr + c->hlen, p, take);
            c->hlen += take;
            p += take;
            n -= take;
            if (c->hlen < HEADER_LEN)
                break;
            if (c->hdr[0] != FCGI_VERSION)
                return -1;
            c->type = c->hdr[1];
            c->id = (unsigned)c->hdr[2] << 8 | c->hdr[3];
            c->clen = (size_t)c->hdr[4] << 8 | c->hdr[5];
            c->content_left = c->clen;
            c->pad_left = c->hdr[6];
            switch (c->type) {
            case TYPE_BEGIN_REQUEST:
                if (c->active != 0 || c->id == 0 || c->clen != sizeof(c->begin))
                    return -1;
                c->blen = 0;
                break;
            case TYPE_PARAMS:
            case TYPE_STDIN:
                if (c->active == 0 || c->id != c->active)
                    return -1;
                break;
            default:
                return -1;
            }
        }
        /* Content: BEGIN_REQUEST's is kept, the streams' skipped. */
        take = c->content_left < n ? c->content_left : n;
        if (c->type == TYPE_BEGIN_REQUEST) {
            memcpy(c->begin + c->blen, p, take);
            c->blen += take;
        }
        c->content_left -= take;
        p += take;
        n -= take;
        if (c->content_left == 0) {
            take = c->pad_left < n ? c->pad_left : n;
            c->pad_left -= take;
            p += take;
            n -= take;
        }
        if (c->content_left > 0 || c->pad_left > 0)
            break;
        /* The record is complete. */
        c->hlen = 0;
        if (c->type == TYPE_BEGIN_REQUEST) {
            if (((unsigned)c->begin[0] << 8 | c->begin[1]) != ROLE_RESPONDER)
                return -1;
            c->active = c->id;
            c->keep = (c->begin[2] & FLAG_KEEP_CONN) != 0;
        } else if (c->type == TYPE_STDIN && c->clen == 0) {
            *used = (size_t)(p - start);
            return 1;
        }
    }
    *used = (size_t)(p - start);
    return 0;
}

/* The canned response for request id, in one write. */
static int
respond(int fd, unsigned id)
{
    size_t off = 0;
    int i;

    for (i = 0; i < 3; i++) {
        response[id_at[i]] = (unsigned char)(id >> 8);
        response[id_at[i] + 1] = (unsigned char)id;
    }
    while (off < response_len) {
        ssize_t w = write(fd, response + off, response_len - off);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/* Serve the requests of one connection, then close it. */
static void
serve(int fd)
{
    struct conn c;
    size_t off = 0, len = 0, used;
    int r;

    memset(&c, 0, sizeof(c));
    for (;;) {
        if (off == len) {
            ssize_t n = read(fd, buf, sizeof(buf));

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;          /* end of file or error: drop it */
            off = 0;
            len = (size_t)n;
        }
        r = decode(&c, buf + off, len - off, &used);
        off += used;
        if (r < 0)
            break;
        if (r == 0)
            continue;
        if (respond(fd, c.active) != 0)
            break;
        if (limit > 0 && ++served >= limit) {
            if (report_rss)
                bench_print_rss();
            exit(0);
        }
        if (!c.keep)
            break;
        c.active = 0;           /* the next request may follow in buf */
    }
    close(fd);
}

static void
usage(void)
{
    fprintf(stderr, "usage: limit [-l ADDRESS [-P PORTFILE]] [-n COUNT] [-r]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *address = NULL, *portfile = NULL;
    char *end;
    int c, lfd = 0;

    while ((c = getopt(argc, argv, "l:P:n:r")) != -1) {
        switch (c) {
        case 'l': address = optarg; break;
        case 'P': portfile = optarg; break;
        case 'n':
            errno = 0;
            limit = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || limit < 0)
                usage();
            break;
        case 'r': report_rss = 1; break;
        default: usage();
        }
    }
    if (optind != argc)
        usage();
    signal(SIGPIPE, SIG_IGN);   /* a peer gone mid-write: EPIPE, not death */
    make_response();
    if (address != NULL)
        lfd = bench_listen("limit", address, portfile);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);

        if (fd >= 0) {
            serve(fd);
            continue;
        }
        switch (errno) {
        case EBADF: case EINVAL: case ENOTSOCK: case EOPNOTSUPP: case EFAULT:
            fprintf(stderr, "limit: accept: %s\n", strerror(errno));
            return 1;
        default:
            break;          /* EINTR, ECONNABORTED, EMFILE, ...: go on */
        }
    }
}
