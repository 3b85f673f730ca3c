#include "proto/nvpair.hpp"

#include <cstring>

namespace fcgi::proto {

bool encode_length(Buffer &out, uint32_t len)
{
    if (len > kMaxPairLength)
        return false;
    if (len < 0x80)
        return out.push(static_cast<uint8_t>(len));
    uint8_t b[4] = {static_cast<uint8_t>(len >> 24 | 0x80),
                    static_cast<uint8_t>(len >> 16),
                    static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    return out.append(b, 4);
}

size_t encoded_pair_size(size_t name_len, size_t value_len)
{
    return (name_len < 0x80 ? 1 : 4) + (value_len < 0x80 ? 1 : 4) + name_len +
           value_len;
}

bool encode_pair(Buffer &out, const void *name, size_t name_len,
                 const void *value, size_t value_len)
{
    if (name_len > kMaxPairLength || value_len > kMaxPairLength)
        return false;
    return encode_length(out, static_cast<uint32_t>(name_len)) &&
           encode_length(out, static_cast<uint32_t>(value_len)) &&
           out.append(name, name_len) && out.append(value, value_len);
}

void PairDecoder::reset(const ParamLimits &limits)
{
    state_ = State::name_len;
    len_have_ = 0;
    name_len_ = value_len_ = left_ = 0;
    total_ = 0;
    limits_ = limits;
    strings_.clear();
    starts_.clear();
}

size_t PairDecoder::take_length(const uint8_t *in, size_t n, uint32_t &out,
                                bool &done)
{
    size_t used = 0;
    done = false;
    if (len_have_ == 0) {
        if (n == 0)
            return 0;
        len_bytes_[0] = in[0];
        len_have_ = 1;
        used = 1;
        if (!(in[0] & 0x80)) {
            out = in[0];
            len_have_ = 0;
            done = true;
            return used;
        }
    }
    while (len_have_ < 4 && used < n)
        len_bytes_[len_have_++] = in[used++];
    if (len_have_ == 4) {
        out = static_cast<uint32_t>(len_bytes_[0] & 0x7f) << 24 |
              static_cast<uint32_t>(len_bytes_[1]) << 16 |
              static_cast<uint32_t>(len_bytes_[2]) << 8 | len_bytes_[3];
        len_have_ = 0;
        done = true;
    }
    return used;
}

namespace {

// memcpy for the short names and values most parameters have, without a
// call: two overlapping moves of 8, 4 or 1 bytes cover 0 to 16 bytes.
inline void copy_short(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n > 16) {
        memcpy(dst, src, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n > 0) {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

} // namespace

// Stores the whole pairs at in[pos..n) up to the first one that holds a
// NUL or is cut off (left to the byte-wise path), advancing pos.  The
// common case, so it keeps its state in locals and makes room once.
PairDecoder::Status PairDecoder::feed_whole(const uint8_t *in, size_t n, size_t &pos)
{
    // A pair's string ('=' and NUL added) is never longer than its
    // encoding (two length bytes at least), so this room holds them all.
    if (!strings_.reserve(strings_.size() + (n - pos)))
        return Status::no_memory;
    uint8_t *base = strings_.data();
    size_t out = strings_.size(), total = total_, p = pos, count = this->count();
    // Copies: the stores below through uint8_t * could alias the members.
    const ParamLimits lim = limits_;
    // The first NUL at or after a name: found once for many pairs, as it
    // is rare outside length bytes.
    const uint8_t *nul = in;
    Status st = Status::ok;
    PairView pair;
    for (size_t end = p; next_pair(in, n, &end, pair); p = end) {
        size_t len = pair.name_len + pair.value_len;
        if (nul < pair.name) {
            nul = static_cast<const uint8_t *>(memchr(pair.name, 0, static_cast<size_t>(in + n - pair.name)));
            if (!nul)
                nul = in + n;
        }
        if (nul < pair.name + len)
            break;
        if (len > lim.max_single || total + len > lim.max_total ||
            count + 1 > lim.max_count) {
            st = Status::too_large;
            break;
        }
        auto *at = reinterpret_cast<size_t *>(starts_.extend(sizeof(size_t)));
        if (!at) {
            st = Status::no_memory;
            break;
        }
        *at = out;
        uint8_t *dst = base + out;
        copy_short(dst, pair.name, pair.name_len);
        dst[pair.name_len] = '=';
        copy_short(dst + pair.name_len + 1, pair.value, pair.value_len);
        dst[len + 1] = 0;
        out += len + 2;
        total += len;
        ++count;
    }
    strings_.extend(out - strings_.size()); // within the room made above
    total_ = total;
    pos = p;
    return st;
}

PairDecoder::Status PairDecoder::feed(const uint8_t *in, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        if (state_ == State::name_len && len_have_ == 0) {
            Status st = feed_whole(in, n, pos);
            if (st != Status::ok)
                return st;
            if (pos == n)
                break;
        }
        bool done;
        switch (state_) {
        case State::name_len:
            pos += take_length(in + pos, n - pos, name_len_, done);
            if (done)
                state_ = State::value_len;
            break;
        case State::value_len:
            pos += take_length(in + pos, n - pos, value_len_, done);
            if (!done)
                break;
            // 64-bit sums: two 31-bit lengths cannot overflow them.
            if (uint64_t(name_len_) + value_len_ > limits_.max_single ||
                total_ + uint64_t(name_len_) + value_len_ > limits_.max_total ||
                count() + 1 > limits_.max_count)
                return Status::too_large;
            total_ += size_t(name_len_) + value_len_;
            cut_ = false;
            pair_start_ = strings_.size();
            left_ = name_len_;
            state_ = State::name;
            if (left_ == 0) {
                if (!strings_.push('='))
                    return Status::no_memory;
                state_ = State::value;
                left_ = value_len_;
                if (left_ == 0 && !end_pair())
                    return Status::no_memory;
            }
            break;
        case State::name:
        case State::value: {
            size_t take = left_;
            if (take > n - pos)
                take = n - pos;
            if (!cut_) {
                // An environment string ends at its first NUL, so a pair
                // with a NUL inside keeps only what precedes it.
                const void *nul = memchr(in + pos, 0, take);
                size_t keep = nul ? size_t(static_cast<const uint8_t *>(nul) - (in + pos)) : take;
                if (!strings_.append(in + pos, keep))
                    return Status::no_memory;
                cut_ = nul != nullptr;
            }
            pos += take;
            left_ -= static_cast<uint32_t>(take);
            if (left_ > 0)
                break;
            if (state_ == State::name) {
                if (!cut_ && !strings_.push('='))
                    return Status::no_memory;
                state_ = State::value;
                left_ = value_len_;
                if (left_ > 0)
                    break;
            }
            if (!end_pair())
                return Status::no_memory;
            break;
        }
        }
    }
    return Status::ok;
}

// Terminates the pair in progress and records where it starts.
bool PairDecoder::end_pair()
{
    state_ = State::name_len;
    return strings_.push(0) && starts_.append(&pair_start_, sizeof pair_start_);
}

bool PairDecoder::add_string(const char *s)
{
    size_t at = strings_.size();
    return strings_.append(s, strlen(s) + 1) && starts_.append(&at, sizeof at);
}

bool PairDecoder::hand_over(Buffer &strings, Buffer &envp)
{
    size_t n = count();
    envp.clear();
    char **out = reinterpret_cast<char **>(envp.extend((n + 1) * sizeof(char *)));
    if (!out)
        return false;
    strings_.swap(strings);
    strings_.clear();
    char *base = reinterpret_cast<char *>(strings.data());
    const size_t *at = reinterpret_cast<const size_t *>(starts_.data());
    for (size_t i = 0; i < n; ++i)
        out[i] = base + at[i];
    out[n] = nullptr;
    starts_.clear();
    return true;
}

PairDecoder::Status PairDecoder::finish() const
{
    return state_ == State::name_len && len_have_ == 0 ? Status::ok
                                                       : Status::truncated;
}

} // namespace fcgi::proto
