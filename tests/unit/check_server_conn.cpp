// White-box tests of proto/server_conn: whole requests fed whole, byte by
// byte, split at every offset and at random, with identical events and
// reply bytes; the replies the connection makes on its own (GET_VALUES,
// UNKNOWN_TYPE, CANT_MPX_CONN, UNKNOWN_ROLE) checked as wire bytes;
// multiplexed requests; the
// protocol errors; and a guard page behind every piece of input.
#include <cstdlib>
#include <vector>

#include "proto/nvpair.hpp"
#include "proto/record.hpp"
#include "proto/server_conn.hpp"
#include "unit.hpp"

using namespace fcgi::proto;
using fcgi::Buffer;
using unit::Bytes;
using unit::bytes_of;
using unit::u8;
using Kind = ServerConn::Kind;

namespace {

// ------------------------------------------------------------ wire helpers

Bytes rec(uint8_t type, uint16_t id, const Bytes &content, int pad = -1,
          uint8_t version = kVersion1)
{
    uint8_t h[8];
    uint8_t p = pad < 0 ? padding_for(content.size()) : static_cast<uint8_t>(pad);
    encode_header(h, type, id, content.size(), p);
    h[0] = version;
    // Padding is junk on purpose: it must never be delivered.
    return Bytes(reinterpret_cast<char *>(h), 8) + content + Bytes(p, '\xee');
}

Bytes begin(uint16_t id, uint16_t role, uint8_t flags)
{
    uint8_t r[kFixedRecordLen];
    encode_begin_request(r, id, role, flags);
    return Bytes(reinterpret_cast<char *>(r), sizeof r);
}

struct Pair {
    Bytes name, value;
};

Bytes pairs(const std::vector<Pair> &ps)
{
    Buffer b;
    // Also builds file-scope fixtures, before Check runs: no ck_assert.
    for (const Pair &p : ps)
        if (!encode_pair(b, p.name.data(), p.name.size(), p.value.data(),
                         p.value.size()))
            abort();
    return bytes_of(b);
}

Bytes pattern(size_t n, unsigned seed)
{
    Bytes b(n, '\0');
    for (size_t i = 0; i < n; ++i)
        b[i] = static_cast<char>((i * 131 + seed) >> 1);
    return b;
}

// ----------------------------------------------------------------- driver

// One event; content as a range of the whole input, merged with the
// previous event when they are adjacent, so transcripts of different
// splits compare exactly.
struct Ev {
    Kind kind;
    uint16_t id, role;
    bool keep;
    size_t off, len;
    bool operator==(const Ev &o) const
    {
        return kind == o.kind && id == o.id && role == o.role && keep == o.keep &&
               off == o.off && len == o.len;
    }
};

struct Run {
    std::vector<Ev> evs;
    Bytes out;
    bool operator==(const Run &o) const { return evs == o.evs && out == o.out; }
};

bool is_content(Kind k)
{
    return k == Kind::params || k == Kind::stdin_data || k == Kind::data;
}

char letter(Kind k)
{
    switch (k) {
    case Kind::need_more: return '?';
    case Kind::begin: return 'b';
    case Kind::params: return 'p';
    case Kind::params_end: return 'P';
    case Kind::stdin_data: return 's';
    case Kind::stdin_end: return 'S';
    case Kind::data: return 'd';
    case Kind::data_end: return 'D';
    case Kind::abort: return 'a';
    case Kind::close: return 'c';
    case Kind::unsupported_version: return 'V';
    case Kind::protocol_error: return 'X';
    }
    return '!';
}

// The event kinds as letters, runs of one content kind collapsed: "bpPsS".
std::string kinds(const Run &r)
{
    std::string s;
    for (const Ev &e : r.evs)
        if (!(is_content(e.kind) && !s.empty() && s.back() == letter(e.kind)))
            s += letter(e.kind);
    return s;
}

std::string show(const Run &r)
{
    std::string s;
    char line[128];
    for (const Ev &e : r.evs) {
        snprintf(line, sizeof line, "  %c id%u role%u keep%d @%zu+%zu\n",
                 letter(e.kind), e.id, e.role, e.keep, e.off, e.len);
        s += line;
    }
    s += "  out: " + unit::hex(r.out, 400) + "\n";
    return s;
}

// The bytes of all content events of one kind, in order.
Bytes content(const Bytes &wire, const Run &r, Kind k)
{
    Bytes b;
    for (const Ev &e : r.evs)
        if (e.kind == k)
            b += wire.substr(e.off, e.len);
    return b;
}

// The string must outlive the check: ck_assert_str_eq keeps only pointers.
#define ASSERT_KINDS(r, want)                                                \
    do {                                                                     \
        const std::string kinds_ = kinds(r);                                 \
        if (kinds_ != (want))                                                \
            ck_abort_msg("events \"%s\", want \"%s\"", kinds_.c_str(), want); \
    } while (0)

// What the application does between events.
enum class App {
    none,
    end_at_stdin_end,        // END_REQUEST sent once the input is read
    end_at_first_params_end, // responds early, leaves STDIN unread
};

struct Driver {
    const Capacity *cap = nullptr;
    App app = App::none;
};

// Feeds wire cut at the ascending offsets in cuts, each piece until the
// connection asks for more; stops at a fatal event.
Run run(const Bytes &wire, const std::vector<size_t> &cuts, const Driver &drv = {},
        unit::GuardBuf *guard = nullptr)
{
    ServerConn c(drv.cap);
    Buffer out;
    Run r;
    size_t start = 0;
    int params_ends = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
        size_t stop = i < cuts.size() ? cuts[i] : wire.size();
        REQUIRE(stop >= start && stop <= wire.size());
        size_t n = stop - start;
        const uint8_t *p = u8(wire) + start;
        if (guard)
            p = guard->place(p, n);
        size_t pos = 0;
        for (int spins = 0;; ++spins) {
            REQUIRE(spins < 1000000, "no progress");
            ServerConn::Event ev;
            size_t used = c.feed(p + pos, n - pos, ev, out);
            REQUIRE(used <= n - pos);
            if (ev.kind == Kind::need_more) {
                REQUIRE(pos + used == n, "need_more left %zu bytes", n - pos - used);
                break;
            }
            Ev e{ev.kind, ev.request_id, ev.role, ev.keep_conn, 0, 0};
            if (is_content(ev.kind)) {
                REQUIRE(ev.len > 0, "empty content event");
                REQUIRE(ev.data >= p + pos && ev.data + ev.len <= p + pos + used,
                        "content outside the consumed bytes");
                REQUIRE(ev.request_id == c.active_id());
                e.off = start + static_cast<size_t>(ev.data - p);
                e.len = ev.len;
            } else {
                REQUIRE(ev.data == nullptr && ev.len == 0);
            }
            if (is_content(e.kind) && !r.evs.empty() && r.evs.back().kind == e.kind &&
                r.evs.back().id == e.id && r.evs.back().off + r.evs.back().len == e.off)
                r.evs.back().len += e.len; // continues the previous piece
            else
                r.evs.push_back(e);
            pos += used;
            if (ev.kind == Kind::protocol_error || ev.kind == Kind::unsupported_version) {
                REQUIRE(c.failed());
                // Unusable from now on, whatever it is given.
                ServerConn::Event again;
                REQUIRE(c.feed(p + pos, n - pos, again, out) == 0);
                REQUIRE(again.kind == Kind::protocol_error);
                r.out = bytes_of(out);
                return r;
            }
            if (ev.kind == Kind::params_end)
                REQUIRE(c.params_done());
            if (ev.kind == Kind::stdin_end)
                REQUIRE(c.stdin_done());
            if (ev.kind == Kind::data_end)
                REQUIRE(c.data_done());
            if ((drv.app == App::end_at_stdin_end && ev.kind == Kind::stdin_end) ||
                (drv.app == App::end_at_first_params_end &&
                 ev.kind == Kind::params_end && params_ends++ == 0)) {
                c.end_request();
                REQUIRE(c.active_id() == 0 && !c.params_done() && !c.stdin_done());
            }
        }
        start = stop;
    }
    REQUIRE(!c.failed());
    r.out = bytes_of(out);
    return r;
}

