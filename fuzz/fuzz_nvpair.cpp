// proto::PairDecoder fed arbitrary bytes in pieces, under small limits.
//
// Input: one byte choosing the limits, two seeding the chopper, then the
// name-value stream.  An independent whole-buffer decoder (the oracle)
// says which pairs are complete, whether the stream ends inside one and
// whether a limit is exceeded.  Checked against it: the status of every
// feed and of finish(), count(), and the exact bytes of strings():
// "NAME=VALUE\0" per complete pair, then what arrived of the pair in
// progress, each pair's string ending at its first NUL as the reference's
// C strings do.  When the stream decodes fully, strings() must also be a
// sequence of exactly count() NUL-terminated strings, match
// proto::next_pair walking the same bytes, and be what hand_over()'s envp
// points at.
#include <cstring>
#include <string>

#include "fuzz.hpp"
#include "proto/nvpair.hpp"

using namespace fcgi;
using namespace fcgi::proto;

namespace {

const size_t kSingle[8] = {0, 1, 7, 64, 300, 4096, 1u << 20, 4u << 20};
const size_t kTotal[8] = {0, 2, 16, 200, 1000, 8192, 1u << 20, 8u << 20};
const size_t kCount[4] = {0, 1, 5, 100000};

struct Oracle {
    size_t pairs = 0;       // complete pairs before any stop
    size_t good_end = 0;    // offset just past the last complete pair
    bool too_large = false; // a pair's lengths broke a limit
    bool truncated = false; // the stream ends inside a pair
};

// Reads a length at p; returns 0 when the bytes run out.
size_t read_length(const uint8_t *d, size_t n, size_t p, uint32_t &len)
{
    if (p >= n)
        return 0;
    if (!(d[p] & 0x80)) {
        len = d[p];
        return 1;
    }
    if (n - p < 4)
        return 0;
    len = uint32_t(d[p] & 0x7f) << 24 | uint32_t(d[p + 1]) << 16 |
          uint32_t(d[p + 2]) << 8 | d[p + 3];
    return 4;
}

Oracle walk(const uint8_t *d, size_t n, const ParamLimits &lim)
{
    Oracle o;
    size_t p = 0;
    uint64_t total = 0;
    while (p < n) {
        uint32_t nl, vl;
        size_t a = read_length(d, n, p, nl);
        size_t b = a ? read_length(d, n, p + a, vl) : 0;
        if (!a || !b) {
            o.truncated = true;
            return o;
        }
        if (uint64_t(nl) + vl > lim.max_single || total + nl + vl > lim.max_total ||
            o.pairs + 1 > lim.max_count) {
            o.too_large = true;
            return o;
        }
        total += uint64_t(nl) + vl;
        size_t body = p + a + b;
        if (n - body < uint64_t(nl) + vl) {
            o.truncated = true;
            return o;
        }
        p = body + nl + vl;
        ++o.pairs;
        o.good_end = p;
    }
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 3)
        return 0;
    ParamLimits lim;
    lim.max_single = kSingle[in[0] & 7];
    lim.max_total = kTotal[in[0] >> 3 & 7];
    lim.max_count = kCount[in[0] >> 6];
    fuzz::Chopper chop(static_cast<uint32_t>(in[1] | in[2] << 8));
    const uint8_t *data = in + 3;
    size_t len = size - 3;

    Oracle o = walk(data, len, lim);

    PairDecoder dec;
    dec.reset(lim);
    PairDecoder::Status st = PairDecoder::Status::ok;
    for (size_t pos = 0; pos < len;) {
        size_t chunk = chop.next(len - pos);
        st = dec.feed(data + pos, chunk);
        pos += chunk;
        if (st != PairDecoder::Status::ok)
            break;
    }
    if (st == PairDecoder::Status::no_memory)
        return 0;
    FUZZ_CHECK((st == PairDecoder::Status::too_large) == o.too_large);
    if (o.too_large) {
        FUZZ_CHECK(dec.count() <= o.pairs);
        return 0;
    }
    FUZZ_CHECK(st == PairDecoder::Status::ok);
    FUZZ_CHECK(dec.count() == o.pairs);
    FUZZ_CHECK((dec.finish() == PairDecoder::Status::truncated) == o.truncated);

