// White-box tests of proto/record: the encoders against literal wire bytes
// (specification section 3.3 and appendix A) and RecordDecoder fed whole,
// one byte at a time, split at every offset and at random offsets, and
// against a guard page.
#include <vector>

#include "proto/record.hpp"
#include "unit.hpp"

using namespace fcgi::proto;
using unit::Bytes;
using unit::u8;

namespace {

// ---------------------------------------------------------------- encoders

// Each encoder gets a buffer prefilled with 0xaa: the bytes past the
// record must be left alone, and reserved bytes must be written as zero.
struct Out {
    uint8_t b[24];
    Out() { memset(b, 0xaa, sizeof b); }
    Bytes first(size_t n) const { return Bytes(reinterpret_cast<const char *>(b), n); }
    bool untouched_from(size_t n) const
    {
        for (size_t i = n; i < sizeof b; ++i)
            if (b[i] != 0xaa)
                return false;
        return true;
    }
};

START_TEST(test_encode_header)
{
    Out o;
    encode_header(o.b, kStdout, 1, 8, 0);
    ASSERT_BYTES_EQ(o.first(8), B("\x01\x06\x00\x01\x00\x08\x00\x00"));
    ck_assert(o.untouched_from(8));

    Out o2;
    encode_header(o2.b, kStderr, 0x1234, 0xffff, 0xff);
    ASSERT_BYTES_EQ(o2.first(8), B("\x01\x07\x12\x34\xff\xff\xff\x00"));
    ck_assert(o2.untouched_from(8));

    Out o3;
    encode_header(o3.b, kParams, 0xffff, 0, 0);
    ASSERT_BYTES_EQ(o3.first(8), B("\x01\x04\xff\xff\x00\x00\x00\x00"));

    Out o4;
    encode_header(o4.b, kGetValuesResult, 0, 0x0100, 7);
    ASSERT_BYTES_EQ(o4.first(8), B("\x01\x0a\x00\x00\x01\x00\x07\x00"));
}
END_TEST

START_TEST(test_encode_end_request)
{
    Out o;
    encode_end_request(o.b, 1, 0, kRequestComplete);
    ASSERT_BYTES_EQ(o.first(16), B("\x01\x03\x00\x01\x00\x08\x00\x00"
                                   "\x00\x00\x00\x00\x00\x00\x00\x00"));
    ck_assert(o.untouched_from(16));

    Out o2;
    encode_end_request(o2.b, 0xbeef, 0x12345678, kUnknownRole);
    ASSERT_BYTES_EQ(o2.first(16), B("\x01\x03\xbe\xef\x00\x08\x00\x00"
                                    "\x12\x34\x56\x78\x03\x00\x00\x00"));
    ck_assert(o2.untouched_from(16));

    // Exit status -1 as the application would pass it.
    Out o3;
    encode_end_request(o3.b, 2, static_cast<uint32_t>(-1), kCantMpxConn);
    ASSERT_BYTES_EQ(o3.first(16), B("\x01\x03\x00\x02\x00\x08\x00\x00"
                                    "\xff\xff\xff\xff\x01\x00\x00\x00"));

    Out o4;
    encode_end_request(o4.b, 3, 0x100, kOverloaded);
    ASSERT_BYTES_EQ(o4.first(16), B("\x01\x03\x00\x03\x00\x08\x00\x00"
                                    "\x00\x00\x01\x00\x02\x00\x00\x00"));
}
END_TEST

START_TEST(test_encode_unknown_type)
{
    Out o;
    encode_unknown_type(o.b, 0x2a);
    ASSERT_BYTES_EQ(o.first(16), B("\x01\x0b\x00\x00\x00\x08\x00\x00"
                                   "\x2a\x00\x00\x00\x00\x00\x00\x00"));
    ck_assert(o.untouched_from(16));

    Out o2;
    encode_unknown_type(o2.b, 0xff);
    ASSERT_BYTES_EQ(o2.first(16), B("\x01\x0b\x00\x00\x00\x08\x00\x00"
                                    "\xff\x00\x00\x00\x00\x00\x00\x00"));
}
END_TEST

START_TEST(test_encode_begin_request)
{
    Out o;
    encode_begin_request(o.b, 1, kResponder, kKeepConn);
    ASSERT_BYTES_EQ(o.first(16), B("\x01\x01\x00\x01\x00\x08\x00\x00"
                                   "\x00\x01\x01\x00\x00\x00\x00\x00"));
    ck_assert(o.untouched_from(16));

    Out o2;
    encode_begin_request(o2.b, 0x0203, kFilter, 0);
    ASSERT_BYTES_EQ(o2.first(16), B("\x01\x01\x02\x03\x00\x08\x00\x00"
                                    "\x00\x03\x00\x00\x00\x00\x00\x00"));

    Out o3;
    encode_begin_request(o3.b, 7, 0xabcd, 0xfe);
    ASSERT_BYTES_EQ(o3.first(16), B("\x01\x01\x00\x07\x00\x08\x00\x00"
                                    "\xab\xcd\xfe\x00\x00\x00\x00\x00"));
}
END_TEST

START_TEST(test_decode_header)
{
    Header h = decode_header(u8(B("\x01\x05\xab\xcd\x12\x34\x56\x78")));
    ck_assert_uint_eq(h.version, 1);
    ck_assert_uint_eq(h.type, kStdin);
    ck_assert_uint_eq(h.request_id, 0xabcd);
    ck_assert_uint_eq(h.content_length, 0x1234);
    ck_assert_uint_eq(h.padding_length, 0x56);

    Header m = decode_header(u8(B("\xff\xff\xff\xff\xff\xff\xff\xff")));
    ck_assert_uint_eq(m.version, 0xff);
    ck_assert_uint_eq(m.request_id, 0xffff);
    ck_assert_uint_eq(m.content_length, 0xffff);
    ck_assert_uint_eq(m.padding_length, 0xff);

    // encode then decode
    uint8_t p[8];
    encode_header(p, kData, 0x8001, 0x7fff, 9);
    Header r = decode_header(p);
    ck_assert_uint_eq(r.version, kVersion1);
    ck_assert_uint_eq(r.type, kData);
    ck_assert_uint_eq(r.request_id, 0x8001);
    ck_assert_uint_eq(r.content_length, 0x7fff);
    ck_assert_uint_eq(r.padding_length, 9);
}
END_TEST

START_TEST(test_padding_for)
{
    static const uint8_t want[17] = {0, 7, 6, 5, 4, 3, 2, 1, 0,
                                     7, 6, 5, 4, 3, 2, 1, 0};
    for (size_t i = 0; i <= 16; ++i)
        ck_assert_msg(padding_for(i) == want[i], "padding_for(%zu) = %u", i,
                      padding_for(i));
    ck_assert_uint_eq(padding_for(65535), 1);
    ck_assert_uint_eq(padding_for(65528), 0);
    static_assert(padding_for(5) == 3, "padding_for is constexpr");
    for (size_t i = 0; i <= kMaxContent; ++i)
        REQUIRE((i + padding_for(i)) % 8 == 0 && padding_for(i) < 8, "at %zu", i);
}
END_TEST

// ----------------------------------------------------------------- decoder

struct RecSpec {
    uint8_t version;
    uint8_t type;
    uint16_t id;
    Bytes content;
    uint8_t pad;
};

// One decoder event, with content as a range of the whole input so that
// transcripts of differently split feeds compare cheaply and exactly.
struct Ev {
    char kind; // 'H' header, 'C' content, 'E' end
    uint8_t version, type;
    uint16_t id, clen;
    uint8_t plen;
    size_t off, len;