void expect_same(const Run &got, const Run &want, const char *what, size_t a,
                 size_t b = 0)
{
    if (!(got == want))
        ck_abort_msg("%s (%zu,%zu): got\n%s want\n%s", what, a, b,
                     show(got).c_str(), show(want).c_str());
}

// The habit: whole, byte by byte, every two-piece split, random splits,
// all giving the same events and the same reply bytes.
void check_splits(const Bytes &wire, const Driver &drv, bool every_split = true,
                  int random_rounds = 100)
{
    Run whole = run(wire, {}, drv);
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); ++i)
        cuts.push_back(i);
    expect_same(run(wire, cuts, drv), whole, "byte by byte", 0);
    if (every_split)
        for (size_t i = 0; i <= wire.size(); ++i)
            expect_same(run(wire, {i}, drv), whole, "split", i);
    unit::Rng rng(wire.size());
    for (int round = 0; round < random_rounds; ++round) {
        cuts.clear();
        size_t at = 0;
        size_t maxpiece = round % 2 ? 17 : 5000;
        for (;;) {
            at += rng.range(0, maxpiece);
            if (at >= wire.size())
                break;
            cuts.push_back(at);
        }
        expect_same(run(wire, cuts, drv), whole, "random round", round);
    }
}

// Same, every piece against a guard page (kept to small inputs: every
// piece is copied).
void check_guarded(const Bytes &wire, const Driver &drv)
{
    unit::GuardBuf guard(wire.size());
    Run whole = run(wire, {}, drv);
    expect_same(run(wire, {}, drv, &guard), whole, "guard whole", 0);
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); ++i)
        cuts.push_back(i);
    expect_same(run(wire, cuts, drv, &guard), whole, "guard byte by byte", 0);
    for (size_t i = 0; i <= wire.size(); ++i)
        expect_same(run(wire, {i}, drv, &guard), whole, "guard split", i);
}

// --------------------------------------------------------------- fixtures

const Bytes kParamBytes = pairs({
    {"SCRIPT_NAME", "/s"},
    {"REQUEST_METHOD", "POST"},
    {"CONTENT_LENGTH", "65541"},
    {"HTTP_X_LONG", Bytes(300, 'v')},
    {"EMPTY", ""},
});
const Bytes kBigBody = pattern(65535, 3);

// BEGIN (keep_conn), PARAMS split inside a pair and inside a 4-byte
// length, the empty PARAMS, STDIN of 6 and of 65535 bytes, empty STDIN.
Bytes full_request(uint16_t id, const Bytes &body_tail)
{
    const Bytes &p = kParamBytes;
    // 5 is inside the first name; 58 inside HTTP_X_LONG's 4-byte value length.
    return begin(id, kResponder, kKeepConn) + rec(kParams, id, p.substr(0, 5)) +
           rec(kParams, id, p.substr(5, 53)) + rec(kParams, id, p.substr(58)) +
           rec(kParams, id, "") + rec(kStdin, id, "hello ") +
           rec(kStdin, id, body_tail) + rec(kStdin, id, "");
}

