// Split virtqueues and the virtio-mmio transport driven like a guest driver would, against a fake
// guest memory and a recorded interrupt line; virtio-blk against a temporary file.
#include "runtime/vm/devices/virtio/blk.hpp"
#include "runtime/vm/devices/virtio/console.hpp"
#include "runtime/vm/devices/virtio/mmio.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace hull::vm::virtio {
namespace {

constexpr std::uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kData = 0x8000;
constexpr std::uint16_t kQueueSize = 8;

struct RecordedIrq final : IrqLine {
    bool level = false;
    int raises = 0;
    void set_level(bool high) override {
        if (high && !level) ++raises;
        level = high;
    }
};

// Fake guest RAM plus a driver-side view of one queue.
struct FakeGuest {
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(0x20000);
    GuestMemory mem;
    std::uint16_t avail_idx = 0;
    FakeGuest() { mem.add_region(0, ram.size(), ram.data()); }

    template <class T>
    void put(std::uint64_t a, T v) { std::memcpy(ram.data() + a, &v, sizeof v); }
    template <class T>
    T get(std::uint64_t a) const {
        T v;
        std::memcpy(&v, ram.data() + a, sizeof v);
        return v;
    }
    void desc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags, std::uint16_t next = 0) {
        put(kDesc + 16 * i, addr);
        put(kDesc + 16 * i + 8, len);
        put<std::uint16_t>(kDesc + 16 * i + 12, flags);
        put<std::uint16_t>(kDesc + 16 * i + 14, next);
    }
    void offer(std::uint16_t head) {
        put<std::uint16_t>(kAvail + 4 + 2 * (avail_idx % kQueueSize), head);
        put<std::uint16_t>(kAvail + 2, ++avail_idx);
    }
    std::uint16_t used_idx() const { return get<std::uint16_t>(kUsed + 2); }
};

Virtqueue ready_queue() {
    Virtqueue q;
    q.size = kQueueSize;
    q.desc_addr = kDesc;
    q.avail_addr = kAvail;
    q.used_addr = kUsed;
    q.ready = true;
    return q;
}

TEST(VmVirtqueue, PopsChainsAndPushesUsed) {
    FakeGuest g;
    Virtqueue q = ready_queue();
    ASSERT_TRUE(q.valid(g.mem));
    g.desc(0, kData, 16, 1, 1);        // readable, next 1
    g.desc(1, kData + 0x100, 512, 3, 2);  // writable, next 2
    g.desc(2, kData + 0x300, 1, 2);    // writable, last
    g.offer(0);
    Chain c;
    auto r = q.pop(g.mem, c);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(c.head, 0);
    ASSERT_EQ(c.descs.size(), 3u);
    EXPECT_FALSE(c.descs[0].device_writable);
    EXPECT_TRUE(c.descs[1].device_writable);
    EXPECT_EQ(c.descs[1].len, 512u);
    r = q.pop(g.mem, c);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);  // ring empty
    ASSERT_TRUE(q.push_used(g.mem, 0, 513));
    EXPECT_EQ(g.used_idx(), 1);
    EXPECT_EQ(g.get<std::uint32_t>(kUsed + 4), 0u);
    EXPECT_EQ(g.get<std::uint32_t>(kUsed + 8), 513u);
}

TEST(VmVirtqueue, RejectsMalformedChains) {
    FakeGuest g;
    Chain c;
    {
        Virtqueue q = ready_queue();
        g.desc(0, kData, 16, 1, 0);  // points at itself
        g.offer(0);
        auto r = q.pop(g.mem, c);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().message(), "virtqueue descriptor chain loops");
    }
    {
        Virtqueue q = ready_queue();
        g.avail_idx = 0;
        g.desc(0, 0x10000000, 16, 0);  // outside RAM
        g.offer(0);
        auto r = q.pop(g.mem, c);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().message(), "virtqueue buffer at 0x10000000 (16 bytes) is outside guest RAM");
    }
    {
        Virtqueue q = ready_queue();
        g.avail_idx = 0;
        g.offer(kQueueSize);  // head out of range
        auto r = q.pop(g.mem, c);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().message(), "virtqueue head index 8 is out of range");
    }
    {
        Virtqueue q = ready_queue();
        g.avail_idx = 0;
        g.desc(0, kData, 16, 3, 1);  // writable then readable
        g.desc(1, kData, 16, 0);
        g.offer(0);
        auto r = q.pop(g.mem, c);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().message(), "virtqueue readable descriptor follows a writable one");
    }
    Virtqueue bad = ready_queue();
    bad.size = 6;  // not a power of two
    EXPECT_FALSE(bad.valid(g.mem));
    bad = ready_queue();
    bad.used_addr = 0x1ffff0;  // outside RAM
    EXPECT_FALSE(bad.valid(g.mem));
}

