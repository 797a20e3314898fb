#include "runtime/vm/arch/x86_64/acpi.hpp"

#include "runtime/vm/arch/x86_64/layout.hpp"

#include <cstring>
#include <string_view>

namespace hull::vm::x86_64 {
namespace {

constexpr char kOemId[] = "HULL  ";      // 6 bytes
constexpr char kOemTableId[] = "HULLVM  ";  // 8 bytes
constexpr std::size_t kHeaderSize = 36;

// Little-endian byte appender for table building.
struct Bytes {
    std::vector<std::uint8_t> b;
    void u8(std::uint8_t v) { b.push_back(v); }
    void u16(std::uint16_t v) { append(&v, 2); }
    void u32(std::uint32_t v) { append(&v, 4); }
    void u64(std::uint64_t v) { append(&v, 8); }
    void str(std::string_view s) { append(s.data(), s.size()); }
    void append(const void* p, std::size_t n) {
        const auto* c = static_cast<const std::uint8_t*>(p);
        b.insert(b.end(), c, c + n);
    }
    void put32(std::size_t off, std::uint32_t v) { std::memcpy(b.data() + off, &v, 4); }
    void put16(std::size_t off, std::uint16_t v) { std::memcpy(b.data() + off, &v, 2); }
};

// The common ACPI table header, with length and checksum filled by finish_table.
Bytes table(std::string_view sig, std::uint8_t revision) {
    Bytes t;
    t.str(sig);
    t.u32(0);  // length
    t.u8(revision);
    t.u8(0);  // checksum
    t.str(std::string_view(kOemId, 6));
    t.str(std::string_view(kOemTableId, 8));
    t.u32(1);           // OEM revision
    t.str("HULL");      // creator id
    t.u32(1);           // creator revision
    return t;
}

std::vector<std::uint8_t> finish_table(Bytes t) {
    t.put32(4, static_cast<std::uint32_t>(t.b.size()));
    t.b[9] = checksum(t.b);
    return std::move(t.b);
}

// AML PkgLength: the length of what follows the opcode, counting the PkgLength bytes themselves.
void pkg_length(Bytes& out, std::size_t content) {
    if (content + 1 < 0x40) {
        out.u8(static_cast<std::uint8_t>(content + 1));
    } else if (content + 2 < 0x1000) {
        const std::size_t n = content + 2;
        out.u8(static_cast<std::uint8_t>(0x40 | (n & 0xf)));
        out.u8(static_cast<std::uint8_t>(n >> 4));
    } else {
        const std::size_t n = content + 3;
        out.u8(static_cast<std::uint8_t>(0x80 | (n & 0xf)));
        out.u8(static_cast<std::uint8_t>(n >> 4));
        out.u8(static_cast<std::uint8_t>(n >> 12));
    }
}

// Opcode, PkgLength, body.
void aml_package(Bytes& out, std::initializer_list<std::uint8_t> op, const Bytes& body) {
    for (std::uint8_t o : op) out.u8(o);
    pkg_length(out, body.b.size());
    out.append(body.b.data(), body.b.size());
}

constexpr std::uint8_t kNameOp = 0x08, kStringPrefix = 0x0d, kBytePrefix = 0x0a, kBufferOp = 0x11,
                       kPackageOp = 0x12, kScopeOp = 0x10, kExtOpPrefix = 0x5b, kDeviceOp = 0x82,
                       kRootChar = 0x5c;

// Device (VRnn) { _HID "LNRO0005", _UID n, _CRS { Memory32Fixed, Interrupt (level, high) } }
void aml_virtio_device(Bytes& out, unsigned index, const MmioDevice& d) {
    static constexpr char kHexDigits[] = "0123456789ABCDEF";
    Bytes body;
    body.u8('V');
    body.u8('R');
    body.u8(static_cast<std::uint8_t>(kHexDigits[(index >> 4) & 0xf]));
    body.u8(static_cast<std::uint8_t>(kHexDigits[index & 0xf]));
    body.u8(kNameOp);
    body.str("_HID");
    body.u8(kStringPrefix);
    body.str("LNRO0005");
    body.u8(0);
    body.u8(kNameOp);
    body.str("_UID");
    body.u8(kBytePrefix);
    body.u8(static_cast<std::uint8_t>(index));

    Bytes res;
    res.u8(0x86);  // Memory32Fixed, 9 bytes: read/write, base, length
    res.u16(9);
    res.u8(1);
    res.u32(static_cast<std::uint32_t>(d.addr));
    res.u32(d.size);
    res.u8(0x89);  // Extended Interrupt, one entry: consumer, level, active-high, exclusive
    res.u16(6);
    res.u8(0x01);
    res.u8(1);
    res.u32(d.irq);
    res.u8(0x79);  // End tag; checksum 0 means "treat as correct"
    res.u8(0);
    Bytes buf;
    buf.u8(kBytePrefix);
    buf.u8(static_cast<std::uint8_t>(res.b.size()));
    buf.append(res.b.data(), res.b.size());
    body.u8(kNameOp);
    body.str("_CRS");
    aml_package(body, {kBufferOp}, buf);

    aml_package(out, {kExtOpPrefix, kDeviceOp}, body);
}

void write_gas_io(Bytes& t, std::size_t off, std::uint16_t port) {
    // Generic Address Structure: System I/O, 8 bits wide, byte access.
    t.b[off] = 1;
    t.b[off + 1] = 8;
    t.b[off + 2] = 0;
    t.b[off + 3] = 1;
    const std::uint64_t addr = port;
    std::memcpy(t.b.data() + off + 4, &addr, 8);
}

std::uint64_t align16(std::uint64_t v) { return (v + 15) & ~std::uint64_t{15}; }

}  // namespace

std::uint8_t checksum(std::span<const std::uint8_t> bytes) {
    std::uint8_t sum = 0;
    for (std::uint8_t b : bytes) sum = static_cast<std::uint8_t>(sum + b);
    return static_cast<std::uint8_t>(-sum);
}

std::vector<std::uint8_t> build_dsdt(std::span<const MmioDevice> devices) {
    Bytes t = table("DSDT", 2);
    // Name (_S5_, Package () { 5, 5 }): the sleep type hardware-reduced power-off writes.
    t.u8(kNameOp);
    t.str("_S5_");
    Bytes s5;
    s5.u8(2);
    s5.u8(kBytePrefix);
    s5.u8(5);
    s5.u8(kBytePrefix);
    s5.u8(5);
    aml_package(t, {kPackageOp}, s5);
    Bytes sb;
    sb.u8(kRootChar);
    sb.str("_SB_");
    for (unsigned i = 0; i < devices.size(); ++i) aml_virtio_device(sb, i, devices[i]);
    aml_package(t, {kScopeOp}, sb);
    return finish_table(std::move(t));
}

Status write_acpi_tables(const GuestMemory& mem, unsigned cpus, std::span<const MmioDevice> devices) {
    const std::uint64_t xsdt_addr = kAcpiAddr + 0x40;  // after the 36-byte RSDP

    const std::vector<std::uint8_t> dsdt = build_dsdt(devices);

    Bytes fadt = table("FACP", 6);
    fadt.b.resize(276, 0);
    std::uint64_t at = xsdt_addr + align16(kHeaderSize + 2 * 8);
    const std::uint64_t fadt_addr = at;
    at = align16(at + fadt.b.size());
    const std::uint64_t madt_addr = at;

    Bytes madt = table("APIC", 5);
    madt.u32(static_cast<std::uint32_t>(kLapicAddr));
    madt.u32(1);  // PCAT_COMPAT: KVM's 8259 pair is there
    for (unsigned i = 0; i < cpus; ++i) {
        madt.u8(0);  // Processor Local APIC
        madt.u8(8);
        madt.u8(static_cast<std::uint8_t>(i));  // ACPI processor uid
        madt.u8(static_cast<std::uint8_t>(i));  // APIC id
        madt.u32(1);                            // enabled
    }
    madt.u8(1);  // I/O APIC
    madt.u8(12);
    madt.u8(0);  // id, as KVM's IOAPIC reports it
    madt.u8(0);
    madt.u32(static_cast<std::uint32_t>(kIoapicAddr));
    madt.u32(0);  // GSI base
    auto override_irq = [&madt](std::uint8_t irq, std::uint16_t flags) {
        madt.u8(2);  // Interrupt Source Override: ISA irq -> GSI
        madt.u8(10);
        madt.u8(0);  // ISA bus
        madt.u8(irq);
        madt.u32(irq);
        madt.u16(flags);
    };
    // The PIT's IRQ 0 reaches IOAPIC pin 0 under KVM's default routing (not pin 2 as on PCs),
    // and the virtio IRQs are level-triggered, active-high rather than ISA's edge.
    override_irq(0, 0);
    for (const MmioDevice& d : devices) override_irq(static_cast<std::uint8_t>(d.irq), 0x000d);
    const std::vector<std::uint8_t> madt_bytes = finish_table(std::move(madt));
    at = align16(at + madt_bytes.size());
    const std::uint64_t dsdt_addr = at;
    at += dsdt.size();
    if (at > kMpConfigAddr) return fail_msg("acpi tables do not fit below the mp table");

    // Hardware-reduced ACPI: no PM timer, no SCI, no fixed hardware; power-off through the sleep
    // control register at kSleepControlPort.
    fadt.put32(40, static_cast<std::uint32_t>(dsdt_addr));  // DSDT
    fadt.put16(109, (1 << 1) | (1 << 2) | (1 << 5));        // IAPC_BOOT_ARCH: 8042, no VGA, no CMOS RTC
    fadt.put32(112, (1u << 20) | (1u << 4) | (1u << 5));   // HW_REDUCED_ACPI, no power/sleep button
    fadt.b[131] = 5;                                        // FADT minor version (ACPI 6.5)
    const std::uint64_t x_dsdt = dsdt_addr;
    std::memcpy(fadt.b.data() + 140, &x_dsdt, 8);
    write_gas_io(fadt, 244, kSleepControlPort);
    write_gas_io(fadt, 256, kSleepControlPort + 1);
    std::memcpy(fadt.b.data() + 268, "HULLVMM\0", 8);       // hypervisor vendor identity
    const std::vector<std::uint8_t> fadt_bytes = finish_table(std::move(fadt));

    Bytes xsdt = table("XSDT", 1);
    xsdt.u64(fadt_addr);
    xsdt.u64(madt_addr);
    const std::vector<std::uint8_t> xsdt_bytes = finish_table(std::move(xsdt));

    Bytes rsdp;
    rsdp.str("RSD PTR ");
    rsdp.u8(0);  // checksum of the first 20 bytes
    rsdp.str(std::string_view(kOemId, 6));
    rsdp.u8(2);  // revision: ACPI 2.0+, XSDT
    rsdp.u32(0);  // no RSDT
    rsdp.u32(36);
    rsdp.u64(xsdt_addr);
    rsdp.u8(0);  // extended checksum
    rsdp.u8(0);
    rsdp.u8(0);
    rsdp.u8(0);
    rsdp.b[8] = checksum(std::span(rsdp.b).first(20));
    rsdp.b[32] = checksum(rsdp.b);

    const bool ok = mem.write_bytes(kAcpiAddr, rsdp.b) && mem.write_bytes(xsdt_addr, xsdt_bytes) &&
                    mem.write_bytes(fadt_addr, fadt_bytes) && mem.write_bytes(madt_addr, madt_bytes) &&
                    mem.write_bytes(dsdt_addr, dsdt);
    if (!ok) return fail_msg("guest memory too small for the acpi tables");
    return {};
}

Status write_mp_table(const GuestMemory& mem, unsigned cpus, std::span<const MmioDevice> devices) {
    Bytes t;
    t.str("PCMP");
    t.u16(0);  // base table length
    t.u8(4);   // spec revision 1.4
    t.u8(0);   // checksum
    t.str("HULL    ");
    t.str("HULLVM      ");
    t.u32(0);  // no OEM table
    t.u16(0);
    t.u16(0);  // entry count
    t.u32(static_cast<std::uint32_t>(kLapicAddr));
    t.u16(0);  // extended table
    t.u8(0);
    t.u8(0);
    std::uint16_t entries = 0;
    for (unsigned i = 0; i < cpus; ++i, ++entries) {
        t.u8(0);  // processor
        t.u8(static_cast<std::uint8_t>(i));
        t.u8(0x14);                                // LAPIC version
        t.u8(static_cast<std::uint8_t>(i == 0 ? 3 : 1));  // enabled, BSP
        t.u32(0x600);                              // signature: family 6
        t.u32(0x201);                              // features: FPU, APIC
        t.u64(0);
    }
    t.u8(1);  // bus 0: ISA
    t.u8(0);
    t.str("ISA   ");
    ++entries;
    t.u8(2);  // IOAPIC
    t.u8(0);
    t.u8(0x11);
    t.u8(1);
    t.u32(static_cast<std::uint32_t>(kIoapicAddr));
    ++entries;
    auto intsrc = [&](std::uint8_t type, std::uint8_t irq_type, std::uint16_t flags, std::uint8_t src_irq,
                      std::uint8_t dst_id, std::uint8_t dst_pin) {
        t.u8(type);
        t.u8(irq_type);
        t.u16(flags);
        t.u8(0);  // source bus: ISA
        t.u8(src_irq);
        t.u8(dst_id);
        t.u8(dst_pin);
        ++entries;
    };
    for (std::uint8_t irq = 0; irq < 16; ++irq) {
        bool virtio = false;
        for (const MmioDevice& d : devices) virtio |= d.irq == irq;
        if (irq != 2 && !virtio) intsrc(3, 0, 0, irq, 0, irq);
    }
    for (const MmioDevice& d : devices)
        intsrc(3, 0, 0x000d, static_cast<std::uint8_t>(d.irq), 0, static_cast<std::uint8_t>(d.irq));
    intsrc(4, 3, 0, 0, 0xff, 0);  // ExtINT on LINT0
    intsrc(4, 1, 0, 0, 0xff, 1);  // NMI on LINT1
    t.put16(4, static_cast<std::uint16_t>(t.b.size()));
    t.put16(34, entries);
    t.b[7] = checksum(t.b);

    Bytes fp;
    fp.str("_MP_");
    fp.u32(static_cast<std::uint32_t>(kMpConfigAddr));
    fp.u8(1);  // length in 16-byte units
    fp.u8(4);
    fp.u8(0);  // checksum
    fp.u8(0);  // feature 1: a configuration table is present
    fp.u32(0);
    fp.b[10] = checksum(fp.b);

    if (kMpConfigAddr + t.b.size() > kAcpiEnd || !mem.write_bytes(kMpConfigAddr, t.b) || !mem.write_bytes(kEbdaAddr, fp.b))
        return fail_msg("guest memory too small for the mp table");
    return {};
}

}  // namespace hull::vm::x86_64
