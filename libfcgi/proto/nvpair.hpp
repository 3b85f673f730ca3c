// FastCGI name-value pairs (specification section 3.4): lengths of 1 byte
// (< 128) or 4 bytes (high bit set, 31 bits), then name and value bytes.
#ifndef FCGI_PROTO_NVPAIR_HPP
#define FCGI_PROTO_NVPAIR_HPP

#include <cstddef>
#include <cstdint>

#include "base/buffer.hpp"

namespace fcgi::proto {

constexpr uint32_t kMaxPairLength = 0x7fffffff;

// Bounds on what one parameter set may hold.  The defaults are far above
// what web servers send and stop a peer from exhausting memory.
struct ParamLimits {
    size_t max_total = 8u << 20;    // bytes of all names and values
    size_t max_count = 100000;      // pairs
    size_t max_single = 4u << 20;   // bytes of one name plus its value
};

// Appends the encoding of one length (1 or 4 bytes) to out.
bool encode_length(Buffer &out, uint32_t len);
// Appends one whole pair.  Fails on lengths over kMaxPairLength.
bool encode_pair(Buffer &out, const void *name, size_t name_len,
                 const void *value, size_t value_len);
// Size of the encoding of a pair.
size_t encoded_pair_size(size_t name_len, size_t value_len);

// Incremental decoder of a name-value stream split at any byte.  Each
// complete pair is stored as "NAME=VALUE\0" in a caller-visible buffer;
// bytes are stored as they arrive, never reserved at a declared length.
class PairDecoder {
public:
    enum class Status { ok, too_large, no_memory, truncated };

    void reset(const ParamLimits &limits);
    // Feeds bytes; on anything but ok the decoder must be reset.
    Status feed(const uint8_t *in, size_t n);
    // Call at the end of the stream: truncated if a pair is incomplete.
    Status finish() const;

    // The pairs so far, as consecutive NUL-terminated "NAME=VALUE" strings.
    const Buffer &strings() const { return strings_; }
    size_t count() const { return starts_.size() / sizeof(size_t); }
    // Adds a ready-made "NAME=VALUE" string (FCGI_ROLE, for instance).
    bool add_string(const char *s);
    // Hands the pairs to their user without copying: strings takes the
    // stored bytes (its old memory is kept for the next request) and envp
    // becomes the NULL-terminated array of pointers to them.  The decoder
    // is left empty.
    bool hand_over(Buffer &strings, Buffer &envp);
    void release() { strings_.release(); starts_.release(); }

private:
    enum class State { name_len, value_len, name, value };
    State state_ = State::name_len;
    uint8_t len_bytes_[4] = {};
    size_t len_have_ = 0;
    uint32_t name_len_ = 0;
    uint32_t value_len_ = 0;
    uint32_t left_ = 0;
    bool cut_ = false; // a NUL ended the current pair's string
    size_t total_ = 0;
    ParamLimits limits_{};
    Buffer strings_;
    // Where each pair's string starts in strings_ (size_t[]): envp is made
    // from these without walking the strings again.
    Buffer starts_;

    // Reads one length; returns bytes consumed, sets done when complete.
    size_t take_length(const uint8_t *in, size_t n, uint32_t &out, bool &done);
    bool end_pair();
    Status feed_whole(const uint8_t *in, size_t n, size_t &pos);
    size_t pair_start_ = 0; // where the pair in progress begins in strings_
};

// Walks "NAME=VALUE\0" strings (or a raw encoded pair list) one pair at a
// time: used for GET_VALUES, whose names arrive as one record.
struct PairView {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
};
// Decodes the pair at in[*pos..n); returns false at the end or on a
// malformed (truncated) pair.  Inline: the decoder's per-pair fast path.
inline bool next_pair(const uint8_t *in, size_t n, size_t *pos, PairView &pair)
{
    uint32_t lens[2];
    size_t p = *pos;
    if (n - p >= 2 && !((in[p] | in[p + 1]) & 0x80)) {
        // Both lengths in one byte each, as for nearly every parameter.
        lens[0] = in[p];
        lens[1] = in[p + 1];
        p += 2;
    } else for (uint32_t &len : lens) {
        if (p >= n)
            return false;
        if (!(in[p] & 0x80)) {
            len = in[p++];
            continue;
        }
        if (n - p < 4)
            return false;
        len = static_cast<uint32_t>(in[p] & 0x7f) << 24 | uint32_t(in[p + 1]) << 16 |
              uint32_t(in[p + 2]) << 8 | in[p + 3];
        p += 4;
    }
    if (lens[0] > n - p || lens[1] > n - p - lens[0])
        return false;
    pair.name = in + p;
    pair.name_len = lens[0];
    pair.value = in + p + lens[0];
    pair.value_len = lens[1];
    *pos = p + lens[0] + lens[1];
    return true;
}

} // namespace fcgi::proto

#endif
