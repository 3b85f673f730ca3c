/*
 * check_stdio.c: the FCGI_ stdio wrappers (fcgi_stdio.h), compiled as C
 * with the header's macros on, as programs use them.
 *
 * Request-stream side: each test forks an application process (harness.c)
 * that calls FCGI_Accept on a listening socket on fd 0, while the test
 * plays the web server with raw records (tests/support/peer.h).  Checks
 * inside the application report on fd 2 and make it exit non-zero.
 * Real-file side: the same wrappers on files in a mktemp -d directory, in
 * this process or, where the standard streams are involved, in a child
 * with redirected descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include <check.h>

#include "harness.h"
#include "peer.h"

/* Last, as in programs: from here on stdio names mean the FCGI_ wrappers. */
#include "fcgi_stdio.h"

extern char **environ;

#define APP_TIMEOUT_MS 10000

static const char *const basic_params[] = {
    "REQUEST_METHOD", "GET",
    "QUERY_STRING", "a=1",
    "SCRIPT_NAME", "/stdio",
    NULL
};

/* ---- helpers of the web-server side ---- */

/* A test-sized temporary directory; path names a file inside it. */
struct tmpdir {
    char dir[64];
    char path[128];
};

static void tmpdir_make(struct tmpdir *t, const char *name)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/fcgi-stdio-file.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
}

static void tmpdir_remove(struct tmpdir *t, const char *const *names)
{
    char path[192];

    for (; names && *names; ++names) {
        snprintf(path, sizeof path, "%s/%s", t->dir, *names);
        unlink(path);
    }
    rmdir(t->dir);
}

/* Reads a whole file with read(2) into b. */
static void slurp(const char *path, peer_buf *b)
{
    char chunk[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        peer_buf_add(b, chunk, (size_t)n);
    close(fd);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void assert_bytes(const peer_buf *b, const void *want, size_t len)
{
    ck_assert_uint_eq(b->len, len);
    ck_assert_int_eq(memcmp(b->data, want, len), 0);
}

static void assert_text(const peer_buf *b, const char *want)
{
    size_t len = strlen(want);

    if (b->len != len || memcmp(b->data, want, len) != 0)
        ck_abort_msg("got %zu bytes \"%.*s\", want \"%s\"", b->len,
                     (int)(b->len > 400 ? 400 : b->len), (const char *)b->data, want);
}

struct exchange {
    int role;
    const char *const *params;
    const void *body;
    size_t body_len;
    const void *data;       /* FCGI_DATA stream, filter role */
    size_t data_len;
};

/* Sends one request on connection fd, reads the answer up to END_REQUEST into r. */
static void exchange(int fd, const struct exchange *x, peer_response *r)
{
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_request(fd, 1, x->role ? x->role : PEER_RESPONDER, 0,
                                  x->params ? x->params : basic_params,
                                  x->body, x->body_len), 0);
    if (x->data)
        ck_assert_int_eq(peer_stream(fd, PEER_DATA, 1, x->data, x->data_len, 0, 1), 0);
    ck_assert_int_eq(peer_read(fd, r, 1, PEER_UNTIL_END, PEER_TIMEOUT_MS), 0);
    close(fd);
}

/* Starts app, runs one exchange, and returns the application's exit status. */
static int serve_one(int (*app)(void *), void *arg, const struct exchange *x,
                     peer_response *r)
{
    app_proc p;
    int fd;

    ck_assert_int_eq(app_start(&p, app, arg, 1, &fd), 0);
    exchange(fd, x, r);
    return app_wait(&p, APP_TIMEOUT_MS);
}

static uint32_t app_status(const peer_response *r)
{
    const peer_end *end = peer_end_for(r, 1);

    ck_assert_ptr_nonnull(end);
    ck_assert_int_eq(end->protocol_status, 0);
    return end->app_status;
}

/* Deterministic bytes, NULs and high bytes included. */
static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;

    for (i = 0; i < n; ++i)
        p[i] = (unsigned char)(i * 7u + seed + (i >> 8));
}

/* ---- FCGI_Accept, FCGI_Finish, environ ---- */

