/*
 * peer.c: the web-server side of a FastCGI connection, for tests.
 * See peer.h for the contract.
 */
#define _GNU_SOURCE 1

#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Largest content of one record (specification section 3.3). */
#define MAX_CONTENT 65535u

int
peer_ms(int base_ms)
{
    const char *vg = getenv("VALGRIND");

    if (vg != NULL && *vg != '\0')
        return base_ms * 10;
    return base_ms;
}

/*
 * Every block the peer hands out stays on one list until it is freed, so it
 * is always reachable from a global.  A Check test that fails half-way
 * (with CK_FORK=no it longjmps out, skipping its frees) then leaves blocks
 * valgrind calls "still reachable", not "definitely lost" in every child
 * the following tests fork.
 */
struct block {
    struct block *prev;
    struct block *next;
    max_align_t align[];    /* the caller's bytes start here */
};

static struct block blocks = { &blocks, &blocks };
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;

void *
peer_realloc(void *p, size_t n)
{
    struct block *old = p ? (struct block *)p - 1 : NULL;
    struct block *b;

    pthread_mutex_lock(&blocks_lock);
    if (old != NULL) {
        old->prev->next = old->next;
        old->next->prev = old->prev;
    }
    b = realloc(old, sizeof(*b) + (n ? n : 1));
    if (b == NULL) {
        fprintf(stderr, "peer: out of memory (%zu bytes)\n", n);
        abort();
    }
    b->next = blocks.next;
    b->prev = &blocks;
    blocks.next->prev = b;
    blocks.next = b;
    pthread_mutex_unlock(&blocks_lock);
    return b + 1;
}

void
peer_free(void *p)
{
    struct block *b;

    if (p == NULL)
        return;
    b = (struct block *)p - 1;
    pthread_mutex_lock(&blocks_lock);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    pthread_mutex_unlock(&blocks_lock);
    free(b);
}

static char *
copy_string(const unsigned char *p, size_t n)
{
    char *s = peer_realloc(NULL, n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void
peer_buf_add(peer_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;

        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = peer_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';   /* so text content can be compared as a string */
}

void
peer_buf_free(peer_buf *b)
{
    peer_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, at least 0. */
static int
left_ms(long long deadline)
{
    long long left = deadline - now_ms();

    return left > 0 ? (int)left : 0;
}

static int
parse_unix(const char *addr, struct sockaddr_un *sun, socklen_t *len)
{
    size_t n = strlen(addr);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (addr[0] == '@') {
        /* Abstract: a leading NUL, then the name without terminator. */
        if (n > sizeof(sun->sun_path))
            return -1;
        memcpy(sun->sun_path + 1, addr + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        if (n >= sizeof(sun->sun_path))
            return -1;
        memcpy(sun->sun_path, addr, n);
        *len = (socklen_t)sizeof(*sun);
    }
    return 0;
}

static int
parse_inet(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    const char *h;
    size_t hlen;
    long port;
    char *end;

    memset(ss, 0, sizeof(*ss));
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');

        if (close == NULL || close[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return -1;
        h = addr;
        hlen = (size_t)(colon - addr);
    }
    if (hlen >= sizeof(host))
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port <= 0 || port > 65535)
        return -1;

    if (addr[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -1;
        *len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host[0] ? host : "127.0.0.1",
                      &s4->sin_addr) != 1)
            return -1;
        *len = sizeof(*s4);
    }
    return 0;
}

static int
bind_source(int fd, int family, const char *source)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, source, &s4->sin_addr) != 1)
            return -1;
        len = sizeof(*s4);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, source, &s6->sin6_addr) != 1)
            return -1;
        len = sizeof(*s6);
    } else {
        errno = EINVAL;
        return -1;
    }
    return bind(fd, (struct sockaddr *)&ss, len);
}

int
peer_connect(const char *addr)
{
    return peer_connect_from(addr, NULL);
}

