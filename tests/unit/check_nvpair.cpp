// White-box tests of proto/nvpair (specification section 3.4): the length
// and pair encoders against literal bytes, PairDecoder fed whole, byte by
// byte and split at every offset, its limits, its refusal to allocate at a
// declared length, truncation, and next_pair on good and malformed input.
#include <vector>

#include "proto/nvpair.hpp"
#include "unit.hpp"

using namespace fcgi::proto;
using fcgi::Buffer;
using unit::Bytes;
using unit::bytes_of;
using unit::u8;

namespace {

// ---------------------------------------------------------------- encoders

Bytes enc_len(uint32_t len)
{
    Buffer b;
    ck_assert(encode_length(b, len));
    return bytes_of(b);
}

START_TEST(test_encode_length)
{
    ASSERT_BYTES_EQ(enc_len(0), B("\x00"));
    ASSERT_BYTES_EQ(enc_len(1), B("\x01"));
    ASSERT_BYTES_EQ(enc_len(127), B("\x7f"));
    ASSERT_BYTES_EQ(enc_len(128), B("\x80\x00\x00\x80"));
    ASSERT_BYTES_EQ(enc_len(255), B("\x80\x00\x00\xff"));
    ASSERT_BYTES_EQ(enc_len(0x12345), B("\x80\x01\x23\x45"));
    ASSERT_BYTES_EQ(enc_len(0x01020304), B("\x81\x02\x03\x04"));
    ASSERT_BYTES_EQ(enc_len(0x7fffffff), B("\xff\xff\xff\xff"));

    // Over 31 bits: refused, nothing appended.
    Buffer b;
    ck_assert(b.append("x", 1));
    ck_assert(!encode_length(b, 0x80000000u));
    ck_assert(!encode_length(b, 0xffffffffu));
    ASSERT_BYTES_EQ(bytes_of(b), B("x"));

    // Appends, does not overwrite.
    ck_assert(encode_length(b, 3));
    ck_assert(encode_length(b, 300));
    ASSERT_BYTES_EQ(bytes_of(b), B("x\x03\x80\x00\x01\x2c"));
}
END_TEST

Bytes enc_pair(const Bytes &n, const Bytes &v)
{
    Buffer b;
    ck_assert(encode_pair(b, n.data(), n.size(), v.data(), v.size()));
    ck_assert_uint_eq(b.size(), encoded_pair_size(n.size(), v.size()));
    return bytes_of(b);
}

START_TEST(test_encode_pair)
{
    ASSERT_BYTES_EQ(enc_pair("SCRIPT_NAME", "/x"), B("\x0b\x02SCRIPT_NAME/x"));
    ASSERT_BYTES_EQ(enc_pair("", ""), B("\x00\x00"));
    ASSERT_BYTES_EQ(enc_pair("A", ""), B("\x01\x00" "A"));
    ASSERT_BYTES_EQ(enc_pair("", "v"), B("\x00\x01v"));

    Bytes n127(127, 'n'), n128(128, 'n'), v127(127, 'v'), v128(128, 'v');
    ASSERT_BYTES_EQ(enc_pair(n127, v127), B("\x7f\x7f") + n127 + v127);
    ASSERT_BYTES_EQ(enc_pair(n128, v127), B("\x80\x00\x00\x80\x7f") + n128 + v127);
    ASSERT_BYTES_EQ(enc_pair(n127, v128), B("\x7f\x80\x00\x00\x80") + n127 + v128);
    ASSERT_BYTES_EQ(enc_pair(n128, v128),
                    B("\x80\x00\x00\x80\x80\x00\x00\x80") + n128 + v128);
    // Binary values pass through.
    ASSERT_BYTES_EQ(enc_pair("K", B("\x00=\xff")), B("\x01\x03K\x00=\xff"));

    ck_assert_uint_eq(encoded_pair_size(0, 0), 2);
    ck_assert_uint_eq(encoded_pair_size(127, 127), 2 + 254);
    ck_assert_uint_eq(encoded_pair_size(128, 0), 5 + 128);
    ck_assert_uint_eq(encoded_pair_size(0, 128), 5 + 128);
    ck_assert_uint_eq(encoded_pair_size(200, 70000), 8 + 70200);

    // Lengths over 31 bits are refused before anything is read or written.
    Buffer b;
    const char one = 'x';
    ck_assert(!encode_pair(b, &one, size_t(0x80000000u), &one, 1));
    ck_assert(!encode_pair(b, &one, 1, &one, size_t(0x80000000u)));
    ck_assert_uint_eq(b.size(), 0);
}
END_TEST

// ----------------------------------------------------------------- decoder

struct Pair {
    Bytes name, value;
};

struct Fixture {
    Bytes wire;
    Bytes strings;            // what strings() must hold at the end
    std::vector<size_t> ends; // offset just past each pair's last byte
};

// Encodes by hand (not with encode_pair) so that non-canonical 4-byte
// lengths of small values can be included.
void put_len(Bytes &w, size_t len, bool force4)
{
    if (len < 128 && !force4) {
        w += static_cast<char>(len);
    } else {
        w += static_cast<char>(0x80 | (len >> 24));
        w += static_cast<char>(len >> 16);
        w += static_cast<char>(len >> 8);
        w += static_cast<char>(len);
    }
}

Fixture build(const std::vector<Pair> &pairs, bool force4_every_third = true)
{
    Fixture f;
    int i = 0;
    for (const Pair &p : pairs) {
        bool force4 = force4_every_third && (++i % 3 == 0);
        put_len(f.wire, p.name.size(), force4);
        put_len(f.wire, p.value.size(), force4);
        f.wire += p.name;
        f.wire += p.value;
        f.ends.push_back(f.wire.size());
        // A stored pair is a C string: it ends at its first NUL.
        Bytes whole = p.name + "=" + p.value;
        f.strings += whole.substr(0, whole.find('\0')) + Bytes(1, '\0');
    }
    return f;
}

Fixture main_fixture()
{
    Bytes bin;
    for (int c = 0; c < 256; ++c)
        bin += static_cast<char>(c);
    return build({
        {"SCRIPT_NAME", "/index.php"},
        {"", ""},                          // empty name and value
        {"EMPTY", ""},                     // empty value (4-byte lengths)
        {"", "noname"},
        {Bytes(127, 'a'), Bytes(128, 'b')}, // the 1/4-byte boundary
        {Bytes(128, 'c'), Bytes(127, 'd')}, // (4-byte lengths)
        {"QUERY_STRING", "a=b&c=d"},
        {"BIN", bin},                       // NUL and '=' in a value
        {"X", "y"},
    });
}

ParamLimits no_limits()
{
    ParamLimits l;
    l.max_total = SIZE_MAX;
    l.max_count = SIZE_MAX;
    l.max_single = SIZE_MAX;
    return l;
}

size_t pairs_ending_by(const Fixture &f, size_t off)
{
    size_t n = 0;
    while (n < f.ends.size() && f.ends[n] <= off)
        ++n;
    return n;
}

bool at_pair_boundary(const Fixture &f, size_t off)
{
    if (off == 0)
        return true;
    for (size_t e : f.ends)
        if (e == off)
            return true;
    return false;
}

// Feeds the cut pieces and checks, after every piece, the pair count and
// finish() against the offsets where pairs end.
void decode_cut(const Fixture &f, const std::vector<size_t> &cuts,
                unit::GuardBuf *guard = nullptr)
{
    PairDecoder d;
    d.reset(no_limits());
    size_t start = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
        size_t stop = i < cuts.size() ? cuts[i] : f.wire.size();
        const uint8_t *p = u8(f.wire) + start;
        if (guard)
            p = guard->place(p, stop - start);
        PairDecoder::Status st = d.feed(p, stop - start);
        REQUIRE(st == PairDecoder::Status::ok, "feed failed at %zu", stop);
        REQUIRE(d.count() == pairs_ending_by(f, stop), "count %zu at %zu",
                d.count(), stop);
        PairDecoder::Status fin = d.finish();
        REQUIRE((fin == PairDecoder::Status::ok) == at_pair_boundary(f, stop),
                "finish() wrong at %zu", stop);
        REQUIRE(fin == PairDecoder::Status::ok || fin == PairDecoder::Status::truncated);
        // What is stored so far is a prefix of the final strings.
        Bytes got = bytes_of(d.strings());
        REQUIRE(got.size() <= f.strings.size() &&
                    f.strings.compare(0, got.size(), got) == 0,
                "strings() not a prefix at %zu", stop);
        start = stop;
    }
    REQUIRE(d.finish() == PairDecoder::Status::ok);
    if (bytes_of(d.strings()) != f.strings)
        ck_abort_msg("strings differ:\n got  %s\n want %s",
                     unit::hex(bytes_of(d.strings()), 2000).c_str(),
                     unit::hex(f.strings, 2000).c_str());
    d.release();
}

