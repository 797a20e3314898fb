// The virtio-mmio transport, version 2 (virtio 1.x "modern", section 4.2): the register window a
// device is found and driven through, its queues, and its level-triggered interrupt
// (InterruptStatus holds the line high until the driver acknowledges every bit).
#pragma once

#include "runtime/vm/devices/irq.hpp"
#include "runtime/vm/devices/virtio/queue.hpp"
#include "runtime/vm/memory.hpp"

#include <array>
#include <cstdint>
#include <span>

namespace hull::vm::virtio {

inline constexpr std::uint64_t kFeatureVersion1 = 1ull << 32;

class Transport;

// What a device type (block, console) supplies to the transport.
class Device {
public:
    virtual ~Device() = default;
    virtual std::uint32_t device_id() const = 0;
    virtual std::uint64_t features() const = 0;
    virtual unsigned num_queues() const = 0;
    // Configuration space; reads past its end see zeros.
    virtual void read_config(std::uint64_t offset, std::span<std::uint8_t> out) const = 0;
    // The driver kicked queue `q` (already known ready and driver-OK).
    virtual Status process(unsigned q, Transport& t) = 0;
    // The driver reset the device (wrote 0 to Status): forget what the old driver set up.
    virtual void reset() {}
};

class Transport {
public:
    static constexpr unsigned kMaxQueues = 2;
    static constexpr std::uint32_t kInterruptVring = 1, kInterruptConfig = 2;

    Transport(Device& dev, const GuestMemory& mem, IrqLine* irq) : dev_(dev), mem_(mem), irq_(irq) {}

    // Register window access at `offset` within the 4 KiB region.
    void read(std::uint64_t offset, std::span<std::uint8_t> data);
    void write(std::uint64_t offset, std::span<const std::uint8_t> data);

    const GuestMemory& memory() const { return mem_; }
    Virtqueue& queue(unsigned q) { return queues_[q]; }
    // Raises the used-buffer interrupt for queue `q` unless the driver suppressed it.
    void notify_used(unsigned q);
    // The device has work of its own for queue `q` (host bytes for a receive queue): runs it as
    // a driver notification would, and only when one would (queue ready, driver OK, no reset
    // needed); a malformed queue puts the device in DEVICE_NEEDS_RESET the same way.
    void kick(unsigned q) { queue_notify(q); }
    std::uint32_t status() const { return status_; }
    std::uint32_t interrupt_status() const { return interrupt_status_; }

private:
    void reset();
    void set_interrupt(std::uint32_t bits);
    void queue_notify(unsigned q);

    Device& dev_;
    const GuestMemory& mem_;
    IrqLine* irq_;
    std::array<Virtqueue, kMaxQueues> queues_{};
    std::uint32_t device_features_sel_ = 0;
    std::uint32_t driver_features_sel_ = 0;
    std::uint64_t driver_features_ = 0;
    std::uint32_t queue_sel_ = 0;
    std::uint32_t status_ = 0;
    std::uint32_t interrupt_status_ = 0;
};

}  // namespace hull::vm::virtio
