#include "stream/request.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/accept.hpp"
#include "io/fdio.hpp"
#include "io/process_env.hpp"
#include "proto/record.hpp"

namespace fcgi {

namespace {

// Reads take what the kernel has, up to this much.
constexpr size_t kReadSize = 16384;
// FCGI_DATA that may arrive before stdin is read to its end.
constexpr size_t kMaxDataStash = 8u << 20;
// Connection objects kept for reuse after their connection closed.
constexpr int kMaxFreeConns = 64;
// Request slots of multiplexed connections kept for reuse.
constexpr int kMaxFreeSlots = 256;
// FCGI_STDIN (or FCGI_DATA) bytes held for one request of a multiplexed
// connection that its program has not read yet.  Past this, reading the
// connection pauses, for all its requests, until the program catches up.
constexpr size_t kMultiplexInputBound = 256u << 10;

} // namespace

// One request on a connection, from its BEGIN_REQUEST until it ends.  A
// connection without multiplexing has one, inside it; a multiplexed one
// has one per request it carries (the fields marked mpx are theirs).
struct Slot {
    uint16_t id = 0;
    uint16_t role = 0;
    bool keep = false;
    bool queued = false;       // mpx: complete, in the process's pending queue
    bool stdin_end = false;    // mpx: the stream's end has been received
    bool data_end = false;
    bool aborted = false;      // mpx: FCGI_ABORT_REQUEST while served
    bool ended = false;        // mpx: its END_REQUEST is going out
    proto::PairDecoder pairs;  // parameters as they arrive
    Buffer stdin_q, data_q;    // mpx: input the program has not taken yet
    Request *r = nullptr;      // mpx: the request serving it
    Conn *conn = nullptr;
    Slot *next = nullptr;      // mpx: the connection's slots, or free list
    Slot *queue_next = nullptr; // mpx: pending queue
};

struct Conn {
    int fd = -1;
    bool ready = false;        // idle, with input waiting
    bool failed = false;       // writing failed: send nothing more, close
    bool input_broken = false; // malformed or cut-off input: answer, then close
    proto::Capacity capacity;
    proto::ServerConn proto;
    Buffer in;
    size_t pos = 0;           // in[pos..size) not yet fed to proto
    Buffer out;               // replies to send
    Slot head;                // without multiplexing: the one request
    bool receiving = false;   // a request has begun but is not complete
    // Multiplexing (FCGI_MPXS_CONNS): requests are demultiplexed into
    // slots by whichever thread reads; everything below is guarded by the
    // process lock.
    bool mpx = false;
    enum class Mx : uint8_t {
        polled,  // in the idle set, for the leader to poll
        reading, // one thread reads and demultiplexes it
        paused,  // a request's queued input is full: not read for now
        dead,    // end of input or broken: waits for its requests to end
    } mx = Mx::reading;
    bool writing = false;     // a thread is writing to it
    bool claimed = false;     // being taken from the idle set to be closed
    bool closing = false;     // a request without FCGI_KEEP_CONN ended
    bool input_left = false;  // a request ended before all its input came
    Slot *slots = nullptr;
    unsigned nslots = 0;
    long deadline = 0;        // monotonic ms when an idle or slow peer is dropped
    long fresh_until = 0;     // accepted, silent so far: see idle_fresh_locked
    bool heard = false;       // the peer has sent something
    bool hold = false;        // kept after a request: see hold_locked
    bool hold_timed = false;  // its SO_RCVTIMEO is set for holding
    Request *last = nullptr;  // idle: the request it served last
    Conn *next = nullptr;     // idle set or free list
};

namespace {

struct ListenSlot {
    int fd;
    int waiters;
};

// The process-wide state: the idle set of kept connections, the listening
// sockets that threads wait on, and which thread polls them.  One thread
// (the leader) polls everything at once; the others wait on cv until it
// wakes with work, so no two threads poll the same descriptors.
struct Process {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    // Threads in FCGX_Accept_r with nothing to do wait here, apart from
    // cv, and are woken one per piece of work (wake_idle_locked): waking
    // them all for each request cost a dozen futex calls per request.
    pthread_cond_t idle_cv;
    int idle_waiting = 0;
    int idle_woken = 0; // signalled, not yet running: work already claimed
    bool leader = false;
    int leader_waiters = 0; // threads waiting for the leader to let go
    // Whether to try accept before polling: a poll saw a connection
    // waiting, or a guess that one is.  After an accept the process keeps
    // guessing while guesses find connections (a burst); otherwise it
    // guesses once in accept_gap accepts, the gap doubling up to
    // kMaxAcceptGap while guesses fail, so a process whose connections
    // come one at a time pays no failed accept per connection.
    bool listen_hot = false;
    bool listen_guess = false;
    unsigned accept_gap = 1;
    unsigned accepts_since_guess = 0;
    long listen_seen = 0; // monotonic ms when the listeners were last polled
    int wake[2] = {-1, -1};
    Conn *idle = nullptr;
    Conn *free_conns = nullptr;
    int free_count = 0;
    Buffer listens;   // ListenSlot[]
    Buffer pollfds;   // struct pollfd[], the leader's
    Buffer pollconns; // Conn *[] beside pollfds
    Request *requests = nullptr;
    unsigned serving = 0;     // requests that have called FCGX_Accept_r
    Slot *pending = nullptr;  // multiplexed requests ready to be accepted
    Slot *pending_last = nullptr;
    Slot *free_slots = nullptr;
    int free_slot_count = 0;
    unsigned long served = 0; // requests handed to the program
    io::AddrFilter filter;
    io::Tunables tun;
    proto::ParamLimits limits;
};

// Created once and never destroyed: threads may still run at exit.
Process *g_proc = nullptr;
pthread_once_t g_once = PTHREAD_ONCE_INIT;

void init_once()
{
    void *mem = calloc(1, sizeof(Process));
    if (!mem)
        return;
    Process *p = new (mem) Process;
    pthread_mutex_init(&p->mu, nullptr);
    pthread_cond_init(&p->cv, nullptr);
    pthread_cond_init(&p->idle_cv, nullptr);
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) < 0)
        p->wake[0] = p->wake[1] = -1;
    io::set_shutdown_wake_fd(p->wake[1]);
    p->filter.set(getenv("FCGI_WEB_SERVER_ADDRS"));
    p->tun = io::read_tunables();
    p->limits.max_total = p->tun.params_max_bytes;
    p->limits.max_count = p->tun.params_max_count;
    p->limits.max_single = p->tun.param_max_length;
    io::adopt_activation_socket();
    io::install_signal_handlers();
    g_proc = p;
}

class Lock {
public:
    explicit Lock(pthread_mutex_t &mu) : mu_(mu) { pthread_mutex_lock(&mu_); }
    ~Lock() { pthread_mutex_unlock(&mu_); }
    Lock(const Lock &) = delete;
    Lock &operator=(const Lock &) = delete;

private:
    pthread_mutex_t &mu_;
};

Request *request_of(FCGX_Request *req) { return reinterpret_cast<Request *>(req->paramsPtr); }

// --- connections ---------------------------------------------------------

// Call with the lock held.
Conn *conn_new_locked(int fd)
{
    Process *p = g_proc;
    Conn *c = p->free_conns;
    if (c) {
        p->free_conns = c->next;
        --p->free_count;
    } else {
        void *mem = calloc(1, sizeof(Conn));
        if (!mem)
            return nullptr;
        c = new (mem) Conn;
    }
    if (!c->in.reserve(kReadSize)) {
        c->~Conn();
        free(c);
        return nullptr;
    }
    c->fd = fd;
    c->ready = c->failed = c->input_broken = false;
    c->proto.reset(&c->capacity);
    c->in.clear();
    c->out.clear();
    c->pos = 0;
    c->head.id = c->head.role = 0;
    c->head.keep = c->receiving = false;
    c->mpx = c->writing = c->closing = c->input_left = c->claimed = false;
    c->mx = Conn::Mx::reading;
    c->deadline = io::now_ms() + p->tun.params_timeout_ms;
    c->fresh_until = 0;
    c->heard = c->hold = c->hold_timed = false;
    c->last = nullptr;
    c->next = nullptr;
    return c;
}

