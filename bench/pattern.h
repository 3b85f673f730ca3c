/*
 * pattern.h: the body bytes the benchmark programs send and expect.
 *
 * Byte i of every generated body is bench_pattern_byte(i % BENCH_PERIOD).
 * The period is prime, so a chunk written or compared at the wrong offset
 * shows.  bench_pattern_fill() fills BENCH_PERIOD + extra bytes, so any
 * chunk of up to `extra` bytes starting at (offset % BENCH_PERIOD) is one
 * contiguous slice of the buffer.
 */
#ifndef FCGI_BENCH_PATTERN_H
#define FCGI_BENCH_PATTERN_H

#include <stddef.h>

#define BENCH_PERIOD 65521u

static inline char
bench_pattern_byte(size_t i)
{
    return (char)('a' + (i * 7 + i / 251) % 26);
}

/* The same bytes as bench_pattern_byte, stepped without divisions. */
static inline void
bench_pattern_fill(char *buf, size_t extra)
{
    size_t i, j = 0;
    unsigned sevens = 0, blocks = 0, left = 251;

    for (i = 0; i < BENCH_PERIOD + extra; i++) {
        buf[i] = (char)('a' + (sevens + blocks) % 26);
        sevens = (sevens + 7) % 26;
        if (--left == 0) {
            left = 251;
            blocks = (blocks + 1) % 26;
        }
        if (++j == BENCH_PERIOD) {
            j = 0;
            sevens = blocks = 0;
            left = 251;
        }
    }
}

#endif
