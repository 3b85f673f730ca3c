// check_client.cpp: white-box tests of libfcgi/proto/client (the web-server
// side of the codec cgi-fcgi uses): request bytes compared with literal
// wire bytes, PARAMS record splitting at every size that matters, and the
// response decoder fed whole, byte by byte and split at every offset.
// Prints one line per failed check; exits 0 when all pass.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/buffer.hpp"
#include "proto/client.hpp"
#include "proto/nvpair.hpp"
#include "proto/record.hpp"

using fcgi::Buffer;
using namespace fcgi::proto;

namespace {

int failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
            ++failures;                                                                \
        }                                                                              \
    } while (0)

bool bytes_are(const Buffer &b, const char *want, size_t n)
{
    return b.size() == n && memcmp(b.data(), want, n) == 0;
}

// Walks the records in buf; checks framing; collects the PARAMS stream and
// checks that no pair that would fit in a record crosses a record boundary.
struct Walk {
    Buffer params;
    size_t records = 0;
    size_t params_records = 0;
    bool framing_ok = true;
    bool ended = false; // empty PARAMS seen
};

void walk(const Buffer &buf, Walk &w)
{
    size_t ends[4096]; // offsets in the PARAMS stream where records end
    size_t nends = 0;
    size_t pos = 0;
    while (pos + kHeaderLen <= buf.size()) {
        Header h = decode_header(buf.data() + pos);
        if (h.version != 1 || h.padding_length != padding_for(h.content_length) ||
            pos + kHeaderLen + h.content_length + h.padding_length > buf.size()) {
            w.framing_ok = false;
            return;
        }
        ++w.records;
        if (h.type == kParams) {
            if (w.ended)
                w.framing_ok = false;
            if (h.content_length == 0) {
                w.ended = true;
            } else {
                ++w.params_records;
                w.params.append(buf.data() + pos + kHeaderLen, h.content_length);
                if (nends < sizeof ends / sizeof *ends)
                    ends[nends++] = w.params.size();
            }
        }
        pos += kHeaderLen + h.content_length + h.padding_length;
    }
    if (pos != buf.size())
        w.framing_ok = false;
    size_t p = 0, e = 0;
    PairView pv;
    while (p < w.params.size()) {
        size_t start = p;
        if (!next_pair(w.params.data(), w.params.size(), &p, pv)) {
            w.framing_ok = false;
            return;
        }
        while (e < nends && ends[e] <= start)
            ++e;
        if (p - start <= kMaxContent && e < nends && p > ends[e]) {
            printf("  pair of %zu bytes at %zu crosses a record end at %zu\n", p - start,
                   start, ends[e]);
            w.framing_ok = false;
        }
    }
}

// Decodes a PARAMS stream; returns the "NAME=VALUE\0..." strings.
bool decode_params(const Buffer &params, Buffer &strings, size_t &count)
{
    PairDecoder d;
    ParamLimits lim;
    lim.max_total = 64u << 20;
    lim.max_single = 16u << 20;
    d.reset(lim);
    if (d.feed(params.data(), params.size()) != PairDecoder::Status::ok ||
        d.finish() != PairDecoder::Status::ok)
        return false;
    count = d.count();
    strings.clear();
    return strings.append(d.strings().data(), d.strings().size());
}

void test_begin_request()
{
    Buffer b;
    CHECK(append_begin_request(b, 1, kResponder, 0));
    CHECK(bytes_are(b, "\x01\x01\x00\x01\x00\x08\x00\x00"
                       "\x00\x01\x00\x00\x00\x00\x00\x00", 16));
    b.clear();
    CHECK(append_begin_request(b, 0x1234, kAuthorizer, kKeepConn));
    CHECK(bytes_are(b, "\x01\x01\x12\x34\x00\x08\x00\x00"
                       "\x00\x02\x01\x00\x00\x00\x00\x00", 16));
}

void test_small_params()
{
    Buffer b;
    ParamsWriter w(b, 1);
    CHECK(w.add("A", 1, "1", 1));
    CHECK(w.add("BB", 2, "22", 2));
    CHECK(w.finish());
    CHECK(bytes_are(b, "\x01\x04\x00\x01\x00\x0a\x06\x00"
                       "\x01\x01" "A1" "\x02\x02" "BB22" "\0\0\0\0\0\0"
                       "\x01\x04\x00\x01\x00\x00\x00\x00", 32));
    Buffer e;
    ParamsWriter empty(e, 7);
    CHECK(empty.finish());
    CHECK(bytes_are(e, "\x01\x04\x00\x07\x00\x00\x00\x00", 8));
}