void slot_free_locked(Slot *s);

void conn_recycle_locked(Conn *c)
{
    Process *p = g_proc;
    while (Slot *s = c->slots) {
        c->slots = s->next;
        slot_free_locked(s);
    }
    c->nslots = 0;
    if (p->free_count < kMaxFreeConns) {
        c->next = p->free_conns;
        p->free_conns = c;
        ++p->free_count;
        return;
    }
    c->~Conn();
    free(c);
}

void conn_recycle(Conn *c)
{
    Lock lock(g_proc->mu);
    conn_recycle_locked(c);
}

void conn_close(Conn *c, int linger_ms)
{
    io::close_conn(c->fd, linger_ms);
    c->fd = -1;
    conn_recycle(c);
}

int flush_out(Conn *c)
{
    if (c->out.empty())
        return 0;
    int rc = io::write_all(c->fd, c->out.data(), c->out.size());
    c->out.clear();
    if (rc < 0)
        c->failed = true;
    return rc;
}

// Makes the leader poll again, with the idle set as it is now.
void wake_leader_locked()
{
    Process *p = g_proc;
    if (p->leader && p->wake[1] >= 0) {
        char b = 0;
        ssize_t r = write(p->wake[1], &b, 1);
        (void)r;
    }
}

// What threads waiting in acquire would find to do: multiplexed requests,
// connections with input, and the leader's place if empty.
int idle_work_locked()
{
    Process *p = g_proc;
    int n = p->leader ? 0 : 1;
    for (Slot *s = p->pending; s; s = s->queue_next)
        ++n;
    for (Conn *c = p->idle; c; c = c->next)
        if (c->ready && !c->claimed)
            ++n;
    return n;
}

// Wakes as many threads waiting in acquire as there is work for, less
// those woken already and not yet running.  Each thread leaving acquire
// calls this again, so the wake passes on while work remains.
void wake_idle_locked()
{
    Process *p = g_proc;
    if (p->idle_waiting == 0)
        return;
    int n = idle_work_locked() - p->idle_woken;
    for (; n > 0 && p->idle_woken < p->idle_waiting; --n) {
        pthread_cond_signal(&p->idle_cv);
        ++p->idle_woken;
    }
}

// Waits in acquire for wake_idle_locked (or shutdown).
void wait_idle_locked()
{
    Process *p = g_proc;
    ++p->idle_waiting;
    pthread_cond_wait(&p->idle_cv, &p->mu);
    --p->idle_waiting;
    if (p->idle_woken > 0)
        --p->idle_woken;
}

void idle_insert_locked(Conn *c)
{
    Process *p = g_proc;
    c->ready = c->pos < c->in.size();
    c->next = p->idle;
    p->idle = c;
    wake_leader_locked();
    if (c->ready)
        wake_idle_locked();
}

// Puts a connection whose request is not complete (or that finished one)
// into the idle set; after a request, its idle time starts.
void release_idle(Conn *c, bool after_request)
{
    Process *p = g_proc;
    Lock lock(p->mu);
    if (after_request)
        c->deadline = io::now_ms() + p->tun.idle_timeout_ms;
    c->hold = after_request;
    idle_insert_locked(c);
}

void unlink_idle_locked(Conn **pp)
{
    Conn *c = *pp;
    *pp = c->next;
    c->next = nullptr;
    c->ready = false;
    if (c->mpx)
        c->mx = Conn::Mx::reading; // the taker reads it
}

// Takes c, which is in the idle set, out of it.
void take_idle_locked(Conn *c)
{
    Conn **pp = &g_proc->idle;
    while (*pp != c)
        pp = &(*pp)->next;
    unlink_idle_locked(pp);
}

Conn *take_ready_locked()
{
    for (Conn **pp = &g_proc->idle; *pp; pp = &(*pp)->next) {
        Conn *c = *pp;
        if (c->ready && !c->claimed) {
            unlink_idle_locked(pp);
            return c;
        }
    }
    return nullptr;
}

enum class Pump { event, would_block, closed, error };

// Feeds buffered input to the protocol until it reports an event, reading
// more when it runs out.  Pending replies go out before any read, so a
// lone GET_VALUES is answered while the connection waits.
Pump pump(Conn *c, bool wait, proto::ServerConn::Event &ev)
{
    for (;;) {
        c->pos += c->proto.feed(c->in.data() + c->pos, c->in.size() - c->pos, ev, c->out);
        if (ev.kind != proto::ServerConn::Kind::need_more)
            return Pump::event;
        if (flush_out(c) < 0)
            return Pump::error;
        c->in.clear();
        c->pos = 0;
        ssize_t n = wait ? io::recv_wait(c->fd, c->in.data(), c->in.capacity())
                         : io::recv_now(c->fd, c->in.data(), c->in.capacity());
        if (n > 0) {
            c->in.extend(static_cast<size_t>(n));
            c->heard = true;
            c->fresh_until = 0;
            continue;
        }
        if (n == 0)
            return Pump::closed;
        if (wait || (errno != EAGAIN && errno != EWOULDBLOCK))
            return Pump::error;
        return Pump::would_block;
    }
}

void reply_end_request(Conn *c, uint16_t id, uint8_t status)
{
    uint8_t rec[proto::kFixedRecordLen];
    proto::encode_end_request(rec, id, 0, status);
    if (!c->out.append(rec, sizeof rec))
        c->failed = true;
}

const char *role_string(uint16_t role)
{
    switch (role) {
    case proto::kResponder: return "FCGI_ROLE=RESPONDER";
    case proto::kAuthorizer: return "FCGI_ROLE=AUTHORIZER";
    default: return "FCGI_ROLE=FILTER";
    }
}

// refused: a reply that ends the connection was sent (FCGI_OVERLOADED,
// FCGI_UNKNOWN_ROLE, an aborted request); the peer may still be sending.
enum class Incoming { ready, would_block, closed, refused };

// Receives a request's BEGIN_REQUEST and parameters without blocking.
Incoming receive_request(Conn *c)
{
    using Kind = proto::ServerConn::Kind;
    for (;;) {
        proto::ServerConn::Event ev;
        Pump pr = pump(c, false, ev);
        if (pr == Pump::would_block)
            return Incoming::would_block;
        if (pr != Pump::event)
            return Incoming::closed;
        switch (ev.kind) {
        case Kind::begin:
            if (!c->receiving) {
                c->receiving = true;
                c->deadline = io::now_ms() + g_proc->tun.params_timeout_ms;
            }
            c->head.id = ev.request_id;
            c->head.role = ev.role;
            c->head.keep = ev.keep_conn;
            c->head.pairs.reset(g_proc->limits);
            if (!c->head.pairs.add_string(role_string(ev.role)))
                return Incoming::closed;
            break;
        case Kind::params:
            if (c->head.pairs.feed(ev.data, ev.len) != proto::PairDecoder::Status::ok) {
                // Too large or no memory: refuse the request, keep the process.
                reply_end_request(c, c->head.id, proto::kOverloaded);
                flush_out(c);
                return Incoming::refused;
            }
            break;
        case Kind::params_end:
            if (c->head.pairs.finish() != proto::PairDecoder::Status::ok)
                return Incoming::closed;
            c->receiving = false;
            c->fresh_until = 0;
            return Incoming::ready;
        case Kind::abort:
            // Aborted before it started: end it, then wait for the next.
            reply_end_request(c, c->head.id, proto::kRequestComplete);
            c->proto.end_request();
            c->receiving = false;
            if (!c->head.keep) {
                flush_out(c);
                return Incoming::refused;
            }
            break;
        case Kind::close:
            flush_out(c);
            return Incoming::refused;
        default:
            return Incoming::closed;
        }
    }
}