    bool operator==(const Ev &o) const
    {
        return kind == o.kind && version == o.version && type == o.type &&
               id == o.id && clen == o.clen && plen == o.plen && off == o.off &&
               len == o.len;
    }
};
using Transcript = std::vector<Ev>;

std::string show(const Transcript &t)
{
    std::string s;
    char line[128];
    for (const Ev &e : t) {
        if (e.kind == 'C')
            snprintf(line, sizeof line, "  C @%zu+%zu\n", e.off, e.len);
        else
            snprintf(line, sizeof line, "  %c v%u t%u id%u cl%u pl%u\n", e.kind,
                     e.version, e.type, e.id, e.clen, e.plen);
        s += line;
    }
    return s;
}

#define ASSERT_TRANSCRIPT_EQ(got, want, what)                                \
    do {                                                                     \
        if (!((got) == (want)))                                              \
            ck_abort_msg("%s: transcripts differ\n got:\n%s want:\n%s", what,  \
                         show(got).c_str(), show(want).c_str());             \
    } while (0)

Ev header_ev(char kind, const Header &h)
{
    return Ev{kind, h.version, h.type, h.request_id, h.content_length,
              h.padding_length, 0, 0};
}

struct Fixture {
    Bytes wire;
    Transcript want;
};

// Padding bytes are 0xee so that delivering them as content would show.
Fixture build(const std::vector<RecSpec> &recs)
{
    Fixture f;
    for (const RecSpec &r : recs) {
        uint8_t h[8];
        encode_header(h, r.type, r.id, r.content.size(), r.pad);
        h[0] = r.version;
        Header hd = decode_header(h);
        f.want.push_back(header_ev('H', hd));
        f.wire.append(reinterpret_cast<char *>(h), 8);
        if (!r.content.empty()) {
            Ev c = header_ev('C', hd);
            c.off = f.wire.size();
            c.len = r.content.size();
            f.want.push_back(c);
        }
        f.wire += r.content;
        f.wire.append(r.pad, '\xee');
        f.want.push_back(header_ev('E', hd));
    }
    return f;
}

Bytes pattern(size_t n, unsigned seed)
{
    Bytes b(n, '\0');
    for (size_t i = 0; i < n; ++i)
        b[i] = static_cast<char>((i * 31 + seed) & 0xff);
    return b;
}

// Several records: content with padding, zero-length with and without
// padding, the maximum content length, 255 bytes of padding, a version
// and type the decoder must pass through unjudged.
Fixture big_fixture()
{
    uint8_t end[16];
    encode_end_request(end, 1, 0, kRequestComplete);
    return build({
        {1, kStdout, 1, B("hello"), 3},
        {1, kParams, 1, Bytes(), 0},
        {1, kStdin, 0x0102, B("\x00\x01\x02\x03\x04\x05\x06\x07"), 0},
        {1, kData, 0xffff, Bytes(), 7},
        {1, kStdout, 1, pattern(65535, 7), 1},
        {1, kStderr, 0x8000, B("x"), 255},
        {2, 200, 0, B("abc"), 5},
        {1, kEndRequest, 1, Bytes(reinterpret_cast<char *>(end) + 8, 8), 0},
    });
}

// Small enough for every three-piece split and for guard-page copies.
Fixture small_fixture()
{
    return build({
        {1, kBeginRequest, 1, B("\x00\x01\x01\x00\x00\x00\x00\x00"), 0},
        {1, kParams, 1, B("\x04\x01HOST\x78"), 1},
        {1, kParams, 1, Bytes(), 0},
        {1, kStdin, 1, B("ab"), 6},
        {1, kStdin, 1, Bytes(), 3},
        {1, kAbortRequest, 9, Bytes(), 0},
    });
}

// Feeds one piece until the decoder asks for more, appending merged events
// to t.  p may be a copy of the input (guard mode); start is the piece's
// offset in the whole input.
void feed_piece(RecordDecoder &d, const uint8_t *p, size_t n, size_t start,
                Transcript &t, Header &cur)
{
    size_t pos = 0;
    for (int spins = 0;; ++spins) {
        REQUIRE(spins < 100000, "decoder does not make progress");
        RecordDecoder::Event ev;
        size_t used = d.feed(p + pos, n - pos, ev);
        REQUIRE(used <= n - pos, "consumed %zu of %zu", used, n - pos);
        switch (ev.kind) {
        case RecordDecoder::Kind::need_more:
            REQUIRE(pos + used == n, "need_more left %zu bytes", n - pos - used);
            return;
        case RecordDecoder::Kind::header:
            REQUIRE(d.in_record());
            cur = ev.header;
            REQUIRE(d.content_left() == cur.content_length);
            t.push_back(header_ev('H', ev.header));
            break;
        case RecordDecoder::Kind::content: {
            REQUIRE(ev.len > 0, "empty content event");
            REQUIRE(ev.data >= p + pos && ev.data + ev.len <= p + pos + used,
                    "content outside the consumed bytes");
            REQUIRE(header_ev('C', ev.header) == header_ev('C', cur));
            REQUIRE(d.in_record());
            size_t off = start + static_cast<size_t>(ev.data - p);
            Ev c = header_ev('C', ev.header);
            if (!t.empty() && t.back().kind == 'C' &&
                t.back().off + t.back().len == off) {
                t.back().len += ev.len;
            } else {
                c.off = off;
                c.len = ev.len;
                t.push_back(c);
            }
            break;
        }
        case RecordDecoder::Kind::end:
            REQUIRE(header_ev('E', ev.header) == header_ev('E', cur));
            REQUIRE(!d.in_record());
            t.push_back(header_ev('E', ev.header));
            break;
        }
        pos += used;
    }
}

// Decodes wire cut at the given (ascending) offsets; with a guard buffer,
// every piece is copied to end at an unreadable page first.
Transcript decode(const Bytes &wire, const std::vector<size_t> &cuts,
                  unit::GuardBuf *guard = nullptr)
{
    RecordDecoder d;
    Transcript t;
    Header cur{};
    size_t start = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
        size_t stop = i < cuts.size() ? cuts[i] : wire.size();
        REQUIRE(stop >= start && stop <= wire.size());
        const uint8_t *p = u8(wire) + start;
        if (guard)
            p = guard->place(p, stop - start);
        feed_piece(d, p, stop - start, start, t, cur);
        start = stop;
    }
    REQUIRE(!d.in_record() && d.at_boundary(), "record left open at end of input");
    return t;
}

