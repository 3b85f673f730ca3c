/*
 * Small network helpers for the web-server tests, so the scripts need no
 * interpreter beyond sh:
 *
 *   srvtool port ADDR [N]          print N (1) distinct TCP ports free on ADDR
 *   srvtool wait TARGET SECONDS    wait until TARGET accepts a connection
 *   srvtool request [-from SRC] [-delay MS] TARGET URI
 *                                  one FastCGI RESPONDER request (GET URI),
 *                                  written from scratch on a raw socket; the
 *                                  application's stdout goes to stdout;
 *                                  -delay waits between connect and send
 *   srvtool values TARGET          FCGI_GET_VALUES for FCGI_MAX_CONNS,
 *                                  FCGI_MAX_REQS and FCGI_MPXS_CONNS; prints
 *                                  the answer as NAME=VALUE lines
 *
 * TARGET is "host:port" (IPv4) or a Unix socket path (anything with a '/').
 * request exits 0 when the application ended the request, 3 when the
 * connection was closed or reset before any record came back (a refused
 * peer), 1 on other failures.  Everything is bounded by a 5 s timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { kTimeoutMs = 5000 };

static int is_unix(const char *target)
{
    return strchr(target, '/') != NULL;
}

static int make_addr(const char *target, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (is_unix(target)) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        if (strlen(target) >= sizeof un->sun_path)
            return -1;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, target);
        *len = sizeof *un;
        return 0;
    }
    char host[64];
    const char *colon = strrchr(target, ':');
    if (!colon || (size_t)(colon - target) >= sizeof host)
        return -1;
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
        return -1;
    *len = sizeof *in;
    return 0;
}

static int cmd_port(const char *addr, int count)
{
    /* All bound at once, so the ports printed are distinct. */
    int fds[16];
    if (count < 1 || count > 16)
        return 2;
    for (int i = 0; i < count; i++) {
        struct sockaddr_in in = { .sin_family = AF_INET };
        socklen_t len = sizeof in;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || inet_pton(AF_INET, addr, &in.sin_addr) != 1 ||
            bind(fds[i], (struct sockaddr *)&in, sizeof in) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&in, &len) != 0) {
            perror("srvtool port");
            return 1;
        }
        printf("%u\n", ntohs(in.sin_port));
    }
    for (int i = 0; i < count; i++)
        close(fds[i]);
    return 0;
}