static int app_accept(void *arg)
{
    char **outside;
    const char *q;

    (void)arg;
    setenv("STDIO_TEST_MARK", "outside", 1);
    outside = environ;
    CHILD_CHECK(_fcgi_sF[0].fcgx_stream == NULL && _fcgi_sF[1].fcgx_stream == NULL);
    CHILD_CHECK(FCGX_IsCGI() == 0);

    CHILD_CHECK(FCGI_Accept() == 0);
    CHILD_CHECK(_fcgi_sF[0].fcgx_stream != NULL);
    CHILD_CHECK(_fcgi_sF[1].fcgx_stream != NULL);
    CHILD_CHECK(_fcgi_sF[2].fcgx_stream != NULL);
    CHILD_CHECK(_fcgi_sF[1].stdio_stream == NULL);
    CHILD_CHECK(FCGI_ToFcgiStream(stdout) == _fcgi_sF[1].fcgx_stream);
    /* environ is the request's parameters now. */
    CHILD_CHECK(getenv("STDIO_TEST_MARK") == NULL);
    q = getenv("QUERY_STRING");
    CHILD_CHECK(q != NULL && strcmp(q, "a=1") == 0);
    printf("query=%s role=%s\n", q, getenv("FCGI_ROLE"));

    FCGI_Finish();
    CHILD_CHECK(_fcgi_sF[0].fcgx_stream == NULL);
    CHILD_CHECK(_fcgi_sF[1].fcgx_stream == NULL);
    CHILD_CHECK(_fcgi_sF[2].fcgx_stream == NULL);
    CHILD_CHECK(environ == outside);
    CHILD_CHECK(getenv("STDIO_TEST_MARK") != NULL);
    FCGI_Finish();  /* twice is harmless */

    /* A failing accept returns -1 and leaves nothing bound. */
    FCGX_ShutdownPending();
    CHILD_CHECK(FCGI_Accept() == -1);
    CHILD_CHECK(_fcgi_sF[1].fcgx_stream == NULL && _fcgi_sF[1].stdio_stream == NULL);
    CHILD_CHECK(environ == outside);
    return 0;
}

START_TEST(accept_binds_request_and_environ)
{
    struct exchange x = {0};
    peer_response r;

    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_accept, NULL, &x, &r), 0);
    assert_text(&r.out, "query=a=1 role=RESPONDER\n");
    ck_assert_int_ge(r.out_eos, 1);
    ck_assert_uint_eq(app_status(&r), 0);
    peer_response_free(&r);
}
END_TEST

/* Three requests in a loop, each with its own environment. */
static int app_loop(void *arg)
{
    int n = 0;

    (void)arg;
    while (n < 3 && FCGI_Accept() >= 0)
        printf("n=%d q=%s\n", ++n, getenv("QUERY_STRING"));
    FCGI_Finish();
    return n == 3 ? 0 : 1;
}

START_TEST(accept_loop)
{
    static const char *const q[3][3] = {
        {"QUERY_STRING", "first", NULL},
        {"QUERY_STRING", "second", NULL},
        {"QUERY_STRING", "third", NULL},
    };
    static const char *const want[3] = {"n=1 q=first\n", "n=2 q=second\n", "n=3 q=third\n"};
    app_proc p;
    int fds[3];
    int i;

    ck_assert_int_eq(app_start(&p, app_loop, NULL, 3, fds), 0);
    for (i = 0; i < 3; ++i) {
        struct exchange x = {0};
        peer_response r;

        x.params = q[i];
        peer_response_init(&r);
        exchange(fds[i], &x, &r);
        assert_text(&r.out, want[i]);
        peer_response_free(&r);
    }
    ck_assert_int_eq(app_wait(&p, APP_TIMEOUT_MS), 0);
}
END_TEST

/* exit() without FCGI_Finish: the atexit handler ends the request. */
static int app_exit(void *arg)
{
    (void)arg;
    if (FCGI_Accept() != 0)
        return 1;
    printf("bye\n");
    exit(0);
}

START_TEST(exit_finishes_request)
{
    struct exchange x = {0};
    peer_response r;

    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_exit, NULL, &x, &r), 0);
    assert_text(&r.out, "bye\n");
    ck_assert_uint_eq(app_status(&r), 0);
    peer_response_free(&r);
}
END_TEST

/* ---- output ---- */

static int call_vprintf(const char *format, ...)
{
    va_list ap;
    int n;

    va_start(ap, format);
    n = vprintf(format, ap);
    va_end(ap);
    return n;
}

static int call_vfprintf(FILE *fp, const char *format, ...)
{
    va_list ap;
    int n;

    va_start(ap, format);
    n = vfprintf(fp, format, ap);
    va_end(ap);
    return n;
}

#define BIG_OUT 100000