// --- waiting for work ----------------------------------------------------

ListenSlot *slot_for_locked(int fd)
{
    Process *p = g_proc;
    ListenSlot *slots = reinterpret_cast<ListenSlot *>(p->listens.data());
    size_t n = p->listens.size() / sizeof(ListenSlot);
    for (size_t i = 0; i < n; ++i)
        if (slots[i].fd == fd)
            return &slots[i];
    ListenSlot fresh = {fd, 0};
    if (!p->listens.append(&fresh, sizeof fresh))
        return nullptr;
    // A listening socket shared by several threads must not block the
    // one that loses the race for a connection.
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
        io::set_nonblocking(fd, true);
    return reinterpret_cast<ListenSlot *>(p->listens.data() + p->listens.size()) - 1;
}

// How long a just-accepted connection that has sent nothing yet
// keeps its process from accepting more.  Without this, one process of
// several sharing a socket could take every pending connection before
// their requests arrive and serve them one after another while the others
// idle; with it, a peer that connects and stays silent delays accepting by
// this much at most.
constexpr long kFreshGraceMs = 1000;

// The leader polls the idle connections without the lock: before taking
// any that are not ready out of the idle set, wake it and wait until it has
// let go (again each time it went back to polling first).
void wait_for_leader_locked()
{
    Process *p = g_proc;
    ++p->leader_waiters;
    while (p->leader) {
        wake_leader_locked();
        pthread_cond_wait(&p->cv, &p->mu);
    }
    if (--p->leader_waiters == 0)
        pthread_cond_broadcast(&p->cv);
    wake_idle_locked();
}

// Idle connections still in their grace period.
int idle_fresh_locked(long now)
{
    int n = 0;
    for (Conn *c = g_proc->idle; c; c = c->next)
        n += c->fresh_until > now;
    return n;
}

bool mpx_busy_locked(const Conn *c);

// Closes idle connections whose peer sent nothing in time (now == 0: all
// of them, at shutdown), except multiplexed ones with requests in service.
void drop_expired_locked(long now)
{
    for (Conn **pp = &g_proc->idle; *pp;) {
        Conn *c = *pp;
        bool expired = now == 0 || (!c->ready && c->deadline && c->deadline <= now);
        if (expired && !c->claimed && !(c->mpx && mpx_busy_locked(c))) {
            *pp = c->next;
            close(c->fd);
            c->fd = -1;
            conn_recycle_locked(c);
        } else {
            pp = &c->next;
        }
    }
}

// Fills fds with the listening sockets some thread waits on (room for all
// of them); returns how many.
size_t listener_pollfds_locked(struct pollfd *fds)
{
    const ListenSlot *slots = reinterpret_cast<const ListenSlot *>(g_proc->listens.data());
    size_t nslots = g_proc->listens.size() / sizeof(ListenSlot);
    size_t n = 0;
    for (size_t i = 0; i < nslots; ++i)
        if (slots[i].waiters > 0)
            fds[n++] = {slots[i].fd, POLLIN, 0};
    return n;
}

// The leader polls the wake pipe, every listening socket some thread waits
// on and every idle connection; called and returns with the lock held.
int lead_locked(int flags, bool may_accept, bool draining = false)
{
    Process *p = g_proc;
    // Someone waits to change the idle set: let it, then look again.
    if (p->leader_waiters > 0) {
        pthread_cond_wait(&p->cv, &p->mu);
        return 0;
    }
    size_t nslots = p->listens.size() / sizeof(ListenSlot);
    size_t nconns = 0;
    for (Conn *c = p->idle; c; c = c->next)
        ++nconns;
    size_t total = 1 + nslots + nconns;
    p->pollfds.clear();
    p->pollconns.clear();
    struct pollfd *fds = reinterpret_cast<struct pollfd *>(p->pollfds.extend(total * sizeof(struct pollfd)));
    Conn **conns = reinterpret_cast<Conn **>(p->pollconns.extend(nconns * sizeof(Conn *) + 1));
    if (!fds || !conns)
        return -ENOMEM;
    size_t n = 0;
    // While draining at shutdown the wake byte stays in the pipe: leave
    // the pipe out (a negative descriptor is ignored) and rely on the
    // deadlines of the connections waited for.
    fds[n++] = {draining ? -1 : p->wake[0], POLLIN, 0};
    if (may_accept)
        n += listener_pollfds_locked(fds + n);
    size_t first_conn = n;
    long now = io::now_ms(), next_deadline = 0;
    for (Conn *c = p->idle; c; c = c->next) {
        conns[n - first_conn] = c;
        fds[n++] = {c->fd, POLLIN, 0};
        if (c->deadline && (!next_deadline || c->deadline < next_deadline))
            next_deadline = c->deadline;
        if (c->fresh_until > now && (!next_deadline || c->fresh_until < next_deadline))
            next_deadline = c->fresh_until;
    }
    int timeout = -1;
    if (next_deadline)
        timeout = next_deadline <= now ? 0 : static_cast<int>(next_deadline - now);
    // Without the wake pipe, look again now and then for changes.
    constexpr int kDrainingPollMs = 100;
    if (draining && (timeout < 0 || timeout > kDrainingPollMs))
        timeout = kDrainingPollMs;
    if (io::shutdown_pending() && !draining)
        return 0;
    p->leader = true;
    pthread_mutex_unlock(&p->mu);
    int rc = poll(fds, n, timeout);
    int err = errno;
    pthread_mutex_lock(&p->mu);
    p->leader = false;
    pthread_cond_broadcast(&p->cv);
    if (rc < 0) {
        if (err != EINTR)
            return -err;
        return (flags & FCGI_FAIL_ACCEPT_ON_INTR) ? -EINTR : 0;
    }
    // Once shutdown is pending the wake byte stays, so that every later
    // poll returns at once.
    if (fds[0].revents && !io::shutdown_pending()) {
        char sink[64];
        while (read(p->wake[0], sink, sizeof sink) > 0) {
        }
    }
    // Only the leader takes idle connections that were not ready, so the
    // ones polled are still in the idle set.
    for (size_t i = 1; i < first_conn; ++i)
        if (fds[i].revents)
            p->listen_hot = true, p->listen_guess = false;
    for (size_t i = first_conn; i < n; ++i)
        if (fds[i].revents)
            conns[i - first_conn]->ready = true;
    now = io::now_ms();
    if (first_conn > 1)
        p->listen_seen = now;
    drop_expired_locked(now);
    // The caller wakes threads waiting in acquire for what was found,
    // once it has taken its own piece; at shutdown all of them go.
    if (io::shutdown_pending())
        pthread_cond_broadcast(&p->idle_cv);
    return 0;
}

// One read into c's buffer, emptied first (all of it was fed), with the
// process lock let go meanwhile: recv_blocking when block, recv_now when
// not.  Returns the read's result, errno as it left it.
ssize_t read_unlocked(Conn *c, bool block)
{
    Process *p = g_proc;
    c->in.clear();
    c->pos = 0;
    pthread_mutex_unlock(&p->mu);
    ssize_t n = block ? io::recv_blocking(c->fd, c->in.data(), c->in.capacity())
                      : io::recv_now(c->fd, c->in.data(), c->in.capacity());
    int err = errno;
    pthread_mutex_lock(&p->mu);
    if (n > 0)
        c->in.extend(static_cast<size_t>(n));
    errno = err;
    return n;
}

// How often a holding process that keeps being served on its connection
// still looks at its listening sockets.
constexpr long kHoldListenLookMs = 2;