START_TEST(test_pairs_whole)
{
    Fixture f = main_fixture();
    PairDecoder d;
    d.reset(ParamLimits());
    ck_assert(d.feed(u8(f.wire), f.wire.size()) == PairDecoder::Status::ok);
    ck_assert(d.finish() == PairDecoder::Status::ok);
    ck_assert_uint_eq(d.count(), 9);
    ASSERT_BYTES_EQ(bytes_of(d.strings()).substr(0, 30),
                    B("SCRIPT_NAME=/index.php\0=\0EMPTY"));
    ck_assert(bytes_of(d.strings()) == f.strings);
    decode_cut(f, {});
}
END_TEST

START_TEST(test_pairs_byte_by_byte)
{
    Fixture f = main_fixture();
    std::vector<size_t> cuts;
    for (size_t i = 1; i < f.wire.size(); ++i)
        cuts.push_back(i);
    decode_cut(f, cuts);
}
END_TEST

START_TEST(test_pairs_every_split)
{
    Fixture f = main_fixture();
    for (size_t i = 0; i <= f.wire.size(); ++i)
        decode_cut(f, {i});
}
END_TEST

START_TEST(test_pairs_random_splits)
{
    Fixture f = main_fixture();
    unit::Rng rng(42);
    for (int round = 0; round < 500; ++round) {
        std::vector<size_t> cuts;
        size_t at = 0;
        for (;;) {
            at += rng.range(0, round % 2 ? 6 : 200);
            if (at >= f.wire.size())
                break;
            cuts.push_back(at);
        }
        decode_cut(f, cuts);
    }
}
END_TEST