// A driver's view of the transport's registers.
struct Driver {
    Transport& t;
    std::uint32_t read(std::uint64_t off) {
        std::uint8_t b[4];
        t.read(off, b);
        std::uint32_t v;
        std::memcpy(&v, b, 4);
        return v;
    }
    void write(std::uint64_t off, std::uint32_t v) {
        std::uint8_t b[4];
        std::memcpy(b, &v, 4);
        t.write(off, b);
    }
    // Negotiates `features` and sets up queue 0 at the fixed rings; returns the status read back.
    std::uint32_t bring_up(std::uint64_t features) {
        write(0x70, 0);
        write(0x70, 1 | 2);
        write(0x24, 0);
        write(0x20, static_cast<std::uint32_t>(features));
        write(0x24, 1);
        write(0x20, static_cast<std::uint32_t>(features >> 32));
        write(0x70, 1 | 2 | 8);
        const std::uint32_t st = read(0x70);
        if (!(st & 8)) return st;
        write(0x30, 0);
        write(0x38, kQueueSize);
        write(0x80, kDesc);
        write(0x84, 0);
        write(0x90, kAvail);
        write(0x94, 0);
        write(0xa0, kUsed);
        write(0xa4, 0);
        write(0x44, 1);
        write(0x70, 1 | 2 | 8 | 4);
        return read(0x70);
    }
};