static int connect_to(const char *target, const char *from)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (make_addr(target, &ss, &len) != 0) {
        fprintf(stderr, "srvtool: bad target %s\n", target);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (from) {
        struct sockaddr_in src = { .sin_family = AF_INET };
        if (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            perror("srvtool: bind source");
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int cmd_wait(const char *target, double seconds)
{
    struct timespec pause = { 0, 50 * 1000000L };
    for (double waited = 0; waited < seconds; waited += 0.05) {
        int fd = connect_to(target, NULL);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        nanosleep(&pause, NULL);
    }
    fprintf(stderr, "srvtool: nothing listens on %s after %.1f s\n", target, seconds);
    return 1;
}

/* Appends a FastCGI record (spec section 3.3) to buf at *pos. */
static void put_record(unsigned char *buf, size_t *pos, int type,
                       const void *content, size_t len)
{
    unsigned char *h = buf + *pos;
    h[0] = 1;                       /* FCGI_VERSION_1 */
    h[1] = (unsigned char)type;
    h[2] = 0;
    h[3] = 1;                       /* request id 1 */
    h[4] = (unsigned char)(len >> 8);
    h[5] = (unsigned char)len;
    h[6] = 0;                       /* no padding */
    h[7] = 0;
    memcpy(h + 8, content, len);
    *pos += 8 + len;
}

/* Appends a length: one byte below 128, else four with the top bit set. */
static void put_length(unsigned char *buf, size_t *pos, size_t len)
{
    if (len < 128) {
        buf[(*pos)++] = (unsigned char)len;
        return;
    }
    buf[(*pos)++] = (unsigned char)(0x80 | (len >> 24));
    buf[(*pos)++] = (unsigned char)(len >> 16);
    buf[(*pos)++] = (unsigned char)(len >> 8);
    buf[(*pos)++] = (unsigned char)len;
}

/* Appends a name-value pair (spec section 3.4). */
static void put_pair(unsigned char *buf, size_t *pos, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    put_length(buf, pos, n);
    put_length(buf, pos, v);
    memcpy(buf + *pos, name, n);
    memcpy(buf + *pos + n, value, v);
    *pos += n + v;
}

/* Reads exactly len bytes within the deadline: 1 done, 0 EOF or reset
 * before the first byte, -1 otherwise. */
static int read_full(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, kTimeoutMs) != 1) {
            fprintf(stderr, "srvtool: timed out waiting for the application\n");
            return -1;
        }
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return got == 0 && (n == 0 || errno == ECONNRESET) ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

static int cmd_request(const char *from, int delay_ms, const char *target, const char *uri)
{
    static unsigned char req[4096];
    unsigned char params[2048];
    unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 }; /* RESPONDER, no keep-conn */
    size_t pos = 0, plen = 0;
    char script[256], query[256];

    if (strlen(uri) >= sizeof script)
        return 1;
    snprintf(script, sizeof script, "%.*s", (int)strcspn(uri, "?"), uri);
    snprintf(query, sizeof query, "%s", uri[strcspn(uri, "?")] ? uri + strcspn(uri, "?") + 1 : "");
    put_pair(params, &plen, "REQUEST_METHOD", "GET");
    put_pair(params, &plen, "REQUEST_URI", uri);
    put_pair(params, &plen, "SCRIPT_NAME", script);
    put_pair(params, &plen, "QUERY_STRING", query);
    put_pair(params, &plen, "SERVER_PROTOCOL", "HTTP/1.1");
    put_pair(params, &plen, "GATEWAY_INTERFACE", "CGI/1.1");
    put_record(req, &pos, 1, begin, sizeof begin);  /* FCGI_BEGIN_REQUEST */
    put_record(req, &pos, 4, params, plen);         /* FCGI_PARAMS */
    put_record(req, &pos, 4, "", 0);
    put_record(req, &pos, 5, "", 0);                /* FCGI_STDIN, empty */

    int fd = connect_to(target, from);
    if (fd < 0) {
        fprintf(stderr, "srvtool: cannot connect to %s: %s\n", target, strerror(errno));
        return 1;
    }
    if (delay_ms > 0) {
        struct timespec ts = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    /* A refusing application may close before or while we write. */
    if (send(fd, req, pos, MSG_NOSIGNAL) != (ssize_t)pos && errno != ECONNRESET && errno != EPIPE) {
        perror("srvtool: send");
        return 1;
    }
    int records = 0;
    for (;;) {
        unsigned char h[8], body[65536 + 256];
        int r = read_full(fd, h, sizeof h);
        if (r == 0 && records == 0) {
            close(fd);
            return 3;
        }
        if (r != 1) {
            fprintf(stderr, "srvtool: connection ended before END_REQUEST\n");
            return 1;
        }
        size_t len = ((size_t)h[4] << 8 | h[5]) + h[6];
        if (len && read_full(fd, body, len) != 1) {
            fprintf(stderr, "srvtool: short record\n");
            return 1;
        }
        records++;
        size_t content = (size_t)h[4] << 8 | h[5];
        if (h[1] == 6)                              /* FCGI_STDOUT */
            fwrite(body, 1, content, stdout);
        else if (h[1] == 7)                         /* FCGI_STDERR */
            fwrite(body, 1, content, stderr);
        else if (h[1] == 3)                         /* FCGI_END_REQUEST */
            break;
    }
    close(fd);
    return fflush(stdout) != 0;
}

/* Reads one name-value length (spec section 3.4) at *pos of an n-byte
 * buffer; -1 when it runs past the end. */
static long get_length(const unsigned char *buf, size_t n, size_t *pos)
{
    if (*pos >= n)
        return -1;
    if (buf[*pos] < 128)
        return buf[(*pos)++];
    if (*pos + 4 > n)
        return -1;
    long len = (long)(buf[*pos] & 0x7f) << 24 | (long)buf[*pos + 1] << 16 |
               (long)buf[*pos + 2] << 8 | buf[*pos + 3];
    *pos += 4;
    return len;
}

static int cmd_values(const char *target)
{
    unsigned char req[256], names[128];
    size_t pos = 0, nlen = 0;
    put_pair(names, &nlen, "FCGI_MAX_CONNS", "");
    put_pair(names, &nlen, "FCGI_MAX_REQS", "");
    put_pair(names, &nlen, "FCGI_MPXS_CONNS", "");
    put_record(req, &pos, 9, names, nlen);           /* FCGI_GET_VALUES */
    req[3] = 0;                                      /* a management record: id 0 */

    int fd = connect_to(target, NULL);
    if (fd < 0) {
        fprintf(stderr, "srvtool: cannot connect to %s: %s\n", target, strerror(errno));
        return 1;
    }
    if (send(fd, req, pos, MSG_NOSIGNAL) != (ssize_t)pos) {
        perror("srvtool: send");
        close(fd);
        return 1;
    }
    unsigned char h[8], body[65536 + 256];
    if (read_full(fd, h, sizeof h) != 1) {
        fprintf(stderr, "srvtool: no answer to FCGI_GET_VALUES\n");
        close(fd);
        return 1;
    }
    size_t content = (size_t)h[4] << 8 | h[5];
    if (content + h[6] && read_full(fd, body, content + h[6]) != 1) {
        fprintf(stderr, "srvtool: short record\n");
        close(fd);
        return 1;
    }
    close(fd);
    if (h[1] != 10) {                                /* FCGI_GET_VALUES_RESULT */
        fprintf(stderr, "srvtool: answered with record type %d\n", h[1]);
        return 1;
    }
    for (size_t at = 0; at < content;) {
        long n = get_length(body, content, &at), v = get_length(body, content, &at);
        if (n < 0 || v < 0 || at + (size_t)n + (size_t)v > content) {
            fprintf(stderr, "srvtool: malformed FCGI_GET_VALUES_RESULT\n");
            return 1;
        }
        printf("%.*s=%.*s\n", (int)n, (const char *)body + at, (int)v,
               (const char *)body + at + n);
        at += (size_t)n + (size_t)v;
    }
    return fflush(stdout) != 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: srvtool port ADDR [N] | wait TARGET SECONDS |"
                    " request [-from SRC] [-delay MS] TARGET URI | values TARGET\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "port") == 0)
        return cmd_port(argv[2], 1);
    if (argc == 4 && strcmp(argv[1], "port") == 0)
        return cmd_port(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "wait") == 0)
        return cmd_wait(argv[2], atof(argv[3]));
    if (argc == 3 && strcmp(argv[1], "values") == 0)
        return cmd_values(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "request") == 0) {
        const char *from = NULL;
        int delay_ms = 0, i = 2;
        for (; i + 2 < argc; i += 2) {
            if (strcmp(argv[i], "-from") == 0)
                from = argv[i + 1];
            else if (strcmp(argv[i], "-delay") == 0)
                delay_ms = atoi(argv[i + 1]);
            else
                return usage();
        }
        if (i + 2 == argc)
            return cmd_request(from, delay_ms, argv[i], argv[i + 1]);
    }
    return usage();
}
