// FastCGI record framing (specification section 3.3) and the record
// decoder.  Pure functions over bytes: nothing here touches a descriptor.
#ifndef FCGI_PROTO_RECORD_HPP
#define FCGI_PROTO_RECORD_HPP

#include <cstddef>
#include <cstdint>

namespace fcgi::proto {

enum RecordType : uint8_t {
    kBeginRequest = 1,
    kAbortRequest = 2,
    kEndRequest = 3,
    kParams = 4,
    kStdin = 5,
    kStdout = 6,
    kStderr = 7,
    kData = 8,
    kGetValues = 9,
    kGetValuesResult = 10,
    kUnknownType = 11,
};

enum Role : uint16_t { kResponder = 1, kAuthorizer = 2, kFilter = 3 };
enum ProtocolStatus : uint8_t {
    kRequestComplete = 0,
    kCantMpxConn = 1,
    kOverloaded = 2,
    kUnknownRole = 3,
};

constexpr uint8_t kVersion1 = 1;
constexpr uint8_t kKeepConn = 1;
constexpr size_t kHeaderLen = 8;
constexpr size_t kMaxContent = 0xffff;
// BEGIN_REQUEST, END_REQUEST and UNKNOWN_TYPE records are 8 + 8 bytes.
constexpr size_t kFixedRecordLen = 16;

struct Header {
    uint8_t version;
    uint8_t type;
    uint16_t request_id;
    uint16_t content_length;
    uint8_t padding_length;
};

inline Header decode_header(const uint8_t *p)
{
    return Header{p[0], p[1], static_cast<uint16_t>(p[2] << 8 | p[3]),
                  static_cast<uint16_t>(p[4] << 8 | p[5]), p[6]};
}

// Padding that rounds content up to a multiple of 8, as the specification
// recommends and the reference always does.
constexpr uint8_t padding_for(size_t content_length)
{
    return static_cast<uint8_t>((8 - content_length % 8) % 8);
}

// Writes an 8-byte header.  content_length must be <= kMaxContent.
void encode_header(uint8_t *p, uint8_t type, uint16_t request_id,
                   size_t content_length, uint8_t padding_length);
void encode_end_request(uint8_t *p, uint16_t request_id, uint32_t app_status,
                        uint8_t protocol_status);
void encode_unknown_type(uint8_t *p, uint8_t type);
void encode_begin_request(uint8_t *p, uint16_t request_id, uint16_t role,
                          uint8_t flags);

// Incremental record decoder: accepts input split at any byte and reports
// each record as a header, zero or more content pieces (pointing into the
// caller's input), and an end.  Padding is skipped.
class RecordDecoder {
public:
    enum class Kind { need_more, header, content, end };
    struct Event {
        Kind kind = Kind::need_more;
        Header header{};
        const uint8_t *data = nullptr; // content piece
        size_t len = 0;
    };

    // Consumes bytes from in[0..n) and stops after one event; returns the
    // number of bytes consumed.  When nothing more can be reported from
    // these bytes, ev.kind is need_more and all of them are consumed.
    size_t feed(const uint8_t *in, size_t n, Event &ev);

    // True between a header and its end.
    bool in_record() const { return state_ != State::header; }
    // True when no byte of a record is held, not even part of a header.
    bool at_boundary() const { return state_ == State::header && raw_len_ == 0; }
    const Header &current() const { return header_; }
    size_t content_left() const { return content_left_; }
    // True inside a record's content (possibly at its end).
    bool in_content() const { return state_ == State::content; }
    // The caller took k <= content_left() content bytes from elsewhere
    // (straight from the socket): the record goes on after them.
    void took_content(size_t k) { content_left_ -= k; }

private:
    enum class State { header, content, padding, end };
    State state_ = State::header;
    uint8_t raw_[kHeaderLen] = {};
    size_t raw_len_ = 0;
    Header header_{};
    size_t content_left_ = 0;
    size_t padding_left_ = 0;
};

} // namespace fcgi::proto

#endif
