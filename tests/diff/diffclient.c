/*
 * diffclient.c: the web-server side of the differential test (run.sh).
 *
 * Usage:
 *   diffclient ADDR SCENARIO OUTFILE   play SCENARIO against the application
 *                                      at ADDR, save every byte it answered
 *   diffclient --dump FILE             print the records in FILE, one a line
 *
 * Scenarios: plain, body, stderr, keepconn, authorizer.  Each request waits
 * for its END_REQUEST before the next is sent; after the last one the
 * client reads until the application closes the connection.
 */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

struct request {
    int id;
    int role;
    int flags;
    const char *const *params;
    const char *body;
};

static const char *const plain_params[] = {
    "GATEWAY_INTERFACE", "CGI/1.1",
    "REQUEST_METHOD", "GET",
    "SCRIPT_NAME", "/app",
    "QUERY_STRING", "a=1&b=two",
    "EMPTY", "",
    "STATUS", "3",
    NULL
};

static const char *const body_params[] = {
    "REQUEST_METHOD", "POST",
    "CONTENT_TYPE", "application/x-www-form-urlencoded",
    "CONTENT_LENGTH", "26",
    NULL
};

static const char *const stderr_params[] = {
    "REQUEST_METHOD", "GET",
    "MODE", "stderr",
    NULL
};

static const char *const keep1_params[] = {
    "REQUEST_METHOD", "GET", "SEQ", "1", NULL
};

static const char *const keep2_params[] = {
    "REQUEST_METHOD", "POST", "SEQ", "2", "STATUS", "0", NULL
};

static const char *const auth_params[] = {
    "REMOTE_USER", "alice",
    "REQUEST_METHOD", "GET",
    NULL
};

static const struct request plain[] = {
    { 1, PEER_RESPONDER, 0, plain_params, NULL }, { 0 }
};
static const struct request body[] = {
    { 1, PEER_RESPONDER, 0, body_params, "field=value&other=12345678" }, { 0 }
};
static const struct request with_stderr[] = {
    { 2, PEER_RESPONDER, 0, stderr_params, NULL }, { 0 }
};
static const struct request keepconn[] = {
    { 1, PEER_RESPONDER, PEER_KEEP_CONN, keep1_params, NULL },
    { 1, PEER_RESPONDER, PEER_KEEP_CONN, keep2_params, "second body\n" },
    { 0 }
};
static const struct request authorizer[] = {
    { 1, PEER_AUTHORIZER, 0, auth_params, NULL }, { 0 }
};

static const struct {
    const char *name;
    const struct request *requests;
} scenarios[] = {
    { "plain", plain },
    { "body", body },
    { "stderr", with_stderr },
    { "keepconn", keepconn },
    { "authorizer", authorizer },
};

/* The application may still be starting: retry for a few seconds. */
static int
connect_retry(const char *addr)
{
    int i;

    for (i = 0; i < 100; i++) {
        int fd = peer_connect(addr);

        if (fd >= 0)
            return fd;
        usleep(50000);
    }
    return -1;
}

static int
play(const char *addr, const struct request *reqs, const char *outfile)
{
    peer_response r;
    FILE *f;
    int fd = connect_retry(addr);
    int rc = 0;

    if (fd < 0) {
        fprintf(stderr, "diffclient: connect %s: %s\n", addr, strerror(errno));
        return 1;
    }
    peer_response_init(&r);
    for (; reqs->id != 0; reqs++) {
        const char *b = reqs->body;

        if (peer_request(fd, reqs->id, reqs->role, reqs->flags, reqs->params,
                         b, b ? strlen(b) : 0) != 0
            || peer_read(fd, &r, reqs->id, PEER_UNTIL_END,
                         peer_ms(PEER_TIMEOUT_MS)) != 0) {
            fprintf(stderr, "diffclient: request %d: no END_REQUEST (%s)\n",
                    reqs->id, r.timed_out ? "timed out" : "closed");
            rc = 1;
            break;
        }
    }
    if (rc == 0 && peer_read(fd, &r, -1, PEER_UNTIL_CLOSE,
                             peer_ms(PEER_TIMEOUT_MS)) != 0) {
        fprintf(stderr, "diffclient: the application did not close\n");
        rc = 1;
    }
    close(fd);
    f = fopen(outfile, "wb");
    if (f == NULL || fwrite(r.raw.data, 1, r.raw.len, f) != r.raw.len
        || fclose(f) != 0) {
        fprintf(stderr, "diffclient: cannot write %s\n", outfile);
        rc = 1;
    }
    peer_response_free(&r);
    return rc;
}

static const char *
type_name(int type)
{
    static const char *const names[] = {
        "?", "BEGIN_REQUEST", "ABORT_REQUEST", "END_REQUEST", "PARAMS",
        "STDIN", "STDOUT", "STDERR", "DATA", "GET_VALUES",
        "GET_VALUES_RESULT", "UNKNOWN_TYPE"
    };

    return type > 0 && type <= 11 ? names[type] : "?";
}

/* Prints each record: type, id, lengths and its content, escaped. */
static int
dump(const char *file)
{
    FILE *f = fopen(file, "rb");
    unsigned char h[8];

    if (f == NULL) {
        perror(file);
        return 1;
    }
    while (fread(h, 1, 8, f) == 8) {
        size_t clen = ((size_t)h[4] << 8) | h[5];
        size_t plen = h[6];
        size_t i;

        printf("v%d %-17s id=%d content=%zu padding=%zu  ", h[0],
               type_name(h[1]), (h[2] << 8) | h[3], clen, plen);
        for (i = 0; i < clen + plen; i++) {
            int c = getc(f);

            if (c == EOF)
                break;
            if (i == clen)
                fputs(" | pad ", stdout);
            if (c >= 0x20 && c < 0x7f && c != '\\')
                putchar(c);
            else
                printf("\\x%02x", c);
        }
        putchar('\n');
    }
    fclose(f);
    return 0;
}

int
main(int argc, char **argv)
{
    size_t i;

    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    if (argc != 4) {
        fprintf(stderr, "usage: diffclient ADDR SCENARIO OUTFILE\n"
                        "       diffclient --dump FILE\n");
        return 2;
    }
    for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(argv[2], scenarios[i].name) == 0)
            return play(argv[1], scenarios[i].requests, argv[3]);
    fprintf(stderr, "diffclient: no scenario %s\n", argv[2]);
    return 2;
}
