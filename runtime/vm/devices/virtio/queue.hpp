// A split virtqueue (virtio 1.x, section 2.7) as the device sees it: descriptor chains taken
// from the available ring, completions put on the used ring. Every address comes from the guest
// and goes through GuestMemory's bounds checks.
#pragma once

#include "common/result.hpp"
#include "runtime/vm/memory.hpp"

#include <cstdint>
#include <vector>

namespace hull::vm::virtio {

struct Descriptor {
    std::uint64_t addr;
    std::uint32_t len;
    bool device_writable;
};

struct Chain {
    std::uint16_t head = 0;
    std::vector<Descriptor> descs;  // readable ones first, then writable ones (checked)
};

class Virtqueue {
public:
    static constexpr std::uint16_t kMaxSize = 256;

    // Driver-programmed state, written through the transport's registers.
    std::uint16_t size = kMaxSize;
    bool ready = false;
    std::uint64_t desc_addr = 0;
    std::uint64_t avail_addr = 0;
    std::uint64_t used_addr = 0;

    void reset() { *this = Virtqueue(); }

    // Whether the programmed size and rings are usable: a power of two no larger than kMaxSize,
    // rings aligned as the spec wants and inside guest RAM.
    bool valid(const GuestMemory& mem) const;

    // Takes the next available chain into `out`. False when the ring is empty; an error when the
    // chain is malformed (out-of-range index, a loop, memory outside RAM, writable before readable).
    Result<bool> pop(const GuestMemory& mem, Chain& out);

    // Completes the chain at `head`, `written` bytes having been written into its buffers.
    Status push_used(const GuestMemory& mem, std::uint16_t head, std::uint32_t written);

    // False when the driver asked not to be interrupted (VRING_AVAIL_F_NO_INTERRUPT).
    bool wants_interrupt(const GuestMemory& mem) const;

private:
    std::uint16_t last_avail_ = 0;
    std::uint16_t used_idx_ = 0;
};

}  // namespace hull::vm::virtio