START_TEST(test_decoder_whole)
{
    Fixture f = big_fixture();
    Transcript t = decode(f.wire, {});
    ASSERT_TRANSCRIPT_EQ(t, f.want, "whole");
    // The content ranges, read back, are the records' content.
    ck_assert_uint_eq(t[1].kind, 'C');
    ASSERT_BYTES_EQ(f.wire.substr(t[1].off, t[1].len), B("hello"));
    const Ev &big = t[11];
    ck_assert_uint_eq(big.kind, 'C');
    ck_assert_uint_eq(big.len, 65535);
    ck_assert(f.wire.substr(big.off, big.len) == pattern(65535, 7));
}
END_TEST

START_TEST(test_decoder_byte_by_byte)
{
    Fixture f = big_fixture();
    std::vector<size_t> cuts;
    for (size_t i = 1; i < f.wire.size(); ++i)
        cuts.push_back(i);
    ASSERT_TRANSCRIPT_EQ(decode(f.wire, cuts), f.want, "byte by byte");
}
END_TEST

START_TEST(test_decoder_every_split)
{
    Fixture f = big_fixture();
    for (size_t i = 0; i <= f.wire.size(); ++i) {
        Transcript t = decode(f.wire, {i});
        if (!(t == f.want))
            ck_abort_msg("split at %zu: got\n%s want\n%s", i, show(t).c_str(),
                         show(f.want).c_str());
    }
}
END_TEST

