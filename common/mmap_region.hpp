// MmapRegion: the one owner of a memory mapping (guest RAM, a vCPU's kvm_run page).
#pragma once

#include "common/result.hpp"

#include <sys/mman.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace hull {

class MmapRegion {
public:
    MmapRegion() = default;
    MmapRegion(void* addr, std::size_t size) : addr_(addr), size_(size) {}
    MmapRegion(const MmapRegion&) = delete;
    MmapRegion& operator=(const MmapRegion&) = delete;
    MmapRegion(MmapRegion&& o) noexcept : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    MmapRegion& operator=(MmapRegion&& o) noexcept {
        if (this != &o) {
            reset();
            addr_ = std::exchange(o.addr_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    ~MmapRegion() { reset(); }

    // mmap(2) with the result owned; `what` names the mapping in the error.
    static Result<MmapRegion> map(std::size_t size, int prot, int flags, int fd, off_t offset, std::string what) {
        void* p = ::mmap(nullptr, size, prot, flags, fd, offset);
        if (p == MAP_FAILED) return fail_sys(std::move(what));
        return MmapRegion(p, size);
    }

    void* get() const { return addr_; }
    std::uint8_t* bytes() const { return static_cast<std::uint8_t*>(addr_); }
    std::size_t size() const { return size_; }
    explicit operator bool() const { return addr_ != nullptr; }
    void reset() {
        if (addr_) ::munmap(addr_, size_);
        addr_ = nullptr;
        size_ = 0;
    }

private:
    void* addr_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace hull