struct TempDisk {
    std::string path;
    int fd = -1;
    explicit TempDisk(std::size_t size) {
        char tmpl[] = "/tmp/hull-vm-disk-XXXXXX";
        fd = ::mkstemp(tmpl);
        path = tmpl;
        std::string pattern(size, '\0');
        for (std::size_t i = 0; i < size; ++i) pattern[i] = static_cast<char>('A' + (i / 512) % 26);
        EXPECT_EQ(::write(fd, pattern.data(), size), static_cast<ssize_t>(size));
    }
    ~TempDisk() {
        ::close(fd);
        ::unlink(path.c_str());
    }
    UniqueFd open(bool ro) const { return UniqueFd(::open(path.c_str(), (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC)); }
};

TEST(VmVirtioMmio, IdentifiesAndNegotiates) {
    FakeGuest g;
    TempDisk disk(4096);
    Block blk(disk.open(true), 4096, true, "d0");
    RecordedIrq irq;
    Transport t(blk, g.mem, &irq);
    Driver d{t};
    EXPECT_EQ(d.read(0x000), 0x74726976u);
    EXPECT_EQ(d.read(0x004), 2u);
    EXPECT_EQ(d.read(0x008), 2u);
    d.write(0x14, 0);
    EXPECT_EQ(d.read(0x10), (1u << 5) | (1u << 9));  // RO, FLUSH
    d.write(0x14, 1);
    EXPECT_EQ(d.read(0x10), 1u);  // VERSION_1
    std::uint8_t cap[8];
    t.read(0x100, cap);
    std::uint64_t sectors;
    std::memcpy(&sectors, cap, 8);
    EXPECT_EQ(sectors, 8u);
    // Without VERSION_1 (a legacy driver) FEATURES_OK does not stick.
    EXPECT_FALSE(d.bring_up(1u << 5) & 8);
    // Features the device never offered do not either.
    EXPECT_FALSE(d.bring_up(kFeatureVersion1 | (1u << 28)) & 8);
    EXPECT_EQ(d.bring_up(kFeatureVersion1 | Block::kFeatureRo), 1u | 2 | 8 | 4);
    d.write(0x30, 0);
    EXPECT_EQ(d.read(0x34), Virtqueue::kMaxSize);
    EXPECT_EQ(d.read(0x44), 1u);
}

// Submits one block request (header, data, status) and returns the status byte.
std::uint8_t request(FakeGuest& g, Driver& d, std::uint32_t type, std::uint64_t sector, std::uint32_t len) {
    g.put<std::uint32_t>(kData, type);
    g.put<std::uint32_t>(kData + 4, 0);
    g.put<std::uint64_t>(kData + 8, sector);
    g.put<std::uint8_t>(kData + 0x3000, 0xff);
    const std::uint16_t data_flags = type == 0 ? 2 : 0;
    g.desc(0, kData, 16, 1, 1);
    g.desc(1, kData + 0x1000, len, static_cast<std::uint16_t>(data_flags | 1), 2);
    g.desc(2, kData + 0x3000, 1, 2);
    g.offer(0);
    d.write(0x50, 0);
    return g.get<std::uint8_t>(kData + 0x3000);
}

TEST(VmVirtioBlk, ReadWriteFlushAndInterrupt) {
    FakeGuest g;
    TempDisk disk(8 * 512);
    Block blk(disk.open(false), 8 * 512, false, "d0");
    RecordedIrq irq;
    Transport t(blk, g.mem, &irq);
    Driver d{t};
    ASSERT_EQ(d.bring_up(kFeatureVersion1 | Block::kFeatureFlush), 15u);

    EXPECT_EQ(request(g, d, 0, 2, 1024), 0);  // read sectors 2-3
    EXPECT_EQ(g.ram[kData + 0x1000], 'C');
    EXPECT_EQ(g.ram[kData + 0x1000 + 512], 'D');
    EXPECT_EQ(g.used_idx(), 1);
    EXPECT_EQ(g.get<std::uint32_t>(kUsed + 8), 1025u);  // data plus the status byte
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(d.read(0x60), 1u);
    d.write(0x64, 1);  // InterruptACK lowers the line
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(d.read(0x60), 0u);

    std::memset(g.ram.data() + kData + 0x1000, 'z', 512);
    EXPECT_EQ(request(g, d, 1, 7, 512), 0);  // write the last sector
    char back[4] = {};
    ASSERT_EQ(::pread(disk.fd, back, 3, 7 * 512), 3);
    EXPECT_STREQ(back, "zzz");
    EXPECT_EQ(request(g, d, 4, 0, 0), 0);    // flush
    EXPECT_EQ(request(g, d, 0, 7, 1024), 1);  // past the end: IOERR
    EXPECT_EQ(request(g, d, 99, 0, 512), 2);  // unknown type: UNSUPP
    EXPECT_EQ(irq.raises, 2);                 // level held high since the last ACK
}

TEST(VmVirtioBlk, ReadOnlyRefusesWrites) {
    FakeGuest g;
    TempDisk disk(8 * 512);
    Block blk(disk.open(true), 8 * 512, true, "d0");
    Transport t(blk, g.mem, nullptr);
    Driver d{t};
    ASSERT_EQ(d.bring_up(kFeatureVersion1 | Block::kFeatureRo), 15u);
    EXPECT_EQ(request(g, d, 1, 0, 512), 1);
    EXPECT_EQ(request(g, d, 0, 0, 512), 0);
}

TEST(VmVirtioBlk, MalformedRequestNeedsReset) {
    FakeGuest g;
    TempDisk disk(512);
    Block blk(disk.open(false), 512, false, "d0");
    RecordedIrq irq;
    Transport t(blk, g.mem, &irq);
    Driver d{t};
    ASSERT_EQ(d.bring_up(kFeatureVersion1), 15u);
    g.desc(0, kData, 8, 0);  // an 8-byte header, no status
    g.offer(0);
    d.write(0x50, 0);
    EXPECT_TRUE(d.read(0x70) & 0x40);   // DEVICE_NEEDS_RESET
    EXPECT_EQ(d.read(0x60), 2u);        // configuration-change interrupt
    d.write(0x70, 0);                   // reset clears it all
    EXPECT_EQ(d.read(0x70), 0u);
    EXPECT_FALSE(irq.level);
}

TEST(VmVirtioConsole, TransmitsToOutput) {
    FakeGuest g;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    Console con(p[1]);
    RecordedIrq irq;
    Transport t(con, g.mem, &irq);
    Driver d{t};
    d.write(0x70, 1 | 2);
    d.write(0x20, 0);
    d.write(0x24, 1);
    d.write(0x20, 1);
    d.write(0x70, 1 | 2 | 8);
    d.write(0x30, 1);  // transmitq
    d.write(0x38, kQueueSize);
    d.write(0x80, kDesc);
    d.write(0x90, kAvail);
    d.write(0xa0, kUsed);
    d.write(0x44, 1);
    d.write(0x70, 15);
    std::memcpy(g.ram.data() + kData, "hello", 5);
    g.desc(0, kData, 5, 0);
    g.offer(0);
    d.write(0x50, 1);
    char buf[8] = {};
    ASSERT_EQ(::read(p[0], buf, sizeof buf), 5);
    EXPECT_STREQ(buf, "hello");
    EXPECT_EQ(g.used_idx(), 1);
    EXPECT_TRUE(irq.level);
    ::close(p[0]);
    ::close(p[1]);
}

// One queue as a driver lays it out in the fake guest's RAM, at rings of its own.
struct GuestQueue {
    FakeGuest& g;
    std::uint64_t desc, avail, used;
    std::uint16_t avail_idx = 0;
    void set_desc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags) {
        g.put(desc + 16 * i, addr);
        g.put(desc + 16 * i + 8, len);
        g.put<std::uint16_t>(desc + 16 * i + 12, flags);
        g.put<std::uint16_t>(desc + 16 * i + 14, 0);
    }
    void offer(std::uint16_t head) {
        g.put<std::uint16_t>(avail + 4 + 2 * (avail_idx % kQueueSize), head);
        g.put<std::uint16_t>(avail + 2, ++avail_idx);
    }
    std::uint16_t used_idx() const { return g.get<std::uint16_t>(used + 2); }
    // The n-th used element: (descriptor head, bytes written).
    std::pair<std::uint32_t, std::uint32_t> used_elem(std::uint16_t n) const {
        return {g.get<std::uint32_t>(used + 4 + 8 * (n % kQueueSize)), g.get<std::uint32_t>(used + 8 + 8 * (n % kQueueSize))};
    }
};