static int app_output(void *arg)
{
    unsigned char *big = malloc(BIG_OUT);

    (void)arg;
    CHILD_CHECK(big != NULL);
    pattern(big, BIG_OUT, 3);
    CHILD_CHECK(FCGI_Accept() == 0);
    CHILD_CHECK(putchar('A') == 'A');
    CHILD_CHECK(fputc('B', stdout) == 'B');
    CHILD_CHECK(putc('C', stdout) == 'C');
    CHILD_CHECK(fputs("|fputs\n", stdout) >= 0);
    CHILD_CHECK(puts("puts") >= 0);
    CHILD_CHECK(printf("%s-%d\n", "printf", 1) == 9);
    CHILD_CHECK(fprintf(stdout, "%s-%d\n", "fprintf", 2) == 10);
    CHILD_CHECK(call_vprintf("%s-%d\n", "vprintf", 3) == 10);
    CHILD_CHECK(call_vfprintf(stdout, "%s-%d\n", "vfprintf", 4) == 11);
    CHILD_CHECK(fwrite("bin\0ary\n", 1, 8, stdout) == 8);
    CHILD_CHECK(fwrite("0123456789ab", 4, 3, stdout) == 3);
    CHILD_CHECK(fwrite("never", 0, 5, stdout) == 0);
    CHILD_CHECK(fwrite("never", 5, 0, stdout) == 0);
    CHILD_CHECK(fflush(stdout) == 0);
    CHILD_CHECK(fwrite(big, 1, BIG_OUT, stdout) == BIG_OUT);
    CHILD_CHECK(ferror(stdout) == 0);

    CHILD_CHECK(fprintf(stderr, "err-%d\n", 5) == 6);
    CHILD_CHECK(fputs("e2\n", stderr) >= 0);
    CHILD_CHECK(call_vfprintf(stderr, "%c%c\n", 'v', 'f') == 3);
    errno = ENOENT;
    perror("open");
    errno = EACCES;
    perror(NULL);
    errno = EPIPE;
    perror("");
    CHILD_CHECK(fflush(stderr) == 0);
    FCGI_Finish();
    free(big);
    return 0;
}

START_TEST(output_functions)
{
    static const char head[] =
        "ABC|fputs\nputs\nprintf-1\nfprintf-2\nvprintf-3\nvfprintf-4\nbin\0ary\n0123456789ab";
    struct exchange x = {0};
    peer_response r;
    peer_buf want = {0};
    peer_buf want_err = {0};
    unsigned char *big = malloc(BIG_OUT);
    char line[128];

    ck_assert_ptr_nonnull(big);
    pattern(big, BIG_OUT, 3);
    peer_buf_add(&want, head, sizeof head - 1);
    peer_buf_add(&want, big, BIG_OUT);
    peer_buf_add(&want_err, "err-5\ne2\nvf\n", 12);
    snprintf(line, sizeof line, "open: %s\n", strerror(ENOENT));
    peer_buf_add(&want_err, line, strlen(line));
    snprintf(line, sizeof line, "%s\n", strerror(EACCES));
    peer_buf_add(&want_err, line, strlen(line));
    snprintf(line, sizeof line, "%s\n", strerror(EPIPE));
    peer_buf_add(&want_err, line, strlen(line));

    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_output, NULL, &x, &r), 0);
    assert_bytes(&r.out, want.data, want.len);
    assert_bytes(&r.err, want_err.data, want_err.len);
    ck_assert_uint_eq(app_status(&r), 0);
    peer_response_free(&r);
    peer_buf_free(&want);
    peer_buf_free(&want_err);
    free(big);
}
END_TEST

/* fclose(stdout) ends the output stream; later writes fail. */
static int app_fclose(void *arg)
{
    (void)arg;
    CHILD_CHECK(FCGI_Accept() == 0);
    printf("partial");
    CHILD_CHECK(fclose(stdout) == 0);
    CHILD_CHECK(printf("lost") < 0);
    CHILD_CHECK(fputs("lost", stdout) == EOF);
    CHILD_CHECK(putchar('x') == EOF);
    CHILD_CHECK(fwrite("lost", 1, 4, stdout) == 0);
    CHILD_CHECK(fputs("still\n", stderr) >= 0);
    FCGI_Finish();
    return 0;
}

START_TEST(fclose_request_stream)
{
    struct exchange x = {0};
    peer_response r;

    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_fclose, NULL, &x, &r), 0);
    assert_text(&r.out, "partial");
    ck_assert_int_eq(r.out_eos, 1);
    assert_text(&r.err, "still\n");
    app_status(&r);
    peer_response_free(&r);
}
END_TEST

/* freopen(stdout) mid-request: the rest goes to the file until the request ends. */
static int app_freopen(void *arg)
{
    const char *path = arg;

    CHILD_CHECK(FCGI_Accept() == 0);
    printf("before");
    CHILD_CHECK(freopen(path, "w", stdout) == stdout);
    CHILD_CHECK(_fcgi_sF[1].fcgx_stream == NULL && _fcgi_sF[1].stdio_stream != NULL);
    CHILD_CHECK(fileno(stdout) > 2);
    CHILD_CHECK(printf("into the file\n") == 14);
    CHILD_CHECK(fputs("err still on the request\n", stderr) >= 0);
    FCGI_Finish();
    /* The file was closed with the request; stdout is unbound again. */
    CHILD_CHECK(_fcgi_sF[1].stdio_stream == NULL && _fcgi_sF[1].fcgx_stream == NULL);
    return 0;
}

