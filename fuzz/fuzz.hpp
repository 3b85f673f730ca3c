// Shared by the fuzz targets: a check that survives NDEBUG, and the
// deterministic chopper that decides where an input is split before it is
// fed to a decoder.
#ifndef FCGI_FUZZ_FUZZ_HPP
#define FCGI_FUZZ_FUZZ_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// A failed check prints where and aborts, so libFuzzer saves the input and
// a replay run fails.  Never compiled out.
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fuzz {

// Splits an input into pieces whose sizes come from a small generator
// seeded by the input itself: empty pieces, single bytes, short runs and
// the whole rest all occur, so decoders see every kind of boundary.
class Chopper {
public:
    explicit Chopper(uint32_t seed) : state_((seed * 2654435761u) ^ 0x9e3779b9u)
    {
        if (state_ == 0)
            state_ = 1;
    }

    size_t next(size_t left)
    {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        uint32_t r = state_;
        size_t n;
        switch (r & 7) {
        case 0: n = 0; break;
        case 1: n = 1; break;
        case 2: n = (r >> 3) % 8; break;
        case 3: n = (r >> 3) % 17; break;
        case 4: n = (r >> 3) % 300; break;
        case 5: n = (r >> 3) % 9000; break;
        default: n = left; break;
        }
        return n < left ? n : left;
    }

private:
    uint32_t state_;
};

} // namespace fuzz

#endif