// A console driver: VERSION_1, receiveq at the fixed rings, transmitq at rings of its own.
struct ConsoleDriver {
    FakeGuest& g;
    Transport& t;
    Driver d{t};
    GuestQueue rx{g, kDesc, kAvail, kUsed};
    GuestQueue tx{g, 0x4000, 0x5000, 0x6000};
    static constexpr std::uint64_t kRxBuf = 0x9000, kTxBuf = 0xa000;

    void setup(unsigned q, const GuestQueue& gq) {
        d.write(0x30, q);
        d.write(0x38, kQueueSize);
        d.write(0x80, static_cast<std::uint32_t>(gq.desc));
        d.write(0x90, static_cast<std::uint32_t>(gq.avail));
        d.write(0xa0, static_cast<std::uint32_t>(gq.used));
        d.write(0x44, 1);
    }
    // With `reset` false, from a device nobody has driven yet (a reset would drop what it holds).
    void bring_up(bool reset = true) {
        if (reset) d.write(0x70, 0);
        d.write(0x70, 1 | 2);
        d.write(0x24, 1);
        d.write(0x20, 1);
        d.write(0x70, 1 | 2 | 8);
        setup(0, rx);
        setup(1, tx);
        d.write(0x70, 15);
    }
    // Posts receive buffer `i` (`len` bytes at kRxBuf + 0x100 * i) and notifies the receiveq.
    void post_rx(std::uint16_t i, std::uint32_t len) {
        rx.set_desc(i, kRxBuf + 0x100 * i, len, 2);
        rx.offer(i);
        d.write(0x50, 0);
    }
    std::string rx_bytes(std::uint16_t i, std::uint32_t len) const {
        return std::string(reinterpret_cast<const char*>(g.ram.data() + kRxBuf + 0x100 * i), len);
    }
    // Transmits `bytes` in one buffer, as descriptor `i`.
    void transmit(std::uint16_t i, const std::string& bytes) {
        std::memcpy(g.ram.data() + kTxBuf + 0x100 * i, bytes.data(), bytes.size());
        tx.set_desc(i, kTxBuf + 0x100 * i, static_cast<std::uint32_t>(bytes.size()), 0);
        tx.offer(i);
        d.write(0x50, 1);
    }
};

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(VmVirtioConsole, HostBytesWaitForTheDriverAndItsBuffers) {
    FakeGuest g;
    Console con(Console::kControl);
    RecordedIrq irq;
    Transport t(con, g.mem, &irq);
    ConsoleDriver cd{g, t};
    // Before the driver is up the bytes wait in the device.
    ASSERT_TRUE(con.send(bytes_of(std::string("\x01\x01\x0f", 3)), t));
    EXPECT_EQ(con.pending(), 3u);
    cd.bring_up(false);
    EXPECT_EQ(cd.rx.used_idx(), 0);
    EXPECT_FALSE(irq.level);
    // The first buffer the driver posts takes them, with the used-buffer interrupt.
    cd.post_rx(0, 64);
    ASSERT_EQ(cd.rx.used_idx(), 1);
    EXPECT_EQ(cd.rx.used_elem(0), std::make_pair(0u, 3u));
    EXPECT_EQ(cd.rx_bytes(0, 3), std::string("\x01\x01\x0f", 3));
    EXPECT_EQ(con.pending(), 0u);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(cd.d.read(0x60), 1u);
    cd.d.write(0x64, 1);
    EXPECT_FALSE(irq.level);
    // A buffer posted with nothing to say stays with the device until bytes come.
    cd.post_rx(1, 64);
    EXPECT_EQ(cd.rx.used_idx(), 1);
    EXPECT_FALSE(irq.level);
    ASSERT_TRUE(con.send(bytes_of("ab"), t));
    ASSERT_EQ(cd.rx.used_idx(), 2);
    EXPECT_EQ(cd.rx.used_elem(1), std::make_pair(1u, 2u));
    EXPECT_EQ(cd.rx_bytes(1, 2), "ab");
    EXPECT_TRUE(irq.level);
}