START_TEST(freopen_request_stream)
{
    static const char *const names[] = {"out", NULL};
    struct exchange x = {0};
    struct tmpdir t;
    peer_response r;
    peer_buf got = {0};

    tmpdir_make(&t, "out");
    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_freopen, t.path, &x, &r), 0);
    assert_text(&r.out, "before");
    ck_assert_int_eq(r.out_eos, 1);
    assert_text(&r.err, "err still on the request\n");
    app_status(&r);
    slurp(t.path, &got);
    assert_text(&got, "into the file\n");
    peer_buf_free(&got);
    peer_response_free(&r);
    tmpdir_remove(&t, names);
}
END_TEST

/* ---- input ---- */

#define BIN_IN 70001
static const char text_in[] = "first\nsecond\nthird\n";

static int app_input(void *arg)
{
    unsigned char *want = malloc(BIN_IN);
    unsigned char *got = malloc(BIN_IN + 16);
    char line[64];
    int c;

    (void)arg;
    CHILD_CHECK(want != NULL && got != NULL);
    pattern(want, BIN_IN, 11);
    CHILD_CHECK(FCGI_Accept() == 0);

    c = getchar();
    CHILD_CHECK(c == 'f');
    CHILD_CHECK(ungetc(c, stdin) == 'f');
    CHILD_CHECK(fgetc(stdin) == 'f');
    CHILD_CHECK(getc(stdin) == 'i');
    CHILD_CHECK(ungetc('i', stdin) == 'i');
    CHILD_CHECK(fgets(line, sizeof line, stdin) == line);
    CHILD_CHECK(strcmp(line, "irst\n") == 0);
    CHILD_CHECK(fgets(line, 4, stdin) == line);
    CHILD_CHECK(strcmp(line, "sec") == 0);
    CHILD_CHECK(gets(line) == line);
    CHILD_CHECK(strcmp(line, "ond") == 0);
    CHILD_CHECK(gets(line) == line);
    CHILD_CHECK(strcmp(line, "third") == 0);
    CHILD_CHECK(feof(stdin) == 0);

    /* Binary: one byte, then whole 4-byte items (70000 bytes = 17500). */
    CHILD_CHECK(fread(got, 1, 1, stdin) == 1);
    CHILD_CHECK(fread(got + 1, 4, 20000, stdin) == 17500);
    CHILD_CHECK(memcmp(got, want, BIN_IN) == 0);
    CHILD_CHECK(feof(stdin) != 0);
    CHILD_CHECK(ferror(stdin) == 0);
    CHILD_CHECK(getchar() == EOF);
    CHILD_CHECK(fgets(line, sizeof line, stdin) == NULL);
    CHILD_CHECK(gets(line) == NULL);
    CHILD_CHECK(fread(got, 1, 10, stdin) == 0);
    CHILD_CHECK(fread(got, 0, 10, stdin) == 0);
    printf("read ok\n");
    FCGI_Finish();
    free(want);
    free(got);
    return 0;
}

START_TEST(input_functions)
{
    struct exchange x = {0};
    peer_response r;
    peer_buf body = {0};
    unsigned char *bin = malloc(BIN_IN);

    ck_assert_ptr_nonnull(bin);
    pattern(bin, BIN_IN, 11);
    peer_buf_add(&body, text_in, sizeof text_in - 1);
    peer_buf_add(&body, bin, BIN_IN);
    x.body = body.data;
    x.body_len = body.len;

    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_input, NULL, &x, &r), 0);
    assert_text(&r.out, "read ok\n");
    peer_response_free(&r);
    peer_buf_free(&body);
    free(bin);
}
END_TEST

/* ---- positioning, buffering, descriptors, exit status on request streams ---- */