START_TEST(test_pairs_guard_page)
{
    Fixture f = main_fixture();
    unit::GuardBuf guard(f.wire.size());
    decode_cut(f, {}, &guard);
    std::vector<size_t> cuts;
    for (size_t i = 1; i < f.wire.size(); ++i)
        cuts.push_back(i);
    decode_cut(f, cuts, &guard);
    for (size_t i = 0; i <= f.wire.size(); ++i)
        decode_cut(f, {i}, &guard);

    // next_pair over the same bytes, ending at the guard, and over every
    // truncation of them.
    for (size_t n = 0; n <= f.wire.size(); ++n) {
        const uint8_t *p = guard.place(u8(f.wire), n);
        size_t pos = 0, got = 0;
        PairView v;
        while (next_pair(p, n, &pos, v))
            ++got;
        REQUIRE(got == pairs_ending_by(f, n), "next_pair found %zu in %zu", got, n);
    }
}
END_TEST

// Non-canonical 4-byte encodings of small lengths decode like 1-byte ones.
START_TEST(test_pairs_four_byte_small)
{
    PairDecoder d;
    d.reset(ParamLimits());
    Bytes w = B("\x80\x00\x00\x01\x80\x00\x00\x02" "Aab" "\x80\x00\x00\x00\x00");
    ck_assert(d.feed(u8(w), w.size()) == PairDecoder::Status::ok);
    ck_assert(d.finish() == PairDecoder::Status::ok);
    ck_assert_uint_eq(d.count(), 2);
    ASSERT_BYTES_EQ(bytes_of(d.strings()), B("A=ab\0=\0"));
}
END_TEST