START_TEST(test_decoder_every_three_way_split)
{
    Fixture f = small_fixture();
    for (size_t i = 0; i <= f.wire.size(); ++i)
        for (size_t j = i; j <= f.wire.size(); ++j) {
            Transcript t = decode(f.wire, {i, j});
            if (!(t == f.want))
                ck_abort_msg("split at %zu,%zu: got\n%s want\n%s", i, j,
                             show(t).c_str(), show(f.want).c_str());
        }
}
END_TEST

START_TEST(test_decoder_random_splits)
{
    Fixture f = big_fixture();
    unit::Rng rng(0x5eed);
    for (int round = 0; round < 300; ++round) {
        std::vector<size_t> cuts;
        size_t at = 0;
        // Mostly small pieces, sometimes empty, sometimes large.
        size_t maxpiece = round % 3 == 0 ? 20 : round % 3 == 1 ? 700 : 30000;
        for (;;) {
            at += rng.range(0, maxpiece);
            if (at >= f.wire.size())
                break;
            cuts.push_back(at);
        }
        Transcript t = decode(f.wire, cuts);
        if (!(t == f.want))
            ck_abort_msg("random round %d (%zu pieces): got\n%s want\n%s", round,
                         cuts.size() + 1, show(t).c_str(), show(f.want).c_str());
    }
}
END_TEST