static int app_misc(void *arg)
{
    fpos_t pos;

    (void)arg;
    memset(&pos, 0, sizeof pos);
    CHILD_CHECK(FCGI_Accept() == 0);
    errno = 0;
    CHILD_CHECK(fileno(stdout) == -1 && errno == EBADF);
    CHILD_CHECK(fileno(stdin) == -1);
    errno = 0;
    CHILD_CHECK(fseek(stdin, 0, SEEK_SET) == -1 && errno == ESPIPE);
    errno = 0;
    CHILD_CHECK(ftell(stdout) == -1 && errno == ESPIPE);
    errno = 0;
    rewind(stdin);
    CHILD_CHECK(errno == ESPIPE);
    errno = 0;
    CHILD_CHECK(fgetpos(stdout, &pos) == -1 && errno == ESPIPE);
    errno = 0;
    CHILD_CHECK(fsetpos(stdout, &pos) == -1 && errno == ESPIPE);
    CHILD_CHECK(setvbuf(stdout, NULL, _IOFBF, 64) == 0);
    setbuf(stdout, NULL);
    CHILD_CHECK(pclose(stdout) == -1);
    CHILD_CHECK(printf("ok") == 2);
    CHILD_CHECK(fflush(stdout) == 0);
    CHILD_CHECK(fflush(NULL) == 0);
    CHILD_CHECK(ferror(stdout) == 0);
    clearerr(stdout);
    CHILD_CHECK(ferror(stdout) == 0);
    CHILD_CHECK(fgetc(stdin) == EOF);
    CHILD_CHECK(feof(stdin) != 0);
    CHILD_CHECK(printf("\n") == 1);
    FCGI_SetExitStatus(7);
    FCGI_Finish();
    /* No request: nothing to set, nothing to crash on. */
    FCGI_SetExitStatus(9);
    CHILD_CHECK(FCGI_StartFilterData() == -1);
    return 0;
}

START_TEST(request_stream_misc)
{
    struct exchange x = {0};
    peer_response r;

    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_misc, NULL, &x, &r), 0);
    assert_text(&r.out, "ok\n");
    ck_assert_uint_eq(app_status(&r), 7);
    peer_response_free(&r);
}
END_TEST

/* ---- filter role ---- */

static int app_filter(void *arg)
{
    char chunk[256];
    long body = 0;
    size_t n;

    (void)arg;
    CHILD_CHECK(FCGI_Accept() == 0);
    CHILD_CHECK(strcmp(getenv("FCGI_ROLE"), "FILTER") == 0);
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        body += (long)n;
    CHILD_CHECK(FCGI_StartFilterData() == 0);
    printf("stdin=%ld data=", body);
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        fwrite(chunk, 1, n, stdout);
    CHILD_CHECK(feof(stdin) != 0);
    FCGI_Finish();
    return 0;
}

START_TEST(filter_data)
{
    static const char *const params[] = {"FCGI_DATA_LENGTH", "11", NULL};
    struct exchange x = {0};
    peer_response r;

    x.role = PEER_FILTER;
    x.params = params;
    x.body = "body!";
    x.body_len = 5;
    x.data = "filter data";
    x.data_len = 11;
    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_filter, NULL, &x, &r), 0);
    assert_text(&r.out, "stdin=5 data=filter data");
    peer_response_free(&r);
}
END_TEST

/* ---- printf: byte-identical to the C library ---- */

static const char long_arg[] =
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789";

/* Every row runs once through FCGI_printf (or fprintf) and once through snprintf. */
#define PRINTF_ROWS(X)                                                       \
    X("plain text, no conversion")                                           \
    X("%d %i %u %o %x %X", -42, 42, 42u, 42u, 0xbeefu, 0xbeefu)              \
    X("%zu %zd %zx", (size_t)SIZE_MAX, (ssize_t)-7, (size_t)0xabc)           \
    X("%hhd %hhu %hhx", (signed char)-5, (unsigned char)250, (unsigned char)0xab) \
    X("%hd %hu", (short)-32768, (unsigned short)65535)                       \
    X("%ld %lu %lx", LONG_MIN, ULONG_MAX, 0xdeadbeefUL)                      \
    X("%lld %llu %llX", LLONG_MIN, ULLONG_MAX, 0x1234abcdULL)                \
    X("%jd %ju", INTMAX_MIN, UINTMAX_MAX)                                    \
    X("%td", (ptrdiff_t)-123456)                                             \
    X("%a %A %.2a", 1.0, -0.1, 3.14159)                                      \
    X("%La", 2.5L)                                                           \
    X("%f %.0f %.10f %F", 3.14159, 2.5, 1.0 / 3.0, 1e10)                     \
    X("%Lf %.3Lf", 3.141592653589793238L, -2.0005L)                          \
    X("%lf", 6.25)                                                           \
    X("%e %E %.0e", 12345.678, 0.000123, 5.5)                                \
    X("%g %G %g %#.3g", 0.0001234, 1e-10, 100000.0, 1.0)                     \
    X("%f %F %e %g", INFINITY, -INFINITY, NAN, -0.0)                         \
    X("[%-10s] [%10s] [%.3s]", "left", "right", "abcdef")                    \
    X("[%*d] [%-*d] [%.*f]", 5, 42, 6, 7, 2, 3.14159)                        \
    X("%% %c%c", 'o', 'k')                                                   \
    X("nul:%c:end", 0)                                                       \
    X("%p %p", (void *)0x1234, (void *)NULL)                                 \
    X("%#x %#o %#X %#.0f", 255u, 8u, 0xabu, 3.0)                             \
    X("[%+d] [% d] [%05d] [%-5d] [%+.3d]", 5, 5, -42, 42, 7)                 \
    X("%2$s %1$s", "world", "hello")                                         \
    X("%'d", 1234567)                                                        \
    X("%lc %ls", (wint_t)L'w', L"wide")                                      \
    X("%5000d|", 1)                                                          \
    X("%s%s%s%s", long_arg, long_arg, long_arg, long_arg)                    \
    X("%.1000f", 1.0)