// Values of every length around the record size, after fillers of every
// awkward size: records valid, small pairs whole, the stream intact.
void test_params_splitting()
{
    static char value[300000];
    memset(value, 'v', sizeof value);
    const size_t lens[] = {0, 1, 127, 128, 65000, 65524, 65525, 65526, 65527, 65528,
                           65535, 65536, 131070, 131080, 299990};
    const size_t fillers[] = {0, 1, 7, 100, 65000, 65530};
    for (size_t filler : fillers) {
        for (size_t len : lens) {
            Buffer b;
            ParamsWriter w(b, 1);
            if (filler)
                CHECK(w.add("F", 1, value, filler));
            CHECK(w.add("NAME", 4, value, len));
            CHECK(w.add("TAIL", 4, "t", 1));
            CHECK(w.finish());
            Walk wk;
            walk(b, wk);
            CHECK(wk.framing_ok);
            CHECK(wk.ended);
            Buffer strings;
            size_t count = 0;
            bool decoded = decode_params(wk.params, strings, count);
            CHECK(decoded);
            CHECK(count == (filler ? 3u : 2u));
            if (decoded && count == (filler ? 3u : 2u)) {
                // The NAME pair arrived whole.
                const char *s = reinterpret_cast<const char *>(strings.data());
                if (filler)
                    s += strlen(s) + 1;
                CHECK(strncmp(s, "NAME=", 5) == 0 && strlen(s) == 5 + len);
            } else {
                printf("  filler %zu len %zu\n", filler, len);
            }
        }
    }
    // A pair of exactly one record's size fills it (padding 1).
    Buffer b;
    ParamsWriter w(b, 1);
    size_t vlen = kMaxContent - 4 - 1 - 4; // 1-byte name length, 4-byte value length
    CHECK(encoded_pair_size(4, vlen) == kMaxContent);
    CHECK(w.add("NAME", 4, value, vlen));
    CHECK(w.finish());
    CHECK(b.size() == kHeaderLen + kMaxContent + 1 + kHeaderLen);
    Header h = decode_header(b.data());
    CHECK(h.content_length == kMaxContent && h.padding_length == 1);
}

// Many pairs: no record over the limit, every pair whole where it fits,
// and the order kept.
void test_many_params()
{
    Buffer b;
    ParamsWriter w(b, 3);
    char name[32], val[200];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 5000; ++i) {
        int n = snprintf(name, sizeof name, "VAR_%d", i);
        CHECK(w.add(name, size_t(n), val, size_t(i % 200)));
    }
    CHECK(w.finish());
    Walk wk;
    walk(b, wk);
    CHECK(wk.framing_ok);
    CHECK(wk.params_records >= 8);
    Buffer strings;
    size_t count = 0;
    bool decoded = decode_params(wk.params, strings, count);
    CHECK(decoded);
    CHECK(count == 5000);
    const char *s = reinterpret_cast<const char *>(strings.data());
    for (int i = 0; decoded && i < 5000 && count == 5000; ++i) {
        int n = snprintf(name, sizeof name, "VAR_%d=", i);
        if (strncmp(s, name, size_t(n)) != 0 || strlen(s) != size_t(n + i % 200)) {
            CHECK(!"pair order or content");
            break;
        }
        s += strlen(s) + 1;
    }
}

void test_streams_and_values()
{
    static uint8_t data[200000];
    for (size_t i = 0; i < sizeof data; ++i)
        data[i] = uint8_t(i * 7);
    Buffer b;
    CHECK(append_stream(b, kStdin, 1, data, 0));
    CHECK(b.size() == 0);
    CHECK(append_stream(b, kStdin, 1, data, sizeof data));
    CHECK(append_stream_end(b, kStdin, 1));
    size_t pos = 0, total = 0, records = 0;
    while (pos < b.size()) {
        Header h = decode_header(b.data() + pos);
        CHECK(h.type == kStdin && h.request_id == 1);
        CHECK(h.padding_length == padding_for(h.content_length));
        CHECK(memcmp(b.data() + pos + 8, data + total, h.content_length) == 0);
        total += h.content_length;
        pos += 8 + h.content_length + h.padding_length;
        ++records;
    }
    CHECK(total == sizeof data && records == 5); // 3 x 65535, 3395, end

    Buffer v;
    const char *names[] = {"FCGI_MAX_CONNS", "FCGI_MPXS_CONNS"};
    CHECK(append_get_values(v, names, 2));
    CHECK(bytes_are(v, "\x01\x09\x00\x00\x00\x21\x07\x00"
                       "\x0e\x00" "FCGI_MAX_CONNS" "\x0f\x00" "FCGI_MPXS_CONNS"
                       "\0\0\0\0\0\0\0",
                    48));
}

