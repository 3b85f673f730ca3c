#include "stream/stream.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "io/fdio.hpp"
#include "proto/record.hpp"
#include "stream/request.hpp"

namespace fcgi {
namespace {

// Room after a writer's content for padding, an end-of-stream header and
// an END_REQUEST record, so a closing writer sends everything at once.
constexpr size_t kCloseRoom = 7 + proto::kHeaderLen + proto::kFixedRecordLen;

StreamData *data_of(FCGX_Stream *s) { return static_cast<StreamData *>(s->data); }

uint16_t request_id_of(const StreamData *d)
{
    return d->owner ? static_cast<uint16_t>(d->owner->req->requestId) : d->request_id;
}

// Makes what the writer holds one padded record in place (its header goes
// into the room before the content) and returns the end of it: the start
// of the buffer when it holds nothing.
uint8_t *frame_pending(FCGX_Stream *s, StreamData *d)
{
    uint8_t *base = d->buf.data();
    size_t content = static_cast<size_t>(s->wrNext - (base + proto::kHeaderLen));
    if (content == 0)
        return base;
    uint8_t pad = proto::padding_for(content);
    proto::encode_header(base, d->record_type, request_id_of(d), content, pad);
    memset(s->wrNext, 0, pad);
    return s->wrNext + pad;
}

// Frames what the writer holds, adds the closing records when closing, and
// passes the bytes to the request (or the descriptor of a standalone one).
void empty_buffer(FCGX_Stream *s, int do_close)
{
    StreamData *d = data_of(s);
    if (s->isClosed)
        return;
    uint8_t *base = d->buf.data();
    uint16_t id = request_id_of(d);
    uint8_t *end = frame_pending(s, d);
    if (do_close) {
        // An error stream that never carried anything ends silently.
        if (!(d->record_type == proto::kStderr && end == base && !d->any_sent)) {
            proto::encode_header(end, d->record_type, id, 0, 0);
            end += proto::kHeaderLen;
        }
        if (d->owner) {
            FCGX_Request *req = d->owner->req;
            if (req->nWriters == 1) {
                proto::encode_end_request(end, id, static_cast<uint32_t>(req->appStatus),
                                          proto::kRequestComplete);
                end += proto::kFixedRecordLen;
            }
            --req->nWriters;
        }
    }
    s->wrNext = base + proto::kHeaderLen;
    if (end > base) {
        d->any_sent = true;
        size_t len = static_cast<size_t>(end - base);
        int rc = d->owner ? request::send(d->owner, base, len) : io::write_all(d->fd, base, len);
        if (rc < 0) {
            stream::set_error(s, errno ? errno : EIO);
            return;
        }
    }
    if (do_close) {
        s->isClosed = 1;
        s->stop = s->wrNext;
    }
}

// Reads and writes of at least this much skip the buffer: whole records go
// out from (and request input comes into) the caller's memory, no copy.
constexpr size_t kDirectMin = 32768;
// The largest record content that needs no padding.
constexpr size_t kDirectRecord = proto::kMaxContent & ~size_t(7);
// Records per system call on the direct path (2 MiB).
constexpr int kDirectBatch = 32;

int send_records(StreamData *d, struct iovec *iov, int n)
{
    return d->owner ? request::send_vec(d->owner, iov, n) : io::write_all(d->fd, iov + 1, n - 1);
}

// put_str for large writes: what the buffer holds, then str[0..len) as
// records of kDirectRecord bytes (the last one padded), batch by batch.
int put_direct(FCGX_Stream *s, const char *str, size_t len)
{
    static const uint8_t zeros[8] = {};
    StreamData *d = data_of(s);
    uint8_t *base = d->buf.data();
    uint16_t id = request_id_of(d);
    uint8_t *framed = frame_pending(s, d);
    uint8_t headers[kDirectBatch][proto::kHeaderLen];
    struct iovec iov[2 + 3 * kDirectBatch];
    while (len > 0 || framed > base) {
        int k = 1; // iov[0]: the connection's pending replies
        if (framed > base) {
            iov[k++] = {base, static_cast<size_t>(framed - base)};
            framed = base;
        }
        for (int r = 0; r < kDirectBatch && len > 0; ++r) {
            size_t take = len < kDirectRecord ? len : kDirectRecord;
            uint8_t pad = proto::padding_for(take);
            proto::encode_header(headers[r], d->record_type, id, take, pad);
            iov[k++] = {headers[r], proto::kHeaderLen};
            iov[k++] = {const_cast<char *>(str), take};
            if (pad)
                iov[k++] = {const_cast<uint8_t *>(zeros), pad};
            str += take;
            len -= take;
        }
        s->wrNext = base + proto::kHeaderLen;
        d->any_sent = true;
        if (send_records(d, iov, k) < 0) {
            stream::set_error(s, errno ? errno : EIO);
            return EOF;
        }
    }
    return 0;
}

} // namespace

namespace stream {

bool init_writer(FCGX_Stream *s, StreamData *d, int content_cap)
{
    size_t total = proto::kHeaderLen + static_cast<size_t>(content_cap) + kCloseRoom;
    if (!d->buf.reserve(total))
        return false;
    d->any_sent = false;
    memset(s, 0, sizeof *s);
    s->wrNext = d->buf.data() + proto::kHeaderLen;
    s->stop = s->wrNext + content_cap;
    s->rdNext = s->stop;
    s->emptyBuffProc = empty_buffer;
    s->data = d;
    return true;
}

void init_reader(FCGX_Stream *s, StreamData *d)
{
    memset(s, 0, sizeof *s);
    s->isReader = 1;
    s->fillBuffProc = request::fill_reader;
    s->data = d;
}

void set_error(FCGX_Stream *s, int err)
{
    if (s->FCGI_errno == 0)
        s->FCGI_errno = err;
    s->isClosed = 1;
    if (!s->isReader)
        s->stop = s->wrNext;
    else
        s->stop = s->rdNext;
}

int get_char(FCGX_Stream *s)
{
    if (s->isClosed || !s->isReader)
        return EOF;
    if (s->rdNext != s->stop)
        return *s->rdNext++;
    s->fillBuffProc(s);
    if (s->rdNext != s->stop)
        return *s->rdNext++;
    return EOF;
}

int unget_char(int c, FCGX_Stream *s)
{
    if (c == EOF || s->isClosed || !s->isReader || s->rdNext == s->stopUnget)
        return EOF;
    *--s->rdNext = static_cast<unsigned char>(c);
    return c;
}

int get_str(char *str, int n, FCGX_Stream *s)
{
    if (n <= 0 || !s->isReader)
        return 0;
    int got = 0;
    while (got < n) {
        if (s->rdNext == s->stop) {
            if (s->isClosed)
                break;
            // Large reads of request input skip the buffer: the socket
            // fills the caller's memory (no ungetting across them).
            if (static_cast<size_t>(n - got) >= kDirectMin && s->fillBuffProc == request::fill_reader) {
                int k = request::read_direct(s, str + got, n - got);
                if (k < 0)
                    break;
                if (k > 0) {
                    got += k;
                    s->stopUnget = s->rdNext;
                    continue;
                }
            }
            s->fillBuffProc(s);
            if (s->rdNext == s->stop)
                break;
        }
        size_t avail = static_cast<size_t>(s->stop - s->rdNext);
        size_t take = static_cast<size_t>(n - got) < avail ? static_cast<size_t>(n - got) : avail;
        memcpy(str + got, s->rdNext, take);
        s->rdNext += take;
        got += static_cast<int>(take);
    }
    return got;
}

char *get_line(char *str, int n, FCGX_Stream *s)
{
    if (n <= 0)
        return nullptr;
    char *p = str;
    while (--n > 0) {
        int c = get_char(s);
        if (c == EOF) {
            if (p == str)
                return nullptr;
            break;
        }
        *p++ = static_cast<char>(c);
        if (c == '\n')
            break;
    }
    *p = '\0';
    return str;
}

int has_seen_eof(FCGX_Stream *s) { return s->isClosed ? EOF : 0; }

int put_char(int c, FCGX_Stream *s)
{
    if (s->wrNext != s->stop) {
        *s->wrNext++ = static_cast<unsigned char>(c);
        return static_cast<unsigned char>(c);
    }
    if (s->isClosed || s->isReader)
        return EOF;
    s->emptyBuffProc(s, 0);
    if (s->wrNext == s->stop)
        return EOF;
    *s->wrNext++ = static_cast<unsigned char>(c);
    return static_cast<unsigned char>(c);
}

int put_str(const char *str, int n, FCGX_Stream *s)
{
    if (n <= 0)
        return n < 0 ? EOF : 0;
    if (static_cast<size_t>(n) >= kDirectMin && !s->isReader && !s->isClosed &&
        s->emptyBuffProc == empty_buffer)
        return put_direct(s, str, static_cast<size_t>(n)) < 0 ? EOF : n;
    int done = 0;
    for (;;) {
        size_t room = static_cast<size_t>(s->stop - s->wrNext);
        if (room > 0) {
            size_t take = static_cast<size_t>(n - done) < room ? static_cast<size_t>(n - done) : room;
            memcpy(s->wrNext, str + done, take);
            s->wrNext += take;
            done += static_cast<int>(take);
            if (done == n)
                return n;
        }
        if (s->isClosed || s->isReader)
            return EOF;
        s->emptyBuffProc(s, 0);
    }
}

int flush(FCGX_Stream *s)
{
    if (s->isClosed || s->isReader)
        return 0;
    s->emptyBuffProc(s, 0);
    return s->isClosed ? EOF : 0;
}

int close(FCGX_Stream *s)
{
    if (!s)
        return 0;
    if (!s->wasFCloseCalled) {
        if (!s->isReader)
            s->emptyBuffProc(s, 1);
        s->wasFCloseCalled = 1;
        // Closed for the program either way: a reader yields no more bytes.
        s->isClosed = 1;
        if (s->isReader)
            s->stop = s->rdNext;
        else
            s->stop = s->wrNext;
    }
    return s->FCGI_errno == 0 ? 0 : EOF;
}

FCGX_Stream *create_writer(int fd, int request_id, int bufflen, int type)
{
    FCGX_Stream *s = static_cast<FCGX_Stream *>(calloc(1, sizeof(FCGX_Stream) + sizeof(StreamData)));
    if (!s)
        return nullptr;
    StreamData *d = new (reinterpret_cast<StreamData *>(s + 1)) StreamData;
    d->kind = StreamData::Kind::standalone_writer;
    d->record_type = static_cast<uint8_t>(type);
    d->fd = fd;
    d->request_id = static_cast<uint16_t>(request_id);
    // The reference rounds the buffer down to whole 8-byte units, header
    // included, and keeps it within one record.
    int cap = bufflen;
    if (cap > static_cast<int>(proto::kMaxContent + proto::kHeaderLen))
        cap = static_cast<int>(proto::kMaxContent + proto::kHeaderLen);
    cap = (cap / 8) * 8 - static_cast<int>(proto::kHeaderLen);
    if (cap < 8)
        cap = 8;
    if (!init_writer(s, d, cap)) {
        d->~StreamData();
        free(s);
        return nullptr;
    }
    return s;
}

void free_stream(FCGX_Stream **sp)
{
    if (!sp || !*sp)
        return;
    FCGX_Stream *s = *sp;
    StreamData *d = data_of(s);
    *sp = nullptr;
    // Request streams live inside their request and are freed with it.
    if (d && d->kind == StreamData::Kind::standalone_writer) {
        d->~StreamData();
        free(s);
    }
}

} // namespace stream
} // namespace fcgi