void expect_full_request(const Bytes &wire, const Run &r, const Bytes &body_tail)
{
    ASSERT_KINDS(r, "bpPsS");
    ck_assert(r.evs[0].kind == Kind::begin);
    ck_assert_uint_eq(r.evs[0].id, 1);
    ck_assert_uint_eq(r.evs[0].role, kResponder);
    ck_assert(r.evs[0].keep);
    for (const Ev &e : r.evs)
        if (e.kind != Kind::begin)
            ck_assert_uint_eq(e.id, 1);
    ASSERT_BYTES_EQ(content(wire, r, Kind::params), kParamBytes);
    ck_assert(content(wire, r, Kind::stdin_data) == "hello " + body_tail);

    // The parameter bytes decode to the pairs that were sent.
    PairDecoder pd;
    pd.reset(ParamLimits());
    Bytes pb = content(wire, r, Kind::params);
    ck_assert(pd.feed(u8(pb), pb.size()) == PairDecoder::Status::ok);
    ck_assert(pd.finish() == PairDecoder::Status::ok);
    ck_assert_uint_eq(pd.count(), 5);
    ck_assert(bytes_of(pd.strings()).compare(0, 56, B("SCRIPT_NAME=/s\0REQUEST_METHOD=POST\0"
                                                      "CONTENT_LENGTH=65541\0")) ==
              0);
}

const Bytes kGetValuesQuery =
    pairs({{"FCGI_MAX_CONNS", ""}, {"FCGI_MAX_REQS", ""}, {"FCGI_MPXS_CONNS", ""}});

// The answer to kGetValuesQuery with Capacity{10, 50, false}.
const Bytes kGetValuesAnswer10_50 =
    B("\x01\x0a\x00\x00\x00\x35\x03\x00"
      "\x0e\x02" "FCGI_MAX_CONNS" "10"
      "\x0d\x02" "FCGI_MAX_REQS" "50"
      "\x0f\x01" "FCGI_MPXS_CONNS" "0"
      "\x00\x00\x00");

const Bytes kUnknownType200 =
    B("\x01\x0b\x00\x00\x00\x08\x00\x00\xc8\x00\x00\x00\x00\x00\x00\x00");

// A request with management records and other requests' records mixed in.
Bytes busy_request(const Bytes &body_tail)
{
    const Bytes &p = kParamBytes;
    return begin(1, kResponder, kKeepConn) + rec(kParams, 2, "\x01\x01zz") +
           rec(kParams, 1, p.substr(0, 40)) + rec(kGetValues, 0, kGetValuesQuery) +
           rec(kStdin, 3, "other") + rec(kParams, 1, p.substr(40)) +
           rec(200, 0, "mgmt", 0) + rec(kAbortRequest, 2, "") + rec(kParams, 1, "") +
           rec(kStdin, 1, "hello ") + rec(kData, 7, "d") + rec(kStdin, 1, body_tail) +
           rec(kStdin, 2, "") + rec(kStdin, 1, "");
}

// ------------------------------------------------------------------ tests

START_TEST(test_full_request)
{
    Bytes wire = full_request(1, kBigBody);
    Run r = run(wire, {});
    expect_full_request(wire, r, kBigBody);
    ck_assert_uint_eq(r.out.size(), 0);
    check_splits(wire, Driver());
}
END_TEST

START_TEST(test_busy_request)
{
    Capacity cap{10, 50, false};
    Driver drv{&cap, App::none};
    Bytes wire = busy_request(kBigBody);
    Run r = run(wire, {}, drv);
    expect_full_request(wire, r, kBigBody);
    ASSERT_BYTES_EQ(r.out, kGetValuesAnswer10_50 + kUnknownType200);
    check_splits(wire, drv);
}
END_TEST

START_TEST(test_get_values)
{
    Capacity cap{10, 50, false};
    Driver drv{&cap, App::none};
    Bytes wire = rec(kGetValues, 0, kGetValuesQuery);
    Run r = run(wire, {}, drv);
    ASSERT_KINDS(r, "");
    ASSERT_BYTES_EQ(r.out, kGetValuesAnswer10_50);
    check_splits(wire, drv);

    // No capacity given: one connection, one request, no multiplexing.
    Run d = run(wire, {});
    ASSERT_BYTES_EQ(d.out, B("\x01\x0a\x00\x00\x00\x33\x05\x00"
                             "\x0e\x01" "FCGI_MAX_CONNS" "1"
                             "\x0d\x01" "FCGI_MAX_REQS" "1"
                             "\x0f\x01" "FCGI_MPXS_CONNS" "0"
                             "\x00\x00\x00\x00\x00"));

    // Large numbers, multiplexing on.
    Capacity big{4294967295u, 1234567, true};
    Driver bdrv{&big, App::none};
    ASSERT_BYTES_EQ(run(wire, {}, bdrv).out,
                    B("\x01\x0a\x00\x00\x00\x42\x06\x00"
                      "\x0e\x0a" "FCGI_MAX_CONNS" "4294967295"
                      "\x0d\x07" "FCGI_MAX_REQS" "1234567"
                      "\x0f\x01" "FCGI_MPXS_CONNS" "1"
                      "\x00\x00\x00\x00\x00\x00"));

    // Values in the query are ignored; the record's own padding too.
    Bytes valued = pairs({{"FCGI_MAX_REQS", "999"}});
    ASSERT_BYTES_EQ(run(rec(kGetValues, 0, valued, 200), {}, drv).out,
                    B("\x01\x0a\x00\x00\x00\x11\x07\x00"
                      "\x0d\x02" "FCGI_MAX_REQS" "50"
                      "\x00\x00\x00\x00\x00\x00\x00"));

    // Two queries on one connection: two answers.
    Run two = run(wire + wire, {}, drv);
    ASSERT_BYTES_EQ(two.out, kGetValuesAnswer10_50 + kGetValuesAnswer10_50);
}
END_TEST