START_TEST(test_decoder_need_more)
{
    RecordDecoder d;
    RecordDecoder::Event ev;
    uint8_t dummy = 0;
    ck_assert_uint_eq(d.feed(&dummy, 0, ev), 0);
    ck_assert(ev.kind == RecordDecoder::Kind::need_more);
    ck_assert(!d.in_record());
    ck_assert(d.at_boundary());

    // A partial header: all consumed, nothing reported.  No record is open
    // yet, but the decoder is not at a boundary either.
    Bytes h = B("\x01\x06\x00\x01\x00\x02\x00\x00");
    ck_assert_uint_eq(d.feed(u8(h), 5, ev), 5);
    ck_assert(ev.kind == RecordDecoder::Kind::need_more);
    ck_assert(!d.in_record());
    ck_assert(!d.at_boundary());
    ck_assert_uint_eq(d.feed(u8(h) + 5, 3, ev), 3);
    ck_assert(ev.kind == RecordDecoder::Kind::header);
    ck_assert_uint_eq(ev.header.content_length, 2);
    ck_assert(d.in_record());
    ck_assert(!d.at_boundary());
    ck_assert_uint_eq(d.content_left(), 2);
    ck_assert_uint_eq(d.current().request_id, 1);

    // feed stops after one event: a header followed by content in the same
    // buffer reports only the header.
    RecordDecoder d2;
    Bytes two = h + B("hi");
    ck_assert_uint_eq(d2.feed(u8(two), two.size(), ev), 8);
    ck_assert(ev.kind == RecordDecoder::Kind::header);
    ck_assert_uint_eq(d2.feed(u8(two) + 8, 2, ev), 2);
    ck_assert(ev.kind == RecordDecoder::Kind::content);
    ck_assert(ev.data == u8(two) + 8);
    ck_assert_uint_eq(ev.len, 2);
    ck_assert_uint_eq(d2.content_left(), 0);
    // The end is reported from no bytes at all.
    ck_assert_uint_eq(d2.feed(u8(two) + 10, 0, ev), 0);
    ck_assert(ev.kind == RecordDecoder::Kind::end);
    ck_assert(!d2.in_record());
    ck_assert(d2.at_boundary());
    ck_assert_uint_eq(d2.feed(u8(two) + 10, 0, ev), 0);
    ck_assert(ev.kind == RecordDecoder::Kind::need_more);
}
END_TEST

