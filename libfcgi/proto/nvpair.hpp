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
    size_t count() const { return count_; }
    // Adds a ready-made "NAME=VALUE" string (FCGI_ROLE, for instance).
    bool add_string(const char *s);
    // Exchanges the stored strings with other's bytes: hands the pairs to
    // their user without copying, and reuses the user's old memory.
    void swap_strings(Buffer &other) { strings_.swap(other); strings_.clear(); }
    void release() { strings_.release(); }

private:
    enum class State { name_len, value_len, name, value };
    State state_ = State::name_len;
    uint8_t len_bytes_[4] = {};
    size_t len_have_ = 0;
    uint32_t name_len_ = 0;
    uint32_t value_len_ = 0;
    uint32_t left_ = 0;
    bool cut_ = false; // a NUL ended the current pair's string
    size_t count_ = 0;
    size_t total_ = 0;
    ParamLimits limits_{};
    Buffer strings_;

    // Reads one length; returns bytes consumed, sets done when complete.
    size_t take_length(const uint8_t *in, size_t n, uint32_t &out, bool &done);
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
// malformed (truncated) pair.
bool next_pair(const uint8_t *in, size_t n, size_t *pos, PairView &pair);

} // namespace fcgi::proto

#endif