// Status after feeding w with limits l (whole and byte by byte agree).
PairDecoder::Status feed_status(const ParamLimits &l, const Bytes &w,
                                size_t *count = nullptr)
{
    PairDecoder whole;
    whole.reset(l);
    PairDecoder::Status a = whole.feed(u8(w), w.size());
    PairDecoder bytes;
    bytes.reset(l);
    PairDecoder::Status b = PairDecoder::Status::ok;
    for (size_t i = 0; i < w.size() && b == PairDecoder::Status::ok; ++i)
        b = bytes.feed(u8(w) + i, 1);
    ck_assert_msg(a == b, "whole and byte-by-byte disagree");
    if (count)
        *count = whole.count();
    return a;
}

START_TEST(test_limit_single)
{
    ParamLimits l = no_limits();
    l.max_single = 10;
    // name + value == 10: fine; 11: too large.
    ck_assert(feed_status(l, B("\x04\x06NAMEvalue!")) == PairDecoder::Status::ok);
    ck_assert(feed_status(l, B("\x04\x07NAMEvalue!!")) == PairDecoder::Status::too_large);
    ck_assert(feed_status(l, B("\x0b\x00" "ABCDEFGHIJK")) == PairDecoder::Status::too_large);
    // Judged on the lengths alone, before any name byte arrives.
    ck_assert(feed_status(l, B("\x04\x07")) == PairDecoder::Status::too_large);
    ck_assert(feed_status(l, B("\x00\x80\x00\x00\x0b")) == PairDecoder::Status::too_large);
}
END_TEST

START_TEST(test_limit_total)
{
    ParamLimits l = no_limits();
    l.max_total = 12;
    size_t count = 0;
    // 2 + 4 + 6 = 12 bytes of names and values: fine.
    ck_assert(feed_status(l, B("\x01\x01" "ab" "\x02\x02" "cdef" "\x03\x03" "ghijkl"),
                          &count) == PairDecoder::Status::ok);
    ck_assert_uint_eq(count, 3);
    // One more byte in a further pair: too large, even an empty-named one.
    ck_assert(feed_status(l, B("\x01\x01" "ab" "\x02\x02" "cdef" "\x03\x03" "ghijkl"
                               "\x00\x01" "z")) == PairDecoder::Status::too_large);
    // Empty pairs add nothing to the total.
    ck_assert(feed_status(l, B("\x06\x06" "abcdefghijkl" "\x00\x00" "\x00\x00")) ==
              PairDecoder::Status::ok);
}
END_TEST

START_TEST(test_limit_count)
{
    ParamLimits l = no_limits();
    l.max_count = 3;
    size_t count = 0;
    ck_assert(feed_status(l, B("\x00\x00\x00\x00\x01\x01xy"), &count) ==
              PairDecoder::Status::ok);
    ck_assert_uint_eq(count, 3);
    ck_assert(feed_status(l, B("\x00\x00\x00\x00\x01\x01xy\x00\x00")) ==
              PairDecoder::Status::too_large);
    l.max_count = 0;
    ck_assert(feed_status(l, B("\x00\x00")) == PairDecoder::Status::too_large);
    ck_assert(feed_status(l, B("")) == PairDecoder::Status::ok);
}
END_TEST

START_TEST(test_default_limits)
{
    ParamLimits l;
    // 4 MiB for one pair: exactly at the limit is allowed.
    Bytes at = B("\x80\x00\x00\x01\x80\x3f\xff\xff") + "N";
    ck_assert(feed_status(l, at) == PairDecoder::Status::ok);
    Bytes over = B("\x80\x00\x00\x01\x80\x40\x00\x00") + "N";
    ck_assert(feed_status(l, over) == PairDecoder::Status::too_large);
    // The largest declared lengths are refused, without overflow.
    ck_assert(feed_status(l, B("\xff\xff\xff\xff\xff\xff\xff\xff")) ==
              PairDecoder::Status::too_large);
}
END_TEST

