#include "runtime/vm/devices/virtio/console.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hull::vm::virtio {

void Console::read_config(std::uint64_t, std::span<std::uint8_t> out) const {
    // No F_SIZE, no F_MULTIPORT: nothing in the configuration space means anything.
    std::fill(out.begin(), out.end(), 0);
}

void Console::reset() {
    // A reset driver reads nothing until it says kReady again, and bytes queued for the driver
    // that went away mean nothing to the next one.
    ready_.store(false, std::memory_order_release);
    head_ = pending_ = 0;
    msg_len_ = 0;
}

Status Console::process(unsigned q, Transport& t) {
    if (q == kReceiveQueue) return fill_receive(t);
    if (q == kTransmitQueue) return transmit(t);
    return {};
}

bool Console::send(std::span<const std::uint8_t> bytes, Transport& t) {
    if (bytes.size() > kMaxPending - pending_) {
        log::warn(cat("vm: virtio-console: ", pending_, " bytes already wait for the guest to read them; dropped ",
                      bytes.size(), " more"));
        return false;
    }
    for (std::uint8_t b : bytes) ring_[(head_ + pending_++) % kMaxPending] = b;
    t.kick(kReceiveQueue);  // copies what the guest has buffers for, once the driver is up
    return true;
}

Status Console::fill_receive(Transport& t) {
    Virtqueue& vq = t.queue(kReceiveQueue);
    bool any = false;
    while (pending_ > 0 && HULL_TRY(vq.pop(t.memory(), chain_))) {
        std::uint32_t written = 0;
        for (const Descriptor& d : chain_.descs) {
            if (!d.device_writable) return fail_msg("virtio-console receive buffer is not device-writable");
            // SAFETY: the queue checked that the buffer lies in guest RAM.
            std::uint8_t* p = t.memory().ptr(d.addr, d.len);
            std::size_t room = d.len;
            while (room > 0 && pending_ > 0) {
                // The ring's bytes from head_ up to its end or the pending count, whichever is less.
                const std::size_t n = std::min({room, pending_, kMaxPending - head_});
                std::memcpy(p, ring_.data() + head_, n);
                p += n;
                room -= n;
                written += static_cast<std::uint32_t>(n);
                head_ = (head_ + n) % kMaxPending;
                pending_ -= n;
            }
            if (pending_ == 0) break;
        }
        HULL_TRY(vq.push_used(t.memory(), chain_.head, written));
        any = true;
    }
    if (pending_ == 0) head_ = 0;
    if (any) t.notify_used(kReceiveQueue);
    return {};
}

Status Console::transmit(Transport& t) {
    Virtqueue& vq = t.queue(kTransmitQueue);
    bool any = false;
    while (HULL_TRY(vq.pop(t.memory(), chain_))) {
        for (const Descriptor& d : chain_.descs) {
            if (d.device_writable) continue;
            // SAFETY: the queue checked that the buffer lies in guest RAM.
            const std::uint8_t* p = t.memory().ptr(d.addr, d.len);
            if (control_) {
                parse_control(std::span(p, d.len));
                continue;
            }
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
    if (any) t.notify_used(kTransmitQueue);
    return {};
}

void Console::parse_control(std::span<const std::uint8_t> bytes) {
    for (std::uint8_t b : bytes) {
        msg_[msg_len_++] = b;
        if (msg_len_ < control::kHeaderSize || msg_len_ < control::kHeaderSize + msg_[1]) continue;
        // A whole message. kReady's payload is empty today; a longer one is taken as kReady too,
        // so a guest may add to it later. Types the host does not know are skipped by length.
        if (msg_[0] == control::kReady) ready_.store(true, std::memory_order_release);
        msg_len_ = 0;
    }
}

}  // namespace hull::vm::virtio