    // strings(): "NAME=VALUE\0" per complete pair, then what arrived of
    // the pair in progress (its name bytes, '=' once the name is complete,
    // its value bytes; no terminator yet).  A NUL inside a name or value
    // ends that pair's string there, as it does for the reference, whose
    // parameters are C strings: the rest of the pair is dropped, so that
    // envp (built by walking NUL-terminated strings) stays one entry per
    // pair.  The oracle rebuilds all of it from the raw bytes.
    std::string want;
    bool nul_inside = false;
    size_t p = 0;
    for (size_t i = 0; i <= o.pairs; ++i) {
        uint32_t nl = 0, vl = 0;
        size_t a = read_length(data, len, p, nl);
        size_t b = a ? read_length(data, len, p + a, vl) : 0;
        if (i == o.pairs && (!o.truncated || !a || !b))
            break; // no pair in progress, or only part of its lengths
        p += a + b;
        size_t have = len - p;
        size_t nhave = have < nl ? have : nl;
        std::string pair(reinterpret_cast<const char *>(data + p), nhave);
        if (have >= nl) {
            size_t vhave = have - nl < vl ? have - nl : vl;
            pair += '=';
            pair.append(reinterpret_cast<const char *>(data + p + nl), vhave);
        }
        size_t nul = pair.find('\0');
        if (nul != std::string::npos) {
            nul_inside = true;
            pair.resize(nul);
        }
        want += pair;
        if (i < o.pairs) {
            want += '\0';
            p += nl + vl;
        }
    }
    (void)nul_inside;
    const Buffer &s = dec.strings();
    FUZZ_CHECK(s.size() == want.size());
    FUZZ_CHECK(want.empty() || memcmp(s.data(), want.data(), want.size()) == 0);
    if (o.truncated)
        return 0;

    // What envp is built from: count() strings, each ended by the first
    // NUL after its start, covering the buffer exactly.
    size_t walked = 0;
    for (size_t i = 0; i < dec.count(); ++i) {
        const void *nul = memchr(s.data() + walked, 0, s.size() - walked);
        FUZZ_CHECK(nul != nullptr);
        walked = static_cast<size_t>(static_cast<const uint8_t *>(nul) - s.data()) + 1;
    }
    FUZZ_CHECK(walked == s.size());

    // next_pair over the whole input agrees, pair by pair.
    size_t np = 0, n = 0, at = 0;
    PairView v;
    while (next_pair(data, len, &np, v)) {
        FUZZ_CHECK(n < dec.count());
        std::string pair(reinterpret_cast<const char *>(v.name), v.name_len);
        pair += '=';
        pair.append(reinterpret_cast<const char *>(v.value), v.value_len);
        pair.resize(pair.find('\0') == std::string::npos ? pair.size() : pair.find('\0'));
        FUZZ_CHECK(strlen(reinterpret_cast<const char *>(s.data()) + at) == pair.size());
        FUZZ_CHECK(memcmp(s.data() + at, pair.data(), pair.size()) == 0);
        at += pair.size() + 1;
        ++n;
    }
    FUZZ_CHECK(np == len && n == dec.count());

    // hand_over's envp points at exactly those strings, in order.
    size_t count = dec.count();
    Buffer strings, envp;
    if (!dec.hand_over(strings, envp))
        return 0;
    FUZZ_CHECK(strings.size() == want.size() && dec.count() == 0);
    char **env = reinterpret_cast<char **>(envp.data());
    char *next = reinterpret_cast<char *>(strings.data());
    for (size_t i = 0; i < count; ++i) {
        FUZZ_CHECK(env[i] == next);
        next += strlen(next) + 1;
    }
    FUZZ_CHECK(env[count] == nullptr);
    return 0;
}
