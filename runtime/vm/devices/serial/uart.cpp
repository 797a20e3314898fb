#include "runtime/vm/devices/serial/uart.hpp"

#include <unistd.h>

#include <cerrno>

namespace hull::vm {
namespace {

// Register offsets; which one 0 and 1 are depends on LCR.DLAB.
constexpr std::uint16_t kData = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7;

constexpr std::uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04;
constexpr std::uint8_t kIirNone = 0x01, kIirThri = 0x02, kIirRdi = 0x04, kIirRlsi = 0x06, kIirFifo = 0xc0;
constexpr std::uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02;
constexpr std::uint8_t kLcrDlab = 0x80;
constexpr std::uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
constexpr std::uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr std::uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

void write_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const ssize_t r = ::write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;  // a closed stdout loses guest output, never the guest
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

}  // namespace

bool Uart::interrupt_pending() const {
    return ((ier_ & kIerRlsi) && lsr_errors_) || ((ier_ & kIerRdi) && rx_count_) || ((ier_ & kIerThri) && thr_interrupt_);
}

void Uart::update_irq() {
    // The 8250 drives its line while an enabled condition is pending; MCR.OUT2 gates it on a PC.
    const bool high = interrupt_pending() && (mcr_ & kMcrOut2);
    if (high != irq_high_) {
        irq_high_ = high;
        if (irq_) irq_->set_level(high);
    }
}

void Uart::push_rx(std::uint8_t b) {
    if (rx_count_ == kFifoSize) {
        lsr_errors_ |= kLsrOe;
        return;
    }
    rx_[(rx_head_ + rx_count_) % kFifoSize] = b;
    ++rx_count_;
}

std::size_t Uart::receive(std::span<const std::uint8_t> bytes) {
    std::size_t n = 0;
    // In loopback the receiver hears only the transmitter.
    if (mcr_ & kMcrLoop) return 0;
    while (n < bytes.size() && rx_count_ < kFifoSize) push_rx(bytes[n++]);
    update_irq();
    return n;
}

std::uint8_t Uart::read(std::uint16_t offset) {
    std::uint8_t v = 0;
    switch (offset) {
    case kData:
        if (lcr_ & kLcrDlab) return dll_;
        if (rx_count_) {
            v = rx_[rx_head_];
            rx_head_ = (rx_head_ + 1) % kFifoSize;
            --rx_count_;
        }
        break;
    case kIer:
        return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIir:
        if ((ier_ & kIerRlsi) && lsr_errors_) v = kIirRlsi;
        else if ((ier_ & kIerRdi) && rx_count_) v = kIirRdi;
        else if ((ier_ & kIerThri) && thr_interrupt_) {
            v = kIirThri;
            thr_interrupt_ = false;  // reading IIR that reports THRE acknowledges it
        } else v = kIirNone;
        if (fifo_enabled_) v |= kIirFifo;
        break;
    case kLcr:
        return lcr_;
    case kMcr:
        return mcr_;
    case kLsr:
        v = kLsrThre | kLsrTemt | lsr_errors_ | (rx_count_ ? kLsrDr : 0);
        lsr_errors_ = 0;
        break;
    case kMsr:
        if (mcr_ & kMcrLoop) {
            v = ((mcr_ & kMcrRts) ? kMsrCts : 0) | ((mcr_ & kMcrDtr) ? kMsrDsr : 0) |
                ((mcr_ & kMcrOut1) ? kMsrRi : 0) | ((mcr_ & kMcrOut2) ? kMsrDcd : 0);
        } else {
            v = kMsrDcd | kMsrDsr | kMsrCts;  // a terminal is always there
        }
        return v;
    case kScr:
        return scr_;
    default:
        return 0xff;
    }
    update_irq();
    return v;
}

void Uart::write(std::uint16_t offset, std::uint8_t value) {
    switch (offset) {
    case kData:
        if (lcr_ & kLcrDlab) {
            dll_ = value;
            return;
        }
        if (mcr_ & kMcrLoop) push_rx(value);
        else write_all(out_fd_, &value, 1);
        // Transmission is instant: the holding register is empty again at once.
        thr_interrupt_ = true;
        break;
    case kIer:
        if (lcr_ & kLcrDlab) {
            dlm_ = value;
            return;
        }
        // Enabling THRE interrupts with an empty THR raises one, as the 16550 does.
        if (!(ier_ & kIerThri) && (value & kIerThri)) thr_interrupt_ = true;
        ier_ = value & 0x0f;
        break;
    case kIir:  // FCR on write
        fifo_enabled_ = value & kFcrEnable;
        if (value & kFcrClearRx) rx_head_ = rx_count_ = 0;
        break;
    case kLcr:
        lcr_ = value;
        return;
    case kMcr:
        mcr_ = value & 0x1f;
        break;
    case kScr:
        scr_ = value;
        return;
    default:
        return;  // LSR and MSR are read-only
    }
    update_irq();
}

}  // namespace hull::vm