static int app_printf(void *arg)
{
    int n;

    (void)arg;
    CHILD_CHECK(FCGI_Accept() == 0);
#define PRINT_ROW(...)                                                       \
    n = printf(__VA_ARGS__);                                                 \
    printf("|%d\n", n);
    PRINTF_ROWS(PRINT_ROW)
#undef PRINT_ROW
    FCGI_Finish();
    return 0;
}

/* The same rows as snprintf formats them. */
static void printf_expected(peer_buf *want)
{
    static char buf[16384];
    char tail[32];
    int n;

#define EXPECT_ROW(...)                                                      \
    n = snprintf(buf, sizeof buf, __VA_ARGS__);                              \
    ck_assert_int_ge(n, 0);                                                  \
    ck_assert_int_lt(n, (int)sizeof buf);                                    \
    peer_buf_add(want, buf, (size_t)n);                                      \
    peer_buf_add(want, tail, (size_t)snprintf(tail, sizeof tail, "|%d\n", n));
    PRINTF_ROWS(EXPECT_ROW)
#undef EXPECT_ROW
}

START_TEST(printf_matches_libc_on_request)
{
    struct exchange x = {0};
    peer_response r;
    peer_buf want = {0};

    printf_expected(&want);
    peer_response_init(&r);
    ck_assert_int_eq(serve_one(app_printf, NULL, &x, &r), 0);
    assert_bytes(&r.out, want.data, want.len);
    peer_response_free(&r);
    peer_buf_free(&want);
}
END_TEST

START_TEST(printf_matches_libc_on_file)
{
    FILE *f = tmpfile();
    peer_buf want = {0};
    char *got;
    long size;
    int n;

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(FCGI_ToFILE(f));
    ck_assert_ptr_null(FCGI_ToFcgiStream(f));
#define FILE_ROW(...)                                                        \
    n = fprintf(f, __VA_ARGS__);                                             \
    fprintf(f, "|%d\n", n);
    PRINTF_ROWS(FILE_ROW)
#undef FILE_ROW
    printf_expected(&want);
    size = ftell(f);
    ck_assert_int_eq(size, (long)want.len);
    rewind(f);
    got = malloc(want.len + 1);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(fread(got, 1, want.len + 1, f), want.len);
    ck_assert_int_eq(memcmp(got, want.data, want.len), 0);
    ck_assert_int_ne(feof(f), 0);
    ck_assert_int_eq(fclose(f), 0);
    free(got);
    peer_buf_free(&want);
}
END_TEST

/* ---- real files ---- */

