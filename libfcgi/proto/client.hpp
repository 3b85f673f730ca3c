// The web-server (client) side of FastCGI, without I/O: building a request
// into a Buffer and decoding the application's response.  Used by cgi-fcgi.
//
// Building (specification sections 5.1-5.3): append_begin_request, then a
// ParamsWriter for FCGI_PARAMS, then append_stream / append_stream_end for
// FCGI_STDIN.  Every append returns false only when memory runs out (or a
// length is beyond what the protocol can carry); the buffer then holds a
// partial request and must not be sent.
#ifndef FCGI_PROTO_CLIENT_HPP
#define FCGI_PROTO_CLIENT_HPP

#include <cstddef>
#include <cstdint>

#include "base/buffer.hpp"
#include "proto/nvpair.hpp"
#include "proto/record.hpp"

namespace fcgi::proto {

// FCGI_BEGIN_REQUEST with the given role and flags (kKeepConn or 0).
bool append_begin_request(Buffer &out, uint16_t request_id, uint16_t role,
                          uint8_t flags);

// Appends n bytes of a stream (FCGI_STDIN, FCGI_DATA...) as records of at
// most kMaxContent bytes; n == 0 appends nothing.
bool append_stream(Buffer &out, uint8_t type, uint16_t request_id,
                   const void *data, size_t n);
// The empty record that ends a stream.
bool append_stream_end(Buffer &out, uint8_t type, uint16_t request_id);

// FCGI_GET_VALUES (section 4.1) asking for names[0..count): one management
// record, so the names must fit in kMaxContent bytes.
bool append_get_values(Buffer &out, const char *const *names, size_t count);

// Writes name-value pairs as FCGI_PARAMS records.  A pair that fits in one
// record never straddles two (some applications decode each record on its
// own); a pair larger than a record starts a record and continues across as
// many as it needs, which the specification allows for streams.
class ParamsWriter {
public:
    ParamsWriter(Buffer &out, uint16_t request_id) : out_(out), id_(request_id) {}
    ParamsWriter(const ParamsWriter &) = delete;
    ParamsWriter &operator=(const ParamsWriter &) = delete;

    bool add(const void *name, size_t name_len, const void *value,
             size_t value_len);
    // Closes the last record and appends the empty one that ends the stream.
    bool finish();

private:
    Buffer &out_;
    uint16_t id_;
    bool open_ = false;
    size_t header_at_ = 0; // offset in out_ of the open record's header
    size_t len_ = 0;       // content bytes in the open record

    bool open_record();
    void close_record();
    // Appends bytes to the stream, opening and closing records as needed.
    bool put(const void *p, size_t n);
};

// Decodes the records an application sends back for one request (and the
// reply to a GET_VALUES).  Feed it bytes split anywhere; each call reports
// at most one event.
class ResponseDecoder {
public:
    enum class Kind {
        need_more,     // all input consumed, nothing to report
        out,           // data, len: FCGI_STDOUT bytes
        err,           // data, len: FCGI_STDERR bytes
        end_request,   // app_status, protocol_status
        values_result, // data, len: the whole FCGI_GET_VALUES_RESULT body,
                       // checked to be well-formed: walk it with next_pair
        unknown_type,  // unknown_type: the type the application rejected
        error,         // error(): the response is malformed; stop
    };
    enum class Error {
        none,
        bad_version,    // a record whose version is not 1
        bad_request_id, // a request record for another request, or a
                        // management record with a request id
        unexpected_type,
        bad_length,     // END_REQUEST or UNKNOWN_TYPE body not 8 bytes
        bad_pairs,      // malformed GET_VALUES_RESULT body
        stream_ended,   // STDOUT/STDERR data after that stream's end
        after_end,      // anything after END_REQUEST
        no_memory,
        truncated,      // finish(): input ended before the response did
    };
    struct Event {
        Kind kind = Kind::need_more;
        const uint8_t *data = nullptr;
        size_t len = 0;
        uint32_t app_status = 0;
        uint8_t protocol_status = 0;
        uint8_t unknown_type = 0;
    };

    explicit ResponseDecoder(uint16_t request_id) : id_(request_id) {}
    ResponseDecoder(const ResponseDecoder &) = delete;
    ResponseDecoder &operator=(const ResponseDecoder &) = delete;

    // Consumes bytes from in[0..n) up to and including one event; returns
    // the number consumed.  After an error event nothing more is consumed.
    size_t feed(const uint8_t *in, size_t n, Event &ev);

    // Call when the input has ended: Error::none when END_REQUEST was seen
    // (and no record is half-read), truncated otherwise.  For a GET_VALUES
    // exchange, check for the values_result event instead.
    Error finish() const;

    Error error() const { return error_; }
    bool ended() const { return ended_; }
    // What an Error means, for messages.
    static const char *describe(Error e);

private:
    uint16_t id_;
    RecordDecoder records_;
    Error error_ = Error::none;
    bool ended_ = false;       // END_REQUEST seen
    bool out_closed_ = false;  // empty FCGI_STDOUT seen
    bool err_closed_ = false;  // empty FCGI_STDERR seen
    bool body_empty_ = false;  // current stream record had no content
    uint8_t fixed_[8] = {};    // END_REQUEST / UNKNOWN_TYPE body
    size_t fixed_len_ = 0;
    Buffer values_;            // GET_VALUES_RESULT body being collected

    size_t fail(Error e, size_t used, Event &ev);
    bool check_header(const Header &h, Error &e);
};

} // namespace fcgi::proto

#endif
