// Connections and requests.
//
// A Conn is one connection from the web server: its descriptor, read
// buffer, protocol state and the partly received next request.  A Request
// is what an FCGX_Request's paramsPtr points at: the parameters and the
// three streams of the request it is serving, reused from one request to
// the next.  A Conn is bound to a Request while that request runs; between
// requests a kept connection waits in the process's idle set, where any
// thread in FCGX_Accept_r can pick it up.
//
// When more than one request can be served at a time (several threads in
// FCGX_Accept_r, or FCGI_MAX_REQS), connections are multiplexed: each
// request on one gets a Slot, the thread that reads the connection
// queues every request's input in its slot, and complete requests wait in
// a process-wide queue for a thread in FCGX_Accept_r.
#ifndef FCGI_STREAM_REQUEST_HPP
#define FCGI_STREAM_REQUEST_HPP

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

#include "base/buffer.hpp"
#include "fcgiapp.h"
#include "proto/nvpair.hpp"
#include "proto/server_conn.hpp"
#include "stream/stream.hpp"

namespace fcgi {

struct Conn;
struct Slot;

struct Request {
    FCGX_Request *req = nullptr;
    Conn *conn = nullptr;
    Slot *slot = nullptr; // on a multiplexed connection: its slot there
    Buffer strings;       // "NAME=VALUE\0" strings of the current request
    Buffer envp;          // char * array into strings, NULL-terminated
    Buffer data_stash;    // FCGI_DATA that arrived while stdin was read
    size_t stash_pos = 0;
    Buffer input;         // multiplexed: input taken from the slot, being read
    Buffer pending;       // records collected to go out with the next write
    FCGX_Stream in{}, out{}, err{};
    StreamData in_d, out_d, err_d;
    bool defer_sends = false; // collect closing records for one write
    bool serving = false; // has called FCGX_Accept_r: counted in the capacity
    Request *prev = nullptr, *next = nullptr; // all requests of the process
};

namespace request {

// Library start-up (FCGX_Init); idempotent and thread-safe.  Returns 0.
int init();
bool initialized();

// FCGX_Accept_r: 0, or a negative code (see fcgiapp.h / FCGX_Accept_r(3)).
int accept(FCGX_Request *req);
void finish(FCGX_Request *req);
void free(FCGX_Request *req, bool close);

// Request-stream hooks used by stream.cpp.
void fill_reader(FCGX_Stream *s);
int send(Request *r, const uint8_t *p, size_t len);
// Sends iov[1..n) on r's connection; iov[0] is left free for the
// connection's pending replies to go first, in the same call.
int send_vec(Request *r, struct iovec *iov, int n);
int start_filter_data(FCGX_Stream *s);
// Reads up to n bytes of the request's stdin straight into dst when the
// connection is in the middle of a STDIN record with nothing buffered:
// the count read, 0 when that is not the case now, -1 on an error (set
// on s).
int read_direct(FCGX_Stream *s, char *dst, int n);

// FCGX_SetExitStatus on one of a request's streams.
void set_exit_status(int status, FCGX_Stream *s);

} // namespace request
} // namespace fcgi

#endif
