#include "base/buffer.hpp"

#include <cstdlib>

namespace fcgi {

Buffer::~Buffer() { free(data_); }

bool Buffer::reserve(size_t n)
{
    if (n <= capacity_)
        return true;
    size_t cap = capacity_ ? capacity_ : 64;
    while (cap < n) {
        if (cap > SIZE_MAX / 2) {
            cap = n;
            break;
        }
        cap *= 2;
    }
    void *p = realloc(data_, cap);
    if (!p)
        return false;
    data_ = static_cast<uint8_t *>(p);
    capacity_ = cap;
    return true;
}

uint8_t *Buffer::grow(size_t n)
{
    if (n > SIZE_MAX - size_ || !reserve(size_ + n))
        return nullptr;
    uint8_t *p = data_ + size_;
    size_ += n;
    return p;
}

bool Buffer::append(const void *p, size_t n)
{
    if (n == 0)
        return true;
    uint8_t *dst = extend(n);
    if (!dst)
        return false;
    memcpy(dst, p, n);
    return true;
}

void Buffer::consume(size_t n)
{
    if (n >= size_) {
        size_ = 0;
        return;
    }
    memmove(data_, data_ + n, size_ - n);
    size_ -= n;
}

void Buffer::release()
{
    free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
}

void Buffer::swap(Buffer &other)
{
    uint8_t *d = data_;
    size_t s = size_, c = capacity_;
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = d;
    other.size_ = s;
    other.capacity_ = c;
}

} // namespace fcgi
