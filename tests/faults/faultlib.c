/*
 * faultlib.c: the fault tests' client, sockets, processes and reports.
 * See faultlib.h.
 */
#define _GNU_SOURCE 1

#include "faultlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void
fl_fail(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

void
fl_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

long
fl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- sockets -------------------------------------------------------------- */

int
fl_listen(fl_addr *a, int tcp)
{
    int fd;

    memset(a, 0, sizeof(*a));
    a->tcp = tcp;
    if (tcp) {
        struct sockaddr_in sin;
        socklen_t len = sizeof(sin);
        int one = 1;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
            listen(fd, 1024) < 0 ||
            getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
            close(fd);
            return -1;
        }
        a->port = ntohs(sin.sin_port);
        return fd;
    } else {
        struct sockaddr_un sun;
        const char *tmp = getenv("TMPDIR");

        snprintf(a->dir, sizeof(a->dir), "%s/fcgi-faults.XXXXXX",
                 tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
        if (!mkdtemp(a->dir))
            return -1;
        snprintf(a->path, sizeof(a->path), "%s/sock", a->dir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
            listen(fd, 1024) < 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
}

void
fl_cleanup(const fl_addr *a)
{
    if (!a->tcp && a->dir[0]) {
        unlink(a->path);
        rmdir(a->dir);
    }
}

int
fl_connect(const fl_addr *a)
{
    int fd;

    if (a->tcp) {
        struct sockaddr_in sin;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin.sin_port = htons((uint16_t)a->port);
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
            close(fd);
            return -1;
        }
    } else {
        struct sockaddr_un sun;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* --- requests -------------------------------------------------------------- */

void
fl_buf_add(fl_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            fl_fail("out of memory");
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void
fl_buf_free(fl_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void
fl_record(fl_buf *b, int type, int id, const void *content, size_t len)
{
    unsigned char h[8];
    static const unsigned char zeros[8];
    size_t pad = (8 - len % 8) % 8;

    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(len >> 8);
    h[5] = (unsigned char)len;
    h[6] = (unsigned char)pad;
    h[7] = 0;
    fl_buf_add(b, h, 8);
    fl_buf_add(b, content, len);
    fl_buf_add(b, zeros, pad);
}

void
fl_begin(fl_buf *b, int id, int keep_conn)
{
    unsigned char body[8] = {0, 1, (unsigned char)(keep_conn ? 1 : 0)};

    fl_record(b, 1, id, body, sizeof(body));
}

static void
nv_len(fl_buf *b, size_t n)
{
    unsigned char l[4];

    if (n < 128) {
        l[0] = (unsigned char)n;
        fl_buf_add(b, l, 1);
        return;
    }
    l[0] = (unsigned char)((n >> 24) | 0x80);
    l[1] = (unsigned char)(n >> 16);
    l[2] = (unsigned char)(n >> 8);
    l[3] = (unsigned char)n;
    fl_buf_add(b, l, 4);
}

void
fl_params(fl_buf *b, int id, const char *const *env)
{
    fl_buf pairs = {0};
    size_t i;

    for (i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        size_t nl = eq ? (size_t)(eq - env[i]) : strlen(env[i]);
        const char *v = eq ? eq + 1 : "";

        nv_len(&pairs, nl);
        nv_len(&pairs, strlen(v));
        fl_buf_add(&pairs, env[i], nl);
        fl_buf_add(&pairs, v, strlen(v));
    }
    for (i = 0; i < pairs.len; i += 8192) {
        size_t n = pairs.len - i < 8192 ? pairs.len - i : 8192;

        fl_record(b, 4, id, pairs.data + i, n);
    }
    fl_record(b, 4, id, NULL, 0);
    fl_buf_free(&pairs);
}

void
fl_stdin(fl_buf *b, int id, const void *body, size_t len, int eos)
{
    size_t i;

    for (i = 0; i < len; i += 8192)
        fl_record(b, 5, id, (const char *)body + i, len - i < 8192 ? len - i : 8192);
    if (eos)
        fl_record(b, 5, id, NULL, 0);
}

void
fl_request(fl_buf *b, int id, int keep_conn, const char *const *env,
           const void *body, size_t len)
{
    fl_begin(b, id, keep_conn);
    fl_params(b, id, env);
    fl_stdin(b, id, body, len, 1);
}

int
fl_send(int fd, const void *p, size_t n, int timeout_ms)
{
    const char *c = p;
    long deadline = fl_now_ms() + timeout_ms;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w > 0) {
            c += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            long left = deadline - fl_now_ms();

            if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

/* --- responses ------------------------------------------------------------- */

void
fl_response_free(fl_response *r)
{
    fl_buf_free(&r->out);
    fl_buf_free(&r->err);
    fl_buf_free(&r->pending);
    memset(r, 0, sizeof(*r));
}

/* Takes the complete records off the front of r->pending. */
static void
parse(int id, fl_response *r)
{
    size_t at = 0;
    unsigned char *p = r->pending.data;

    while (!r->malformed && r->pending.len - at >= 8) {
        size_t cl = (size_t)p[at + 4] << 8 | p[at + 5];
        size_t pl = p[at + 6];
        int type = p[at + 1];
        int rid = p[at + 2] << 8 | p[at + 3];
        const unsigned char *c = p + at + 8;

        if (r->pending.len - at < 8 + cl + pl)
            break;
        if (p[at] != 1 || r->ended) {
            r->malformed = 1;
            break;
        }
        if (rid == id && type == 6)
            fl_buf_add(&r->out, c, cl);
        else if (rid == id && type == 7)
            fl_buf_add(&r->err, c, cl);
        else if (rid == id && type == 3 && cl == 8) {
            r->ended = 1;
            r->app_status = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
                            (uint32_t)c[2] << 8 | c[3];
            r->protocol_status = c[4];
        } else {
            r->malformed = 1;
        }
        at += 8 + cl + pl;
    }
    memmove(r->pending.data, r->pending.data + at, r->pending.len - at);
    r->pending.len -= at;
}

int
fl_feed(fl_response *r, int id, const void *p, size_t n)
{
    fl_buf_add(&r->pending, p, n);
    parse(id, r);
    if (r->malformed || (r->ended && r->pending.len != 0))
        return -1;
    return r->ended;
}

int
fl_read_response(int fd, int id, fl_response *r, int timeout_ms)
{
    long deadline = fl_now_ms() + timeout_ms;
    char buf[65536];

    while (!r->ended && !r->malformed) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left = deadline - fl_now_ms();
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            r->timed_out = 1;
            return -1;
        }
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            r->closed = 1;
            return -1;
        }
        fl_buf_add(&r->pending, buf, (size_t)n);
        parse(id, r);
    }
    return r->ended && !r->malformed && r->pending.len == 0 ? 0 : -1;
}

int
fl_exchange(const fl_addr *a, const char *const *env, const void *body,
            size_t len, fl_response *r, int timeout_ms)
{
    fl_buf req = {0};
    int fd = fl_connect(a);
    int rc = -1;

    if (fd < 0)
        return -1;
    fl_request(&req, 1, 0, env, body, len);
    if (fl_send(fd, req.data, req.len, timeout_ms) == 0)
        rc = fl_read_response(fd, 1, r, timeout_ms);
    fl_buf_free(&req);
    close(fd);
    return rc;
}

/* --- processes ---------------------------------------------------------- */

pid_t
fl_spawn(int (*fn)(void *), void *arg)
{
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        fl_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        /* A hung application must not outlive the test. */
        alarm(120);
        _exit(fn(arg));
    }
    return pid;
}

int
fl_wait(pid_t pid, int timeout_ms)
{
    long deadline = fl_now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (fl_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(2000);
    }
}

int
fl_stop(pid_t pid, int timeout_ms)
{
    kill(pid, SIGTERM);
    return fl_wait(pid, timeout_ms);
}

int
fl_count_fds(pid_t pid)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

long
fl_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    FILE *f;
    char *p;
    unsigned long utime, stime;
    long tick = sysconf(_SC_CLK_TCK);

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, sizeof(buf), f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    /* Fields 14 and 15, counted after the parenthesised command name. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                     &utime, &stime) != 2)
        return -1;
    return (long)((utime + stime) * 1000 / (unsigned long)(tick > 0 ? tick : 100));
}

void
fl_report(int fd, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(fd, line, (size_t)n) < 0) {
        /* The test went away; nothing to tell. */
    }
}

int
fl_read_line(int fd, char *line, size_t size, int timeout_ms)
{
    long deadline = fl_now_ms() + timeout_ms;
    size_t n = 0;

    while (n + 1 < size) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left = deadline - fl_now_ms();
        ssize_t r;
        char c;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        line[n++] = c;
    }
    line[n] = '\0';
    return 0;
}