int
peer_connect_from(const char *addr, const char *source)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;
    int flags;

    if (addr[0] == '/' || addr[0] == '@' || strchr(addr, ':') == NULL) {
        if (parse_unix(addr, (struct sockaddr_un *)&ss, &len) < 0)
            return -1;
    } else if (parse_inet(addr, &ss, &len) < 0) {
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (source != NULL && bind_source(fd, ss.ss_family, source) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    /* Loopback and Unix connects complete or fail at once. */
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return fd;
}

int
peer_send_raw(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    long long deadline = now_ms() + peer_ms(PEER_TIMEOUT_MS);

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == ENOTSOCK) {
            n = write(fd, p, len);
            if (n > 0) {
                p += n;
                len -= (size_t)n;
                continue;
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            int left = left_ms(deadline);

            if (left == 0 || poll(&pfd, 1, left) <= 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            continue;
        }
        return -1;
    }
    return 0;
}

void
peer_header(unsigned char h[8], int version, int type, int id,
            size_t content_len, size_t padding_len)
{
    h[0] = (unsigned char)version;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)((id >> 8) & 0xff);
    h[3] = (unsigned char)(id & 0xff);
    h[4] = (unsigned char)((content_len >> 8) & 0xff);
    h[5] = (unsigned char)(content_len & 0xff);
    h[6] = (unsigned char)padding_len;
    h[7] = 0;
}

int
peer_record_add(peer_buf *b, int type, int id, const void *content,
                size_t len, size_t padding_len)
{
    unsigned char h[8];
    static const unsigned char zeros[255];

    if (len > MAX_CONTENT || padding_len > 255)
        return -1;
    peer_header(h, 1, type, id, len, padding_len);
    peer_buf_add(b, h, sizeof(h));
    peer_buf_add(b, content, len);
    peer_buf_add(b, zeros, padding_len);
    return 0;
}

int
peer_send_record(int fd, int type, int id, const void *content, size_t len,
                 size_t padding_len)
{
    peer_buf b = { 0 };
    int rc = peer_record_add(&b, type, id, content, len, padding_len);

    if (rc == 0)
        rc = peer_send_raw(fd, b.data, b.len);
    peer_buf_free(&b);
    return rc;
}

static void
begin_body(unsigned char body[8], int role, int flags)
{
    memset(body, 0, 8);
    body[0] = (unsigned char)((role >> 8) & 0xff);
    body[1] = (unsigned char)(role & 0xff);
    body[2] = (unsigned char)flags;
}

int
peer_begin(int fd, int id, int role, int flags)
{
    unsigned char body[8];

    begin_body(body, role, flags);
    return peer_send_record(fd, PEER_BEGIN_REQUEST, id, body, sizeof(body), 0);
}

int
peer_abort(int fd, int id)
{
    return peer_send_record(fd, PEER_ABORT_REQUEST, id, NULL, 0, 0);
}

static void
encode_length(peer_buf *b, size_t n, int force_long)
{
    unsigned char l[4];

    if (n < 128 && !force_long) {
        l[0] = (unsigned char)n;
        peer_buf_add(b, l, 1);
        return;
    }
    l[0] = (unsigned char)(((n >> 24) & 0x7f) | 0x80);
    l[1] = (unsigned char)((n >> 16) & 0xff);
    l[2] = (unsigned char)((n >> 8) & 0xff);
    l[3] = (unsigned char)(n & 0xff);
    peer_buf_add(b, l, 4);
}

void
peer_nv_encode(peer_buf *b, const char *name, size_t nlen, const char *value,
               size_t vlen, int force_long)
{
    encode_length(b, nlen, force_long);
    encode_length(b, vlen, force_long);
    peer_buf_add(b, name, nlen);
    peer_buf_add(b, value, vlen);
}

int
peer_stream(int fd, int type, int id, const void *data, size_t len,
            size_t chunk, int eos)
{
    const unsigned char *p = data;

    if (chunk == 0 || chunk > MAX_CONTENT)
        chunk = MAX_CONTENT;
    while (len > 0) {
        size_t n = len < chunk ? len : chunk;
        /* Pad to a multiple of 8, as servers usually do. */
        size_t pad = (8 - n % 8) % 8;

        if (peer_send_record(fd, type, id, p, n, pad) < 0)
            return -1;
        p += n;
        len -= n;
    }
    if (eos)
        return peer_send_record(fd, type, id, NULL, 0, 0);
    return 0;
}

static void
encode_pairs(peer_buf *b, const char *const *pairs)
{
    for (; pairs != NULL && pairs[0] != NULL; pairs += 2) {
        const char *value = pairs[1] ? pairs[1] : "";

        peer_nv_encode(b, pairs[0], strlen(pairs[0]), value, strlen(value), 0);
    }
}

