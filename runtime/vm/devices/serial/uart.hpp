// The 8250/16550A UART on COM1: enough of the register set for Linux's 8250 driver (probing,
// FIFO detection, loopback test, THRE and receive interrupts) and for polled output.
#pragma once

#include "runtime/vm/devices/irq.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hull::vm {

class Uart {
public:
    static constexpr std::size_t kFifoSize = 64;

    Uart(IrqLine* irq, int out_fd) : irq_(irq), out_fd_(out_fd) {}

    // Register access at `offset` (0..7) from the base port.
    std::uint8_t read(std::uint16_t offset);
    void write(std::uint16_t offset, std::uint8_t value);

    // Host input for the guest: queues what fits and returns how much that was.
    std::size_t receive(std::span<const std::uint8_t> bytes);
    std::size_t rx_room() const { return kFifoSize - rx_count_; }

private:
    bool interrupt_pending() const;
    void update_irq();
    void push_rx(std::uint8_t b);

    IrqLine* irq_;
    int out_fd_;
    std::array<std::uint8_t, kFifoSize> rx_{};
    std::size_t rx_head_ = 0;
    std::size_t rx_count_ = 0;
    std::uint8_t ier_ = 0;
    std::uint8_t lcr_ = 0x03;  // 8N1
    std::uint8_t mcr_ = 0x08;  // OUT2: the PC's interrupt gate
    std::uint8_t lsr_errors_ = 0;
    std::uint8_t scr_ = 0;
    std::uint8_t dll_ = 0x0c;  // 9600 baud
    std::uint8_t dlm_ = 0;
    bool fifo_enabled_ = false;
    bool thr_interrupt_ = false;  // THR empty and not yet reported through IIR
    bool irq_high_ = false;
};

}  // namespace hull::vm