// Waiting for a request in poll() and then reading it costs a third system
// call per request, and on a virtual machine a wake-up from poll() costs
// more than one from recv(): 15-20% of a keep-alive round trip.  So a
// process that serves one request at a time, with one kept connection and
// nothing else to do, waits for that connection's next request in a
// blocking recv() bounded by SO_RCVTIMEO (FCGI_KEEP_HOLD milliseconds,
// which the kernel rounds up to clock ticks: 4 to 8 ms at 250 Hz), once per
// request; when that times out, it polls as usual.  The listening sockets
// are looked at without waiting every kHoldListenLookMs meanwhile, so a
// new connection waits at most one hold to be accepted, not for as long as
// the kept one stays open as it did with the reference.
//
// Returns 1 when it took the connection, its input read (*out), or saw a
// connection waiting to be accepted (p->listen_hot); 0 when it did not
// apply or timed out, and the caller polls; -EINTR as lead_locked does.
int hold_locked(int flags, bool may_accept, Conn **out)
{
    Process *p = g_proc;
    Conn *c = p->idle;
    if (!c || c->next || !c->hold || c->ready || c->claimed || c->mpx || !p->tun.keep_hold_ms ||
        p->serving != 1 || p->pending || p->leader || p->leader_waiters > 0 ||
        io::shutdown_pending())
        return 0;
    c->hold = false;
    long now = io::now_ms();
    if (may_accept && now - p->listen_seen >= kHoldListenLookMs) {
        p->pollfds.clear();
        size_t nslots = p->listens.size() / sizeof(ListenSlot);
        auto *fds = reinterpret_cast<struct pollfd *>(
            p->pollfds.extend(nslots * sizeof(struct pollfd)));
        if (!fds)
            return 0;
        size_t n = listener_pollfds_locked(fds);
        p->listen_seen = now;
        if (poll(fds, n, 0) > 0) {
            p->listen_hot = true;
            p->listen_guess = false;
            c->hold = true;
            return 1;
        }
    }
    if (!c->hold_timed) {
        int ms = p->tun.keep_hold_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
            return 0;
        c->hold_timed = true;
    }
    take_idle_locked(c);
    ssize_t got = read_unlocked(c, true);
    int err = errno;
    if (got < 0 && (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)) {
        idle_insert_locked(c);
        return err == EINTR && (flags & FCGI_FAIL_ACCEPT_ON_INTR) ? -EINTR : 0;
    }
    // Input, its end or an error: reading it again tells which.
    if (got > 0)
        c->heard = true;
    *out = c;
    return 1;
}

// The leader's wait: holding the one kept connection when that applies,
// polling otherwise.  Returns 0 (with *out when holding took it) or a
// negative code.
int wait_locked(int flags, bool may_accept, Conn **out)
{
    int rc = hold_locked(flags, may_accept, out);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    return lead_locked(flags, may_accept);
}

// Whether to accept a connection now: not while the connections accepted
// a moment ago, still silent, outnumber the threads waiting to serve.
bool may_accept_locked()
{
    Process *p = g_proc;
    int waiting = 0;
    const ListenSlot *slots = reinterpret_cast<const ListenSlot *>(p->listens.data());
    for (size_t i = 0; i < p->listens.size() / sizeof(ListenSlot); ++i)
        waiting += slots[i].waiters;
    return idle_fresh_locked(io::now_ms()) < waiting;
}

// The multiplexed request that has waited longest for a thread, now r's.
Slot *take_pending_locked(Request *r)
{
    Process *p = g_proc;
    Slot *s = p->pending;
    if (!s)
        return nullptr;
    p->pending = s->queue_next;
    if (!p->pending)
        p->pending_last = nullptr;
    s->queue_next = nullptr;
    s->queued = false;
    s->r = r;
    return s;
}

// How many requests the process serves at once: FCGI_MAX_REQS, or the
// requests that have called FCGX_Accept_r (one per thread, as a rule).
unsigned capacity_locked()
{
    Process *p = g_proc;
    if (p->tun.max_reqs)
        return p->tun.max_reqs;
    return p->serving ? p->serving : 1;
}

constexpr unsigned kMaxAcceptGap = 64;

// Decides from an accept's result whether the next accept is tried before
// polling (Process::listen_hot).
void note_accept_locked(io::AcceptResult ar)
{
    Process *p = g_proc;
    if (ar == io::AcceptResult::error)
        return;
    bool guessed = p->listen_guess;
    if (ar == io::AcceptResult::again) {
        if (guessed && p->accept_gap < kMaxAcceptGap)
            p->accept_gap *= 2;
        p->listen_hot = p->listen_guess = false;
        return;
    }
    if (guessed)
        p->accept_gap = 1;
    p->listen_hot = p->listen_guess = guessed || ++p->accepts_since_guess >= p->accept_gap;
    if (p->listen_guess)
        p->accepts_since_guess = 0;
}

// Waits until a multiplexed request is complete (*slot_out), or a
// connection with input or a new connection is available (*out).
int acquire(int listen_fd, int flags, Request *r, Conn **out, Slot **slot_out)
{
    Process *p = g_proc;
    Lock lock(p->mu);
    ListenSlot *slot = slot_for_locked(listen_fd);
    if (!slot)
        return -ENOMEM;
    ++slot->waiters;
    int rc = 0;
    *out = nullptr;
    *slot_out = nullptr;
    for (;;) {
        // A request that has arrived is served even when shutdown is
        // pending: the web server already sent it.
        if ((*slot_out = take_pending_locked(r)) || (*out = take_ready_locked()))
            break;
        if (io::shutdown_pending()) {
            wait_for_leader_locked();
            if ((*slot_out = take_pending_locked(r)) || (*out = take_ready_locked()))
                break;
            // Connections accepted a moment ago may still bring the
            // request their web server already sent: wait out their grace.
            if (idle_fresh_locked(io::now_ms()) > 0) {
                if ((rc = lead_locked(flags, false, true)) != 0)
                    break;
                continue;
            }
            drop_expired_locked(0);
            rc = -1;
            break;
        }
        bool may_accept = may_accept_locked();
        if (!may_accept || !p->listen_hot) {
            if (!p->leader) {
                if ((rc = wait_locked(flags, may_accept, out)) != 0 || *out)
                    break;
            } else {
                wait_idle_locked();
            }
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        int fd = -1;
        bool tcp = false;
        io::AcceptResult ar = io::accept_one(listen_fd, &p->filter, fd, tcp);
        int err = errno;
        pthread_mutex_lock(&p->mu);
        note_accept_locked(ar);
        if (ar == io::AcceptResult::ok) {
            if (!(*out = conn_new_locked(fd))) {
                close(fd);
                rc = -ENOMEM;
            }
            break;
        }
        if (ar == io::AcceptResult::rejected)
            continue;
        if (ar == io::AcceptResult::error) {
            if (err == EINTR && !(flags & FCGI_FAIL_ACCEPT_ON_INTR))
                continue;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Out of descriptors or memory: the reference returned the
                // error, ending most accept loops.  Wait for some to free
                // up instead, without spinning.
                pthread_mutex_unlock(&p->mu);
                poll(nullptr, 0, 100);
                pthread_mutex_lock(&p->mu);
                continue;
            }
            rc = -err;
            break;
        }
        // Work may have come while the lock was let go for accept.
        if ((*slot_out = take_pending_locked(r)) || (*out = take_ready_locked()))
            break;
        if (!p->leader) {
            if ((rc = wait_locked(flags, true, out)) != 0 || *out)
                break;
        } else {
            wait_idle_locked();
        }
    }
    // Pass the wake on: more work, or the leader's place now empty.
    wake_idle_locked();
    // Slots live in a Buffer that may have moved: find ours again.
    slot = slot_for_locked(listen_fd);
    if (slot)
        --slot->waiters;
    if (Conn *c = *out) {
        unsigned n = capacity_locked();
        // A connection multiplexes from its first request, or from the
        // next one when the process's capacity grew while it was kept.
        if (n > 1 && !c->mpx && c->proto.active_count() == 0) {
            c->mpx = true;
            c->mx = Conn::Mx::reading;
            c->last = nullptr;
        }
        c->capacity = proto::Capacity{n, n, c->mpx};
    }
    return rc;
}