START_TEST(file_read_write_seek)
{
    static const char *const names[] = {"f", "g", NULL};
    struct tmpdir t;
    char path2[192];
    char line[64];
    char bin[16];
    fpos_t pos;
    peer_buf content = {0};
    FILE *f;
    int fd;
    struct stat st;

    tmpdir_make(&t, "f");
    snprintf(path2, sizeof path2, "%s/g", t.dir);

    errno = 0;
    ck_assert_ptr_null(fopen(path2, "r"));
    ck_assert_int_eq(errno, ENOENT);

    f = fopen(t.path, "w+");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(FCGI_ToFcgiStream(f));
    ck_assert_int_eq(setvbuf(f, NULL, _IOFBF, 128), 0);
    ck_assert_int_eq(fputc('a', f), 'a');
    ck_assert_int_eq(putc('b', f), 'b');
    ck_assert_int_ge(fputs("cd\nline two\n", f), 0);
    ck_assert_int_eq(fprintf(f, "%d-%s\n", 3, "three"), 8);
    ck_assert_uint_eq(fwrite("x\0y\0z\0", 2, 3, f), 3);
    ck_assert_int_eq(fflush(f), 0);
    ck_assert_int_eq(ftell(f), 2 + 12 + 8 + 6);

    fd = fileno(f);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_size, 28);

    rewind(f);
    ck_assert_int_eq(ftell(f), 0);
    ck_assert_int_eq(fgetc(f), 'a');
    ck_assert_int_eq(ungetc('A', f), 'A');
    ck_assert_int_eq(getc(f), 'A');
    ck_assert_ptr_eq(fgets(line, sizeof line, f), line);
    ck_assert_str_eq(line, "bcd\n");
    ck_assert_int_eq(fgetpos(f, &pos), 0);
    ck_assert_ptr_eq(fgets(line, sizeof line, f), line);
    ck_assert_str_eq(line, "line two\n");
    ck_assert_int_eq(fsetpos(f, &pos), 0);
    ck_assert_ptr_eq(fgets(line, 5, f), line);
    ck_assert_str_eq(line, "line");
    ck_assert_int_eq(fseek(f, -6, SEEK_END), 0);
    ck_assert_uint_eq(fread(bin, 4, 4, f), 1);  /* 6 bytes: one whole item */
    ck_assert_int_eq(memcmp(bin, "x\0y\0z\0", 6), 0);
    ck_assert_int_ne(feof(f), 0);
    ck_assert_int_eq(ferror(f), 0);
    clearerr(f);
    ck_assert_int_eq(feof(f), 0);
    ck_assert_int_eq(fgetc(f), EOF);
    setbuf(f, NULL);
    ck_assert_int_eq(fclose(f), 0);

    /* freopen keeps the FCGI_FILE and swaps the file behind it. */
    f = fopen(t.path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_eq(freopen(path2, "w", f), f);
    ck_assert_int_ge(fputs("reopened\n", f), 0);
    ck_assert_int_eq(fclose(f), 0);
    slurp(path2, &content);
    assert_text(&content, "reopened\n");
    peer_buf_free(&content);

    /* fdopen */
    fd = open(path2, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fileno(f), fd);
    ck_assert_ptr_eq(fgets(line, sizeof line, f), line);
    ck_assert_str_eq(line, "reopened\n");
    ck_assert_ptr_null(fgets(line, sizeof line, f));
    ck_assert_int_eq(fclose(f), 0);

    tmpdir_remove(&t, names);
}
END_TEST

START_TEST(file_popen)
{
    char line[64];
    FILE *f = popen("echo popen-ok", "r");
    int status;

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_eq(fgets(line, sizeof line, f), line);
    ck_assert_str_eq(line, "popen-ok\n");
    ck_assert_int_eq(pclose(f), 0);

    f = popen("exit 3", "r");
    ck_assert_ptr_nonnull(f);
    status = pclose(f);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 3);

    f = popen("cat >/dev/null", "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fprintf(f, "to the child\n"), 0);
    ck_assert_int_eq(pclose(f), 0);
}
END_TEST

START_TEST(file_bad_arguments)
{
    FCGI_FILE unbound = {NULL, NULL};

    errno = 0;
    ck_assert_int_eq(fclose(NULL), EOF);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(fputc('x', &unbound), EOF);
    ck_assert_int_eq(fgetc(&unbound), EOF);
    ck_assert_int_eq(fileno(&unbound), -1);
    ck_assert_int_eq(fflush(&unbound), EOF);
    ck_assert_int_eq(pclose(&unbound), -1);
    ck_assert_uint_eq(fwrite("x", 1, 1, &unbound), 0);
}
END_TEST

/* ---- standard streams without FCGI_Accept: the real ones ---- */

static int unbound_std(void *arg)
{
    char line[64];

    (void)arg;
    CHILD_CHECK(_fcgi_sF[1].stdio_stream == NULL && _fcgi_sF[1].fcgx_stream == NULL);
    CHILD_CHECK(printf("to real stdout %d\n", 1) == 17);
    CHILD_CHECK(puts("puts") >= 0);
    CHILD_CHECK(fwrite("bin\0", 1, 4, stdout) == 4);
    CHILD_CHECK(fputs("to real stderr\n", stderr) >= 0);
    errno = ENOENT;
    perror("perror");
    CHILD_CHECK(fileno(stdout) == 1);
    CHILD_CHECK(fileno(stdin) == 0);
    CHILD_CHECK(fgets(line, sizeof line, stdin) == line);
    CHILD_CHECK(strcmp(line, "input line\n") == 0);
    CHILD_CHECK(getchar() == 'x');
    CHILD_CHECK(gets(line) == line && strcmp(line, "yz") == 0);
    CHILD_CHECK(getchar() == EOF && feof(stdin));
    CHILD_CHECK(fflush(stdout) == 0);
    /* Closed for good: later calls fail instead of touching a dead FILE. */
    CHILD_CHECK(fclose(stdin) == 0);
    errno = 0;
    CHILD_CHECK(getchar() == EOF && errno == EBADF);
    CHILD_CHECK(fileno(stdin) == -1);
    return 0;
}