int
peer_params(int fd, int id, const char *const *pairs, size_t chunk)
{
    peer_buf b = { 0 };
    int rc;

    encode_pairs(&b, pairs);
    rc = peer_stream(fd, PEER_PARAMS, id, b.data, b.len, chunk, 1);
    peer_buf_free(&b);
    return rc;
}

int
peer_get_values(int fd, const char *const *names)
{
    peer_buf b = { 0 };
    int rc;

    for (; *names != NULL; names++)
        peer_nv_encode(&b, *names, strlen(*names), "", 0, 0);
    rc = peer_send_record(fd, PEER_GET_VALUES, 0, b.data, b.len, 0);
    peer_buf_free(&b);
    return rc;
}

int
peer_request(int fd, int id, int role, int flags, const char *const *pairs,
             const void *body, size_t len)
{
    if (peer_begin(fd, id, role, flags) < 0)
        return -1;
    if (peer_params(fd, id, pairs, 0) < 0)
        return -1;
    return peer_stream(fd, PEER_STDIN, id, body, len, 0, 1);
}

int
peer_request_whole(int fd, int id, int role, int flags, const char *const *pairs)
{
    unsigned char body[8];
    peer_buf params = { 0 };
    peer_buf b = { 0 };
    int rc;

    begin_body(body, role, flags);
    encode_pairs(&params, pairs);
    rc = peer_record_add(&b, PEER_BEGIN_REQUEST, id, body, sizeof(body), 0);
    if (rc == 0)
        rc = peer_record_add(&b, PEER_PARAMS, id, params.data, params.len, 0);
    if (rc == 0)
        rc = peer_record_add(&b, PEER_PARAMS, id, NULL, 0, 0);
    if (rc == 0)
        rc = peer_record_add(&b, PEER_STDIN, id, NULL, 0, 0);
    if (rc == 0)
        rc = peer_send_raw(fd, b.data, b.len);
    peer_buf_free(&params);
    peer_buf_free(&b);
    return rc;
}

void
peer_response_init(peer_response *r)
{
    memset(r, 0, sizeof(*r));
    r->unknown_type = -1;
}

void
peer_response_free(peer_response *r)
{
    size_t i;

    peer_buf_free(&r->out);
    peer_buf_free(&r->err);
    peer_buf_free(&r->raw);
    for (i = 0; i < r->n_values; i++) {
        peer_free(r->values[i].name);
        peer_free(r->values[i].value);
    }
    peer_free(r->values);
    peer_free(r->records);
    peer_response_init(r);
}

/*
 * Reads exactly len bytes into p.  Returns 1 on success, 0 on EOF or reset
 * before all arrived, -1 on timeout.  *got tells how many bytes did arrive.
 */
static int
read_exact(int fd, unsigned char *p, size_t len, long long deadline,
           size_t *got)
{
    *got = 0;
    while (*got < len) {
        ssize_t n = recv(fd, p + *got, len - *got, 0);

        if (n < 0 && errno == ENOTSOCK)
            n = read(fd, p + *got, len - *got);
        if (n > 0) {
            *got += (size_t)n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            int left = left_ms(deadline);

            if (left == 0)
                return -1;
            if (poll(&pfd, 1, left) == 0)
                return -1;
            continue;
        }
        return 0;   /* ECONNRESET and friends: the peer is gone */
    }
    return 1;
}

/* Decodes one FastCGI length at *p; -1 when it does not fit in end. */
static long
decode_length(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *q = *p;
    long n;

    if (q >= end)
        return -1;
    if ((q[0] & 0x80) == 0) {
        *p = q + 1;
        return q[0];
    }
    if (end - q < 4)
        return -1;
    n = ((long)(q[0] & 0x7f) << 24) | ((long)q[1] << 16) | ((long)q[2] << 8)
        | q[3];
    *p = q + 4;
    return n;
}

static void
add_values(peer_response *r, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;

    r->n_values_records++;
    while (p < end) {
        long nlen = decode_length(&p, end);
        long vlen = nlen < 0 ? -1 : decode_length(&p, end);
        peer_nv *nv;

        if (nlen < 0 || vlen < 0 || (size_t)(end - p) < (size_t)nlen + (size_t)vlen) {
            r->bad_values = 1;
            return;
        }
        r->values = peer_realloc(r->values, (r->n_values + 1) * sizeof(*r->values));
        nv = &r->values[r->n_values++];
        nv->name = copy_string(p, (size_t)nlen);
        nv->value = copy_string(p + nlen, (size_t)vlen);
        p += nlen + vlen;
    }
}