void set_window(FCGX_Stream *s, const uint8_t *p, size_t len);
void set_eof(FCGX_Stream *s);

// --- multiplexed connections ---------------------------------------------
//
// A multiplexed connection is in one state at a time (Conn::Mx): polled,
// in the idle set; reading, taken by one thread, which reads it and
// demultiplexes what came (any thread: one in FCGX_Accept_r, or one whose
// request waits for input); paused, while a request's queued input is at
// its bound; dead, once its input ended, until its last request ends.

// Memory of a slot's queue that is given back past this size.
constexpr size_t kSlotKeep = 64u << 10;

void slot_free_locked(Slot *s)
{
    Process *p = g_proc;
    if (p->free_slot_count < kMaxFreeSlots) {
        if (s->stdin_q.capacity() > kSlotKeep)
            s->stdin_q.release();
        if (s->data_q.capacity() > kSlotKeep)
            s->data_q.release();
        s->next = p->free_slots;
        p->free_slots = s;
        ++p->free_slot_count;
        return;
    }
    s->~Slot();
    free(s);
}

Slot *slot_new_locked(Conn *c, const proto::ServerConn::Event &ev)
{
    Process *p = g_proc;
    Slot *s = p->free_slots;
    if (s) {
        p->free_slots = s->next;
        --p->free_slot_count;
    } else {
        void *mem = calloc(1, sizeof(Slot));
        if (!mem)
            return nullptr;
        s = new (mem) Slot;
    }
    s->id = ev.request_id;
    s->role = ev.role;
    s->keep = ev.keep_conn;
    s->queued = s->stdin_end = s->data_end = s->aborted = s->ended = false;
    s->stdin_q.clear();
    s->data_q.clear();
    s->r = nullptr;
    s->conn = c;
    s->queue_next = nullptr;
    s->pairs.reset(p->limits);
    if (!s->pairs.add_string(role_string(ev.role))) {
        slot_free_locked(s);
        return nullptr;
    }
    s->next = c->slots;
    c->slots = s;
    ++c->nslots;
    return s;
}

Slot *find_slot_locked(Conn *c, uint16_t id)
{
    for (Slot *s = c->slots; s; s = s->next)
        if (s->id == id && !s->ended)
            return s;
    return nullptr;
}

// Takes s off its connection (and the pending queue) and frees it.
void slot_remove_locked(Conn *c, Slot *s)
{
    Process *p = g_proc;
    if (s->queued) {
        Slot *prev = nullptr;
        for (Slot *q = p->pending; q != s; q = q->queue_next)
            prev = q;
        (prev ? prev->queue_next : p->pending) = s->queue_next;
        if (p->pending_last == s)
            p->pending_last = prev;
    }
    for (Slot **pp = &c->slots; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    --c->nslots;
    slot_free_locked(s);
}

// Ends request id on c with an END_REQUEST of the given status.
void mpx_refuse_locked(Conn *c, uint16_t id, uint8_t status)
{
    reply_end_request(c, id, status);
    c->proto.end_request(id);
    c->input_left = true;
    if (Slot *s = find_slot_locked(c, id))
        slot_remove_locked(c, s);
}

// A request in service, or complete and waiting for a thread.
bool mpx_busy_locked(const Conn *c)
{
    for (const Slot *s = c->slots; s; s = s->next)
        if (s->r || s->queued)
            return true;
    return false;
}

bool mpx_over_bound_locked(const Conn *c)
{
    for (const Slot *s = c->slots; s; s = s->next)
        if (s->stdin_q.size() >= kMultiplexInputBound || s->data_q.size() >= kMultiplexInputBound)
            return true;
    return false;
}

// The connection's input ended or broke: requests not yet in service are
// dropped, the ones in service see an error when they read.
void mpx_kill_locked(Conn *c)
{
    c->mx = Conn::Mx::dead;
    for (Slot *s = c->slots, *next; s; s = next) {
        next = s->next;
        if (!s->r)
            slot_remove_locked(c, s);
    }
    pthread_cond_broadcast(&g_proc->cv);
}

// Feeds c's buffered input to its requests.  Stops early when c pauses
// (a request's queue reached its bound) or breaks.
void mpx_demux_locked(Conn *c)
{
    using Kind = proto::ServerConn::Kind;
    using Status = proto::PairDecoder::Status;
    Process *p = g_proc;
    while (c->mx == Conn::Mx::reading) {
        proto::ServerConn::Event ev;
        c->pos += c->proto.feed(c->in.data() + c->pos, c->in.size() - c->pos, ev, c->out);
        Slot *s = ev.request_id ? find_slot_locked(c, ev.request_id) : nullptr;
        switch (ev.kind) {
        case Kind::need_more:
            // Requests ready to run: for the threads waiting, and for the
            // leader, which may be the only thread idle.
            if (p->pending)
                wake_leader_locked();
            pthread_cond_broadcast(&p->cv);
            return;
        case Kind::begin:
            if (!slot_new_locked(c, ev))
                mpx_refuse_locked(c, ev.request_id, proto::kOverloaded);
            break;
        case Kind::params:
            if (s && s->pairs.feed(ev.data, ev.len) != Status::ok)
                mpx_refuse_locked(c, s->id, proto::kOverloaded);
            break;
        case Kind::params_end:
            if (!s)
                break;
            if (s->pairs.finish() != Status::ok) {
                mpx_refuse_locked(c, s->id, proto::kOverloaded);
                break;
            }
            s->queued = true;
            (p->pending_last ? p->pending_last->queue_next : p->pending) = s;
            p->pending_last = s;
            break;
        case Kind::stdin_data:
        case Kind::data: {
            if (!s)
                break;
            Buffer &q = ev.kind == Kind::data ? s->data_q : s->stdin_q;
            if (!q.append(ev.data, ev.len)) {
                mpx_kill_locked(c);
                return;
            }
            if (q.size() >= kMultiplexInputBound)
                c->mx = Conn::Mx::paused;
            break;
        }
        case Kind::stdin_end:
            if (s)
                s->stdin_end = true;
            break;
        case Kind::data_end:
            if (s)
                s->data_end = true;
            break;
        case Kind::abort:
            // In service: its streams report the abort and FCGX_Finish_r
            // sends the END_REQUEST.  Not yet: it ends here.
            if (s && s->r)
                s->aborted = true;
            else if (s)
                mpx_refuse_locked(c, s->id, proto::kRequestComplete);
            break;
        case Kind::close:
            c->closing = true;
            break;
        default:
            mpx_kill_locked(c);
            return;
        }
    }
    pthread_cond_broadcast(&p->cv);
}

// Writes iov[1..n) to c after the records r collected and c's replies
// (iov[0] is for those), one thread at a time, so that records of
// different requests never interleave.  abortable: fail with ECONNABORTED
// once r's request was aborted.
int mpx_write(Conn *c, Request *r, struct iovec *iov, int n, bool abortable)
{
    Process *p = g_proc;
    {
        Lock lock(p->mu);
        while (c->writing)
            pthread_cond_wait(&p->cv, &p->mu);
        int err = 0;
        if (c->failed)
            err = EPIPE;
        else if (abortable && r->slot && r->slot->aborted)
            err = ECONNABORTED;
        else if (!r->pending.append(c->out.data(), c->out.size()))
            err = ENOMEM;
        if (err) {
            r->pending.clear();
            errno = err;
            return -1;
        }
        c->out.clear();
        c->writing = true;
        // The request's END_REQUEST is in this write: once it arrives the
        // web server may reuse the id, so the request ends before.
        Slot *sl = r->slot;
        if (sl && r->req->nWriters == 0 && !sl->ended) {
            c->proto.end_request(sl->id);
            sl->ended = true;
        }
    }
    iov[0] = {r->pending.data(), r->pending.size()};
    int rc = io::write_all(c->fd, iov, n);
    int err = errno;
    r->pending.clear();
    Lock lock(p->mu);
    c->writing = false;
    if (rc < 0)
        c->failed = true;
    pthread_cond_broadcast(&p->cv);
    errno = err;
    return rc;
}

void mpx_flush_replies_locked(Conn *c, Request *r)
{
    if (c->out.empty())
        return;
    struct iovec iov[1];
    pthread_mutex_unlock(&g_proc->mu);
    mpx_write(c, r, iov, 1, false);
    pthread_mutex_lock(&g_proc->mu);
}

// The thread reading c is done with it: c goes back to be polled, stays
// paused or dead, or is returned to be closed (after the lock is let go)
// when no request is left on it and none is to come.
Conn *mpx_settle_locked(Conn *c)
{
    Process *p = g_proc;
    if (c->failed || (c->nslots == 0 && (c->closing || io::shutdown_pending())))
        mpx_kill_locked(c);
    if (c->mx == Conn::Mx::dead)
        return c->nslots == 0 ? c : nullptr;
    if (c->mx == Conn::Mx::paused)
        return nullptr;
    c->mx = Conn::Mx::polled;
    long now = io::now_ms();
    if (c->nslots == 0)
        c->deadline = now + p->tun.idle_timeout_ms;
    else
        c->deadline = mpx_busy_locked(c) ? 0 : now + p->tun.params_timeout_ms;
    idle_insert_locked(c);
    return nullptr;
}

// One read of c, which the calling thread took for reading, and the
// demultiplexing of what came.  Returns c when it is to be closed.
Conn *mpx_read_locked(Conn *c, Request *r)
{
    if (c->pos == c->in.size()) {
        ssize_t n = read_unlocked(c, false);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            c->input_broken = true;
            mpx_kill_locked(c);
        }
    }
    mpx_demux_locked(c);
    mpx_flush_replies_locked(c, r);
    return mpx_settle_locked(c);
}

