// check_fcgio.cpp: libfcgi++ (fcgio.h), unbuffered and buffered.
//
// Output: an fcgi_streambuf over FCGX_CreateWriter on one end of a
// socketpair, the records read back raw from the other end.  Input: an
// application process (harness.c) reading a request body through
// fcgi_istream / fcgi_streambuf and echoing it, the test playing the web
// server (tests/support/peer.h).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <istream>
#include <ostream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "fastcgi.h"
#include "fcgio.h"
#include "harness.h"
#include "peer.h"

namespace {

const int app_timeout_ms = 10000;

// Deterministic bytes, NULs and high bytes included.
std::string pattern(size_t n, unsigned seed)
{
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>(i * 13u + seed + (i >> 9));
    return s;
}

std::string text_of(const peer_buf &b)
{
    return std::string(reinterpret_cast<const char *>(b.data), b.len);
}

// A writer stream of request 1's STDOUT on a socketpair.
struct Wire {
    int app_end = -1;
    int server_end = -1;
    FCGX_Stream *out = nullptr;
    peer_response r;

    Wire()
    {
        int sv[2];
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        app_end = sv[0];
        server_end = sv[1];
        fcntl(server_end, F_SETFL, fcntl(server_end, F_GETFL) | O_NONBLOCK);
        out = FCGX_CreateWriter(app_end, 1, 8192, FCGI_STDOUT);
        ck_assert_ptr_nonnull(out);
        peer_response_init(&r);
    }

    // Ends the stream and reads every record the application wrote.
    std::string finish()
    {
        ck_assert_int_eq(FCGX_FClose(out), 0);
        FCGX_FreeStream(&out);
        close(app_end);
        app_end = -1;
        ck_assert_int_eq(peer_read(server_end, &r, 1, PEER_UNTIL_CLOSE, PEER_TIMEOUT_MS), 0);
        ck_assert_int_eq(r.out_eos, 1);
        return text_of(r.out);
    }

    // Reads what has reached the socket so far (one record at least).
    std::string arrived()
    {
        peer_read(server_end, &r, 1, PEER_UNTIL_RECORD, 1000);
        return text_of(r.out);
    }

    ~Wire()
    {
        if (out)
            FCGX_FreeStream(&out);
        if (app_end >= 0)
            close(app_end);
        close(server_end);
        peer_response_free(&r);
    }
};

} // namespace

START_TEST(unbuffered_output)
{
    Wire w;
    unsigned char *start = w.out->wrNext;
    {
        fcgi_streambuf sb(w.out);
        std::ostream os(&sb);
        os << "hello " << 42 << '\n';
        os.write("a\0b", 3);
        os.put('Z');
        ck_assert(os.good());
        // Unbuffered: the bytes are in the FCGX_Stream's buffer already.
        ck_assert_ptr_eq(w.out->wrNext, start + 13);
        ck_assert_int_eq(memcmp(start, "hello 42\na\0bZ", 13), 0);
        os.flush();
        ck_assert(os.good());
        ck_assert(w.arrived() == std::string("hello 42\na\0bZ", 13));
    }
    ck_assert(w.finish() == std::string("hello 42\na\0bZ", 13));
}
END_TEST

START_TEST(unbuffered_large_binary)
{
    Wire w;
    std::string data = pattern(60000, 5);
    {
        fcgi_ostream os(w.out);
        os.write(data.data(), static_cast<std::streamsize>(data.size()));
        ck_assert(os.good());
    }
    ck_assert(w.finish() == data);
}
END_TEST

START_TEST(buffered_output)
{
    Wire w;
    std::string data = pattern(5000, 9);
    std::string want;
    char buf[16];
    unsigned char *start = w.out->wrNext;
    {
        fcgi_streambuf sb(w.out, buf, sizeof buf);
        std::ostream os(&sb);
        os << "0123456789";         // fits in the buffer
        want += "0123456789";
        ck_assert_ptr_eq(w.out->wrNext, start);
        os << "abcdefghij";         // overflows it
        want += "abcdefghij";
        ck_assert_ptr_eq(w.out->wrNext, start + 10);  // the first ten went on
        os.write(data.data(), static_cast<std::streamsize>(data.size()));  // larger than it
        want += data;
        for (int i = 0; i < 100; ++i)
            os.put(static_cast<char>(i));
        for (int i = 0; i < 100; ++i)
            want += static_cast<char>(i);
        os << "tail";
        want += "tail";
        ck_assert(os.good());
        // sync() empties the buffer into the stream and forces a record out.
        os.flush();
        ck_assert(w.arrived() == want);
        os << "after";              // left in the buffer; the destructor hands it on
        want += "after";
    }
    ck_assert(w.finish() == want);
}
END_TEST

START_TEST(attach_later)
{
    Wire w;
    char buf[8];
    {
        fcgi_streambuf sb(buf, sizeof buf);
        std::ostream os(&sb);
        os << "x";
        os.flush();
        ck_assert(!os.good());      // nothing to write to yet
        os.clear();
        ck_assert_int_eq(sb.attach(w.out), 0);
        os << "attached, buffered\n";
        ck_assert(os.good());

        fcgi_ostream fo;
        fo << "lost";
        ck_assert(!fo.good());
        fo.attach(w.out);
        ck_assert(fo.good());
        os.flush();
        fo << "via fcgi_ostream\n";
        fo.flush();
    }
    ck_assert(w.finish() == "attached, buffered\nvia fcgi_ostream\n");
}
END_TEST

