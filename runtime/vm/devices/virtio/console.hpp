// virtio-console (virtio 1.x, section 5.3) with its single port 0: what the guest transmits goes
// to hull's stdout. Host input goes to the UART, so the receive queue only holds the guest's
// buffers.
#pragma once

#include "runtime/vm/devices/virtio/mmio.hpp"

namespace hull::vm::virtio {

class Console final : public Device {
public:
    explicit Console(int out_fd) : out_fd_(out_fd) {}

    std::uint32_t device_id() const override { return 3; }
    std::uint64_t features() const override { return kFeatureVersion1; }
    unsigned num_queues() const override { return 2; }  // receiveq, transmitq
    void read_config(std::uint64_t offset, std::span<std::uint8_t> out) const override;
    Status process(unsigned q, Transport& t) override;

private:
    int out_fd_;
    Chain chain_;
};

}  // namespace hull::vm::virtio
