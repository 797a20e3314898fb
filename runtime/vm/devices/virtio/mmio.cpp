#include "runtime/vm/devices/virtio/mmio.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

#include <algorithm>
#include <cstring>

namespace hull::vm::virtio {
namespace {

enum Reg : std::uint64_t {
    kMagic = 0x000,
    kVersion = 0x004,
    kDeviceId = 0x008,
    kVendorId = 0x00c,
    kDeviceFeatures = 0x010,
    kDeviceFeaturesSel = 0x014,
    kDriverFeatures = 0x020,
    kDriverFeaturesSel = 0x024,
    kQueueSel = 0x030,
    kQueueNumMax = 0x034,
    kQueueNum = 0x038,
    kQueueReady = 0x044,
    kQueueNotify = 0x050,
    kInterruptStatus = 0x060,
    kInterruptAck = 0x064,
    kStatus = 0x070,
    kQueueDescLow = 0x080,
    kQueueDescHigh = 0x084,
    kQueueDriverLow = 0x090,
    kQueueDriverHigh = 0x094,
    kQueueDeviceLow = 0x0a0,
    kQueueDeviceHigh = 0x0a4,
    kConfigGeneration = 0x0fc,
    kConfig = 0x100,
};

constexpr std::uint32_t kMagicValue = 0x74726976;  // "virt"
constexpr std::uint32_t kVendor = 0x6c6c7568;      // "hull"
constexpr std::uint32_t kStatusFeaturesOk = 8, kStatusDriverOk = 4, kStatusNeedsReset = 0x40;

void set_low(std::uint64_t& v, std::uint32_t x) { v = (v & ~0xffffffffull) | x; }
void set_high(std::uint64_t& v, std::uint32_t x) { v = (v & 0xffffffffull) | (std::uint64_t{x} << 32); }

}  // namespace

void Transport::reset() {
    for (auto& q : queues_) q.reset();
    device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
    driver_features_ = 0;
    status_ = 0;
    dev_.reset();
    if (interrupt_status_) {
        interrupt_status_ = 0;
        if (irq_) irq_->set_level(false);
    }
}

void Transport::set_interrupt(std::uint32_t bits) {
    const bool was = interrupt_status_ != 0;
    interrupt_status_ |= bits;
    if (!was && irq_) irq_->set_level(true);
}

void Transport::notify_used(unsigned q) {
    if (queues_[q].wants_interrupt(mem_)) set_interrupt(kInterruptVring);
}

void Transport::queue_notify(unsigned q) {
    if (q >= dev_.num_queues() || !(status_ & kStatusDriverOk) || (status_ & kStatusNeedsReset)) return;
    if (!queues_[q].ready) return;
    if (Status st = dev_.process(q, *this); !st) {
        log::warn(cat("vm: virtio device type ", dev_.device_id(), " stopped: ", st.error().message()));
        // A malformed request: the device stops and tells the driver, as the spec's
        // DEVICE_NEEDS_RESET intends, instead of guessing what the guest meant.
        status_ |= kStatusNeedsReset;
        set_interrupt(kInterruptConfig);
    }
}

void Transport::read(std::uint64_t offset, std::span<std::uint8_t> data) {
    if (offset >= kConfig) {
        dev_.read_config(offset - kConfig, data);
        return;
    }
    std::uint32_t v = 0;
    const Virtqueue* q = queue_sel_ < kMaxQueues && queue_sel_ < dev_.num_queues() ? &queues_[queue_sel_] : nullptr;
    switch (offset) {
    case kMagic: v = kMagicValue; break;
    case kVersion: v = 2; break;
    case kDeviceId: v = dev_.device_id(); break;
    case kVendorId: v = kVendor; break;
    case kDeviceFeatures:
        v = device_features_sel_ == 0 ? static_cast<std::uint32_t>(dev_.features())
            : device_features_sel_ == 1 ? static_cast<std::uint32_t>(dev_.features() >> 32)
                                        : 0;
        break;
    case kQueueNumMax: v = q ? Virtqueue::kMaxSize : 0; break;
    case kQueueReady: v = q ? q->ready : 0; break;
    case kInterruptStatus: v = interrupt_status_; break;
    case kStatus: v = status_; break;
    case kConfigGeneration: v = 0; break;
    default: v = 0; break;
    }
    // Registers are 32 bits wide; narrower reads see the low bytes.
    std::memset(data.data(), 0, data.size());
    std::memcpy(data.data(), &v, std::min<std::size_t>(data.size(), 4));
}

void Transport::write(std::uint64_t offset, std::span<const std::uint8_t> data) {
    if (offset >= kConfig) return;  // neither device has writable configuration
    std::uint32_t v = 0;
    std::memcpy(&v, data.data(), std::min<std::size_t>(data.size(), 4));
    Virtqueue* q = queue_sel_ < kMaxQueues && queue_sel_ < dev_.num_queues() ? &queues_[queue_sel_] : nullptr;
    // Queue layout may only change while the queue is not ready (virtio 1.x, 4.2.2.3).
    Virtqueue* cfg = q && !q->ready ? q : nullptr;
    switch (offset) {
    case kDeviceFeaturesSel: device_features_sel_ = v; break;
    case kDriverFeaturesSel: driver_features_sel_ = v; break;
    case kDriverFeatures:
        if (status_ & kStatusFeaturesOk) break;
        if (driver_features_sel_ == 0) set_low(driver_features_, v);
        else if (driver_features_sel_ == 1) set_high(driver_features_, v);
        break;
    case kQueueSel: queue_sel_ = v; break;
    case kQueueNum:
        if (cfg) cfg->size = static_cast<std::uint16_t>(v > 0xffff ? 0 : v);
        break;
    case kQueueReady:
        if (!q) break;
        if (v == 0) q->ready = false;
        else if (q->valid(mem_)) q->ready = true;  // a queue outside RAM never becomes ready
        break;
    case kQueueDescLow: if (cfg) set_low(cfg->desc_addr, v); break;
    case kQueueDescHigh: if (cfg) set_high(cfg->desc_addr, v); break;
    case kQueueDriverLow: if (cfg) set_low(cfg->avail_addr, v); break;
    case kQueueDriverHigh: if (cfg) set_high(cfg->avail_addr, v); break;
    case kQueueDeviceLow: if (cfg) set_low(cfg->used_addr, v); break;
    case kQueueDeviceHigh: if (cfg) set_high(cfg->used_addr, v); break;
    case kQueueNotify: queue_notify(v & 0xffff); break;
    case kInterruptAck:
        if (interrupt_status_ && !(interrupt_status_ &= ~v) && irq_) irq_->set_level(false);
        break;
    case kStatus:
        if (v == 0) {
            reset();
            break;
        }
        // FEATURES_OK sticks only for a subset of what the device offers that includes VERSION_1:
        // the driver reads the status back to learn whether its choice was accepted.
        if ((v & kStatusFeaturesOk) && !(status_ & kStatusFeaturesOk) &&
            ((driver_features_ & ~dev_.features()) || !(driver_features_ & kFeatureVersion1)))
            v &= ~kStatusFeaturesOk;
        status_ = v | (status_ & kStatusNeedsReset);
        break;
    default: break;
    }
}

}  // namespace hull::vm::virtio