START_TEST(unbound_standard_streams_are_real)
{
    static const char *const names[] = {"in", "out", "err", NULL};
    struct tmpdir t;
    char in[192], out[192], err[192];
    char want_err[128];
    peer_buf got = {0};

    tmpdir_make(&t, "in");
    snprintf(in, sizeof in, "%s/in", t.dir);
    snprintf(out, sizeof out, "%s/out", t.dir);
    snprintf(err, sizeof err, "%s/err", t.dir);
    write_file(in, "input line\nxyz", 14);
    ck_assert_int_eq(run_redirected(unbound_std, NULL, in, out, err, APP_TIMEOUT_MS), 0);
    slurp(out, &got);
    assert_bytes(&got, "to real stdout 1\nputs\nbin\0", 26);
    peer_buf_free(&got);
    slurp(err, &got);
    snprintf(want_err, sizeof want_err, "to real stderr\nperror: %s\n", strerror(ENOENT));
    assert_text(&got, want_err);
    peer_buf_free(&got);
    tmpdir_remove(&t, names);
}
END_TEST

/* ---- CGI mode: fd 0 is not a listening socket ---- */

static int cgi_app(void *arg)
{
    char body[64];
    size_t n;

    (void)arg;
    CHILD_CHECK(FCGX_IsCGI() != 0);
    CHILD_CHECK(FCGI_Accept() == 0);
    CHILD_CHECK(_fcgi_sF[0].stdio_stream == real_std(0));
    CHILD_CHECK(_fcgi_sF[1].stdio_stream == real_std(1));
    CHILD_CHECK(_fcgi_sF[2].stdio_stream == real_std(2));
    CHILD_CHECK(_fcgi_sF[1].fcgx_stream == NULL);
    n = fread(body, 1, sizeof body - 1, stdin);
    body[n] = '\0';
    printf("Content-type: text/plain\r\n\r\ncgi %s [%s]\n", getenv("REQUEST_METHOD"), body);
    fprintf(stderr, "cgi stderr\n");
    CHILD_CHECK(FCGI_StartFilterData() == -1);
    FCGI_SetExitStatus(3);
    FCGI_Finish();
    CHILD_CHECK(_fcgi_sF[1].stdio_stream == real_std(1));
    CHILD_CHECK(FCGI_Accept() == -1);
    CHILD_CHECK(FCGI_Accept() == -1);
    return 0;
}

START_TEST(cgi_mode)
{
    static const char *const names[] = {"in", "out", "err", NULL};
    struct tmpdir t;
    char in[192], out[192], err[192];
    peer_buf got = {0};

    tmpdir_make(&t, "in");
    snprintf(in, sizeof in, "%s/in", t.dir);
    snprintf(out, sizeof out, "%s/out", t.dir);
    snprintf(err, sizeof err, "%s/err", t.dir);
    write_file(in, "a=b&c", 5);
    setenv("REQUEST_METHOD", "POST", 1);
    ck_assert_int_eq(run_redirected(cgi_app, NULL, in, out, err, APP_TIMEOUT_MS), 0);
    unsetenv("REQUEST_METHOD");
    slurp(out, &got);
    assert_text(&got, "Content-type: text/plain\r\n\r\ncgi POST [a=b&c]\n");
    peer_buf_free(&got);
    slurp(err, &got);
    assert_text(&got, "cgi stderr\n");
    peer_buf_free(&got);
    tmpdir_remove(&t, names);
}
END_TEST

static Suite *stdio_suite(void)
{
    Suite *s = suite_create("fcgi_stdio");
    TCase *req = tcase_create("request");
    TCase *file = tcase_create("file");
    TCase *proc = tcase_create("process");

    tcase_set_timeout(req, 60);
    tcase_add_test(req, accept_binds_request_and_environ);
    tcase_add_test(req, accept_loop);
    tcase_add_test(req, exit_finishes_request);
    tcase_add_test(req, output_functions);
    tcase_add_test(req, fclose_request_stream);
    tcase_add_test(req, freopen_request_stream);
    tcase_add_test(req, input_functions);
    tcase_add_test(req, request_stream_misc);
    tcase_add_test(req, filter_data);
    tcase_add_test(req, printf_matches_libc_on_request);
    suite_add_tcase(s, req);

    tcase_set_timeout(file, 60);
    tcase_add_test(file, printf_matches_libc_on_file);
    tcase_add_test(file, file_read_write_seek);
    tcase_add_test(file, file_popen);
    tcase_add_test(file, file_bad_arguments);
    suite_add_tcase(s, file);

    tcase_set_timeout(proc, 60);
    tcase_add_test(proc, unbound_standard_streams_are_real);
    tcase_add_test(proc, cgi_mode);
    suite_add_tcase(s, proc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stdio_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