START_TEST(setbuf_switches_mode)
{
    Wire w;
    char buf[32];
    {
        fcgi_streambuf sb(w.out);
        std::ostream os(&sb);
        os << "one,";
        ck_assert_ptr_eq(sb.pubsetbuf(buf, sizeof buf), &sb);
        os << "two,";
        ck_assert_ptr_eq(sb.pubsetbuf(nullptr, 0), &sb);  // flushes, back to unbuffered
        os << "three";
        os.flush();
    }
    ck_assert(w.finish() == "one,two,three");
}
END_TEST

// ---- input through a request ----

namespace {

const char head_line[] = "HEAD line\n";
const size_t body_bin = 100003;

struct InputMode {
    bool buffered;
    int bufsize;
};

// Reads the body through fcgio and writes back what it read, then "END".
int app_echo(void *arg)
{
    const InputMode *mode = static_cast<const InputMode *>(arg);
    FCGX_Request req;

    CHILD_CHECK(FCGX_Init() == 0);
    CHILD_CHECK(FCGX_InitRequest(&req, 0, 0) == 0);
    CHILD_CHECK(FCGX_Accept_r(&req) == 0);
    {
        char *inbuf = mode->buffered ? static_cast<char *>(malloc(mode->bufsize)) : nullptr;
        fcgi_streambuf insb(req.in, inbuf, mode->buffered ? mode->bufsize : 0);
        fcgi_istream unbuffered_in(req.in);
        std::istream buffered_in(&insb);
        std::istream &in = mode->buffered ? buffered_in : static_cast<std::istream &>(unbuffered_in);
        fcgi_ostream out(req.out);

        // peek() must not consume.
        CHILD_CHECK(in.peek() == 'H');
        CHILD_CHECK(in.peek() == 'H');
        CHILD_CHECK(in.get() == 'H');
        if (mode->buffered) {
            CHILD_CHECK(in.unget());
            CHILD_CHECK(in.get() == 'H');
        }
        std::string line;
        CHILD_CHECK(std::getline(in, line));
        CHILD_CHECK(line == "EAD line");

        // The rest in odd-sized pieces, binary.
        char chunk[777];
        size_t total = 0;
        for (;;) {
            in.read(chunk, sizeof chunk);
            std::streamsize n = in.gcount();
            out.write(chunk, n);
            total += static_cast<size_t>(n);
            if (!in)
                break;
        }
        CHILD_CHECK(in.eof());
        CHILD_CHECK(total == body_bin);
        out << "END";
        CHILD_CHECK(out.good());
        free(inbuf);
    }
    FCGX_Finish_r(&req);
    FCGX_Free(&req, 1);
    return 0;
}

void check_echo(const InputMode &mode)
{
    std::string bin = pattern(body_bin, 17);
    std::string body = std::string(head_line) + bin;
    const char *const params[] = {"REQUEST_METHOD", "POST", nullptr};
    app_proc p;
    peer_response r;

    peer_response_init(&r);
    int fd;
    ck_assert_int_eq(app_start(&p, app_echo, const_cast<InputMode *>(&mode), 1, &fd), 0);
    ck_assert_int_eq(peer_request(fd, 1, PEER_RESPONDER, 0, params, body.data(), body.size()), 0);
    ck_assert_int_eq(peer_read(fd, &r, 1, PEER_UNTIL_END, PEER_TIMEOUT_MS), 0);
    close(fd);
    ck_assert_int_eq(app_wait(&p, app_timeout_ms), 0);
    ck_assert(text_of(r.out) == bin + "END");
    peer_response_free(&r);
}

} // namespace

START_TEST(unbuffered_input_binary)
{
    check_echo(InputMode{false, 0});
}
END_TEST

START_TEST(buffered_input_binary)
{
    check_echo(InputMode{true, 4096});
}
END_TEST

START_TEST(buffered_input_tiny_buffer)
{
    check_echo(InputMode{true, 3});
}
END_TEST

static Suite *fcgio_suite()
{
    Suite *s = suite_create("fcgio");
    TCase *out = tcase_create("output");
    TCase *in = tcase_create("input");

    tcase_set_timeout(out, 60);
    tcase_add_test(out, unbuffered_output);
    tcase_add_test(out, unbuffered_large_binary);
    tcase_add_test(out, buffered_output);
    tcase_add_test(out, attach_later);
    tcase_add_test(out, setbuf_switches_mode);
    suite_add_tcase(s, out);

    tcase_set_timeout(in, 60);
    tcase_add_test(in, unbuffered_input_binary);
    tcase_add_test(in, buffered_input_binary);
    tcase_add_test(in, buffered_input_tiny_buffer);
    suite_add_tcase(s, in);
    return s;
}

int main()
{
    SRunner *sr = srunner_create(fcgio_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
