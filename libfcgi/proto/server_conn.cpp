#include "proto/server_conn.hpp"

#include <cstdio>
#include <cstring>

#include "proto/nvpair.hpp"

namespace fcgi::proto {

void ServerConn::reset(const Capacity *capacity)
{
    capacity_ = capacity;
    decoder_ = RecordDecoder();
    disposition_ = Disposition::skip;
    begin_len_ = 0;
    values_.clear();
    active_.clear();
    failed_ = false;
}

ServerConn::Active *ServerConn::find(uint16_t id)
{
    Active *a = reinterpret_cast<Active *>(active_.data());
    for (size_t i = 0, n = active_count(); i < n; ++i)
        if (a[i].id == id)
            return &a[i];
    return nullptr;
}

void ServerConn::end_request(uint16_t id)
{
    Active *a = find(id);
    if (!a)
        return;
    size_t at = static_cast<size_t>(reinterpret_cast<uint8_t *>(a) - active_.data());
    memmove(active_.data() + at, active_.data() + at + sizeof(Active), active_.size() - at - sizeof(Active));
    active_.resize_down(active_.size() - sizeof(Active));
}

bool ServerConn::stdin_done(uint16_t id) const
{
    const Active *a = find(id);
    return a && a->stdin_done;
}

bool ServerConn::data_done(uint16_t id) const
{
    const Active *a = find(id);
    return a && a->data_done;
}

void ServerConn::on_header(const Header &h, Event &ev)
{
    disposition_ = Disposition::skip;
    if (h.version != kVersion1) {
        failed_ = true;
        ev.kind = Kind::unsupported_version;
        return;
    }
    if (h.request_id == 0) {
        if (h.type == kGetValues) {
            values_.clear();
            disposition_ = Disposition::collect_values;
        } else {
            disposition_ = Disposition::unknown_type;
        }
        return;
    }
    if (h.type == kBeginRequest) {
        begin_len_ = 0;
        disposition_ = Disposition::collect_begin;
        return;
    }
    const Active *a = find(h.request_id);
    if (!a)
        return; // a finished (or never begun) request's record: skipped
    switch (h.type) {
    case kParams:
        if (!a->params_done)
            disposition_ = Disposition::deliver;
        break;
    case kStdin:
        // Input before the parameters are complete breaks the protocol.
        if (!a->params_done) {
            failed_ = true;
            ev.kind = Kind::protocol_error;
            return;
        }
        if (!a->stdin_done)
            disposition_ = Disposition::deliver;
        break;
    case kData:
        if (a->params_done && !a->data_done)
            disposition_ = Disposition::deliver;
        break;
    default:
        break; // ABORT_REQUEST is acted on at its end; others skipped
    }
}

bool ServerConn::answer_get_values(Buffer &out)
{
    Capacity cap = capacity_ ? *capacity_ : Capacity();
    char conns[16], reqs[16];
    snprintf(conns, sizeof conns, "%u", cap.max_conns);
    snprintf(reqs, sizeof reqs, "%u", cap.max_reqs);
    struct Known {
        const char *name;
        const char *value;
        bool sent;
    } known[] = {{"FCGI_MAX_CONNS", conns, false},
                 {"FCGI_MAX_REQS", reqs, false},
                 {"FCGI_MPXS_CONNS", cap.mpxs_conns ? "1" : "0", false}};

    size_t start = out.size();
    if (!out.extend(kHeaderLen))
        return false;
    size_t pos = 0;
    PairView pair;
    // Each known name is answered once however often it is asked for;
    // unknown names are left out, as the specification says.
    while (next_pair(values_.data(), values_.size(), &pos, pair)) {
        for (Known &k : known) {
            if (!k.sent && pair.name_len == strlen(k.name) &&
                memcmp(pair.name, k.name, pair.name_len) == 0) {
                k.sent = true;
                if (!encode_pair(out, k.name, strlen(k.name), k.value,
                                 strlen(k.value)))
                    return false;
            }
        }
    }
    size_t content = out.size() - start - kHeaderLen;
    uint8_t pad = padding_for(content);
    uint8_t *p = out.extend(pad);
    if (!p)
        return false;
    memset(p, 0, pad);
    encode_header(out.data() + start, kGetValuesResult, 0, content, pad);
    values_.clear();
    return true;
}

void ServerConn::on_end(const Header &h, Event &ev, Buffer &out)
{
    uint8_t rec[kFixedRecordLen];
    switch (disposition_) {
    case Disposition::collect_values:
        if (!answer_get_values(out)) {
            failed_ = true;
            ev.kind = Kind::protocol_error;
        }
        return;
    case Disposition::unknown_type:
        encode_unknown_type(rec, h.type);
        if (!out.append(rec, sizeof rec)) {
            failed_ = true;
            ev.kind = Kind::protocol_error;
        }
        return;
    case Disposition::collect_begin:
        on_begin(h, ev, out);
        return;
    case Disposition::deliver:
        if (h.content_length != 0)
            return;
        // An empty record ends its stream.
        if (Active *a = find(h.request_id)) {
            if (h.type == kParams) {
                a->params_done = true;
                ev.kind = Kind::params_end;
            } else if (h.type == kStdin) {
                a->stdin_done = true;
                ev.kind = Kind::stdin_end;
            } else {
                a->data_done = true;
                ev.kind = Kind::data_end;
            }
            ev.request_id = h.request_id;
        }
        return;
    case Disposition::skip:
        if (h.type == kAbortRequest && find(h.request_id)) {
            ev.kind = Kind::abort;
            ev.request_id = h.request_id;
        }
        return;
    }
}

void ServerConn::on_begin(const Header &h, Event &ev, Buffer &out)
{
    uint8_t rec[kFixedRecordLen];
    if (begin_len_ < 8 || find(h.request_id)) {
        failed_ = true;
        ev.kind = Kind::protocol_error;
        return;
    }
    uint16_t role = static_cast<uint16_t>(begin_body_[0] << 8 | begin_body_[1]);
    bool keep = begin_body_[2] & kKeepConn;
    bool mpx = capacity_ && capacity_->mpxs_conns;
    uint8_t refusal = 0;
    if (active_count() >= (mpx ? kMaxMultiplexed : 1))
        refusal = mpx ? kOverloaded : kCantMpxConn;
    else if (role < kResponder || role > kFilter)
        refusal = kUnknownRole;
    if (refusal) {
        encode_end_request(rec, h.request_id, 0, refusal);
        if (!out.append(rec, sizeof rec))
            ev.kind = Kind::protocol_error;
        else if (refusal == kUnknownRole && !keep && active_count() == 0)
            ev.kind = Kind::close;
        return;
    }
    Active a = {h.request_id, false, false, false};
    if (!active_.append(&a, sizeof a)) {
        failed_ = true;
        ev.kind = Kind::protocol_error;
        return;
    }
    ev.kind = Kind::begin;
    ev.request_id = h.request_id;
    ev.role = role;
    ev.keep_conn = keep;
}

void ServerConn::on_content(const Header &h, const uint8_t *data, size_t len, Event &ev)
{
    switch (disposition_) {
    case Disposition::deliver:
        switch (h.type) {
        case kParams: ev.kind = Kind::params; break;
        case kStdin: ev.kind = Kind::stdin_data; break;
        default: ev.kind = Kind::data; break;
        }
        ev.request_id = h.request_id;
        ev.data = data;
        ev.len = len;
        break;
    case Disposition::collect_begin: {
        size_t take = len;
        if (take > sizeof begin_body_ - begin_len_)
            take = sizeof begin_body_ - begin_len_;
        memcpy(begin_body_ + begin_len_, data, take);
        begin_len_ += take;
        break;
    }
    case Disposition::collect_values:
        if (!values_.append(data, len)) {
            failed_ = true;
            ev.kind = Kind::protocol_error;
        }
        break;
    default:
        break;
    }
}

size_t ServerConn::feed(const uint8_t *in, size_t n, Event &ev, Buffer &out)
{
    ev = Event{};
    size_t used = 0;
    while (ev.kind == Kind::need_more) {
        if (failed_) {
            ev.kind = Kind::protocol_error;
            return used;
        }
        if (decoder_.at_boundary() && n - used >= kHeaderLen) {
            // A whole record in the input, the usual case: handled here in
            // one step instead of one decoder event at a time.
            Header h = decode_header(in + used);
            size_t whole = kHeaderLen + h.content_length + h.padding_length;
            if (whole <= n - used) {
                const uint8_t *content = in + used + kHeaderLen;
                used += whole;
                on_header(h, ev);
                if (ev.kind != Kind::need_more)
                    return used;
                if (h.content_length) {
                    on_content(h, content, h.content_length, ev);
                    // A delivered piece that is not empty ends nothing.
                    if (ev.kind != Kind::need_more)
                        return used;
                }
                on_end(h, ev, out);
                continue;
            }
        }
        RecordDecoder::Event rev;
        used += decoder_.feed(in + used, n - used, rev);
        switch (rev.kind) {
        case RecordDecoder::Kind::need_more:
            return used;
        case RecordDecoder::Kind::header:
            on_header(rev.header, ev);
            break;
        case RecordDecoder::Kind::content:
            on_content(rev.header, rev.data, rev.len, ev);
            break;
        case RecordDecoder::Kind::end:
            on_end(rev.header, ev, out);
            break;
        }
    }
    return used;
}

} // namespace fcgi::proto