START_TEST(test_get_values_empty_and_unknown)
{
    const Bytes empty_answer = B("\x01\x0a\x00\x00\x00\x00\x00\x00");
    ASSERT_BYTES_EQ(run(rec(kGetValues, 0, ""), {}).out, empty_answer);
    // Only names we do not know, including near misses: nothing to say.
    Bytes unknown = pairs({{"BOGUS", ""},
                           {"", ""},
                           {"FCGI_MAX_CONN", ""},
                           {"FCGI_MAX_CONNSX", ""},
                           {"fcgi_max_conns", ""},
                           {Bytes("FCGI_MAX_CONNS\0", 15), ""}});
    ASSERT_BYTES_EQ(run(rec(kGetValues, 0, unknown), {}).out, empty_answer);
}
END_TEST

START_TEST(test_get_values_duplicates)
{
    Capacity cap{10, 50, false};
    Driver drv{&cap, App::none};
    Bytes q = pairs({{"FCGI_MPXS_CONNS", ""},
                     {"BOGUS", ""},
                     {"FCGI_MAX_CONNS", ""},
                     {"FCGI_MPXS_CONNS", ""},
                     {"FCGI_MAX_CONNS", ""},
                     {"FCGI_MPXS_CONNS", ""}});
    Bytes wire = rec(kGetValues, 0, q);
    // Each known name answered once, in the order first asked.
    ASSERT_BYTES_EQ(run(wire, {}, drv).out, B("\x01\x0a\x00\x00\x00\x24\x04\x00"
                                              "\x0f\x01" "FCGI_MPXS_CONNS" "0"
                                              "\x0e\x02" "FCGI_MAX_CONNS" "10"
                                              "\x00\x00\x00\x00"));
    check_splits(wire, drv);
}
END_TEST

START_TEST(test_get_values_10000_names)
{
    Capacity cap{10, 50, false};
    Driver drv{&cap, App::none};
    std::vector<Pair> names;
    for (int i = 0; i < 10000; ++i) {
        switch (i % 20) {
        case 0: names.push_back({"FCGI_MAX_CONNS", ""}); break;
        case 7: names.push_back({"FCGI_MAX_REQS", ""}); break;
        case 13: names.push_back({"FCGI_MPXS_CONNS", ""}); break;
        default: names.push_back({Bytes(1, static_cast<char>('a' + i % 26)), ""});
        }
    }
    Bytes q = pairs(names);
    ck_assert_uint_le(q.size(), kMaxContent);
    Bytes wire = rec(kGetValues, 0, q);
    Run r = run(wire, {}, drv);
    ASSERT_KINDS(r, "");
    ASSERT_BYTES_EQ(r.out, kGetValuesAnswer10_50);
    // Each run answers 10,000 names: no every-offset split here.
    check_splits(wire, drv, false, 20);
}
END_TEST

START_TEST(test_get_values_malformed)
{
    // A truncated pair list is not an error for the connection: the names
    // before the damage are answered, the rest ignored.
    Capacity cap{10, 50, false};
    Driver drv{&cap, App::none};
    Bytes q = pairs({{"FCGI_MAX_REQS", ""}}) + B("\x0e\x05" "FCGI_MAX_CONNS");
    Run r = run(rec(kGetValues, 0, q), {}, drv);
    ASSERT_KINDS(r, "");
    ASSERT_BYTES_EQ(r.out, B("\x01\x0a\x00\x00\x00\x11\x07\x00"
                             "\x0d\x02" "FCGI_MAX_REQS" "50"
                             "\x00\x00\x00\x00\x00\x00\x00"));
}
END_TEST

