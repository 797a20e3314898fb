// Guest physical memory: the owner (a memfd mapped once) and the bounds-checked view every
// device, loader and table writer goes through.
#pragma once

#include "common/mmap_region.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace hull::vm {

// A view of guest-physical memory as host pointers, region by region. It owns nothing, so unit
// tests can point it at a buffer of their own.
class GuestMemory {
public:
    struct Region {
        std::uint64_t gpa;
        std::uint64_t size;
        std::uint8_t* host;
    };

    void add_region(std::uint64_t gpa, std::uint64_t size, std::uint8_t* host) { regions_.push_back({gpa, size, host}); }
    const std::vector<Region>& regions() const { return regions_; }

    // The host address of [gpa, gpa + len) when it lies wholly inside one region, else nullptr:
    // every guest-supplied address goes through here before it is dereferenced.
    std::uint8_t* ptr(std::uint64_t gpa, std::uint64_t len) const {
        for (const Region& r : regions_)
            if (gpa >= r.gpa && len <= r.size && gpa - r.gpa <= r.size - len) return r.host + (gpa - r.gpa);
        return nullptr;
    }
    bool contains(std::uint64_t gpa, std::uint64_t len) const { return ptr(gpa, len) != nullptr; }

    template <class T>
    std::optional<T> read(std::uint64_t gpa) const {
        const std::uint8_t* p = ptr(gpa, sizeof(T));
        if (!p) return std::nullopt;
        T v;
        // SAFETY: p covers sizeof(T) bytes of guest RAM (checked by ptr); memcpy tolerates any alignment.
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    template <class T>
    bool write(std::uint64_t gpa, const T& v) const {
        std::uint8_t* p = ptr(gpa, sizeof(T));
        if (!p) return false;
        // SAFETY: p covers sizeof(T) bytes of guest RAM (checked by ptr).
        std::memcpy(p, &v, sizeof v);
        return true;
    }
    bool write_bytes(std::uint64_t gpa, std::span<const std::uint8_t> bytes) const {
        std::uint8_t* p = ptr(gpa, bytes.size());
        if (!p) return false;
        // SAFETY: p covers bytes.size() bytes of guest RAM (checked by ptr).
        if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
        return true;
    }

private:
    std::vector<Region> regions_;
};

// Guest RAM: one memfd, mapped once with MAP_NORESERVE, so pages the guest never touches cost
// nothing and nothing of the guest ever reaches a file system. Below 4 GiB it ends at the
// 32-bit MMIO hole; the rest sits above 4 GiB.
class GuestRam {
public:
    static Result<GuestRam> create(std::uint64_t size);

    const GuestMemory& memory() const { return view_; }
    std::uint64_t size() const { return map_.size(); }
    std::uint8_t* host() const { return map_.bytes(); }

private:
    UniqueFd memfd_;
    MmapRegion map_;
    GuestMemory view_;
};

}  // namespace hull::vm
