#include "runtime/vm/devices/virtio/blk.hpp"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hull::vm::virtio {
namespace {

constexpr std::uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeGetId = 8;
constexpr std::uint8_t kStatusOk = 0, kStatusIoErr = 1, kStatusUnsupported = 2;
constexpr std::size_t kHeaderSize = 16;  // type, reserved, sector
constexpr std::size_t kIdSize = 20;

// Copies the first out.size() readable bytes of the chain; false when there are fewer.
bool copy_readable(const Chain& c, const GuestMemory& mem, std::span<std::uint8_t> out) {
    std::size_t done = 0;
    for (const Descriptor& d : c.descs) {
        if (d.device_writable || done == out.size()) break;
        const std::size_t n = std::min<std::size_t>(d.len, out.size() - done);
        // SAFETY: the queue checked that [addr, addr + len) lies in guest RAM when it took the chain.
        std::memcpy(out.data() + done, mem.ptr(d.addr, n), n);
        done += n;
    }
    return done == out.size();
}

// The iovecs for the chain's bytes of one direction, minus `skip_front` bytes at the start and
// `skip_back` at the end; returns their total length.
std::size_t gather(const Chain& c, const GuestMemory& mem, bool writable, std::size_t skip_front, std::size_t skip_back,
                   std::vector<iovec>& iov) {
    iov.clear();
    std::size_t total = 0;
    for (const Descriptor& d : c.descs)
        if (d.device_writable == writable) total += d.len;
    if (total < skip_front + skip_back) return 0;
    std::size_t want = total - skip_front - skip_back;
    const std::size_t result = want;
    for (const Descriptor& d : c.descs) {
        if (d.device_writable != writable || want == 0) continue;
        std::size_t off = std::min<std::size_t>(skip_front, d.len);
        skip_front -= off;
        const std::size_t n = std::min<std::size_t>(d.len - off, want);
        if (n == 0) continue;
        // SAFETY: the queue checked that the descriptor's buffer lies in guest RAM.
        iov.push_back({mem.ptr(d.addr + off, n), n});
        want -= n;
    }
    return result;
}

bool full_io(bool write, int fd, std::vector<iovec>& iov, std::uint64_t offset) {
    std::size_t i = 0;
    while (i < iov.size()) {
        const int cnt = static_cast<int>(std::min<std::size_t>(iov.size() - i, IOV_MAX));
        const ssize_t r = write ? ::pwritev(fd, &iov[i], cnt, static_cast<off_t>(offset))
                                : ::preadv(fd, &iov[i], cnt, static_cast<off_t>(offset));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        offset += static_cast<std::uint64_t>(r);
        std::size_t left = static_cast<std::size_t>(r);
        while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
        if (left) {
            iov[i].iov_base = static_cast<std::uint8_t*>(iov[i].iov_base) + left;
            iov[i].iov_len -= left;
        }
    }
    return true;
}

}  // namespace

void Block::read_config(std::uint64_t offset, std::span<std::uint8_t> out) const {
    // virtio_blk_config: capacity (sectors) at 0; the rest is for features hull does not offer.
    std::uint8_t cfg[24] = {};
    std::memcpy(cfg, &sectors_, 8);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = offset + i < sizeof cfg ? cfg[offset + i] : 0;
}

Result<std::uint32_t> Block::execute(const Chain& c, const GuestMemory& mem) {
    std::uint8_t header[kHeaderSize];
    if (!copy_readable(c, mem, header)) return fail_msg("virtio-blk request has no complete header");
    // The status byte is the chain's last writable byte.
    const Descriptor* last = nullptr;
    for (const Descriptor& d : c.descs)
        if (d.device_writable && d.len) last = &d;
    if (!last) return fail_msg("virtio-blk request has no status byte");
    std::uint32_t type;
    std::uint64_t sector;
    std::memcpy(&type, header, 4);
    std::memcpy(&sector, header + 8, 8);
    std::uint8_t* status = mem.ptr(last->addr + last->len - 1, 1);

    std::uint8_t result = kStatusOk;
    std::uint32_t written = 1;
    switch (type) {
    case kTypeIn:
    case kTypeOut: {
        const bool out = type == kTypeOut;
        const std::size_t len = out ? gather(c, mem, false, kHeaderSize, 0, iov_) : gather(c, mem, true, 0, 1, iov_);
        const std::uint64_t end_sector = sector + (len + kSectorSize - 1) / kSectorSize;
        if (out && read_only_) result = kStatusIoErr;
        else if (len % kSectorSize || end_sector < sector || end_sector > sectors_) result = kStatusIoErr;
        else if (!full_io(out, file_.get(), iov_, sector * kSectorSize)) result = kStatusIoErr;
        else if (!out) written += static_cast<std::uint32_t>(len);
        break;
    }
    case kTypeFlush:
        if (!read_only_ && ::fdatasync(file_.get()) != 0) result = kStatusIoErr;
        break;
    case kTypeGetId: {
        const std::size_t len = gather(c, mem, true, 0, 1, iov_);
        std::uint8_t id[kIdSize] = {};
        std::memcpy(id, serial_.data(), std::min(serial_.size(), kIdSize));
        std::size_t done = 0;
        for (const iovec& v : iov_) {
            const std::size_t n = std::min(v.iov_len, kIdSize - done);
            // SAFETY: iov_ entries point into guest RAM checked by the queue.
            std::memcpy(v.iov_base, id + done, n);
            done += n;
            if (done == kIdSize) break;
        }
        written += static_cast<std::uint32_t>(std::min(len, kIdSize));
        break;
    }
    default:
        result = kStatusUnsupported;
        break;
    }
    // SAFETY: status points at the last writable byte, inside guest RAM as the queue checked.
    *status = result;
    return written;
}

Status Block::process(unsigned q, Transport& t) {
    Virtqueue& vq = t.queue(q);
    bool any = false;
    while (HULL_TRY(vq.pop(t.memory(), chain_))) {
        const std::uint32_t written = HULL_TRY(execute(chain_, t.memory()));
        HULL_TRY(vq.push_used(t.memory(), chain_.head, written));
        any = true;
    }
    if (any) t.notify_used(q);
    return {};
}

}  // namespace hull::vm::virtio
