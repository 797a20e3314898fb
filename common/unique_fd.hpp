// UniqueFd: the one owner of a file descriptor. FdRef: a borrowed one.
#pragma once

#include <unistd.h>

#include <utility>

namespace hull {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    [[nodiscard]] int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// A borrowed descriptor; never closes. Makes ownership visible in signatures.
class FdRef {
public:
    FdRef(const UniqueFd& fd) : fd_(fd.get()) {}  // NOLINT: implicit on purpose
    explicit FdRef(int fd) : fd_(fd) {}
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace hull
