// A growable byte buffer over malloc: the core's only container.  No
// exceptions and no C++ runtime, so growth reports failure as false.
#ifndef FCGI_BASE_BUFFER_HPP
#define FCGI_BASE_BUFFER_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fcgi {

class Buffer {
public:
    Buffer() = default;
    ~Buffer();
    Buffer(const Buffer &) = delete;
    Buffer &operator=(const Buffer &) = delete;

    uint8_t *data() { return data_; }
    const uint8_t *data() const { return data_; }
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }
    bool empty() const { return size_ == 0; }

    // Ensures capacity() >= n.  Grows geometrically.
    bool reserve(size_t n);
    bool append(const void *p, size_t n);
    bool push(uint8_t b) { return append(&b, 1); }
    // Makes room for n more bytes and returns where they go (size() grows).
    // Inline when the room is there: the parameter decoder calls it per pair.
    uint8_t *extend(size_t n)
    {
        if (n > capacity_ - size_)
            return grow(n);
        uint8_t *p = data_ + size_;
        size_ += n;
        return p;
    }
    void resize_down(size_t n) { if (n < size_) size_ = n; }
    void clear() { size_ = 0; }
    // Drops the first n bytes, keeping the rest.
    void consume(size_t n);
    // Returns the memory to the allocator.
    void release();
    void swap(Buffer &other);

private:
    uint8_t *grow(size_t n);

    uint8_t *data_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

} // namespace fcgi

#endif
