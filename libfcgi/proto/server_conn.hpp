// The application side of one FastCGI connection, without I/O: bytes from
// the web server go in, request events and reply bytes come out.
//
// Handles on its own (specification sections 4 and 5): management records
// (FCGI_GET_VALUES answered from the capacity given; any other type gets
// FCGI_UNKNOWN_TYPE), a BEGIN_REQUEST while a request is active
// (FCGI_CANT_MPX_CONN, or with multiplexing on, FCGI_OVERLOADED past
// kMaxMultiplexed), unknown roles (FCGI_UNKNOWN_ROLE) and records for
// request ids that are not active (skipped, which also drains the unread
// input of a finished request).
//
// Multiplexing is on for a BEGIN_REQUEST that arrives while the capacity
// says FCGI_MPXS_CONNS is 1; events then carry the id of the request they
// belong to, and requests begin and end independently.
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

// Requests active at once on one multiplexed connection.
constexpr size_t kMaxMultiplexed = 256;

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
        abort,            // FCGI_ABORT_REQUEST for an active request
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

    // Request id ended (its END_REQUEST was sent): later records with its
    // id are skipped until a new BEGIN_REQUEST.
    void end_request(uint16_t id);
    bool stdin_done(uint16_t id) const;
    bool data_done(uint16_t id) const;
    size_t active_count() const { return active_.size() / sizeof(Active); }

    // The same for the first active request, the only one without
    // multiplexing; 0 and false when none is active.
    void end_request() { end_request(active_id()); }
    uint16_t active_id() const { return active_count() ? first()->id : 0; }
    bool params_done() const { return active_count() && first()->params_done; }
    bool stdin_done() const { return stdin_done(active_id()); }
    bool data_done() const { return data_done(active_id()); }
    // True when no record is partly received.
    bool at_record_boundary() const { return decoder_.at_boundary(); }
    // Content bytes of an FCGI_STDIN record being delivered that have not
    // arrived yet: the caller may read up to that many straight into its
    // own memory and report them with took_stdin().
    size_t stdin_content_left() const
    {
        return disposition_ == Disposition::deliver && decoder_.in_content() &&
                       decoder_.current().type == kStdin
                   ? decoder_.content_left()
                   : 0;
    }
    void took_stdin(size_t k) { decoder_.took_content(k); }
    bool failed() const { return failed_; }

private:
    enum class Disposition { skip, deliver, collect_begin, collect_values, unknown_type };
    struct Active {
        uint16_t id;
        bool params_done, stdin_done, data_done;
    };

    const Active *first() const { return reinterpret_cast<const Active *>(active_.data()); }
    Active *find(uint16_t id);
    const Active *find(uint16_t id) const { return const_cast<ServerConn *>(this)->find(id); }
    void on_header(const Header &h, Event &ev);
    void on_content(const Header &h, const uint8_t *data, size_t len, Event &ev);
    void on_end(const Header &h, Event &ev, Buffer &out);
    void on_begin(const Header &h, Event &ev, Buffer &out);
    bool answer_get_values(Buffer &out);

    const Capacity *capacity_;
    RecordDecoder decoder_;
    Disposition disposition_ = Disposition::skip;
    uint8_t begin_body_[8] = {};
    size_t begin_len_ = 0;
    Buffer values_;
    Buffer active_; // Active[], in the order they began
    bool failed_ = false;
};

} // namespace fcgi::proto

#endif
