#include "proto/client.hpp"

#include <cstring>

namespace fcgi::proto {

namespace {

// Appends a header for content_length bytes; the content follows.
bool append_header(Buffer &out, uint8_t type, uint16_t request_id,
                   size_t content_length)
{
    uint8_t *p = out.extend(kHeaderLen);
    if (!p)
        return false;
    encode_header(p, type, request_id, content_length, padding_for(content_length));
    return true;
}

bool append_padding(Buffer &out, size_t content_length)
{
    static constexpr uint8_t zeros[8] = {};
    return out.append(zeros, padding_for(content_length));
}

} // namespace

bool append_begin_request(Buffer &out, uint16_t request_id, uint16_t role,
                          uint8_t flags)
{
    uint8_t *p = out.extend(kFixedRecordLen);
    if (!p)
        return false;
    encode_begin_request(p, request_id, role, flags);
    return true;
}

bool append_stream(Buffer &out, uint8_t type, uint16_t request_id,
                   const void *data, size_t n)
{
    const uint8_t *src = static_cast<const uint8_t *>(data);
    while (n > 0) {
        size_t chunk = n < kMaxContent ? n : kMaxContent;
        if (!append_header(out, type, request_id, chunk) ||
            !out.append(src, chunk) || !append_padding(out, chunk))
            return false;
        src += chunk;
        n -= chunk;
    }
    return true;
}

bool append_stream_end(Buffer &out, uint8_t type, uint16_t request_id)
{
    return append_header(out, type, request_id, 0);
}

bool append_get_values(Buffer &out, const char *const *names, size_t count)
{
    size_t body = 0;
    for (size_t i = 0; i < count; ++i)
        body += encoded_pair_size(strlen(names[i]), 0);
    if (body > kMaxContent)
        return false;
    if (!append_header(out, kGetValues, 0, body))
        return false;
    for (size_t i = 0; i < count; ++i)
        if (!encode_pair(out, names[i], strlen(names[i]), "", 0))
            return false;
    return append_padding(out, body);
}

bool ParamsWriter::open_record()
{
    // The header is written when the record's length is known.
    header_at_ = out_.size();
    if (!out_.extend(kHeaderLen))
        return false;
    open_ = true;
    len_ = 0;
    return true;
}

void ParamsWriter::close_record()
{
    encode_header(out_.data() + header_at_, kParams, id_, len_, padding_for(len_));
    open_ = false;
}

bool ParamsWriter::put(const void *p, size_t n)
{
    const uint8_t *src = static_cast<const uint8_t *>(p);
    while (n > 0) {
        if (!open_ && !open_record())
            return false;
        size_t take = kMaxContent - len_;
        if (take > n)
            take = n;
        if (!out_.append(src, take))
            return false;
        len_ += take;
        src += take;
        n -= take;
        if (len_ == kMaxContent) {
            close_record();
            if (!append_padding(out_, kMaxContent))
                return false;
        }
    }
    return true;
}

bool ParamsWriter::add(const void *name, size_t name_len, const void *value,
                       size_t value_len)
{
    if (name_len > kMaxPairLength || value_len > kMaxPairLength)
        return false;
    size_t size = encoded_pair_size(name_len, value_len);
    if (open_ && len_ + size > kMaxContent) {
        // Start the pair in a fresh record rather than split it.
        close_record();
        if (!append_padding(out_, len_))
            return false;
    }
    if (size <= kMaxContent) {
        if (!open_ && !open_record())
            return false;
        if (!encode_pair(out_, name, name_len, value, value_len))
            return false;
        len_ += size;
        if (len_ == kMaxContent) {
            close_record();
            return append_padding(out_, kMaxContent);
        }
        return true;
    }
    // Too large for any record: the two lengths (at most 8 bytes) open a
    // new record, the bytes run on through as many records as they need.
    if (!open_ && !open_record())
        return false;
    size_t before = out_.size();
    if (!encode_length(out_, static_cast<uint32_t>(name_len)) ||
        !encode_length(out_, static_cast<uint32_t>(value_len)))
        return false;
    len_ += out_.size() - before;
    return put(name, name_len) && put(value, value_len);
}

bool ParamsWriter::finish()
{
    if (open_) {
        close_record();
        if (!append_padding(out_, len_))
            return false;
    }
    return append_stream_end(out_, kParams, id_);
}

size_t ResponseDecoder::fail(Error e, size_t used, Event &ev)
{
    error_ = e;
    ev = Event{};
    ev.kind = Kind::error;
    return used;
}

bool ResponseDecoder::check_header(const Header &h, Error &e)
{
    if (h.version != kVersion1) {
        e = Error::bad_version;
        return false;
    }
    if (ended_) {
        e = Error::after_end;
        return false;
    }
    switch (h.type) {
    case kStdout:
    case kStderr:
        if (h.request_id != id_) {
            e = Error::bad_request_id;
            return false;
        }
        if (h.content_length > 0 && (h.type == kStdout ? out_closed_ : err_closed_)) {
            e = Error::stream_ended;
            return false;
        }
        body_empty_ = h.content_length == 0;
        return true;
    case kEndRequest:
        if (h.request_id != id_) {
            e = Error::bad_request_id;
            return false;
        }
        break;
    case kUnknownType:
    case kGetValuesResult:
        if (h.request_id != 0) {
            e = Error::bad_request_id;
            return false;
        }
        if (h.type == kGetValuesResult) {
            values_.clear();
            return true;
        }
        break;
    default:
        e = Error::unexpected_type;
        return false;
    }
    // END_REQUEST and UNKNOWN_TYPE carry 8-byte bodies.
    if (h.content_length != sizeof fixed_) {
        e = Error::bad_length;
        return false;
    }
    fixed_len_ = 0;
    return true;
}

size_t ResponseDecoder::feed(const uint8_t *in, size_t n, Event &out)
{
    out = Event{};
    if (error_ != Error::none) {
        out.kind = Kind::error;
        return 0;
    }
    size_t used = 0;
    for (;;) {
        RecordDecoder::Event ev;
        used += records_.feed(in + used, n - used, ev);
        const Header &h = ev.header;
        switch (ev.kind) {
        case RecordDecoder::Kind::need_more:
            return used;
        case RecordDecoder::Kind::header: {
            Error e = Error::none;
            if (!check_header(h, e))
                return fail(e, used, out);
            continue;
        }
        case RecordDecoder::Kind::content:
            switch (h.type) {
            case kStdout:
            case kStderr:
                out.kind = h.type == kStdout ? Kind::out : Kind::err;
                out.data = ev.data;
                out.len = ev.len;
                return used;
            case kGetValuesResult:
                if (!values_.append(ev.data, ev.len))
                    return fail(Error::no_memory, used, out);
                continue;
            default: // END_REQUEST, UNKNOWN_TYPE: 8 bytes, length checked
                memcpy(fixed_ + fixed_len_, ev.data, ev.len);
                fixed_len_ += ev.len;
                continue;
            }
        case RecordDecoder::Kind::end:
            switch (h.type) {
            case kStdout:
            case kStderr:
                if (body_empty_)
                    (h.type == kStdout ? out_closed_ : err_closed_) = true;
                continue;
            case kEndRequest:
                ended_ = true;
                out.kind = Kind::end_request;
                out.app_status = static_cast<uint32_t>(fixed_[0]) << 24 |
                                 static_cast<uint32_t>(fixed_[1]) << 16 |
                                 static_cast<uint32_t>(fixed_[2]) << 8 | fixed_[3];
                out.protocol_status = fixed_[4];
                return used;
            case kUnknownType:
                out.kind = Kind::unknown_type;
                out.unknown_type = fixed_[0];
                return used;
            default: { // GET_VALUES_RESULT
                size_t pos = 0;
                PairView pair;
                while (pos < values_.size() &&
                       next_pair(values_.data(), values_.size(), &pos, pair))
                    ;
                if (pos != values_.size())
                    return fail(Error::bad_pairs, used, out);
                out.kind = Kind::values_result;
                out.data = values_.data();
                out.len = values_.size();
                return used;
            }
            }
        }
    }
}

ResponseDecoder::Error ResponseDecoder::finish() const
{
    if (error_ != Error::none)
        return error_;
    return ended_ && !records_.in_record() ? Error::none : Error::truncated;
}

const char *ResponseDecoder::describe(Error e)
{
    switch (e) {
    case Error::none:
        return "no error";
    case Error::bad_version:
        return "a record has an unsupported FastCGI version";
    case Error::bad_request_id:
        return "a record has the wrong request id";
    case Error::unexpected_type:
        return "a record has a type an application may not send";
    case Error::bad_length:
        return "a fixed-size record has the wrong length";
    case Error::bad_pairs:
        return "malformed name-value pairs in FCGI_GET_VALUES_RESULT";
    case Error::stream_ended:
        return "output after the end of its stream";
    case Error::after_end:
        return "records after FCGI_END_REQUEST";
    case Error::no_memory:
        return "out of memory";
    case Error::truncated:
        return "the connection closed before the response ended";
    }
    return "unknown error";
}

} // namespace fcgi::proto