TEST(VmVirtioConsole, BytesSpreadOverSmallBuffersAndWaitForMore) {
    FakeGuest g;
    Console con(Console::kControl);
    RecordedIrq irq;
    Transport t(con, g.mem, &irq);
    ConsoleDriver cd{g, t};
    cd.bring_up();
    cd.post_rx(0, 2);
    cd.post_rx(1, 2);
    ASSERT_TRUE(con.send(bytes_of("hello"), t));
    ASSERT_EQ(cd.rx.used_idx(), 2);
    EXPECT_EQ(cd.rx_bytes(0, 2), "he");
    EXPECT_EQ(cd.rx_bytes(1, 2), "ll");
    EXPECT_EQ(con.pending(), 1u);
    cd.post_rx(2, 8);
    ASSERT_EQ(cd.rx.used_idx(), 3);
    EXPECT_EQ(cd.rx.used_elem(2), std::make_pair(2u, 1u));
    EXPECT_EQ(cd.rx_bytes(2, 1), "o");
    EXPECT_EQ(con.pending(), 0u);
}

TEST(VmVirtioConsole, FullBufferDropsAMessageWhole) {
    FakeGuest g;
    Console con(Console::kControl);
    Transport t(con, g.mem, nullptr);
    ConsoleDriver cd{g, t};
    cd.bring_up();  // but no receive buffers: nothing drains
    const std::string big(Console::kMaxPending - 2, 'x');
    ASSERT_TRUE(con.send(bytes_of(big), t));
    EXPECT_FALSE(con.send(bytes_of("abc"), t));  // 3 bytes do not fit in 2
    EXPECT_EQ(con.pending(), Console::kMaxPending - 2);
    EXPECT_TRUE(con.send(bytes_of("yz"), t));
    EXPECT_EQ(con.pending(), Console::kMaxPending);
    // Draining wraps around the ring and keeps the order.
    for (std::uint16_t i = 0; i < 4; ++i) cd.post_rx(i, 0x100);
    EXPECT_EQ(con.pending(), Console::kMaxPending - 0x400);
    EXPECT_TRUE(con.send(bytes_of("after"), t));
    std::string all;
    for (std::uint16_t n = 4; con.pending() > 0 && n < 40; ++n) {
        cd.post_rx(static_cast<std::uint16_t>(n % kQueueSize), 0x100);
        ASSERT_EQ(cd.rx.used_idx(), n + 1);
        const auto [head, len] = cd.rx.used_elem(n);
        all += cd.rx_bytes(static_cast<std::uint16_t>(head), len);
    }
    EXPECT_EQ(con.pending(), 0u);
    EXPECT_EQ(all.size(), Console::kMaxPending - 0x400 + 5);
    EXPECT_EQ(all.substr(all.size() - 7), "yzafter");
}

