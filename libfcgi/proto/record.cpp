#include "proto/record.hpp"

#include <cstring>

namespace fcgi::proto {

void encode_header(uint8_t *p, uint8_t type, uint16_t request_id,
                   size_t content_length, uint8_t padding_length)
{
    p[0] = kVersion1;
    p[1] = type;
    p[2] = static_cast<uint8_t>(request_id >> 8);
    p[3] = static_cast<uint8_t>(request_id);
    p[4] = static_cast<uint8_t>(content_length >> 8);
    p[5] = static_cast<uint8_t>(content_length);
    p[6] = padding_length;
    p[7] = 0;
}

void encode_end_request(uint8_t *p, uint16_t request_id, uint32_t app_status,
                        uint8_t protocol_status)
{
    encode_header(p, kEndRequest, request_id, 8, 0);
    p[8] = static_cast<uint8_t>(app_status >> 24);
    p[9] = static_cast<uint8_t>(app_status >> 16);
    p[10] = static_cast<uint8_t>(app_status >> 8);
    p[11] = static_cast<uint8_t>(app_status);
    p[12] = protocol_status;
    memset(p + 13, 0, 3);
}

void encode_unknown_type(uint8_t *p, uint8_t type)
{
    encode_header(p, kUnknownType, 0, 8, 0);
    p[8] = type;
    memset(p + 9, 0, 7);
}

void encode_begin_request(uint8_t *p, uint16_t request_id, uint16_t role,
                          uint8_t flags)
{
    encode_header(p, kBeginRequest, request_id, 8, 0);
    p[8] = static_cast<uint8_t>(role >> 8);
    p[9] = static_cast<uint8_t>(role);
    p[10] = flags;
    memset(p + 11, 0, 5);
}

size_t RecordDecoder::feed(const uint8_t *in, size_t n, Event &ev)
{
    size_t used = 0;
    ev = Event{};
    for (;;) {
        switch (state_) {
        case State::header: {
            size_t take = kHeaderLen - raw_len_;
            if (take > n - used)
                take = n - used;
            if (take > 0) // in may be null when n is 0
                memcpy(raw_ + raw_len_, in + used, take);
            raw_len_ += take;
            used += take;
            if (raw_len_ < kHeaderLen)
                return used; // need_more
            raw_len_ = 0;
            header_ = decode_header(raw_);
            content_left_ = header_.content_length;
            padding_left_ = header_.padding_length;
            state_ = State::content;
            ev.kind = Kind::header;
            ev.header = header_;
            return used;
        }
        case State::content: {
            if (content_left_ == 0) {
                state_ = State::padding;
                continue;
            }
            if (used == n)
                return used;
            size_t take = content_left_;
            if (take > n - used)
                take = n - used;
            content_left_ -= take;
            ev.kind = Kind::content;
            ev.header = header_;
            ev.data = in + used;
            ev.len = take;
            return used + take;
        }
        case State::padding: {
            size_t take = padding_left_;
            if (take > n - used)
                take = n - used;
            padding_left_ -= take;
            used += take;
            if (padding_left_ > 0)
                return used;
            state_ = State::end;
            continue;
        }
        case State::end:
            state_ = State::header;
            ev.kind = Kind::end;
            ev.header = header_;
            return used;
        }
    }
}

} // namespace fcgi::proto
