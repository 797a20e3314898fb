// ACPI and MP tables: checksums, links between tables, and the devices they declare.
#include "runtime/vm/arch/x86_64/acpi.hpp"
#include "runtime/vm/arch/x86_64/layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace hull::vm::x86_64 {
namespace {

struct Fixture {
    std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(1 << 20);
    GuestMemory mem;
    Fixture() { mem.add_region(0, ram.size(), ram.data()); }
    std::uint32_t u32(std::uint64_t a) const {
        std::uint32_t v;
        std::memcpy(&v, ram.data() + a, 4);
        return v;
    }
    std::uint64_t u64(std::uint64_t a) const {
        std::uint64_t v;
        std::memcpy(&v, ram.data() + a, 8);
        return v;
    }
    std::uint8_t sum(std::uint64_t a, std::size_t n) const {
        std::uint8_t s = 0;
        for (std::size_t i = 0; i < n; ++i) s = static_cast<std::uint8_t>(s + ram[a + i]);
        return s;
    }
    std::string_view sig(std::uint64_t a) const { return {reinterpret_cast<const char*>(ram.data() + a), 4}; }
};

const std::vector<MmioDevice> kDevices = {{0xd0000000, 0x1000, 5}, {0xd0001000, 0x1000, 6}};

TEST(VmAcpi, TablesChecksumAndLink) {
    Fixture f;
    ASSERT_TRUE(write_acpi_tables(f.mem, 2, kDevices));
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(f.ram.data() + kAcpiAddr), 8), "RSD PTR ");
    EXPECT_EQ(f.sum(kAcpiAddr, 20), 0);
    EXPECT_EQ(f.sum(kAcpiAddr, 36), 0);
    const std::uint64_t xsdt = f.u64(kAcpiAddr + 24);
    ASSERT_EQ(f.sig(xsdt), "XSDT");
    EXPECT_EQ(f.sum(xsdt, f.u32(xsdt + 4)), 0);
    ASSERT_EQ(f.u32(xsdt + 4), 36u + 16);
    const std::uint64_t fadt = f.u64(xsdt + 36), madt = f.u64(xsdt + 44);
    ASSERT_EQ(f.sig(fadt), "FACP");
    ASSERT_EQ(f.sig(madt), "APIC");
    EXPECT_EQ(f.sum(fadt, f.u32(fadt + 4)), 0);
    EXPECT_EQ(f.sum(madt, f.u32(madt + 4)), 0);
    EXPECT_TRUE(f.u32(fadt + 112) & (1u << 20));  // hardware-reduced
    const std::uint64_t dsdt = f.u64(fadt + 140);
    EXPECT_EQ(dsdt, f.u32(fadt + 40));
    ASSERT_EQ(f.sig(dsdt), "DSDT");
    EXPECT_EQ(f.sum(dsdt, f.u32(dsdt + 4)), 0);
    EXPECT_LE(dsdt + f.u32(dsdt + 4), kMpConfigAddr);

    // MADT: two enabled LAPICs with ids 0 and 1, the IOAPIC at its address, overrides for the
    // virtio IRQs as level/active-high.
    int lapics = 0, ioapics = 0, level_overrides = 0;
    for (std::uint64_t p = madt + 44; p < madt + f.u32(madt + 4); p += f.ram[p + 1]) {
        ASSERT_GT(f.ram[p + 1], 0);
        if (f.ram[p] == 0) {
            EXPECT_EQ(f.ram[p + 3], lapics);
            ++lapics;
        } else if (f.ram[p] == 1) {
            EXPECT_EQ(f.u32(p + 4), kIoapicAddr);
            ++ioapics;
        } else if (f.ram[p] == 2 && f.ram[p + 8] == 0x0d) {
            ++level_overrides;
        }
    }
    EXPECT_EQ(lapics, 2);
    EXPECT_EQ(ioapics, 1);
    EXPECT_EQ(level_overrides, 2);
}

TEST(VmAcpi, DsdtDeclaresEachVirtioDevice) {
    const auto dsdt = build_dsdt(kDevices);
    const std::string s(dsdt.begin(), dsdt.end());
    std::size_t count = 0;
    for (std::size_t at = s.find("LNRO0005"); at != std::string::npos; at = s.find("LNRO0005", at + 1)) ++count;
    EXPECT_EQ(count, 2u);
    EXPECT_NE(s.find("VR00"), std::string::npos);
    EXPECT_NE(s.find("VR01"), std::string::npos);
    // The second device's Memory32Fixed descriptor: read/write, its base, 4 KiB.
    const std::uint8_t mem32[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00};
    EXPECT_NE(std::search(dsdt.begin(), dsdt.end(), std::begin(mem32), std::end(mem32)), dsdt.end());
    // Its interrupt: consumer, level, active-high, IRQ 6.
    const std::uint8_t irq[] = {0x89, 0x06, 0x00, 0x01, 0x01, 0x06, 0x00, 0x00, 0x00};
    EXPECT_NE(std::search(dsdt.begin(), dsdt.end(), std::begin(irq), std::end(irq)), dsdt.end());
    EXPECT_EQ(checksum(dsdt), 0);
}

TEST(VmAcpi, LongDsdtUsesMultiBytePackageLengths) {
    std::vector<MmioDevice> many;
    for (std::uint32_t i = 0; i < 19; ++i) many.push_back({0xd0000000 + i * 0x1000, 0x1000, 5 + i});
    const auto dsdt = build_dsdt(many);
    // Scope (\_SB_) follows the _S5_ package; its PkgLength covers the rest of the table.
    const std::size_t scope = 36 + 1 + 4 + 1 + 6;
    ASSERT_EQ(dsdt[36 + 5], 0x12);  // PackageOp of _S5_
    ASSERT_EQ(dsdt[scope], 0x10);
    const std::uint8_t lead = dsdt[scope + 1];
    ASSERT_EQ(lead >> 6, 1);  // two length bytes
    const std::size_t len = (lead & 0xf) | (std::size_t{dsdt[scope + 2]} << 4);
    EXPECT_EQ(scope + 1 + len, dsdt.size());
}

TEST(VmAcpi, MpTable) {
    Fixture f;
    ASSERT_TRUE(write_mp_table(f.mem, 4, kDevices));
    EXPECT_EQ(f.sig(kEbdaAddr), "_MP_");
    EXPECT_EQ(f.sum(kEbdaAddr, 16), 0);
    EXPECT_EQ(f.u32(kEbdaAddr + 4), kMpConfigAddr);
    EXPECT_EQ(f.sig(kMpConfigAddr), "PCMP");
    const std::uint16_t len = static_cast<std::uint16_t>(f.u32(kMpConfigAddr + 4));
    EXPECT_EQ(f.sum(kMpConfigAddr, len), 0);
    int cpus = 0;
    for (std::uint64_t p = kMpConfigAddr + 44; p < kMpConfigAddr + len; p += f.ram[p] == 0 ? 20 : 8)
        if (f.ram[p] == 0) ++cpus;
    EXPECT_EQ(cpus, 4);
}

}  // namespace
}  // namespace hull::vm::x86_64