// A response with every event kind, used whole and split.
void build_response(Buffer &r)
{
    auto rec = [&r](uint8_t type, uint16_t id, const char *c, size_t n) {
        uint8_t *h = r.extend(8);
        encode_header(h, type, id, n, padding_for(n));
        r.append(c, n);
        r.append("\0\0\0\0\0\0\0", padding_for(n));
    };
    rec(kStdout, 1, "Content-type: text/plain\r\n\r\n", 28);
    rec(kStderr, 1, "warning\n", 8);
    rec(kStdout, 1, "body", 4);
    rec(kStderr, 1, "", 0);
    rec(kStdout, 1, "", 0);
    uint8_t *e = r.extend(16);
    encode_end_request(e, 1, 0x01020304, kRequestComplete);
}

struct Collected {
    Buffer out, err;
    int ends = 0;
    uint32_t status = 0;
    bool error = false;
};

void feed_all(ResponseDecoder &d, const uint8_t *p, size_t n, Collected &c)
{
    size_t off = 0;
    while (off < n || n == 0) {
        ResponseDecoder::Event ev;
        off += d.feed(p + off, n - off, ev);
        switch (ev.kind) {
        case ResponseDecoder::Kind::need_more:
            return;
        case ResponseDecoder::Kind::out:
            c.out.append(ev.data, ev.len);
            break;
        case ResponseDecoder::Kind::err:
            c.err.append(ev.data, ev.len);
            break;
        case ResponseDecoder::Kind::end_request:
            ++c.ends;
            c.status = ev.app_status;
            break;
        case ResponseDecoder::Kind::error:
            c.error = true;
            return;
        default:
            c.error = true;
            return;
        }
    }
}

bool same_result(const Collected &c)
{
    return !c.error && c.ends == 1 && c.status == 0x01020304 &&
           bytes_are(c.out, "Content-type: text/plain\r\n\r\nbody", 32) &&
           bytes_are(c.err, "warning\n", 8);
}

void test_decoder_splits()
{
    Buffer r;
    build_response(r);
    {
        ResponseDecoder d(1);
        Collected c;
        feed_all(d, r.data(), r.size(), c);
        CHECK(same_result(c));
        CHECK(d.finish() == ResponseDecoder::Error::none);
    }
    {
        ResponseDecoder d(1);
        Collected c;
        for (size_t i = 0; i < r.size(); ++i)
            feed_all(d, r.data() + i, 1, c);
        CHECK(same_result(c));
        CHECK(d.finish() == ResponseDecoder::Error::none);
    }
    for (size_t cut = 0; cut <= r.size(); ++cut) {
        ResponseDecoder d(1);
        Collected c;
        feed_all(d, r.data(), cut, c);
        if (cut < r.size())
            CHECK(d.finish() == ResponseDecoder::Error::truncated);
        feed_all(d, r.data() + cut, r.size() - cut, c);
        if (!same_result(c)) {
            printf("  split at %zu\n", cut);
            CHECK(same_result(c));
        }
        CHECK(d.finish() == ResponseDecoder::Error::none);
    }
}

// Feeds raw bytes; returns the decoder's error (none if it ended cleanly).
ResponseDecoder::Error decode_error(const char *bytes, size_t n, uint16_t id = 1)
{
    ResponseDecoder d(id);
    Collected c;
    feed_all(d, reinterpret_cast<const uint8_t *>(bytes), n, c);
    return c.error ? d.error() : d.finish();
}