TEST(VmVirtioConsole, ReadyArrivesInPiecesAndResetForgetsIt) {
    FakeGuest g;
    Console con(Console::kControl);
    RecordedIrq irq;
    Transport t(con, g.mem, &irq);
    ConsoleDriver cd{g, t};
    cd.bring_up();
    // A message of a type the host does not know, whose payload holds the kReady byte, is skipped.
    cd.transmit(0, std::string("\x09\x02\x03\x00", 4));
    EXPECT_FALSE(con.guest_ready());
    cd.transmit(1, std::string("\x03", 1));  // kReady's type byte ...
    EXPECT_FALSE(con.guest_ready());
    cd.transmit(2, std::string("\x00", 1));  // ... and its length, in another buffer
    EXPECT_TRUE(con.guest_ready());
    EXPECT_EQ(cd.tx.used_idx(), 3);
    // A reset driver listens no more, and what waited for the old one is gone.
    ASSERT_TRUE(con.send(bytes_of("zz"), t));
    EXPECT_EQ(con.pending(), 2u);
    cd.d.write(0x70, 0);
    EXPECT_FALSE(con.guest_ready());
    EXPECT_EQ(con.pending(), 0u);
}

TEST(VmVirtioConsole, OutputConsoleNeverTakesTransmitsForControl) {
    FakeGuest g;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    Console con(p[1]);
    Transport t(con, g.mem, nullptr);
    ConsoleDriver cd{g, t};
    cd.bring_up();
    cd.transmit(0, std::string("\x03\x00", 2));
    EXPECT_FALSE(con.guest_ready());
    char buf[4] = {};
    ASSERT_EQ(::read(p[0], buf, sizeof buf), 2);
    EXPECT_EQ(std::string(buf, 2), std::string("\x03\x00", 2));
    ::close(p[0]);
    ::close(p[1]);
}

TEST(VmVirtioConsole, ReadOnlyReceiveBufferNeedsReset) {
    FakeGuest g;
    Console con(Console::kControl);
    RecordedIrq irq;
    Transport t(con, g.mem, &irq);
    ConsoleDriver cd{g, t};
    cd.bring_up();
    cd.rx.set_desc(0, ConsoleDriver::kRxBuf, 64, 0);  // not device-writable
    cd.rx.offer(0);
    cd.d.write(0x50, 0);
    EXPECT_FALSE(cd.d.read(0x70) & 0x40);  // nothing to write yet: not looked at
    ASSERT_TRUE(con.send(bytes_of("x"), t));
    EXPECT_TRUE(cd.d.read(0x70) & 0x40);  // DEVICE_NEEDS_RESET
    EXPECT_EQ(cd.d.read(0x60), 2u);
    EXPECT_TRUE(irq.level);
}

}  // namespace
}  // namespace hull::vm::virtio
