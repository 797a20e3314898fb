// The 8250 UART's registers as Linux's 8250 driver and a polling guest use them.
#include "runtime/vm/devices/serial/uart.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

namespace hull::vm {
namespace {

struct RecordedIrq final : IrqLine {
    bool level = false;
    void set_level(bool high) override { level = high; }
};

struct UartFixture : ::testing::Test {
    int p[2] = {-1, -1};
    RecordedIrq irq;
    std::unique_ptr<Uart> uart;
    void SetUp() override {
        ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
        uart = std::make_unique<Uart>(&irq, p[1]);
    }
    void TearDown() override {
        ::close(p[0]);
        ::close(p[1]);
    }
    std::string output() {
        char buf[64];
        const ssize_t n = ::read(p[0], buf, sizeof buf);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
};

TEST_F(UartFixture, PolledOutput) {
    EXPECT_EQ(uart->read(5) & 0x60, 0x60);  // THRE and TEMT: ready to send
    uart->write(0, 'o');
    uart->write(0, 'k');
    EXPECT_EQ(output(), "ok");
    EXPECT_FALSE(irq.level);  // no interrupts enabled
}

TEST_F(UartFixture, DivisorLatch) {
    uart->write(3, 0x83);  // DLAB
    uart->write(0, 0x01);
    uart->write(1, 0x00);
    EXPECT_EQ(uart->read(0), 0x01);
    EXPECT_EQ(uart->read(1), 0x00);
    uart->write(3, 0x03);
    EXPECT_EQ(output(), "");  // the divisor write sent nothing
    uart->write(7, 0x5a);
    EXPECT_EQ(uart->read(7), 0x5a);
}

TEST_F(UartFixture, LoopbackAsLinuxProbesIt) {
    uart->write(4, 0x10 | 0x0a);  // loop, RTS, OUT2
    EXPECT_EQ(uart->read(6) & 0xf0, 0x90);  // CTS and DCD
    uart->write(0, 'x');
    EXPECT_EQ(output(), "");  // looped back, not sent
    EXPECT_EQ(uart->read(5) & 1, 1);
    EXPECT_EQ(uart->read(0), 'x');
    uart->write(4, 0x08);
    EXPECT_EQ(uart->read(6) & 0xb0, 0xb0);  // a terminal is there
}

TEST_F(UartFixture, FifoDetection) {
    uart->write(2, 0x01);  // FCR: enable FIFOs
    EXPECT_EQ(uart->read(2) & 0xc0, 0xc0);  // 16550A
}

TEST_F(UartFixture, ThreInterrupt) {
    uart->write(4, 0x08);  // OUT2 gates the line
    uart->write(1, 0x02);  // enable THRE interrupts: the THR is empty, so one is pending
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(uart->read(2) & 0x0f, 0x02);
    EXPECT_FALSE(irq.level);  // reading IIR acknowledged it
    EXPECT_EQ(uart->read(2) & 0x0f, 0x01);
    uart->write(0, 'a');  // sent at once: empty again, pending again
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(output(), "a");
}

TEST_F(UartFixture, ReceiveInterruptAndFifo) {
    uart->write(4, 0x08);
    uart->write(1, 0x01);  // receive interrupts
    const std::uint8_t in[] = {'h', 'i'};
    EXPECT_EQ(uart->receive(in), 2u);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(uart->read(2) & 0x0f, 0x04);
    EXPECT_EQ(uart->read(0), 'h');
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(uart->read(0), 'i');
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(uart->read(5) & 1, 0);
    std::vector<std::uint8_t> lots(100, 'z');
    EXPECT_EQ(uart->receive(lots), Uart::kFifoSize);
    EXPECT_EQ(uart->rx_room(), 0u);
}

}  // namespace
}  // namespace hull::vm