// A declared length of 2^31-1 with a few bytes behind it: the decoder must
// store what arrived, not reserve what was promised.
START_TEST(test_huge_declared_length)
{
    PairDecoder d;
    d.reset(no_limits());
    Bytes w = B("\xff\xff\xff\xff\x00") + "only a few bytes";
    ck_assert(d.feed(u8(w), w.size()) == PairDecoder::Status::ok);
    ck_assert_uint_eq(d.count(), 0);
    ck_assert_uint_eq(d.strings().size(), 16);
    ck_assert_uint_le(d.strings().capacity(), 4096);
    ck_assert(d.finish() == PairDecoder::Status::truncated);

    // Same with the huge length on the value, fed byte by byte.
    PairDecoder e;
    e.reset(no_limits());
    Bytes v = B("\x01\xff\xff\xff\xff" "Nvalue bytes");
    for (size_t i = 0; i < v.size(); ++i)
        ck_assert(e.feed(u8(v) + i, 1) == PairDecoder::Status::ok);
    ck_assert_uint_le(e.strings().capacity(), 4096);
    ASSERT_BYTES_EQ(bytes_of(e.strings()), B("N=value bytes"));
    ck_assert(e.finish() == PairDecoder::Status::truncated);
}
END_TEST

START_TEST(test_truncated)
{
    // Every proper prefix of a pair is truncated; the empty stream is not.
    Bytes w = B("\x80\x00\x00\x03\x80\x00\x00\x02" "abcXY");
    for (size_t n = 0; n <= w.size(); ++n) {
        PairDecoder d;
        d.reset(ParamLimits());
        ck_assert(d.feed(u8(w), n) == PairDecoder::Status::ok);
        PairDecoder::Status want = n == 0 || n == w.size()
                                       ? PairDecoder::Status::ok
                                       : PairDecoder::Status::truncated;
        ck_assert_msg(d.finish() == want, "prefix %zu", n);
    }
}
END_TEST

START_TEST(test_reset_and_helpers)
{
    PairDecoder d;
    ParamLimits tight = no_limits();
    tight.max_single = 1;
    d.reset(tight);
    ck_assert(d.feed(u8(B("\x01\x01" "ab")), 4) == PairDecoder::Status::too_large);

    // reset() forgets the failure, the partial state and the strings.
    d.reset(ParamLimits());
    ck_assert(d.finish() == PairDecoder::Status::ok);
    ck_assert(d.feed(u8(B("\x01\x01" "ab" "\x05")), 5) == PairDecoder::Status::ok);
    ck_assert(d.finish() == PairDecoder::Status::truncated);
    d.reset(ParamLimits());
    ck_assert(d.finish() == PairDecoder::Status::ok);
    ck_assert_uint_eq(d.count(), 0);
    ck_assert_uint_eq(d.strings().size(), 0);

    ck_assert(d.feed(nullptr, 0) == PairDecoder::Status::ok);
    ck_assert(d.feed(u8(B("\x01\x01" "ab")), 4) == PairDecoder::Status::ok);
    ck_assert(d.add_string("FCGI_ROLE=RESPONDER"));
    ck_assert_uint_eq(d.count(), 2);
    ASSERT_BYTES_EQ(bytes_of(d.strings()), B("a=b\0FCGI_ROLE=RESPONDER\0"));

    // hand_over gives the strings and an envp pointing into them, and
    // takes the other's memory, emptied.
    Buffer mine, envp;
    ck_assert(mine.append("old", 3));
    ck_assert(envp.append("stale", 5));
    ck_assert(d.hand_over(mine, envp));
    ASSERT_BYTES_EQ(bytes_of(mine), B("a=b\0FCGI_ROLE=RESPONDER\0"));
    ck_assert_uint_eq(envp.size(), 3 * sizeof(char *));
    char **env = reinterpret_cast<char **>(envp.data());
    ck_assert_str_eq(env[0], "a=b");
    ck_assert_str_eq(env[1], "FCGI_ROLE=RESPONDER");
    ck_assert_ptr_eq(env[1], reinterpret_cast<char *>(mine.data()) + 4);
    ck_assert_ptr_null(env[2]);
    ck_assert_uint_eq(d.count(), 0);
    ck_assert_uint_eq(d.strings().size(), 0);
    ck_assert_uint_ge(d.strings().capacity(), 3);
    d.release();
    ck_assert_uint_eq(d.strings().capacity(), 0);
}
END_TEST

// ---------------------------------------------------------------- next_pair

