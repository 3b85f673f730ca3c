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
    count_ = total_ = 0;
    limits_ = limits;
    strings_.clear();
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

PairDecoder::Status PairDecoder::feed(const uint8_t *in, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        // The common case, a whole pair without a NUL in this piece: one
        // copy into room made once.  Anything else goes byte-wise below.
        PairView pair;
        size_t end = pos;
        // (The value follows the name in the input: one search for both.)
        if (state_ == State::name_len && len_have_ == 0 && next_pair(in, n, &end, pair) &&
            !memchr(pair.name, 0, pair.name_len + pair.value_len)) {
            size_t len = pair.name_len + pair.value_len;
            if (len > limits_.max_single || total_ + len > limits_.max_total ||
                count_ + 1 > limits_.max_count)
                return Status::too_large;
            uint8_t *dst = strings_.extend(len + 2);
            if (!dst)
                return Status::no_memory;
            memcpy(dst, pair.name, pair.name_len);
            dst[pair.name_len] = '=';
            memcpy(dst + pair.name_len + 1, pair.value, pair.value_len);
            dst[len + 1] = 0;
            total_ += len;
            ++count_;
            pos = end;
            continue;
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
                count_ + 1 > limits_.max_count)
                return Status::too_large;
            total_ += size_t(name_len_) + value_len_;
            cut_ = false;
            left_ = name_len_;
            state_ = State::name;
            if (left_ == 0) {
                if (!strings_.push('='))
                    return Status::no_memory;
                state_ = State::value;
                left_ = value_len_;
                if (left_ == 0) {
                    if (!strings_.push(0))
                        return Status::no_memory;
                    ++count_;
                    state_ = State::name_len;
                }
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
            if (!strings_.push(0))
                return Status::no_memory;
            ++count_;
            state_ = State::name_len;
            break;
        }
        }
    }
    return Status::ok;
}

bool PairDecoder::add_string(const char *s)
{
    if (!strings_.append(s, strlen(s) + 1))
        return false;
    ++count_;
    return true;
}

PairDecoder::Status PairDecoder::finish() const
{
    return state_ == State::name_len && len_have_ == 0 ? Status::ok
                                                       : Status::truncated;
}

bool next_pair(const uint8_t *in, size_t n, size_t *pos, PairView &pair)
{
    uint32_t lens[2];
    size_t p = *pos;
    for (uint32_t &len : lens) {
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
