// proto::ServerConn (the application side of a connection) fed arbitrary
// bytes in pieces.
//
// Input: two bytes seeding the chopper, one byte for the capacity reported
// to GET_VALUES and for when the modelled application ends its request,
// then the bytes from the "web server".  Checked:
//  - every reply appended to the output is whole, well-framed records:
//    version 1, END_REQUEST (for a request id other than the active one,
//    status CANT_MPX_CONN or UNKNOWN_ROLE), GET_VALUES_RESULT (valid pairs,
//    known names at most once, decimal values matching the capacity) or
//    UNKNOWN_TYPE; lengths consistent, padding to 8 and zeroed;
//  - the events follow a request's life: begin, then params pieces until
//    params_end, then stdin (and data) pieces until their ends; no piece
//    is empty or points outside the piece fed; no begin while a request is
//    active; abort only for the active request;
//  - after protocol_error or unsupported_version the connection stays
//    failed and reports protocol_error on every further feed;
//  - feeding the same bytes in one piece gives the same events, the same
//    stream bytes and byte-identical replies.
// With multiplexing on (a bit of the capacity byte), a lighter model: the
// replies are whole records (END_REQUEST with CANT_MPX_CONN never, but
// OVERLOADED possible), every request event carries its id, the
// active count stays within kMaxMultiplexed, and split and whole feeding
// agree on the events (with their ids), stream bytes and replies.
#include <cstring>

#include "fuzz.hpp"
#include "proto/nvpair.hpp"
#include "proto/server_conn.hpp"

using namespace fcgi;
using namespace fcgi::proto;
using Kind = ServerConn::Kind;

