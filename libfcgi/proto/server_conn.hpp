// The application side of one FastCGI connection, without I/O: bytes from
// the web server go in, request events and reply bytes come out.
//
// Handles on its own (specification sections 4 and 5): management records
// (FCGI_GET_VALUES answered from the capacity given; any other type gets
// FCGI_UNKNOWN_TYPE), a BEGIN_REQUEST while a request is active
// (FCGI_CANT_MPX_CONN), unknown roles (FCGI_UNKNOWN_ROLE) and records for
// request ids other than the active one (skipped, which also drains the
// unread input of a finished request).
#ifndef FCGI_PROTO_SERVER_CONN_HPP
#define FCGI_PROTO_SERVER_CONN_HPP

#include <cstddef>
#include <cstdint>

#include "base/buffer.hpp"
#include "proto/record.hpp"

namespace fcgi::proto {

// What FCGI_GET_VALUES reports about this process.
struct Capacity {
    unsigned max_conns = 1;
    unsigned max_reqs = 1;
    bool mpxs_conns = false;
};

class ServerConn {
public:
    enum class Kind {
        need_more,        // all input consumed
        begin,            // a request started: request_id, role, keep_conn
        params,           // a piece of the FCGI_PARAMS stream
        params_end,
        stdin_data,
        stdin_end,
        data,             // FCGI_DATA (Filter role)
        data_end,
        abort,            // FCGI_ABORT_REQUEST for the active request
        close,            // replies queued; close the connection after them
        unsupported_version,
        protocol_error,
    };
    struct Event {
        Kind kind = Kind::need_more;
        uint16_t request_id = 0;
        uint16_t role = 0;
        bool keep_conn = false;
        const uint8_t *data = nullptr;
        size_t len = 0;
    };

    explicit ServerConn(const Capacity *capacity = nullptr) : capacity_(capacity) {}
    void reset(const Capacity *capacity);

    // Consumes input from in[0..n) up to and including one event and
    // returns the bytes consumed.  Reply records are appended to out.  Call
    // again with the rest (even when empty) until the event is need_more.
    // After unsupported_version or protocol_error the connection is unusable.
    size_t feed(const uint8_t *in, size_t n, Event &ev, Buffer &out);

    // The active request ended (its END_REQUEST was sent): later records
    // with its id are skipped until a new BEGIN_REQUEST.
    void end_request();

    uint16_t active_id() const { return active_; }
    bool params_done() const { return params_done_; }
    bool stdin_done() const { return stdin_done_; }
    bool data_done() const { return data_done_; }
    // True when no record is partly received.
    bool at_record_boundary() const { return decoder_.at_boundary(); }
    bool failed() const { return failed_; }

private:
    enum class Disposition { skip, deliver, collect_begin, collect_values, unknown_type };

    void on_header(const Header &h, Event &ev);
    void on_end(const Header &h, Event &ev, Buffer &out);
    bool answer_get_values(Buffer &out);

    const Capacity *capacity_;
    RecordDecoder decoder_;
    Disposition disposition_ = Disposition::skip;
    uint8_t begin_body_[8] = {};
    size_t begin_len_ = 0;
    Buffer values_;
    uint16_t active_ = 0;
    uint16_t role_ = 0;
    bool keep_conn_ = false;
    bool params_done_ = false;
    bool stdin_done_ = false;
    bool data_done_ = false;
    bool failed_ = false;
};

} // namespace fcgi::proto

#endif
