// proto::RecordDecoder fed arbitrary bytes split at input-derived points.
//
// Input: two bytes seeding the chopper, then the byte stream.  The stream
// is first walked by hand (the oracle: header, content, padding), then fed
// to the decoder in pieces.  Checked: the events come in the order header,
// content*, end; every content piece points at the right bytes of the
// input; the pieces of a record add up to its header's content length;
// every record the input holds completely is ended, a trailing partial one
// is left open; each call consumes all it is given when it reports
// need_more.
#include <cstring>

#include "fuzz.hpp"
#include "proto/record.hpp"

using namespace fcgi::proto;

namespace {

struct Expected {
    size_t header_at;  // offset of the header in the stream
    size_t content_at; // offset of the first content byte
    size_t content_len;
    bool complete;     // content and padding all present
};

constexpr size_t kMaxRecords = 1 << 14;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 2)
        return 0;
    fuzz::Chopper chop(static_cast<uint32_t>(in[0] | in[1] << 8));
    const uint8_t *data = in + 2;
    size_t len = size - 2;

    // The oracle: every record whose header is present.
    static Expected want[kMaxRecords];
    size_t nwant = 0, complete = 0, content_total = 0;
    for (size_t p = 0; p + kHeaderLen <= len && nwant < kMaxRecords;) {
        size_t cl = size_t(data[p + 4]) << 8 | data[p + 5];
        size_t pl = data[p + 6];
        Expected &e = want[nwant++];
        e.header_at = p;
        e.content_at = p + kHeaderLen;
        e.content_len = cl;
        e.complete = e.content_at + cl + pl <= len;
        if (!e.complete) {
            size_t have = len - e.content_at;
            content_total += have < cl ? have : cl;
            break;
        }
        ++complete;
        content_total += cl;
        p = e.content_at + cl + pl;
    }
    if (nwant == kMaxRecords)
        return 0; // cannot happen with libFuzzer's lengths; keeps the oracle simple

    RecordDecoder dec;
    size_t pos = 0, rec = 0, got = 0, seen_total = 0;
    bool open = false;
    while (pos < len || pos == 0) {
        size_t chunk = chop.next(len - pos);
        const uint8_t *piece = data + pos;
        size_t off = 0, rounds = 0;
        RecordDecoder::Event ev;
        do {
            size_t used = dec.feed(piece + off, chunk - off, ev);
            FUZZ_CHECK(used <= chunk - off);
            FUZZ_CHECK(++rounds <= 4 * chunk + 8);
            switch (ev.kind) {
            case RecordDecoder::Kind::need_more:
                FUZZ_CHECK(off + used == chunk);
                break;
            case RecordDecoder::Kind::header: {
                FUZZ_CHECK(!open && rec < nwant);
                const Expected &e = want[rec];
                // The header's last byte was in this piece.
                FUZZ_CHECK(pos + off + used == e.content_at);
                const uint8_t *h = data + e.header_at;
                FUZZ_CHECK(ev.header.version == h[0]);
                FUZZ_CHECK(ev.header.type == h[1]);
                FUZZ_CHECK(ev.header.request_id == (h[2] << 8 | h[3]));
                FUZZ_CHECK(ev.header.content_length == e.content_len);
                FUZZ_CHECK(ev.header.padding_length == h[6]);
                FUZZ_CHECK(dec.in_record());
                FUZZ_CHECK(dec.content_left() == e.content_len);
                open = true;
                got = 0;
                break;
            }
            case RecordDecoder::Kind::content: {
                FUZZ_CHECK(open);
                const Expected &e = want[rec];
                FUZZ_CHECK(ev.len > 0 && used == ev.len);
                FUZZ_CHECK(ev.data == piece + off);
                FUZZ_CHECK(ev.data == data + e.content_at + got);
                FUZZ_CHECK(ev.header.content_length == e.content_len);
                got += ev.len;
                seen_total += ev.len;
                FUZZ_CHECK(got <= e.content_len);
                FUZZ_CHECK(dec.content_left() == e.content_len - got);
                break;
            }
            case RecordDecoder::Kind::end:
                FUZZ_CHECK(open && want[rec].complete);
                FUZZ_CHECK(got == want[rec].content_len);
                FUZZ_CHECK(ev.header.content_length == want[rec].content_len);
                FUZZ_CHECK(!dec.in_record());
                open = false;
                ++rec;
                break;
            }
            off += used;
        } while (ev.kind != RecordDecoder::Kind::need_more);
        pos += chunk;
        if (len == 0)
            break;
    }

    FUZZ_CHECK(rec == complete);
    FUZZ_CHECK(seen_total == content_total);
    // A record is open exactly when the input ends inside one; a partial
    // header does not open one yet.
    FUZZ_CHECK(open == (nwant > complete));
    FUZZ_CHECK(dec.in_record() == open);
    return 0;
}
