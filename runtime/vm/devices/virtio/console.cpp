#include "runtime/vm/devices/virtio/console.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hull::vm::virtio {

void Console::read_config(std::uint64_t, std::span<std::uint8_t> out) const {
    // No F_SIZE, no F_MULTIPORT: nothing in the configuration space means anything.
    std::fill(out.begin(), out.end(), 0);
}

Status Console::process(unsigned q, Transport& t) {
    if (q != 1) return {};  // receive buffers wait; hull sends them nothing
    Virtqueue& vq = t.queue(q);
    bool any = false;
    while (HULL_TRY(vq.pop(t.memory(), chain_))) {
        for (const Descriptor& d : chain_.descs) {
            if (d.device_writable) continue;
            // SAFETY: the queue checked that the buffer lies in guest RAM.
            const std::uint8_t* p = t.memory().ptr(d.addr, d.len);
            std::size_t left = d.len;
            while (left > 0) {
                const ssize_t r = ::write(out_fd_, p, left);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break;  // a closed stdout loses output, never the guest
                p += r;
                left -= static_cast<std::size_t>(r);
            }
        }
        HULL_TRY(vq.push_used(t.memory(), chain_.head, 0));
        any = true;
    }
    if (any) t.notify_used(q);
    return {};
}

}  // namespace hull::vm::virtio