START_TEST(test_unknown_type)
{
    Run r = run(rec(200, 0, ""), {});
    ASSERT_KINDS(r, "");
    ASSERT_BYTES_EQ(r.out, kUnknownType200);

    // Content and padding of the unknown record are skipped.
    Bytes wire = rec(200, 0, "some content", 4) + rec(kStdin, 0, "abc") +
                 rec(kGetValuesResult, 0, "") + rec(kEndRequest, 0, Bytes(8, '\0')) +
                 rec(0, 0, "") + rec(255, 0, Bytes(300, 'z'));
    Run m = run(wire, {});
    ASSERT_KINDS(m, "");
    ASSERT_BYTES_EQ(m.out,
                    kUnknownType200 +
                        B("\x01\x0b\x00\x00\x00\x08\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"
                          "\x01\x0b\x00\x00\x00\x08\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00"
                          "\x01\x0b\x00\x00\x00\x08\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00"
                          "\x01\x0b\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                          "\x01\x0b\x00\x00\x00\x08\x00\x00\xff\x00\x00\x00\x00\x00\x00\x00"));
    check_splits(wire, Driver());
}
END_TEST

START_TEST(test_cant_mpx_conn)
{
    Bytes wire = begin(1, kResponder, kKeepConn) + begin(2, kResponder, 0) +
                 rec(kParams, 2, "\x01\x01zz") + rec(kParams, 1, "\x01\x01" "cd") +
                 begin(3, 99, 0) + rec(kParams, 1, "") + rec(kStdin, 2, "") +
                 rec(kStdin, 1, "");
    Run r = run(wire, {});
    ASSERT_KINDS(r, "bpPS");
    ck_assert_uint_eq(r.evs[0].id, 1);
    ASSERT_BYTES_EQ(content(wire, r, Kind::params), B("\x01\x01" "cd"));
    // END_REQUEST{CANT_MPX_CONN} for 2, and for 3 (whose role is not even
    // looked at while another request is active).
    ASSERT_BYTES_EQ(r.out, B("\x01\x03\x00\x02\x00\x08\x00\x00"
                             "\x00\x00\x00\x00\x01\x00\x00\x00"
                             "\x01\x03\x00\x03\x00\x08\x00\x00"
                             "\x00\x00\x00\x00\x01\x00\x00\x00"));
    check_splits(wire, Driver());

    ServerConn c;
    Buffer out;
    ServerConn::Event ev;
    Bytes b1 = begin(1, kResponder, kKeepConn) + begin(2, kResponder, 0);
    size_t used = c.feed(u8(b1), b1.size(), ev, out);
    ck_assert(ev.kind == Kind::begin);
    c.feed(u8(b1) + used, b1.size() - used, ev, out);
    ck_assert(ev.kind == Kind::need_more);
    ck_assert_uint_eq(c.active_id(), 1);
}
END_TEST


// Multiplexed (the capacity says FCGI_MPXS_CONNS=1): interleaved requests
// begin, deliver and end independently, each event carrying its id; a
// BEGIN_REQUEST for an active id is a protocol error; records of an ended
// id are skipped while the others go on; ABORT names its request.
START_TEST(test_multiplexed)
{
    Capacity cap{4, 4, true};
    ServerConn c(&cap);
    Buffer out;
    Bytes wire = begin(1, kResponder, kKeepConn) + begin(2, kFilter, kKeepConn) +
                 rec(kParams, 2, "\x01\x01zz") + rec(kParams, 1, "\x01\x01" "cd") +
                 rec(kParams, 1, "") + rec(kStdin, 1, "one") + rec(kParams, 2, "") +
                 rec(kStdin, 2, "two") + rec(kData, 2, "dd") + rec(kStdin, 1, "") +
                 rec(kAbortRequest, 2, "") + rec(kStdin, 2, "") + rec(kData, 2, "");
    std::string seen;
    size_t pos = 0;
    for (;;) {
        ServerConn::Event ev;
        pos += c.feed(u8(wire) + pos, wire.size() - pos, ev, out);
        if (ev.kind == Kind::need_more)
            break;
        seen += letter(ev.kind);
        seen += static_cast<char>('0' + ev.request_id);
        if (ev.kind == Kind::begin)
            ck_assert_uint_eq(ev.role, ev.request_id == 1 ? kResponder : kFilter);
        if (ev.kind == Kind::stdin_end && ev.request_id == 1)
            c.end_request(1);
    }
    ck_assert_uint_eq(pos, wire.size());
    ck_assert_str_eq(seen.c_str(), "b1b2p2p1P1s1P2s2d2S1a2S2D2");
    ck_assert_uint_eq(out.size(), 0);
    ck_assert_uint_eq(c.active_count(), 1);
    ck_assert(c.stdin_done(2) && c.data_done(2) && !c.stdin_done(1));

    // Request 1 ended: its late records are skipped, its id is free again.
    Bytes more = rec(kStdin, 1, "late") + begin(1, kResponder, 0) + begin(2, kResponder, 0);
    ServerConn::Event ev;
    size_t used = c.feed(u8(more), more.size(), ev, out);
    ck_assert(ev.kind == Kind::begin);
    ck_assert_uint_eq(ev.request_id, 1);
    c.feed(u8(more) + used, more.size() - used, ev, out);
    ck_assert(ev.kind == Kind::protocol_error); // 2 is still active
}
END_TEST

// Past kMaxMultiplexed active requests, a new one gets FCGI_OVERLOADED and
// its records are skipped; ending one makes room again.
START_TEST(test_multiplexed_limit)
{
    Capacity cap{1, 1, true};
    ServerConn c(&cap);
    Buffer out;
    ServerConn::Event ev;
    for (size_t i = 1; i <= kMaxMultiplexed; ++i) {
        Bytes b = begin(static_cast<uint16_t>(i), kResponder, kKeepConn);
        c.feed(u8(b), b.size(), ev, out);
        ck_assert(ev.kind == Kind::begin);
    }
    Bytes extra = begin(1000, kResponder, 0) + rec(kParams, 1000, "\x01\x01zz");
    c.feed(u8(extra), extra.size(), ev, out);
    ck_assert(ev.kind == Kind::need_more);
    ASSERT_BYTES_EQ(bytes_of(out), B("\x01\x03\x03\xe8\x00\x08\x00\x00"
                                     "\x00\x00\x00\x00\x02\x00\x00\x00")); // OVERLOADED
    c.end_request(7);
    ck_assert_uint_eq(c.active_count(), kMaxMultiplexed - 1);
    c.feed(u8(extra), extra.size(), ev, out);
    ck_assert(ev.kind == Kind::begin);
    ck_assert_uint_eq(ev.request_id, 1000);
}
END_TEST

// Content of a STDIN record taken straight from the socket (took_stdin):
// only offered while such a record is being delivered, and the record and
// the stream go on after it as if the bytes had been fed.
START_TEST(test_took_stdin)
{
    ServerConn c;
    Buffer out;
    ServerConn::Event ev;
    Bytes head = begin(1, kResponder, 0) + rec(kParams, 1, "") + rec(kStdin, 1, pattern(100, 3));
    size_t cut = head.size() - 100 - 4 + 10; // header and 10 content bytes fed
    size_t pos = 0;
    ck_assert_uint_eq(c.stdin_content_left(), 0);
    std::string seen;
    for (;;) {
        pos += c.feed(u8(head) + pos, cut - pos, ev, out);
        if (ev.kind == Kind::need_more)
            break;
        seen += letter(ev.kind);
    }
    ck_assert_str_eq(seen.c_str(), "bPs");
    ck_assert_uint_eq(c.stdin_content_left(), 90);
    c.took_stdin(90);
    ck_assert_uint_eq(c.stdin_content_left(), 0);
    Bytes rest = Bytes(4, '\xee') + rec(kStdin, 1, "");
    pos = c.feed(u8(rest), rest.size(), ev, out);
    ck_assert(ev.kind == Kind::stdin_end);
    ck_assert_uint_eq(pos, rest.size());
    ck_assert(c.stdin_done());
}
END_TEST

START_TEST(test_unknown_role)
{
    const Bytes unknown_role_1 = B("\x01\x03\x00\x01\x00\x08\x00\x00"
                                   "\x00\x00\x00\x00\x03\x00\x00\x00");
    // Not keep_conn: the reply, then close.
    Run r = run(begin(1, 4, 0), {});
    ASSERT_KINDS(r, "c");
    ASSERT_BYTES_EQ(r.out, unknown_role_1);

    // keep_conn: the reply, and the connection carries on; the refused
    // request's records are skipped.
    Bytes wire = begin(1, 0, kKeepConn) + rec(kParams, 1, "\x01\x01xy") +
                 rec(kStdin, 1, "x") + begin(5, 0xffff, 0xff) +
                 begin(6, kAuthorizer, 0xfe) + rec(kParams, 6, "\x01\x01" "ab") +
                 rec(kParams, 6, "") + rec(kStdin, 6, "");
    Run k = run(wire, {});
    ASSERT_KINDS(k, "bpPS");
    ck_assert_uint_eq(k.evs[0].id, 6);
    ck_assert_uint_eq(k.evs[0].role, kAuthorizer);
    ck_assert(!k.evs[0].keep); // 0xfe: the keep bit is clear
    ASSERT_BYTES_EQ(k.out, unknown_role_1 + B("\x01\x03\x00\x05\x00\x08\x00\x00"
                                              "\x00\x00\x00\x00\x03\x00\x00\x00"));
    check_splits(wire, Driver());

    // The three known roles are accepted; flags 0xff means keep_conn.
    for (uint16_t role : {kResponder, kAuthorizer, kFilter}) {
        Run ok = run(begin(0x1234, role, 0xff), {});
        ASSERT_KINDS(ok, "b");
        ck_assert_uint_eq(ok.evs[0].id, 0x1234);
        ck_assert_uint_eq(ok.evs[0].role, role);
        ck_assert(ok.evs[0].keep);
        ck_assert_uint_eq(ok.out.size(), 0);
    }
}
END_TEST

START_TEST(test_other_ids_skipped)
{
    Bytes wire = begin(1, kResponder, 0) + rec(kParams, 2, "\x01\x01zz") +
                 rec(kStdin, 3, "q") + rec(kAbortRequest, 2, "") + rec(kData, 7, "d") +
                 rec(kParams, 1, "\x01\x01" "ab") + rec(kParams, 0xffff, "") +
                 rec(kParams, 1, "") +
                 // After PARAMS ended, more PARAMS, STDOUT and an unknown
                 // type for the active id: skipped.
                 rec(kParams, 1, "\x01\x01xy") + rec(kStdout, 1, "out") + rec(77, 1, "zz") +
                 rec(kStdin, 2, "x") + rec(kStdin, 1, "in") + rec(kStdin, 1, "") +
                 // After STDIN ended: skipped.
                 rec(kStdin, 1, "late") + rec(kStdin, 1, "");
    Run r = run(wire, {});
    ASSERT_KINDS(r, "bpPsS");
    ASSERT_BYTES_EQ(content(wire, r, Kind::params), B("\x01\x01" "ab"));
    ASSERT_BYTES_EQ(content(wire, r, Kind::stdin_data), B("in"));
    ck_assert(!r.evs[0].keep);
    ck_assert_uint_eq(r.out.size(), 0);
    check_splits(wire, Driver());
}
END_TEST

START_TEST(test_filter_data)
{
    Bytes wire = begin(1, kFilter, kKeepConn) + rec(kParams, 1, "\x01\x01" "ab") +
                 rec(kParams, 1, "") + rec(kStdin, 1, "in") + rec(kStdin, 1, "") +
                 rec(kData, 1, "file data") + rec(kData, 2, "no") + rec(kData, 1, "!") +
                 rec(kData, 1, "") + rec(kData, 1, "late");
    Run r = run(wire, {});
    ASSERT_KINDS(r, "bpPsSdD");
    ck_assert_uint_eq(r.evs[0].role, kFilter);
    ASSERT_BYTES_EQ(content(wire, r, Kind::data), B("file data!"));
    check_splits(wire, Driver());
}
END_TEST

START_TEST(test_stdin_before_params_end)
{
    Run r = run(begin(1, kResponder, 0) + rec(kParams, 1, "\x01\x01" "ab") +
                    rec(kStdin, 1, "x") + rec(kParams, 1, ""),
                {});
    ASSERT_KINDS(r, "bpX");
    // Empty STDIN too.
    Bytes wire = begin(1, kResponder, 0) + rec(kStdin, 1, "") + rec(kParams, 1, "");
    ASSERT_KINDS(run(wire, {}), "bX");
    check_splits(wire, Driver());
    // Another id's early STDIN is only skipped.
    ASSERT_KINDS(run(begin(1, kResponder, 0) + rec(kStdin, 2, "x") + rec(kParams, 1, ""), {}),
                 "bP");
}
END_TEST

START_TEST(test_unsupported_version)
{
    ASSERT_KINDS(run(rec(kParams, 1, "", -1, 2), {}), "V");
    ASSERT_KINDS(run(rec(kGetValues, 0, kGetValuesQuery, -1, 0), {}), "V");
    Run r = run(begin(1, kResponder, 0) + rec(kParams, 1, "\x01\x01" "ab") +
                    rec(kParams, 1, "", -1, 2) + rec(kParams, 1, ""),
                {});
    ASSERT_KINDS(r, "bpV");
    // Even a BEGIN_REQUEST: the version is checked first.
    Bytes b2 = begin(1, kResponder, 0);
    b2[0] = 2;
    ASSERT_KINDS(run(b2, {}), "V");
    check_splits(b2 + rec(kParams, 1, ""), Driver());
}
END_TEST

START_TEST(test_abort)
{
    Bytes wire = begin(1, kResponder, kKeepConn) + rec(kAbortRequest, 2, "") +
                 rec(kParams, 1, "\x01\x01" "ab") + rec(kAbortRequest, 1, "");
    Run r = run(wire, {});
    ASSERT_KINDS(r, "bpa");
    ck_assert_uint_eq(r.evs.back().id, 1);
    check_splits(wire, Driver());

    // Before any BEGIN, and after the request ended: nothing.
    ASSERT_KINDS(run(rec(kAbortRequest, 1, ""), {}), "");
    Driver ending{nullptr, App::end_at_stdin_end};
    Bytes after = begin(1, kResponder, kKeepConn) + rec(kParams, 1, "") +
                  rec(kStdin, 1, "") + rec(kAbortRequest, 1, "");
    ASSERT_KINDS(run(after, {}, ending), "bPS");
    // After all input arrived but before the request ended: reported, even
    // with (ignored) content.
    Bytes late = begin(1, kResponder, kKeepConn) + rec(kParams, 1, "") +
                 rec(kStdin, 1, "") + rec(kAbortRequest, 1, "junk");
    ASSERT_KINDS(run(late, {}), "bPSa");
    check_splits(late, Driver());
}
END_TEST

// keep_conn: the application answers after the parameters and calls
// end_request() with STDIN still coming; the leftover STDIN of the old id
// is skipped and a new BEGIN with the same id starts a new request.
START_TEST(test_keep_conn_drain)
{
    Driver drv{nullptr, App::end_at_first_params_end};
    Bytes wire = begin(1, kResponder, kKeepConn) + rec(kParams, 1, "\x01\x01" "ab") +
                 rec(kParams, 1, "") + rec(kStdin, 1, "leftover") + rec(kStdin, 1, "") +
                 rec(kAbortRequest, 1, "") + begin(1, kResponder, kKeepConn) +
                 rec(kParams, 1, "\x01\x01" "cd") + rec(kParams, 1, "") +
                 rec(kStdin, 1, "more") + rec(kStdin, 1, "");
    Run r = run(wire, {}, drv);
    ASSERT_KINDS(r, "bpPbpPsS");
    ASSERT_BYTES_EQ(content(wire, r, Kind::params), B("\x01\x01" "ab" "\x01\x01" "cd"));
    ASSERT_BYTES_EQ(content(wire, r, Kind::stdin_data), B("more"));
    ck_assert_uint_eq(r.out.size(), 0);
    check_splits(wire, drv);

    // The usual sequence: end after STDIN, next request on the same id.
    Driver usual{nullptr, App::end_at_stdin_end};
    Bytes two = full_request(1, "x") + full_request(1, "y");
    Run u = run(two, {}, usual);
    ASSERT_KINDS(u, "bpPsSbpPsS");
    check_splits(two, usual);
}
END_TEST

START_TEST(test_truncated_begin)
{
    Bytes body = B("\x00\x01\x01\x00\x00\x00\x00\x00");
    for (size_t n = 0; n < 8; ++n) {
        Run r = run(rec(kBeginRequest, 1, body.substr(0, n)), {});
        ck_assert_msg(kinds(r) == "X", "BEGIN with %zu bytes: %s", n, kinds(r).c_str());
    }
    // Split or not, an empty BEGIN body is an error.
    check_splits(rec(kBeginRequest, 1, body.substr(0, 5), 3) + rec(kParams, 1, ""),
                 Driver());
}
END_TEST

START_TEST(test_state_and_reset)
{
    Capacity cap;
    ServerConn c(&cap);
    Buffer out;
    ServerConn::Event ev;
    Bytes w = begin(9, kResponder, kKeepConn) + rec(kParams, 9, "");
    ck_assert(c.at_record_boundary());
    // A partly received header is a partly received record.
    ck_assert_uint_eq(c.feed(u8(w), 3, ev, out), 3);
    ck_assert(ev.kind == Kind::need_more);
    ck_assert(!c.at_record_boundary());
    ck_assert_uint_eq(c.feed(u8(w) + 3, 10, ev, out), 10);
    ck_assert(ev.kind == Kind::need_more);
    ck_assert(!c.at_record_boundary());
    size_t used = c.feed(u8(w) + 13, w.size() - 13, ev, out);
    ck_assert(ev.kind == Kind::begin);
    ck_assert(c.at_record_boundary());
    ck_assert_uint_eq(c.active_id(), 9);
    ck_assert(!c.params_done());
    c.feed(u8(w) + 13 + used, w.size() - 13 - used, ev, out);
    ck_assert(ev.kind == Kind::params_end);
    ck_assert(c.params_done());
    ck_assert(!c.stdin_done());

    // Break it, then reset: usable again, with nothing remembered.
    Bytes bad = rec(kStdin, 9, "x", -1, 3);
    c.feed(u8(bad), bad.size(), ev, out);
    ck_assert(ev.kind == Kind::unsupported_version);
    ck_assert(c.failed());
    c.reset(&cap);
    ck_assert(!c.failed());
    ck_assert_uint_eq(c.active_id(), 0);
    ck_assert(!c.params_done());
    ck_assert(c.at_record_boundary());
    Bytes again = begin(9, kResponder, 0);
    c.feed(u8(again), again.size(), ev, out);
    ck_assert(ev.kind == Kind::begin);
    ck_assert(!ev.keep_conn);
    ck_assert_uint_eq(out.size(), 0);
}
END_TEST

// "Call again with the rest (even when empty)": an empty rest may be a null
// pointer (an unallocated Buffer's data()), in every state.
START_TEST(test_empty_null_input)
{
    ServerConn c;
    Buffer out;
    ServerConn::Event ev;
    ck_assert_uint_eq(c.feed(nullptr, 0, ev, out), 0);
    ck_assert(ev.kind == Kind::need_more);
    Bytes w = begin(1, kResponder, 0) + rec(kParams, 1, "\x01\x01" "ab", 6) +
              rec(kParams, 1, "");
    std::string seen;
    // One byte at a time, with an empty null feed after each.
    for (size_t i = 0; i < w.size(); ++i) {
        for (int k = 0; k < 2; ++k) {
            const uint8_t *p = k == 0 ? u8(w) + i : nullptr;
            size_t n = k == 0 ? 1 : 0, pos = 0;
            for (;;) {
                pos += c.feed(p ? p + pos : nullptr, n - pos, ev, out);
                if (ev.kind == Kind::need_more)
                    break;
                seen += letter(ev.kind);
            }
            ck_assert_uint_eq(pos, n);
        }
    }
    ck_assert_str_eq(seen.c_str(), "bppppP"); // 4 content bytes, one a piece
    ck_assert_uint_eq(out.size(), 0);
}
END_TEST

// Guard page behind every piece, over small inputs of each kind.
START_TEST(test_guard_page)
{
    Capacity cap{10, 50, false};
    Driver drv{&cap, App::none};
    check_guarded(full_request(1, "body"), drv);
    check_guarded(busy_request("body"), drv);
    check_guarded(rec(kGetValues, 0, kGetValuesQuery), drv);
    check_guarded(begin(1, 0, kKeepConn) + begin(2, 4, 0), drv);
    check_guarded(rec(200, 0, "xyz") + rec(kBeginRequest, 1, "\x00\x01\x00"), drv);
    Driver drain{&cap, App::end_at_first_params_end};
    check_guarded(full_request(1, "x") + full_request(1, "y"), drain);
}
END_TEST

Suite *server_conn_suite()
{
    Suite *s = suite_create("server_conn");
    TCase *t = tcase_create("server_conn");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, test_full_request);
    tcase_add_test(t, test_busy_request);
    tcase_add_test(t, test_get_values);
    tcase_add_test(t, test_get_values_empty_and_unknown);
    tcase_add_test(t, test_get_values_duplicates);
    tcase_add_test(t, test_get_values_10000_names);
    tcase_add_test(t, test_get_values_malformed);
    tcase_add_test(t, test_unknown_type);
    tcase_add_test(t, test_cant_mpx_conn);
    tcase_add_test(t, test_multiplexed);
    tcase_add_test(t, test_multiplexed_limit);
    tcase_add_test(t, test_took_stdin);
    tcase_add_test(t, test_unknown_role);
    tcase_add_test(t, test_other_ids_skipped);
    tcase_add_test(t, test_filter_data);
    tcase_add_test(t, test_stdin_before_params_end);
    tcase_add_test(t, test_unsupported_version);
    tcase_add_test(t, test_abort);
    tcase_add_test(t, test_keep_conn_drain);
    tcase_add_test(t, test_truncated_begin);
    tcase_add_test(t, test_state_and_reset);
    tcase_add_test(t, test_empty_null_input);
    tcase_add_test(t, test_guard_page);
    suite_add_tcase(s, t);
    return s;
}

} // namespace

int main() { return unit::run_suite(server_conn_suite()); }