START_TEST(test_next_pair_walk)
{
    Fixture f = main_fixture();
    std::vector<Pair> want = {
        {"SCRIPT_NAME", "/index.php"}, {"", ""}, {"EMPTY", ""}, {"", "noname"},
    };
    size_t pos = 0;
    PairView v;
    for (size_t i = 0; i < f.ends.size(); ++i) {
        ck_assert_msg(next_pair(u8(f.wire), f.wire.size(), &pos, v), "pair %zu", i);
        ck_assert_uint_eq(pos, f.ends[i]);
        ck_assert(v.name >= u8(f.wire) && v.value + v.value_len <= u8(f.wire) + pos);
        if (i < want.size()) {
            ASSERT_BYTES_EQ(Bytes(reinterpret_cast<const char *>(v.name), v.name_len),
                            want[i].name);
            ASSERT_BYTES_EQ(Bytes(reinterpret_cast<const char *>(v.value), v.value_len),
                            want[i].value);
        }
    }
    ck_assert(!next_pair(u8(f.wire), f.wire.size(), &pos, v));
    ck_assert_uint_eq(pos, f.wire.size());
}
END_TEST

// Malformed input: false, and *pos is left where it was.
void malformed(const Bytes &w, size_t start = 0)
{
    size_t pos = start;
    PairView v;
    ck_assert_msg(!next_pair(u8(w), w.size(), &pos, v), "accepted %s",
                  unit::hex(w).c_str());
    ck_assert_uint_eq(pos, start);
}

START_TEST(test_next_pair_malformed)
{
    malformed(B(""));
    size_t zero = 0;
    PairView nv;
    ck_assert(!next_pair(nullptr, 0, &zero, nv));
    malformed(B("\x01"));                 // no value length
    malformed(B("\x80"));                 // 4-byte name length cut short
    malformed(B("\x80\x00\x00"));
    malformed(B("\x01\x80\x00\x00"));     // 4-byte value length cut short
    malformed(B("\x05\x00" "abc"));       // name past the end
    malformed(B("\x01\x05" "abc"));       // value past the end
    malformed(B("\x00\x01"));
    malformed(B("\xff\xff\xff\xff\x00" "x")); // huge lengths: no overflow
    malformed(B("\x01\xff\xff\xff\xff" "x"));
    malformed(B("\xff\xff\xff\xff\xff\xff\xff\xff"));
    // A good pair then a bad one: the first is returned, then false at it.
    Bytes w = B("\x01\x01" "ab" "\x03\x00" "c");
    size_t pos = 0;
    PairView v;
    ck_assert(next_pair(u8(w), w.size(), &pos, v));
    ck_assert_uint_eq(pos, 4);
    malformed(w, 4);
    // pos at or past the end.
    malformed(w, w.size());
}
END_TEST

Suite *nvpair_suite()
{
    Suite *s = suite_create("nvpair");
    TCase *enc = tcase_create("encode");
    tcase_add_test(enc, test_encode_length);
    tcase_add_test(enc, test_encode_pair);
    suite_add_tcase(s, enc);

    TCase *dec = tcase_create("decoder");
    tcase_set_timeout(dec, 600);
    tcase_add_test(dec, test_pairs_whole);
    tcase_add_test(dec, test_pairs_byte_by_byte);
    tcase_add_test(dec, test_pairs_every_split);
    tcase_add_test(dec, test_pairs_random_splits);
    tcase_add_test(dec, test_pairs_guard_page);
    tcase_add_test(dec, test_pairs_four_byte_small);
    tcase_add_test(dec, test_limit_single);
    tcase_add_test(dec, test_limit_total);
    tcase_add_test(dec, test_limit_count);
    tcase_add_test(dec, test_default_limits);
    tcase_add_test(dec, test_huge_declared_length);
    tcase_add_test(dec, test_truncated);
    tcase_add_test(dec, test_reset_and_helpers);
    suite_add_tcase(s, dec);

    TCase *np = tcase_create("next_pair");
    tcase_add_test(np, test_next_pair_walk);
    tcase_add_test(np, test_next_pair_malformed);
    suite_add_tcase(s, np);
    return s;
}

} // namespace

int main() { return unit::run_suite(nvpair_suite()); }
