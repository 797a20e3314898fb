// virtio-blk (virtio 1.x, section 5.2) over a host file: read, write, flush and get-id, with
// VIRTIO_BLK_F_RO for a read-only disk. Requests run synchronously on the vCPU thread that
// kicked the queue, with preadv/pwritev straight into guest memory.
#pragma once

#include "common/unique_fd.hpp"
#include "runtime/vm/devices/virtio/mmio.hpp"

#include <string>
#include <sys/uio.h>
#include <vector>

namespace hull::vm::virtio {

class Block final : public Device {
public:
    static constexpr std::uint64_t kFeatureRo = 1ull << 5;
    static constexpr std::uint64_t kFeatureFlush = 1ull << 9;
    static constexpr std::uint32_t kSectorSize = 512;

    // The disk's capacity is its size in whole sectors; a partial last sector is not visible.
    Block(UniqueFd file, std::uint64_t size_bytes, bool read_only, std::string serial)
        : file_(std::move(file)), sectors_(size_bytes / kSectorSize), read_only_(read_only), serial_(std::move(serial)) {}

    std::uint32_t device_id() const override { return 2; }
    std::uint64_t features() const override { return kFeatureVersion1 | kFeatureFlush | (read_only_ ? kFeatureRo : 0); }
    unsigned num_queues() const override { return 1; }
    void read_config(std::uint64_t offset, std::span<std::uint8_t> out) const override;
    Status process(unsigned q, Transport& t) override;

private:
    // Executes one request; returns the bytes written into the chain's writable buffers.
    Result<std::uint32_t> execute(const Chain& chain, const GuestMemory& mem);

    UniqueFd file_;
    std::uint64_t sectors_;
    bool read_only_;
    std::string serial_;
    Chain chain_;               // reused: no allocation per request once warm
    std::vector<iovec> iov_;
};

}  // namespace hull::vm::virtio
