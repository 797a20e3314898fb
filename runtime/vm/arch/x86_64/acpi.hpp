// Firmware tables for the guest: ACPI (RSDP in the 0xe0000 area, XSDT, a hardware-reduced FADT,
// MADT, and a DSDT with one LNRO0005 virtio-mmio device per region, as AML hull generates) and
// an Intel MP table, so kernels that look for either find the CPUs, the IOAPIC and the devices.
#pragma once

#include "common/result.hpp"
#include "runtime/vm/memory.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace hull::vm::x86_64 {

struct MmioDevice {
    std::uint64_t addr;
    std::uint32_t size;
    std::uint32_t irq;
};

inline constexpr std::uint64_t kMpConfigAddr = 0xf0000;  // after the ACPI tables, same reserved area

// The byte that makes `bytes` sum to zero mod 256 once stored in it (its slot must hold 0).
std::uint8_t checksum(std::span<const std::uint8_t> bytes);

// The DSDT's full bytes (header included, checksummed).
std::vector<std::uint8_t> build_dsdt(std::span<const MmioDevice> devices);

// RSDP at kAcpiAddr, the tables right after it. Fails when they do not fit below kMpConfigAddr.
Status write_acpi_tables(const GuestMemory& mem, unsigned cpus, std::span<const MmioDevice> devices);

// MP floating pointer in the EBDA, configuration table at kMpConfigAddr.
Status write_mp_table(const GuestMemory& mem, unsigned cpus, std::span<const MmioDevice> devices);

}  // namespace hull::vm::x86_64
