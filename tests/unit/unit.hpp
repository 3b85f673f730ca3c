// Helpers shared by the white-box Check suites of the core: a cheap
// assertion for hot loops, a deterministic random source, byte-string
// literals, and an input buffer that ends at an unreadable page.
#ifndef FCGI_TESTS_UNIT_UNIT_HPP
#define FCGI_TESTS_UNIT_UNIT_HPP

#include <check.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/buffer.hpp"

namespace unit {

// ck_assert records a checkpoint on every success, which costs a write in
// Check's bookkeeping; loops that assert millions of times use this, which
// only reaches Check on failure.
// The optional message is a printf format and its arguments.
#define REQUIRE(cond, ...)                                                   \
    do {                                                                     \
        if (!(cond))                                                         \
            ck_abort_msg("Assertion '%s' failed:%s", #cond,                  \
                         ::unit::format(" " __VA_ARGS__).c_str());           \
    } while (0)

[[gnu::format(printf, 1, 2)]] inline std::string format(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

// Byte strings: std::string holds NULs, compares and prints easily.
using Bytes = std::string;

inline Bytes lit(const char *s, size_t n) { return Bytes(s, n); }
// Builds a Bytes from a literal including embedded NULs:
// B("\x01\x00") has length 2.
#define B(s) ::unit::lit(s, sizeof(s) - 1)

inline const uint8_t *u8(const Bytes &b)
{
    return reinterpret_cast<const uint8_t *>(b.data());
}

inline Bytes bytes_of(const fcgi::Buffer &buf)
{
    return buf.size() ? Bytes(reinterpret_cast<const char *>(buf.data()), buf.size())
                      : Bytes();
}

// Printable form for failure messages: \xNN for anything unusual.
inline std::string hex(const Bytes &b, size_t limit = 256)
{
    std::string s;
    char tmp[8];
    for (size_t i = 0; i < b.size() && i < limit; ++i) {
        unsigned char c = static_cast<unsigned char>(b[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            s += static_cast<char>(c);
        } else {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            s += tmp;
        }
    }
    if (b.size() > limit)
        s += "...";
    return s;
}

#define ASSERT_BYTES_EQ(got, want)                                           \
    do {                                                                     \
        const ::unit::Bytes got_ = (got), want_ = (want);                    \
        if (got_ != want_)                                                   \
            ck_abort_msg("bytes differ (%zu vs %zu):\n got  %s\n want %s",   \
                         got_.size(), want_.size(),                          \
                         ::unit::hex(got_).c_str(),                          \
                         ::unit::hex(want_).c_str());                        \
    } while (0)

// xorshift64*: the same sequence on every run and every machine.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed ? seed : 1) {}
    uint64_t next()
    {
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return s_ * 0x2545f4914f6cdd1dull;
    }
    // Uniform enough in [lo, hi].
    size_t range(size_t lo, size_t hi) { return lo + next() % (hi - lo + 1); }

private:
    uint64_t s_;
};

// Memory whose last readable byte is followed by a PROT_NONE page: place()
// copies input so that it ends exactly there, so reading one byte past
// the end faults.
class GuardBuf {
public:
    explicit GuardBuf(size_t max)
    {
        page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        usable_ = (max + page_ - 1) / page_ * page_;
        if (usable_ == 0)
            usable_ = page_;
        void *p = mmap(nullptr, usable_ + page_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert_msg(p != MAP_FAILED, "mmap failed");
        base_ = static_cast<uint8_t *>(p);
        ck_assert_int_eq(mprotect(base_ + usable_, page_, PROT_NONE), 0);
    }
    ~GuardBuf() { munmap(base_, usable_ + page_); }
    GuardBuf(const GuardBuf &) = delete;
    GuardBuf &operator=(const GuardBuf &) = delete;

    const uint8_t *place(const uint8_t *src, size_t n)
    {
        REQUIRE(n <= usable_, "piece of %zu bytes too big for guard", n);
        uint8_t *dst = base_ + usable_ - n;
        if (n)
            memcpy(dst, src, n);
        return dst;
    }
    // Scribbles over the readable part, so stale pointers into an earlier
    // placement show up as wrong data rather than passing by luck.
    void scribble() { memset(base_, 0xa5, usable_); }

private:
    size_t page_ = 0;
    size_t usable_ = 0;
    uint8_t *base_ = nullptr;
};

// Runs a suite with the usual runner and turns the result into an exit code.
inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV); // CK_VERBOSITY=verbose lists each test
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

} // namespace unit

#endif
