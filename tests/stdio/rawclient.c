/*
 * rawclient.c: send one FastCGI request with raw records and print the
 * answer, for the shell tests.
 *
 * Usage: rawclient [-r ROLE] [-i BODY_FILE] [-d DATA_FILE] [-s] ADDR [NAME=VALUE]...
 *   ROLE        responder (default), authorizer or filter
 *   BODY_FILE   sent as FCGI_STDIN ("-" for standard input)
 *   DATA_FILE   sent as FCGI_DATA after the body (filter role)
 *   -s          print "END app_status=N protocol_status=M" to stderr last
 * ADDR is a Unix socket path or host:port.  STDOUT content goes to stdout
 * and STDERR content to stderr, byte for byte.  Exit status: 0 when the
 * request completed (END_REQUEST, FCGI_REQUEST_COMPLETE), 1 when it did
 * not, 2 on a usage or connection error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

static int read_file(const char *path, peer_buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[8192];
    size_t n;

    if (!f)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        peer_buf_add(b, chunk, n);
    if (f != stdin)
        fclose(f);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: rawclient [-r ROLE] [-i BODY_FILE] [-d DATA_FILE] [-s] ADDR [NAME=VALUE]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int role = PEER_RESPONDER;
    const char *body_path = NULL;
    const char *data_path = NULL;
    int show_status = 0;
    peer_buf body = {0};
    peer_buf data = {0};
    const char **pairs;
    peer_response r;
    const peer_end *end;
    int opt, fd, i, n, rc;

    while ((opt = getopt(argc, argv, "r:i:d:s")) != -1) {
        switch (opt) {
        case 'r':
            if (strcmp(optarg, "responder") == 0)
                role = PEER_RESPONDER;
            else if (strcmp(optarg, "authorizer") == 0)
                role = PEER_AUTHORIZER;
            else if (strcmp(optarg, "filter") == 0)
                role = PEER_FILTER;
            else
                return usage();
            break;
        case 'i':
            body_path = optarg;
            break;
        case 'd':
            data_path = optarg;
            break;
        case 's':
            show_status = 1;
            break;
        default:
            return usage();
        }
    }
    if (optind >= argc)
        return usage();
    if ((body_path && read_file(body_path, &body) < 0)
        || (data_path && read_file(data_path, &data) < 0)) {
        perror("rawclient");
        return 2;
    }

    /* NAME=VALUE arguments become a NULL-terminated name, value list. */
    n = argc - optind - 1;
    pairs = calloc((size_t)n * 2 + 1, sizeof *pairs);
    if (!pairs)
        return 2;
    for (i = 0; i < n; ++i) {
        char *arg = argv[optind + 1 + i];
        char *eq = strchr(arg, '=');
        if (!eq)
            return usage();
        *eq = '\0';
        pairs[2 * i] = arg;
        pairs[2 * i + 1] = eq + 1;
    }

    fd = peer_connect(argv[optind]);
    if (fd < 0) {
        perror(argv[optind]);
        return 2;
    }
    peer_response_init(&r);
    rc = peer_request(fd, 1, role, 0, pairs, body.data, body.len);
    if (rc == 0 && data_path)
        rc = peer_stream(fd, PEER_DATA, 1, data.data, data.len, 0, 1);
    if (rc == 0)
        rc = peer_read(fd, &r, 1, PEER_UNTIL_END, PEER_TIMEOUT_MS);
    close(fd);

    if (r.out.len)
        fwrite(r.out.data, 1, r.out.len, stdout);
    fflush(stdout);
    if (r.err.len)
        fwrite(r.err.data, 1, r.err.len, stderr);
    end = peer_end_for(&r, 1);
    if (show_status && end)
        fprintf(stderr, "END app_status=%lu protocol_status=%d\n",
                (unsigned long)end->app_status, end->protocol_status);
    rc = rc == 0 && end && end->protocol_status == 0 ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "rawclient: no complete answer%s%s\n",
                r.timed_out ? " (timed out)" : "", r.closed ? " (connection closed)" : "");
    peer_response_free(&r);
    peer_buf_free(&body);
    peer_buf_free(&data);
    free(pairs);
    return rc;
}
