#include "runtime/vm/devices/virtio/queue.hpp"

#include "common/strings.hpp"
#include "runtime/vm/hex.hpp"

#include <atomic>

namespace hull::vm::virtio {
namespace {

constexpr std::uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;
constexpr std::uint16_t kAvailNoInterrupt = 1;

struct RawDesc {
    std::uint64_t addr;
    std::uint32_t len;
    std::uint16_t flags;
    std::uint16_t next;
};
static_assert(sizeof(RawDesc) == 16);

}  // namespace

bool Virtqueue::valid(const GuestMemory& mem) const {
    if (size == 0 || size > kMaxSize || (size & (size - 1))) return false;
    if (desc_addr % 16 || avail_addr % 2 || used_addr % 4) return false;
    return mem.contains(desc_addr, 16ull * size) && mem.contains(avail_addr, 6 + 2ull * size) &&
           mem.contains(used_addr, 6 + 8ull * size);
}

Result<bool> Virtqueue::pop(const GuestMemory& mem, Chain& out) {
    const auto avail_idx = mem.read<std::uint16_t>(avail_addr + 2);
    if (!avail_idx) return fail_msg(cat("virtqueue available ring at ", hex(avail_addr), " is outside guest RAM"));
    if (*avail_idx == last_avail_) return false;
    if (static_cast<std::uint16_t>(*avail_idx - last_avail_) > size)
        return fail_msg(cat("virtqueue available index jumped by more than the queue size ", size));
    // The ring entry and the descriptors it names are read only after the index that published them.
    std::atomic_thread_fence(std::memory_order_acquire);
    const auto head = mem.read<std::uint16_t>(avail_addr + 4 + 2ull * (last_avail_ % size));
    if (!head) return fail_msg("virtqueue available ring is outside guest RAM");
    ++last_avail_;
    if (*head >= size) return fail_msg(cat("virtqueue head index ", *head, " is out of range"));

    out.head = *head;
    out.descs.clear();
    std::uint16_t i = *head;
    bool seen_writable = false;
    for (std::uint16_t n = 0;; ++n) {
        if (n >= size) return fail_msg("virtqueue descriptor chain loops");
        const auto d = mem.read<RawDesc>(desc_addr + 16ull * i);
        if (!d) return fail_msg("virtqueue descriptor table is outside guest RAM");
        if (d->flags & kDescIndirect) return fail_msg("virtqueue indirect descriptor was not negotiated");
        const bool writable = d->flags & kDescWrite;
        if (!writable && seen_writable) return fail_msg("virtqueue readable descriptor follows a writable one");
        seen_writable |= writable;
        if (!mem.contains(d->addr, d->len))
            return fail_msg(cat("virtqueue buffer at ", hex(d->addr), " (", d->len, " bytes) is outside guest RAM"));
        out.descs.push_back({d->addr, d->len, writable});
        if (!(d->flags & kDescNext)) break;
        if (d->next >= size) return fail_msg(cat("virtqueue next index ", d->next, " is out of range"));
        i = d->next;
    }
    return true;
}

Status Virtqueue::push_used(const GuestMemory& mem, std::uint16_t head, std::uint32_t written) {
    const std::uint64_t elem = used_addr + 4 + 8ull * (used_idx_ % size);
    if (!mem.write<std::uint32_t>(elem, head) || !mem.write<std::uint32_t>(elem + 4, written))
        return fail_msg(cat("virtqueue used ring at ", hex(used_addr), " is outside guest RAM"));
    // The element must be visible before the index that publishes it.
    std::atomic_thread_fence(std::memory_order_release);
    ++used_idx_;
    if (!mem.write<std::uint16_t>(used_addr + 2, used_idx_)) return fail_msg("virtqueue used ring is outside guest RAM");
    return {};
}

bool Virtqueue::wants_interrupt(const GuestMemory& mem) const {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const auto flags = mem.read<std::uint16_t>(avail_addr);
    return !flags || !(*flags & kAvailNoInterrupt);
}

}  // namespace hull::vm::virtio