// A paused connection whose queues drained goes on with its input.
Conn *mpx_resume_locked(Conn *c, Request *r)
{
    if (c->mx != Conn::Mx::paused || mpx_over_bound_locked(c))
        return nullptr;
    c->mx = Conn::Mx::reading;
    return mpx_read_locked(c, r);
}

// A request on c ended: returns c when it is to be closed now.
Conn *mpx_after_end_locked(Conn *c, Request *r)
{
    if (c->mx == Conn::Mx::paused)
        return mpx_resume_locked(c, r);
    if (c->nslots != 0 || !(c->mx == Conn::Mx::dead || c->failed || c->closing || io::shutdown_pending()))
        return nullptr;
    if (c->mx == Conn::Mx::polled) {
        // Take it from the idle set once the leader no longer polls it;
        // meanwhile no one else takes or closes it.
        c->claimed = true;
        wait_for_leader_locked();
        take_idle_locked(c);
        mpx_kill_locked(c);
    }
    return c->mx == Conn::Mx::dead ? c : nullptr;
}

// When a request ended before all its input came, more may be on its way:
// drain it, or the close resets the connection and destroys the replies
// still in flight.
void mpx_close(Conn *c)
{
    bool drain = (c->input_left || c->pos < c->in.size()) && !c->failed && !c->input_broken;
    conn_close(c, drain ? g_proc->tun.close_linger_ms : 0);
}

