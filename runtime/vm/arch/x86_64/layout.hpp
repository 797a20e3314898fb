// The guest-physical address map hull gives every x86_64 VM. Fixed addresses below 1 MiB hold
// what the boot protocols need, so a kernel loaded at or above 1 MiB never collides with them.
#pragma once

#include <cstdint>
#include <vector>

namespace hull::vm::x86_64 {

inline constexpr std::uint64_t kGdtAddr = 0x500;        // 5 entries: null, code32, code64, data, tss
inline constexpr std::uint64_t kStartInfoAddr = 0x6000; // PVH hvm_start_info
inline constexpr std::uint64_t kModlistAddr = 0x6040;   // PVH module list (the initrd)
inline constexpr std::uint64_t kMemmapAddr = 0x6100;    // PVH memory map
inline constexpr std::uint64_t kZeroPageAddr = 0x7000;  // Linux boot_params
inline constexpr std::uint64_t kBootStack = 0x8ff0;
inline constexpr std::uint64_t kPml4Addr = 0x9000;
inline constexpr std::uint64_t kPdptAddr = 0xa000;
inline constexpr std::uint64_t kPdAddr = 0xb000;        // 4 page directories: 4 GiB in 2 MiB pages
inline constexpr std::uint64_t kCmdlineAddr = 0x20000;
inline constexpr std::uint64_t kCmdlineRoom = 0x10000;  // the most any header may ask for
inline constexpr std::uint64_t kEbdaAddr = 0x9fc00;     // MP floating pointer and table
inline constexpr std::uint64_t kAcpiAddr = 0xe0000;     // RSDP first, then the tables
inline constexpr std::uint64_t kAcpiEnd = 0x100000;
inline constexpr std::uint64_t kHighMemStart = 0x100000;
inline constexpr std::uint64_t kMmioHoleStart = 0xc0000000;  // 3 GiB: RAM stops here ...
inline constexpr std::uint64_t kHighRamStart = 0x100000000;  // ... and resumes at 4 GiB
inline constexpr std::uint64_t kVirtioMmioBase = 0xd0000000;
inline constexpr std::uint64_t kVirtioMmioSize = 0x1000;
inline constexpr std::uint32_t kVirtioFirstIrq = 5;
inline constexpr std::uint32_t kIoapicPins = 24;
inline constexpr std::uint64_t kIoapicAddr = 0xfec00000;
inline constexpr std::uint64_t kLapicAddr = 0xfee00000;
inline constexpr std::uint64_t kTssAddr = 0xfffbd000;   // KVM's real-mode TSS (3 pages)
inline constexpr std::uint64_t kIdentityMapAddr = 0xfffbc000;
inline constexpr std::uint16_t kComPort = 0x3f8;
inline constexpr std::uint32_t kComIrq = 4;
inline constexpr std::uint16_t kExitPort = 0x501;
inline constexpr std::uint16_t kSleepControlPort = 0x600;  // ACPI hardware-reduced power-off

inline constexpr std::uint32_t kE820Ram = 1;
inline constexpr std::uint32_t kE820Reserved = 2;

struct E820Entry {
    std::uint64_t addr;
    std::uint64_t size;
    std::uint32_t type;
};

// RAM below the MMIO hole and, for large guests, above 4 GiB.
inline std::uint64_t low_ram_end(std::uint64_t mem) { return mem < kMmioHoleStart ? mem : kMmioHoleStart; }
inline std::uint64_t high_ram_size(std::uint64_t mem) { return mem > kMmioHoleStart ? mem - kMmioHoleStart : 0; }

// The memory map every boot protocol reports: usable RAM, with the EBDA (MP table) and the
// 0xe0000 area (ACPI) reserved, and the legacy VGA/ROM window left out.
std::vector<E820Entry> e820_map(std::uint64_t mem);

// Virtio-mmio device `i` (disks in order, then the console).
inline std::uint64_t virtio_mmio_addr(unsigned i) { return kVirtioMmioBase + i * kVirtioMmioSize; }
inline std::uint32_t virtio_irq(unsigned i) { return kVirtioFirstIrq + i; }
inline constexpr unsigned kMaxVirtioDevices = kIoapicPins - kVirtioFirstIrq;

}  // namespace hull::vm::x86_64