namespace {

// When the modelled application calls end_request().
enum class EndAt { stdin_end, params_end, never, abort_only };

struct Trace {
    Buffer kinds;   // the sequence of non-piece events, one byte each
    Buffer params;  // concatenated stream bytes
    Buffer stdin_;
    Buffer data;
    Buffer out;     // every reply byte
    bool failed = false;
};

void check_values_result(const uint8_t *body, size_t n, const Capacity &cap)
{
    static const char *const names[3] = {"FCGI_MAX_CONNS", "FCGI_MAX_REQS",
                                         "FCGI_MPXS_CONNS"};
    char want[3][16];
    snprintf(want[0], sizeof want[0], "%u", cap.max_conns);
    snprintf(want[1], sizeof want[1], "%u", cap.max_reqs);
    snprintf(want[2], sizeof want[2], "%d", cap.mpxs_conns ? 1 : 0);
    bool seen[3] = {false, false, false};
    size_t pos = 0;
    PairView v;
    while (next_pair(body, n, &pos, v)) {
        int which = -1;
        for (int i = 0; i < 3; ++i)
            if (v.name_len == strlen(names[i]) && memcmp(v.name, names[i], v.name_len) == 0)
                which = i;
        FUZZ_CHECK(which >= 0 && !seen[which]);
        seen[which] = true;
        FUZZ_CHECK(v.value_len == strlen(want[which]));
        FUZZ_CHECK(memcmp(v.value, want[which], v.value_len) == 0);
    }
    FUZZ_CHECK(pos == n);
}

// Checks the replies appended since *checked; they must be whole records.
void check_replies(const Buffer &out, size_t *checked, uint16_t active, bool active_known,
                   const Capacity &cap)
{
    const uint8_t *p = out.data();
    size_t at = *checked;
    while (at < out.size()) {
        FUZZ_CHECK(out.size() - at >= kHeaderLen);
        Header h = decode_header(p + at);
        FUZZ_CHECK(h.version == kVersion1);
        FUZZ_CHECK(p[at + 7] == 0);
        size_t total = kHeaderLen + h.content_length + h.padding_length;
        FUZZ_CHECK(out.size() - at >= total);
        FUZZ_CHECK(h.padding_length == padding_for(h.content_length));
        const uint8_t *body = p + at + kHeaderLen;
        for (size_t i = 0; i < h.padding_length; ++i)
            FUZZ_CHECK(body[h.content_length + i] == 0);
        switch (h.type) {
        case kEndRequest:
            FUZZ_CHECK(h.content_length == 8 && h.request_id != 0);
            if (cap.mpxs_conns)
                FUZZ_CHECK(body[4] == kOverloaded || body[4] == kUnknownRole);
            else
                FUZZ_CHECK(body[4] == kCantMpxConn || body[4] == kUnknownRole);
            FUZZ_CHECK(body[5] == 0 && body[6] == 0 && body[7] == 0);
            if (body[4] == kCantMpxConn && active_known)
                FUZZ_CHECK(h.request_id != active);
            break;
        case kUnknownType:
            FUZZ_CHECK(h.content_length == 8 && h.request_id == 0);
            FUZZ_CHECK(body[0] != kGetValues);
            for (int i = 1; i < 8; ++i)
                FUZZ_CHECK(body[i] == 0);
            break;
        case kGetValuesResult:
            FUZZ_CHECK(h.request_id == 0);
            check_values_result(body, h.content_length, cap);
            break;
        default:
            FUZZ_CHECK(!"unexpected reply type");
        }
        at += total;
    }
    *checked = at;
}

void run(const uint8_t *data, size_t len, uint32_t seed, bool whole, const Capacity &cap,
         EndAt end_at, Trace &t)
{
    fuzz::Chopper chop(seed);
    ServerConn conn(&cap);
    size_t checked = 0, pos = 0;
    bool active = false, params_done = false, stdin_done = false, data_done = false;
    uint16_t id = 0;
    size_t rounds = 0;
    bool stop = false;
    while (!stop && (pos < len || pos == 0)) {
        size_t chunk = whole ? len - pos : chop.next(len - pos);
        const uint8_t *piece = data + pos;
        size_t off = 0;
        ServerConn::Event ev;
        do {
            size_t used = conn.feed(piece + off, chunk - off, ev, t.out);
            FUZZ_CHECK(used <= chunk - off);
            FUZZ_CHECK(++rounds <= 4 * len + 64);
            check_replies(t.out, &checked, id, active, cap);
            // Replies are bounded by the input: at most one 16-byte record
            // per 8 input bytes, and small GET_VALUES answers.
            FUZZ_CHECK(t.out.size() <= 2 * (pos + off + used) + 256 * (1 + (pos + off + used) / 8));
            if (ev.kind != Kind::need_more && ev.kind != Kind::params &&
                ev.kind != Kind::stdin_data && ev.kind != Kind::data)
                t.kinds.push(static_cast<uint8_t>(ev.kind));
            switch (ev.kind) {
            case Kind::need_more:
                FUZZ_CHECK(off + used == chunk);
                break;
            case Kind::begin:
                FUZZ_CHECK(!active);
                FUZZ_CHECK(ev.request_id != 0);
                FUZZ_CHECK(ev.role >= kResponder && ev.role <= kFilter);
                FUZZ_CHECK(conn.active_id() == ev.request_id);
                active = true;
                id = ev.request_id;
                params_done = stdin_done = data_done = false;
                break;
            case Kind::params:
            case Kind::stdin_data:
            case Kind::data:
                FUZZ_CHECK(active && ev.request_id == id);
                FUZZ_CHECK(ev.len > 0);
                FUZZ_CHECK(ev.data >= piece + off && ev.data + ev.len <= piece + off + used);
                if (ev.kind == Kind::params) {
                    FUZZ_CHECK(!params_done);
                    t.params.append(ev.data, ev.len);
                } else if (ev.kind == Kind::stdin_data) {
                    FUZZ_CHECK(params_done && !stdin_done);
                    t.stdin_.append(ev.data, ev.len);
                } else {
                    FUZZ_CHECK(params_done && !data_done);
                    t.data.append(ev.data, ev.len);
                }
                break;
            case Kind::params_end:
                FUZZ_CHECK(active && !params_done && ev.request_id == id);
                FUZZ_CHECK(conn.params_done());
                params_done = true;
                if (end_at == EndAt::params_end) {
                    conn.end_request();
                    active = false;
                }
                break;
            case Kind::stdin_end:
                FUZZ_CHECK(active && params_done && !stdin_done && ev.request_id == id);
                FUZZ_CHECK(conn.stdin_done());
                stdin_done = true;
                if (end_at == EndAt::stdin_end) {
                    conn.end_request();
                    active = false;
                }
                break;
            case Kind::data_end:
                FUZZ_CHECK(active && params_done && !data_done && ev.request_id == id);
                data_done = true;
                break;
            case Kind::abort:
                FUZZ_CHECK(active && ev.request_id == id);
                if (end_at != EndAt::never) {
                    conn.end_request();
                    active = false;
                }
                break;
            case Kind::close:
                // The application closes the connection after the replies.
                stop = true;
                break;
            case Kind::unsupported_version:
            case Kind::protocol_error: {
                FUZZ_CHECK(conn.failed());
                t.failed = true;
                // It stays failed, whatever follows.
                Buffer more;
                ServerConn::Event again;
                conn.feed(piece + off + used, chunk - off - used, again, more);
                FUZZ_CHECK(again.kind == Kind::protocol_error && conn.failed());
                FUZZ_CHECK(more.empty());
                conn.feed(nullptr, 0, again, more);
                FUZZ_CHECK(again.kind == Kind::protocol_error && more.empty());
                stop = true;
                break;
            }
            }
            FUZZ_CHECK(conn.active_id() == (active ? id : 0));
            off += used;
        } while (!stop && ev.kind != Kind::need_more);
        pos += chunk;
        if (len == 0)
            break;
    }
    check_replies(t.out, &checked, id, active, cap);
}

// The multiplexed model: the application ends each request at the end of
// its stdin (or, with end_at never, not at all).
void run_multiplexed(const uint8_t *data, size_t len, uint32_t seed, bool whole,
                     const Capacity &cap, EndAt end_at, Trace &t)
{
    fuzz::Chopper chop(seed);
    ServerConn conn(&cap);
    size_t checked = 0, pos = 0, rounds = 0;
    bool stop = false;
    while (!stop && (pos < len || pos == 0)) {
        size_t chunk = whole ? len - pos : chop.next(len - pos);
        const uint8_t *piece = data + pos;
        size_t off = 0;
        ServerConn::Event ev;
        do {
            size_t before = conn.active_count();
            size_t used = conn.feed(piece + off, chunk - off, ev, t.out);
            FUZZ_CHECK(used <= chunk - off);
            FUZZ_CHECK(++rounds <= 4 * len + 64);
            check_replies(t.out, &checked, 0, false, cap);
            FUZZ_CHECK(conn.active_count() <= kMaxMultiplexed);
            if (ev.kind == Kind::begin)
                FUZZ_CHECK(conn.active_count() == before + 1);
            else
                FUZZ_CHECK(conn.active_count() == before);
            if (ev.kind != Kind::need_more && ev.kind != Kind::params &&
                ev.kind != Kind::stdin_data && ev.kind != Kind::data) {
                t.kinds.push(static_cast<uint8_t>(ev.kind));
                t.kinds.push(static_cast<uint8_t>(ev.request_id));
                t.kinds.push(static_cast<uint8_t>(ev.request_id >> 8));
            }
            switch (ev.kind) {
            case Kind::need_more:
                FUZZ_CHECK(off + used == chunk);
                break;
            case Kind::params:
            case Kind::stdin_data:
            case Kind::data: {
                FUZZ_CHECK(ev.len > 0 && ev.data >= piece + off && ev.data + ev.len <= piece + off + used);
                Buffer &b = ev.kind == Kind::params ? t.params : ev.kind == Kind::data ? t.data : t.stdin_;
                FUZZ_CHECK(b.append(ev.data, ev.len));
                break;
            }
            case Kind::close:
                stop = true;
                break;
            case Kind::unsupported_version:
            case Kind::protocol_error:
                FUZZ_CHECK(conn.failed());
                t.failed = true;
                stop = true;
                break;
            default:
                break;
            }
            if (ev.kind != Kind::need_more && ev.kind != Kind::close && !t.failed &&
                ev.kind != Kind::protocol_error && ev.kind != Kind::unsupported_version) {
                // Every event belongs to an active request.
                FUZZ_CHECK(ev.request_id != 0);
                if (ev.kind == Kind::stdin_end)
                    FUZZ_CHECK(conn.stdin_done(ev.request_id));
                if (ev.kind == Kind::stdin_end && end_at != EndAt::never)
                    conn.end_request(ev.request_id);
            }
            off += used;
        } while (!stop && ev.kind != Kind::need_more);
        pos += chunk;
        if (len == 0)
            break;
    }
    check_replies(t.out, &checked, 0, false, cap);
}

bool same(const Buffer &a, const Buffer &b)
{
    return a.size() == b.size() && (a.empty() || memcmp(a.data(), b.data(), a.size()) == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 3)
        return 0;
    uint32_t seed = static_cast<uint32_t>(in[0] | in[1] << 8);
    Capacity cap;
    static const unsigned kConns[4] = {1, 7, 100, 4294967295u};
    cap.max_conns = kConns[in[2] & 3];
    cap.max_reqs = kConns[in[2] >> 2 & 3];
    cap.mpxs_conns = in[2] >> 4 & 1;
    EndAt end_at = static_cast<EndAt>(in[2] >> 5 & 3);
    const uint8_t *data = in + 3;
    size_t len = size - 3;

    Trace split, whole;
    auto model = cap.mpxs_conns ? run_multiplexed : run;
    model(data, len, seed, false, cap, end_at, split);
    model(data, len, seed, true, cap, end_at, whole);
    FUZZ_CHECK(split.failed == whole.failed);
    FUZZ_CHECK(same(split.kinds, whole.kinds));
    FUZZ_CHECK(same(split.params, whole.params));
    FUZZ_CHECK(same(split.stdin_, whole.stdin_));
    FUZZ_CHECK(same(split.data, whole.data));
    FUZZ_CHECK(same(split.out, whole.out));
    return 0;
}