// Input for request r on multiplexed connection c: its queued bytes, or
// the connection read (by this thread or another) until some arrive.
void mpx_fill(FCGX_Stream *s, bool want_data, Request *r, Conn *c)
{
    Process *p = g_proc;
    Slot *sl = r->slot;
    Lock lock(p->mu);
    for (;;) {
        if (sl->aborted) {
            stream::set_error(s, ECONNABORTED);
            return;
        }
        Buffer &q = want_data ? sl->data_q : sl->stdin_q;
        if (!q.empty()) {
            r->input.clear();
            r->input.swap(q);
            set_window(s, r->input.data(), r->input.size());
            // Our slot stays, so c cannot be due for closing here.
            mpx_resume_locked(c, r);
            return;
        }
        if (want_data ? sl->data_end : sl->stdin_end) {
            set_eof(s);
            return;
        }
        if (c->mx == Conn::Mx::dead) {
            stream::set_error(s, FCGX_PROTOCOL_ERROR);
            return;
        }
        if (c->mx == Conn::Mx::polled && c->ready) {
            take_idle_locked(c);
            mpx_read_locked(c, r);
            continue;
        }
        if (c->mx == Conn::Mx::paused) {
            mpx_resume_locked(c, r);
            if (c->mx != Conn::Mx::paused)
                continue;
        }
        if (!p->leader && c->mx == Conn::Mx::polled) {
            bool draining = io::shutdown_pending();
            int rc = lead_locked(0, !draining && may_accept_locked(), draining);
            // What it found for others: threads waiting in acquire.
            wake_idle_locked();
            if (rc < 0) {
                stream::set_error(s, -rc);
                return;
            }
            continue;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
}

// Ends r's request on multiplexed connection c; with send, its streams are
// closed and its END_REQUEST goes out.
void mpx_finish(Request *r, Conn *c, bool send)
{
    Process *p = g_proc;
    Slot *sl = r->slot;
    if (send) {
        r->defer_sends = true;
        stream::close(&r->err);
        r->defer_sends = false;
        stream::close(&r->out);
        if (r->out.FCGI_errno == ECONNABORTED) {
            // Aborted: the END_REQUEST the web server waits for, alone.
            uint8_t rec[proto::kFixedRecordLen];
            proto::encode_end_request(rec, sl->id, static_cast<uint32_t>(r->req->appStatus),
                                      proto::kRequestComplete);
            struct iovec iov[2] = {{nullptr, 0}, {rec, sizeof rec}};
            // The output stream may have failed before it closed: this
            // write is still the request's last, and ends it (mpx_write).
            r->req->nWriters = 0;
            mpx_write(c, r, iov, 2, false);
        }
    }
    Conn *closing;
    {
        Lock lock(p->mu);
        if (!sl->ended)
            c->proto.end_request(sl->id);
        if (!sl->stdin_end || (sl->role == proto::kFilter && !sl->data_end))
            c->input_left = true;
        if (!sl->keep)
            c->closing = true;
        slot_remove_locked(c, sl);
        r->conn = nullptr;
        r->slot = nullptr;
        closing = mpx_after_end_locked(c, r);
    }
    if (closing)
        mpx_close(closing);
}

// --- requests ------------------------------------------------------------

Request *request_for(FCGX_Request *req)
{
    Request *r = request_of(req);
    if (!r) {
        void *mem = calloc(1, sizeof(Request));
        if (!mem)
            return nullptr;
        r = new (mem) Request;
        Process *p = g_proc;
        Lock lock(p->mu);
        r->next = p->requests;
        if (r->next)
            r->next->prev = r;
        p->requests = r;
        req->paramsPtr = reinterpret_cast<struct Params *>(r);
    }
    r->req = req;
    return r;
}

void clear_request_fields(FCGX_Request *req)
{
    req->in = req->out = req->err = nullptr;
    req->envp = nullptr;
    req->ipcFd = -1;
    req->isBeginProcessed = 0;
    req->nWriters = 0;
}

// Hands the received request slot on c to r: parameters, streams, fields.
bool bind(Request *r, Conn *c, Slot *slot)
{
    FCGX_Request *req = r->req;
    if (!slot->pairs.hand_over(r->strings, r->envp))
        return false;
    char **envp = reinterpret_cast<char **>(r->envp.data());

    r->in_d.kind = StreamData::Kind::stdin_reader;
    r->in_d.owner = r->out_d.owner = r->err_d.owner = r;
    r->out_d.kind = r->err_d.kind = StreamData::Kind::writer;
    r->out_d.record_type = proto::kStdout;
    r->err_d.record_type = proto::kStderr;
    stream::init_reader(&r->in, &r->in_d);
    if (!stream::init_writer(&r->out, &r->out_d, kStdoutContent) ||
        !stream::init_writer(&r->err, &r->err_d, kStderrContent))
        return false;
    r->data_stash.clear();
    r->stash_pos = 0;
    r->defer_sends = false;
    r->pending.clear();
    r->conn = c;
    r->slot = c->mpx ? slot : nullptr;

    req->requestId = slot->id;
    req->role = slot->role;
    req->keepConnection = slot->keep;
    req->appStatus = 0;
    req->nWriters = 2;
    req->isBeginProcessed = 1;
    req->ipcFd = c->fd;
    req->detached = 0;
    req->in = &r->in;
    req->out = &r->out;
    req->err = &r->err;
    req->envp = envp;
    return true;
}

// Leaves the reader's window on p[0..len).
void set_window(FCGX_Stream *s, const uint8_t *p, size_t len)
{
    unsigned char *b = const_cast<unsigned char *>(p);
    s->rdNext = s->stopUnget = b;
    s->stop = b + len;
}

void set_eof(FCGX_Stream *s)
{
    s->isClosed = 1;
    s->rdNext = s->stop = s->stopUnget = nullptr;
}

// FCGI_RECYCLE_AFTER: once the process has been handed that many
// requests it shuts down as on SIGTERM, so that a supervisor starts a
// fresh one.  Requests already sent to it are still served.
void count_served()
{
    Process *p = g_proc;
    if (!p->tun.recycle_after)
        return;
    bool last;
    {
        Lock lock(p->mu);
        last = ++p->served == p->tun.recycle_after;
    }
    if (last)
        io::request_shutdown();
}

// Skips what is buffered of the request id that just ended on c, when
// that is all that is buffered (typically its empty STDIN record, left by
// a program that ignores its input): the kept connection then waits in
// poll() for the next request instead of being read again at once.
void skip_buffered_tail(Conn *c, uint16_t id)
{
    if (!c->proto.at_record_boundary())
        return;
    size_t p = c->pos;
    while (p < c->in.size()) {
        if (c->in.size() - p < proto::kHeaderLen)
            return;
        proto::Header h = proto::decode_header(c->in.data() + p);
        size_t total = proto::kHeaderLen + h.content_length + h.padding_length;
        if (h.request_id != id || h.type == proto::kBeginRequest || c->in.size() - p < total)
            return;
        p += total;
    }
    // Records of an ended request: the protocol skips them, no event.
    proto::ServerConn::Event ev;
    while (c->pos < c->in.size()) {
        c->pos += c->proto.feed(c->in.data() + c->pos, c->in.size() - c->pos, ev, c->out);
        if (ev.kind != proto::ServerConn::Kind::need_more)
            return;
    }
}

// Whether more input of the request on c may still come, so that closing
// c at once could reset it: not when what was read already ends the
// request's input, as it usually does (a GET, or a body the program read).
bool input_may_follow(Conn *c)
{
    using Kind = proto::ServerConn::Kind;
    for (;;) {
        bool ended = c->proto.stdin_done() && (c->head.role != proto::kFilter || c->proto.data_done());
        if (c->pos == c->in.size())
            return !ended;
        if (ended)
            return true; // bytes of something else: leave them to the drain
        proto::ServerConn::Event ev;
        c->pos += c->proto.feed(c->in.data() + c->pos, c->in.size() - c->pos, ev, c->out);
        switch (ev.kind) {
        case Kind::need_more:
        case Kind::stdin_data:
        case Kind::stdin_end:
        case Kind::data:
        case Kind::data_end:
            break;
        default:
            return true;
        }
    }
}

} // namespace

namespace request {

int init()
{
    pthread_once(&g_once, init_once);
    return g_proc ? 0 : -ENOMEM;
}

bool initialized() { return g_proc != nullptr; }

int send_vec(Request *r, struct iovec *iov, int n)
{
    Conn *c = r->conn;
    if (!c) {
        errno = EPIPE;
        return -1;
    }
    if (r->defer_sends) {
        // Without multiplexing the connection's replies are this
        // request's to send; with it, the request keeps its own.
        Buffer &held = c->mpx ? r->pending : c->out;
        for (int i = 1; i < n; ++i)
            if (!held.append(iov[i].iov_base, iov[i].iov_len)) {
                errno = ENOMEM;
                return -1;
            }
        return 0;
    }
    if (c->mpx)
        return mpx_write(c, r, iov, n, true);
    if (c->failed) {
        errno = EPIPE;
        return -1;
    }
    iov[0].iov_base = c->out.data();
    iov[0].iov_len = c->out.size();
    int rc = io::write_all(c->fd, iov, n);
    c->out.clear();
    if (rc < 0)
        c->failed = true;
    return rc;
}

int send(Request *r, const uint8_t *p, size_t len)
{
    struct iovec iov[2] = {{nullptr, 0}, {const_cast<uint8_t *>(p), len}};
    return send_vec(r, iov, 2);
}

void fill_reader(FCGX_Stream *s)
{
    using Kind = proto::ServerConn::Kind;
    StreamData *d = static_cast<StreamData *>(s->data);
    Request *r = d->owner;
    Conn *c = r ? r->conn : nullptr;
    if (s->isClosed)
        return;
    if (!c) {
        set_eof(s);
        return;
    }
    bool want_data = d->kind == StreamData::Kind::data_reader;
    if (r->slot) {
        mpx_fill(s, want_data, r, c);
        return;
    }
    if (want_data && r->stash_pos < r->data_stash.size()) {
        set_window(s, r->data_stash.data() + r->stash_pos, r->data_stash.size() - r->stash_pos);
        r->stash_pos = r->data_stash.size();
        return;
    }
    if (want_data ? c->proto.data_done() : c->proto.stdin_done()) {
        set_eof(s);
        return;
    }
    for (;;) {
        proto::ServerConn::Event ev;
        Pump pr = pump(c, true, ev);
        if (pr != Pump::event) {
            c->input_broken = true;
            stream::set_error(s, pr == Pump::closed ? FCGX_PROTOCOL_ERROR : (errno ? errno : EIO));
            return;
        }
        switch (ev.kind) {
        case Kind::stdin_data:
            if (!want_data) {
                set_window(s, ev.data, ev.len);
                return;
            }
            break;
        case Kind::data:
            if (want_data) {
                set_window(s, ev.data, ev.len);
                return;
            }
            if (r->data_stash.size() + ev.len > kMaxDataStash ||
                !r->data_stash.append(ev.data, ev.len)) {
                c->input_broken = true;
                stream::set_error(s, FCGX_PROTOCOL_ERROR);
                return;
            }
            break;
        case Kind::stdin_end:
            if (!want_data) {
                set_eof(s);
                return;
            }
            break;
        case Kind::data_end:
            if (want_data) {
                set_eof(s);
                return;
            }
            break;
        case Kind::abort:
            // The web server gave up: the program sees the end of its
            // input; FCGX_Finish_r still ends the request properly.
            set_eof(s);
            return;
        case Kind::unsupported_version:
            c->input_broken = true;
            stream::set_error(s, FCGX_UNSUPPORTED_VERSION);
            return;
        case Kind::params:
        case Kind::params_end:
        case Kind::begin:
        case Kind::need_more:
            break;
        default:
            c->input_broken = true;
            stream::set_error(s, FCGX_PROTOCOL_ERROR);
            return;
        }
    }
}

int read_direct(FCGX_Stream *s, char *dst, int n)
{
    StreamData *d = static_cast<StreamData *>(s->data);
    Request *r = d->kind == StreamData::Kind::stdin_reader ? d->owner : nullptr;
    Conn *c = r ? r->conn : nullptr;
    if (!c || r->slot || c->pos != c->in.size())
        return 0;
    size_t left = c->proto.stdin_content_left();
    if (left == 0)
        return 0;
    if (flush_out(c) < 0) {
        stream::set_error(s, errno ? errno : EIO);
        return -1;
    }
    // When the program wants more than this record holds, the same read
    // goes on into the connection's buffer (consumed, so free): padding,
    // the next header and what follows are decoded from there as usual.
    // The program's memory only ever receives this record's content.
    size_t want = left < static_cast<size_t>(n) ? left : static_cast<size_t>(n);
    struct iovec iov[2] = {{dst, want}, {c->in.data(), c->in.capacity()}};
    int parts = want < static_cast<size_t>(n) && c->in.capacity() ? 2 : 1;
    ssize_t k = io::recv_wait_vec(c->fd, iov, parts);
    if (k > 0) {
        size_t got = static_cast<size_t>(k);
        if (got > want) {
            c->in.clear();
            c->pos = 0;
            c->in.extend(got - want); // within its capacity
            got = want;
        }
        c->proto.took_stdin(got);
        return static_cast<int>(got);
    }
    c->input_broken = true;
    stream::set_error(s, k == 0 ? FCGX_PROTOCOL_ERROR : (errno ? errno : EIO));
    return -1;
}

int start_filter_data(FCGX_Stream *s)
{
    StreamData *d = static_cast<StreamData *>(s->data);
    if (!d || !d->owner || d->owner->req->role != proto::kFilter || !s->isReader ||
        !s->isClosed || d->kind != StreamData::Kind::stdin_reader || s->FCGI_errno) {
        stream::set_error(s, FCGX_CALL_SEQ_ERROR);
        return -1;
    }
    d->kind = StreamData::Kind::data_reader;
    s->isClosed = 0;
    s->rdNext = s->stop = s->stopUnget = nullptr;
    return 0;
}

void set_exit_status(int status, FCGX_Stream *s)
{
    StreamData *d = static_cast<StreamData *>(s->data);
    if (d && d->owner)
        d->owner->req->appStatus = status;
}

int accept(FCGX_Request *req)
{
    if (!g_proc)
        return -9998;
    finish(req);
    Request *r = request_for(req);
    if (!r)
        return -ENOMEM;
    if (!r->serving) {
        Lock lock(g_proc->mu);
        r->serving = true;
        ++g_proc->serving;
    }
    for (;;) {
        Conn *c = nullptr;
        Slot *s = nullptr;
        int rc = acquire(req->listen_sock, req->flags, r, &c, &s);
        if (rc != 0)
            return rc;
        if (s) {
            if (!bind(r, s->conn, s)) {
                Conn *closing;
                {
                    Lock lock(g_proc->mu);
                    Conn *sc = s->conn;
                    mpx_refuse_locked(sc, s->id, proto::kOverloaded);
                    mpx_flush_replies_locked(sc, r);
                    closing = mpx_after_end_locked(sc, r);
                }
                if (closing)
                    mpx_close(closing);
                clear_request_fields(req);
                return -ENOMEM;
            }
            count_served();
            return 0;
        }
        if (c->mpx) {
            Conn *closing;
            {
                Lock lock(g_proc->mu);
                closing = mpx_read_locked(c, r);
            }
            if (closing)
                mpx_close(closing);
            continue;
        }
        switch (receive_request(c)) {
        case Incoming::would_block:
            // A peer that sent anything (a GET_VALUES, say) is not a
            // silent new connection, and holds up no accept.
            if (c->fresh_until == 0 && !c->heard)
                c->fresh_until = io::now_ms() + kFreshGraceMs;
            release_idle(c, false);
            continue;
        case Incoming::closed:
            conn_close(c, 0);
            continue;
        case Incoming::refused:
            // Drain what the peer still sends, so that closing does not
            // reset the connection and destroy the reply in flight.
            conn_close(c, c->failed ? 0 : g_proc->tun.close_linger_ms);
            continue;
        case Incoming::ready:
            if (!bind(r, c, &c->head)) {
                conn_close(c, 0);
                r->conn = nullptr;
                clear_request_fields(req);
                return -ENOMEM;
            }
            count_served();
            return 0;
        }
    }
}

void finish(FCGX_Request *req)
{
    Request *r = request_of(req);
    if (!r || !r->conn) {
        if (r)
            clear_request_fields(req);
        return;
    }
    Conn *c = r->conn;
    if (r->slot) {
        // A forked child that took the request over shares the connection
        // with the other requests on it: only the request ends here.
        mpx_finish(r, c, !req->detached);
        clear_request_fields(req);
        req->detached = 0;
        return;
    }
    if (req->detached) {
        // Someone else (a forked child) now owns the connection: close
        // our descriptor without a shutdown and write nothing.
        close(c->fd);
        c->fd = -1;
        r->conn = nullptr;
        conn_recycle(c);
        clear_request_fields(req);
        req->detached = 0;
        return;
    }
    // stderr's closing records wait to leave with stdout's in one write.
    r->defer_sends = true;
    stream::close(&r->err);
    r->defer_sends = false;
    stream::close(&r->out);
    flush_out(c);
    bool healthy = !c->failed && !c->input_broken && r->out.FCGI_errno == 0 &&
                   r->err.FCGI_errno == 0 && r->in.FCGI_errno == 0;
    bool keep = req->keepConnection && healthy && !io::shutdown_pending();
    bool drain = !keep && !c->failed && input_may_follow(c);
    c->proto.end_request();
    r->conn = nullptr;
    if (keep) {
        skip_buffered_tail(c, static_cast<uint16_t>(req->requestId));
        c->last = r;
        release_idle(c, true);
    } else {
        conn_close(c, drain ? g_proc->tun.close_linger_ms : 0);
    }
    clear_request_fields(req);
}

void free(FCGX_Request *req, bool close_conn)
{
    Request *r = request_of(req);
    if (!r)
        return;
    if (r->slot) {
        // Its connection carries other requests: end this one only.
        mpx_finish(r, r->conn, !req->detached);
    } else if (Conn *c = r->conn) {
        r->conn = nullptr;
        if (req->detached) {
            if (close_conn)
                close(c->fd);
            c->fd = -1;
            conn_recycle(c);
        } else if (close_conn || c->failed || c->input_broken) {
            conn_close(c, 0);
        } else {
            c->proto.end_request();
            release_idle(c, true);
        }
    }
    Conn *closing = nullptr;
    {
        Process *p = g_proc;
        Lock lock(p->mu);
        // FCGX_Free(req, 1) closes the request's connection even after a
        // kept one went idle, as the reference did; with 0 the connection
        // stays for any request to use.
        if (close_conn)
            wait_for_leader_locked();
        for (Conn **pp = &p->idle; *pp;) {
            Conn *c = *pp;
            if (c->last == r && close_conn) {
                *pp = c->next;
                c->next = closing;
                closing = c;
                continue;
            }
            if (c->last == r)
                c->last = nullptr;
            pp = &c->next;
        }
        if (r->prev)
            r->prev->next = r->next;
        else
            p->requests = r->next;
        if (r->next)
            r->next->prev = r->prev;
        if (r->serving)
            --p->serving;
    }
    while (Conn *c = closing) {
        closing = c->next;
        // Its unread input is drained, so the close does not turn into a
        // reset that the web server would see before our last reply.
        conn_close(c, c->failed ? 0 : g_proc->tun.close_linger_ms);
    }
    r->~Request();
    ::free(r);
    req->paramsPtr = nullptr;
    clear_request_fields(req);
    req->detached = 0;
}

} // namespace request
} // namespace fcgi
