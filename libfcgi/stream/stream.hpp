// FCGX_Stream behaviour: the public struct's buffer window plus private
// state behind FCGX_Stream::data.  Readers get their bytes from a request
// (request.cpp); writers frame their buffer as records and hand them to a
// sink.  The functions below are what the FCGX_ stream calls do.
#ifndef FCGI_STREAM_STREAM_HPP
#define FCGI_STREAM_STREAM_HPP

#include <cstdarg>
#include <cstdint>

#include "base/buffer.hpp"
#include "fcgiapp.h"

namespace fcgi {

struct Request;

// Content bytes per record of a request's writers; the same as the
// reference's, so that responses are framed identically.
constexpr int kStdoutContent = 8192 - 8;
constexpr int kStderrContent = 512 - 8;

struct StreamData {
    enum class Kind : uint8_t { stdin_reader, data_reader, writer, standalone_writer };
    Kind kind = Kind::writer;
    uint8_t record_type = 0;  // writers: FCGI_STDOUT, FCGI_STDERR, ...
    bool any_sent = false;    // writers: a record has gone out
    Request *owner = nullptr; // request streams
    int fd = -1;              // standalone writers
    uint16_t request_id = 0;  // standalone writers
    Buffer buf;               // writers: header room + content + close records
};

namespace stream {

// Sets up a writer over d.buf for content_cap bytes per record.
bool init_writer(FCGX_Stream *s, StreamData *d, int content_cap);
void init_reader(FCGX_Stream *s, StreamData *d);
// Records the first error of a stream (a positive errno or a negative
// FCGX_ code) and closes it for further use.
void set_error(FCGX_Stream *s, int err);

int get_char(FCGX_Stream *s);
int unget_char(int c, FCGX_Stream *s);
int get_str(char *str, int n, FCGX_Stream *s);
char *get_line(char *str, int n, FCGX_Stream *s);
int has_seen_eof(FCGX_Stream *s);
int put_char(int c, FCGX_Stream *s);
int put_str(const char *str, int n, FCGX_Stream *s);
int vprintf(FCGX_Stream *s, const char *format, va_list ap);
int flush(FCGX_Stream *s);
int close(FCGX_Stream *s);
FCGX_Stream *create_writer(int fd, int request_id, int bufflen, int type);
void free_stream(FCGX_Stream **s);

} // namespace stream
} // namespace fcgi

#endif