/* Files one complete record; returns the PEER_UNTIL_ bits it satisfied. */
static int
take_record(peer_response *r, int want_id, const unsigned char *h,
            const unsigned char *c, size_t clen, size_t plen)
{
    peer_record rec;
    int matched = PEER_UNTIL_RECORD;
    int id_ok;

    rec.version = h[0];
    rec.type = h[1];
    rec.id = (h[2] << 8) | h[3];
    rec.content_len = clen;
    rec.padding_len = plen;
    r->records = peer_realloc(r->records, (r->n_records + 1) * sizeof(*r->records));
    r->records[r->n_records++] = rec;
    if (rec.version != 1)
        r->malformed = 1;
    id_ok = want_id < 0 || rec.id == want_id;

    switch (rec.type) {
    case PEER_STDOUT:
    case PEER_STDERR: {
        peer_buf *b = rec.type == PEER_STDOUT ? &r->out : &r->err;
        int *eos = rec.type == PEER_STDOUT ? &r->out_eos : &r->err_eos;

        if (!id_ok) {
            r->foreign++;
        } else if (clen == 0) {
            (*eos)++;
        } else {
            peer_buf_add(b, c, clen);
        }
        break;
    }
    case PEER_END_REQUEST:
        if (r->n_ends < PEER_MAX_ENDS) {
            peer_end *e = &r->ends[r->n_ends++];

            e->id = rec.id;
            if (clen >= 5) {
                e->app_status = ((uint32_t)c[0] << 24) | ((uint32_t)c[1] << 16)
                                | ((uint32_t)c[2] << 8) | c[3];
                e->protocol_status = c[4];
            } else {
                r->malformed = 1;
                e->protocol_status = -1;
            }
        }
        if (id_ok)
            matched |= PEER_UNTIL_END;
        break;
    case PEER_GET_VALUES_RESULT:
        add_values(r, c, clen);
        matched |= PEER_UNTIL_MGMT;
        break;
    case PEER_UNKNOWN_TYPE:
        r->unknown_type = clen >= 1 ? c[0] : 0;
        matched |= PEER_UNTIL_MGMT;
        break;
    default:
        break;
    }
    return matched;
}

int
peer_read(int fd, peer_response *r, int id, int until, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    unsigned char *content = peer_realloc(NULL, MAX_CONTENT + 256);
    int rc = -1;

    r->timed_out = 0;
    for (;;) {
        unsigned char h[8];
        size_t got;
        size_t clen;
        size_t plen;
        int st = read_exact(fd, h, sizeof(h), deadline, &got);

        peer_buf_add(&r->raw, h, got);
        if (st <= 0) {
            if (st == 0) {
                r->closed = 1;
                if (got > 0)
                    r->malformed = 1;
                if (until & PEER_UNTIL_CLOSE)
                    rc = 0;
            } else {
                r->timed_out = 1;
            }
            break;
        }
        clen = ((size_t)h[4] << 8) | h[5];
        plen = h[6];
        st = read_exact(fd, content, clen + plen, deadline, &got);
        peer_buf_add(&r->raw, content, got);
        if (st <= 0) {
            r->malformed = 1;
            if (st == 0)
                r->closed = 1;
            else
                r->timed_out = 1;
            break;
        }
        if (take_record(r, id, h, content, clen, plen) & until) {
            rc = 0;
            break;
        }
    }
    peer_free(content);
    return rc;
}

const char *
peer_value(const peer_response *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i].name, name) == 0)
            return r->values[i].value;
    return NULL;
}

const peer_end *
peer_end_for(const peer_response *r, int id)
{
    int i;

    for (i = 0; i < r->n_ends; i++)
        if (r->ends[i].id == id)
            return &r->ends[i];
    return NULL;
}

int
peer_wait_close(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    unsigned char buf[4096];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left;

        if (n > 0)
            continue;
        if (n == 0)
            return 1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return 1;
        left = left_ms(deadline);
        if (left == 0 || poll(&pfd, 1, left) == 0)
            return 0;
    }
}
