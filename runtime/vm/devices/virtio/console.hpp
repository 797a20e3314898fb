// virtio-console (virtio 1.x, section 5.3) with its single port 0, in one of two roles:
//
//   - the output console: what the guest transmits goes to hull's stdout (host input goes to
//     the UART, so nothing is ever queued for its receiveq);
//   - the control channel (runtime/vm/control_protocol.hpp): what the guest transmits is parsed
//     as control messages (kReady), and the host's messages are queued here and copied into the
//     guest's receiveq buffers as they become available.
//
// Host bytes wait in a bounded buffer: a message that does not fit is dropped whole (one log
// line), so neither a vCPU nor the thread that sends ever blocks on a guest that stopped reading.
// Every call runs under the caller's device lock, as Transport's do.
#pragma once

#include "runtime/vm/control_protocol.hpp"
#include "runtime/vm/devices/virtio/mmio.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hull::vm::virtio {

class Console final : public Device {
public:
    static constexpr unsigned kReceiveQueue = 0, kTransmitQueue = 1;
    // Host bytes that may wait for receive buffers: ~1,300 signal messages.
    static constexpr std::size_t kMaxPending = 4096;

    struct ControlRole {};
    static constexpr ControlRole kControl{};

    // The output console: port 0's bytes go to `out_fd`.
    explicit Console(int out_fd) : out_fd_(out_fd) {}
    // The control channel.
    explicit Console(ControlRole) : control_(true) {}

    std::uint32_t device_id() const override { return 3; }
    std::uint64_t features() const override { return kFeatureVersion1; }
    unsigned num_queues() const override { return 2; }  // receiveq, transmitq
    void read_config(std::uint64_t offset, std::span<std::uint8_t> out) const override;
    Status process(unsigned q, Transport& t) override;
    void reset() override;

    // Queues `bytes` for the guest, all or nothing, and copies into the receive buffers the guest
    // has posted (raising the used-buffer interrupt). False, after one log line, when the buffer
    // lacks room for all of them.
    bool send(std::span<const std::uint8_t> bytes, Transport& t);
    // Whether the guest said kReady (control role) since the last device reset. Lock-free.
    bool guest_ready() const { return ready_.load(std::memory_order_acquire); }
    std::size_t pending() const { return pending_; }

private:
    Status transmit(Transport& t);
    Status fill_receive(Transport& t);
    void parse_control(std::span<const std::uint8_t> bytes);

    int out_fd_ = -1;
    bool control_ = false;
    std::atomic<bool> ready_{false};
    Chain chain_;

    // Host -> guest bytes not yet in a receive buffer: a ring of kMaxPending bytes.
    std::array<std::uint8_t, kMaxPending> ring_{};
    std::size_t head_ = 0, pending_ = 0;

    // Guest -> host: the message being put back together (a message may arrive in pieces).
    std::array<std::uint8_t, control::kMaxMessageSize> msg_{};
    std::size_t msg_len_ = 0;
};

}  // namespace hull::vm::virtio