// An empty input may come as a null pointer, in every state.
START_TEST(test_decoder_null_empty)
{
    Bytes w = B("\x01\x06\x00\x01\x00\x02\x03\x00" "hi" "\xee\xee\xee");
    RecordDecoder d;
    std::string seen;
    auto note = [&](const RecordDecoder::Event &ev) {
        switch (ev.kind) {
        case RecordDecoder::Kind::need_more: break;
        case RecordDecoder::Kind::header: seen += 'H'; break;
        case RecordDecoder::Kind::content: seen += 'C'; break;
        case RecordDecoder::Kind::end: seen += 'E'; break;
        }
    };
    // Byte by byte, an empty null feed before and after each byte.
    for (size_t i = 0; i <= w.size(); ++i) {
        RecordDecoder::Event ev;
        do {
            ck_assert_uint_eq(d.feed(nullptr, 0, ev), 0);
            note(ev);
        } while (ev.kind != RecordDecoder::Kind::need_more);
        if (i == w.size())
            break;
        size_t pos = 0;
        do {
            pos += d.feed(u8(w) + i + pos, 1 - pos, ev);
            note(ev);
        } while (ev.kind != RecordDecoder::Kind::need_more);
        ck_assert_uint_eq(pos, 1);
    }
    ck_assert_str_eq(seen.c_str(), "HCCE");
    ck_assert(d.at_boundary());
}
END_TEST

// Guard page: every piece of every split ends at an unreadable page.
START_TEST(test_decoder_guard_page)
{
    Fixture small = small_fixture();
    unit::GuardBuf guard(70000);
    ASSERT_TRANSCRIPT_EQ(decode(small.wire, {}, &guard), small.want, "guard whole");
    std::vector<size_t> cuts;
    for (size_t i = 1; i < small.wire.size(); ++i)
        cuts.push_back(i);
    ASSERT_TRANSCRIPT_EQ(decode(small.wire, cuts, &guard), small.want,
                         "guard byte by byte");
    for (size_t i = 0; i <= small.wire.size(); ++i) {
        Transcript t = decode(small.wire, {i}, &guard);
        if (!(t == small.want))
            ck_abort_msg("guard split at %zu: got\n%s", i, show(t).c_str());
    }

    // The big fixture, whole and cut just around the maximal record.
    Fixture big = big_fixture();
    ASSERT_TRANSCRIPT_EQ(decode(big.wire, {}, &guard), big.want, "guard big");
    for (size_t i = 0; i < 80; ++i) {
        Transcript t = decode(big.wire, {i, big.wire.size() - 300 + i}, &guard);
        if (!(t == big.want))
            ck_abort_msg("guard big split at %zu: got\n%s", i, show(t).c_str());
    }

    // Each prefix of a header alone, ending at the guard.
    for (size_t n = 0; n < 8; ++n) {
        RecordDecoder d;
        RecordDecoder::Event ev;
        const uint8_t *p = guard.place(u8(small.wire), n);
        ck_assert_uint_eq(d.feed(p, n, ev), n);
        ck_assert(ev.kind == RecordDecoder::Kind::need_more);
    }
}
END_TEST

Suite *record_suite()
{
    Suite *s = suite_create("record");
    TCase *enc = tcase_create("encode");
    tcase_add_test(enc, test_encode_header);
    tcase_add_test(enc, test_encode_end_request);
    tcase_add_test(enc, test_encode_unknown_type);
    tcase_add_test(enc, test_encode_begin_request);
    tcase_add_test(enc, test_decode_header);
    tcase_add_test(enc, test_padding_for);
    suite_add_tcase(s, enc);

    TCase *dec = tcase_create("decoder");
    // Generous: valgrind runs these too.
    tcase_set_timeout(dec, 600);
    tcase_add_test(dec, test_decoder_whole);
    tcase_add_test(dec, test_decoder_byte_by_byte);
    tcase_add_test(dec, test_decoder_every_split);
    tcase_add_test(dec, test_decoder_every_three_way_split);
    tcase_add_test(dec, test_decoder_random_splits);
    tcase_add_test(dec, test_decoder_need_more);
    tcase_add_test(dec, test_decoder_null_empty);
    tcase_add_test(dec, test_decoder_guard_page);
    suite_add_tcase(s, dec);
    return s;
}

} // namespace

int main() { return unit::run_suite(record_suite()); }