void test_decoder_errors()
{
    using E = ResponseDecoder::Error;
    CHECK(decode_error("", 0) == E::truncated);
    CHECK(decode_error("\x01\x06\x00\x01\x00\x02\x06\x00" "ab\0\0\0\0\0\0", 16) == E::truncated);
    CHECK(decode_error("\x01\x06\x00\x01\x00\x10\x00\x00" "abc", 11) == E::truncated);
    CHECK(decode_error("\x02\x06\x00\x01\x00\x00\x00\x00", 8) == E::bad_version);
    CHECK(decode_error("\x01\x06\x00\x02\x00\x00\x00\x00", 8) == E::bad_request_id);
    CHECK(decode_error("\x01\x03\x00\x02\x00\x08\x00\x00" "\0\0\0\0\0\0\0\0", 16) ==
          E::bad_request_id);
    CHECK(decode_error("\x01\x0a\x00\x01\x00\x00\x00\x00", 8) == E::bad_request_id);
    CHECK(decode_error("\x01\x05\x00\x01\x00\x00\x00\x00", 8) == E::unexpected_type);
    CHECK(decode_error("\x01\x0c\x00\x01\x00\x00\x00\x00", 8) == E::unexpected_type);
    CHECK(decode_error("\x01\x03\x00\x01\x00\x04\x04\x00" "\0\0\0\0\0\0\0\0", 16) ==
          E::bad_length);
    CHECK(decode_error("\x01\x0b\x00\x00\x00\x09\x07\x00" "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                       24) == E::bad_length);
    CHECK(decode_error("\x01\x06\x00\x01\x00\x00\x00\x00"
                       "\x01\x06\x00\x01\x00\x01\x07\x00" "x\0\0\0\0\0\0\0", 24) ==
          E::stream_ended);
    // An empty stream record after the end is harmless.
    CHECK(decode_error("\x01\x06\x00\x01\x00\x00\x00\x00"
                       "\x01\x06\x00\x01\x00\x00\x00\x00"
                       "\x01\x03\x00\x01\x00\x08\x00\x00" "\0\0\0\0\0\0\0\0", 32) == E::none);
    // Anything after END_REQUEST.
    {
        ResponseDecoder d(1);
        const char end_then[] = "\x01\x03\x00\x01\x00\x08\x00\x00" "\0\0\0\x05\0\0\0\0"
                                "\x01\x06\x00\x01\x00\x00\x00\x00";
        ResponseDecoder::Event ev;
        const uint8_t *p = reinterpret_cast<const uint8_t *>(end_then);
        size_t used = d.feed(p, 24, ev);
        CHECK(ev.kind == ResponseDecoder::Kind::end_request && ev.app_status == 5 &&
              used == 16);
        d.feed(p + used, 24 - used, ev);
        CHECK(ev.kind == ResponseDecoder::Kind::error && d.error() == E::after_end);
        // After an error nothing more is consumed.
        CHECK(d.feed(p, 8, ev) == 0 && ev.kind == ResponseDecoder::Kind::error);
    }
    // END_REQUEST's protocol status comes through.
    {
        ResponseDecoder d(1);
        const char end[] = "\x01\x03\x00\x01\x00\x08\x00\x00" "\xff\xff\xff\xfe\x02\0\0\0";
        ResponseDecoder::Event ev;
        d.feed(reinterpret_cast<const uint8_t *>(end), 16, ev);
        CHECK(ev.kind == ResponseDecoder::Kind::end_request &&
              ev.app_status == 0xfffffffeu && ev.protocol_status == kOverloaded);
    }
}

void test_management()
{
    // GET_VALUES_RESULT, split byte by byte: one event with all pairs.
    const char res[] = "\x01\x0a\x00\x00\x00\x11\x07\x00"
                       "\x0e\x01" "FCGI_MAX_CONNS" "4" "\0\0\0\0\0\0\0";
    ResponseDecoder d(1);
    ResponseDecoder::Event ev;
    int events = 0;
    for (size_t i = 0; i < sizeof res - 1; ++i) {
        d.feed(reinterpret_cast<const uint8_t *>(res) + i, 1, ev);
        if (ev.kind == ResponseDecoder::Kind::values_result) {
            ++events;
            size_t pos = 0;
            PairView pv;
            CHECK(next_pair(ev.data, ev.len, &pos, pv) && pv.name_len == 14 &&
                  pv.value_len == 1 && pv.value[0] == '4' && pos == ev.len);
        } else {
            CHECK(ev.kind == ResponseDecoder::Kind::need_more);
        }
    }
    CHECK(events == 1);
    // Malformed pairs.
    CHECK(decode_error("\x01\x0a\x00\x00\x00\x03\x05\x00" "\x0e\x01" "F" "\0\0\0\0\0", 16) ==
          ResponseDecoder::Error::bad_pairs);
    // UNKNOWN_TYPE names the type.
    ResponseDecoder u(1);
    u.feed(reinterpret_cast<const uint8_t *>("\x01\x0b\x00\x00\x00\x08\x00\x00"
                                             "\x09\0\0\0\0\0\0\0"),
           16, ev);
    CHECK(ev.kind == ResponseDecoder::Kind::unknown_type && ev.unknown_type == 9);
}

} // namespace

int main()
{
    test_begin_request();
    test_small_params();
    test_params_splitting();
    test_many_params();
    test_streams_and_values();
    test_decoder_splits();
    test_decoder_errors();
    test_management();
    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("all client codec checks passed\n");
    return 0;
}
