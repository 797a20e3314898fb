#include "runtime/vm/arch/x86_64/cpu.hpp"

#include "common/strings.hpp"
#include "runtime/vm/arch/x86_64/layout.hpp"
#include "runtime/vm/kvm.hpp"

#include <bit>
#include <cstring>

namespace hull::vm::x86_64 {
namespace {

constexpr std::uint32_t kCpuidHypervisor = 1u << 31;  // leaf 1 ecx
constexpr std::uint32_t kCpuidHtt = 1u << 28;         // leaf 1 edx
constexpr std::uint32_t kCpuidMtrr = 1u << 12;        // leaf 1 edx

constexpr std::uint32_t kMsrMiscEnable = 0x1a0;
constexpr std::uint32_t kMsrMtrrDefType = 0x2ff;
constexpr std::uint64_t kMiscEnableFastString = 1;
constexpr std::uint64_t kMtrrEnableWriteBack = (1 << 11) | 6;

constexpr std::uint64_t kCr0Pe = 1, kCr0Et = 1 << 4, kCr0Pg = 1ull << 31;
constexpr std::uint64_t kCr4Pae = 1 << 5;
constexpr std::uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10;

// APIC LVT delivery modes for LINT0/LINT1, as the PC wiring has them.
constexpr std::uint32_t kApicLvt0 = 0x350, kApicLvt1 = 0x360;
constexpr std::uint32_t kApicModeExtInt = 0x7, kApicModeNmi = 0x4;

unsigned bits_for(unsigned count) { return count <= 1 ? 0 : std::bit_width(count - 1); }

kvm_segment segment(std::uint16_t selector, std::uint8_t type, bool code64, bool db) {
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = type;
    s.present = 1;
    s.dpl = 0;
    s.db = db;
    s.s = 1;
    s.l = code64;
    s.g = 1;
    return s;
}

}  // namespace

void normalize_cpuid(std::vector<kvm_cpuid_entry2>& entries, unsigned index, unsigned count) {
    const unsigned core_bits = bits_for(count);
    for (kvm_cpuid_entry2& e : entries) {
        switch (e.function) {
        case 1:
            e.ecx |= kCpuidHypervisor;
            e.ebx = (e.ebx & 0x0000ffff) | (index << 24) | ((count & 0xff) << 16);
            if (count > 1) e.edx |= kCpuidHtt;
            break;
        case 4: {
            // Cores per package in 31:26; caches past L2 are shared by every vCPU, the rest by one.
            const std::uint32_t level = (e.eax >> 5) & 7;
            const std::uint32_t sharing = level >= 3 ? count - 1 : 0;
            e.eax = (e.eax & 0x3fff) | ((count - 1) << 26) | (sharing << 14);
            break;
        }
        case 0xb:
        case 0x1f:
            // One thread per core, `count` cores per package.
            e.edx = index;
            if (e.index == 0) {
                e.eax = 0;
                e.ebx = 1;
                e.ecx = (1 << 8) | 0;
            } else if (e.index == 1) {
                e.eax = core_bits;
                e.ebx = count;
                e.ecx = (2 << 8) | 1;
            } else {
                e.eax = 0;
                e.ebx = 0;
                e.ecx = e.index;
            }
            break;
        default:
            break;
        }
    }
}

Status setup_vcpu(int fd, const std::vector<kvm_cpuid_entry2>& supported, unsigned index, unsigned count) {
    std::vector<kvm_cpuid_entry2> entries = supported;
    normalize_cpuid(entries, index, count);
    std::vector<std::uint8_t> buf(sizeof(KvmCpuidHeader) + entries.size() * sizeof(kvm_cpuid_entry2));
    const KvmCpuidHeader hdr{static_cast<std::uint32_t>(entries.size()), 0};
    std::memcpy(buf.data(), &hdr, sizeof hdr);
    std::memcpy(buf.data() + sizeof hdr, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    if (kvm_ioctl(fd, kKvmSetCpuid2, buf.data()) != 0) return fail_sys("KVM_SET_CPUID2");

    bool mtrr = false;
    for (const auto& e : entries)
        if (e.function == 1) mtrr = e.edx & kCpuidMtrr;
    struct {
        KvmMsrsHeader hdr;
        kvm_msr_entry entries[2];
    } msrs{};
    msrs.entries[msrs.hdr.nmsrs++] = {.index = kMsrMiscEnable, .reserved = 0, .data = kMiscEnableFastString};
    // Without write-back as the default memory type, Linux runs uncached until it sets up MTRRs.
    if (mtrr) msrs.entries[msrs.hdr.nmsrs++] = {.index = kMsrMtrrDefType, .reserved = 0, .data = kMtrrEnableWriteBack};
    const int set = kvm_ioctl(fd, kKvmSetMsrs, &msrs);
    if (set < 0) return fail_sys("KVM_SET_MSRS");
    if (static_cast<std::uint32_t>(set) != msrs.hdr.nmsrs)
        return fail_msg(cat("KVM_SET_MSRS: kvm took ", set, " of ", msrs.hdr.nmsrs, " msrs"));

    kvm_fpu fpu{};
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (kvm_ioctl(fd, KVM_SET_FPU, &fpu) != 0) return fail_sys("KVM_SET_FPU");

    // LINT0 takes the 8259's interrupts, LINT1 NMIs: what firmware leaves behind on a PC.
    kvm_lapic_state lapic{};
    if (kvm_ioctl(fd, KVM_GET_LAPIC, &lapic) != 0) return fail_sys("KVM_GET_LAPIC");
    auto set_lvt = [&lapic](std::uint32_t reg, std::uint32_t mode) {
        std::uint32_t v;
        std::memcpy(&v, lapic.regs + reg, 4);
        v = (v & ~0x700u) | (mode << 8);
        std::memcpy(lapic.regs + reg, &v, 4);
    };
    set_lvt(kApicLvt0, kApicModeExtInt);
    set_lvt(kApicLvt1, kApicModeNmi);
    if (kvm_ioctl(fd, KVM_SET_LAPIC, &lapic) != 0) return fail_sys("KVM_SET_LAPIC");
    return {};
}

Status setup_boot_registers(int fd, const KernelImage& k) {
    kvm_sregs sregs{};
    if (kvm_ioctl(fd, KVM_GET_SREGS, &sregs) != 0) return fail_sys("KVM_GET_SREGS");
    const bool long_mode = k.protocol != BootProtocol::pvh;
    sregs.cs = long_mode ? segment(kCode64Selector, 0xb, true, false) : segment(kCode32Selector, 0xb, false, true);
    const kvm_segment data = segment(kDataSelector, 0x3, false, true);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.tr = segment(kTssSelector, 0xb, false, false);
    sregs.tr.s = 0;
    sregs.tr.limit = 0xfffff;
    sregs.tr.g = 0;
    sregs.gdt.base = kGdtAddr;
    sregs.gdt.limit = static_cast<std::uint16_t>(kGdt.size() * 8 - 1);
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    if (long_mode) {
        sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
        sregs.cr3 = kPml4Addr;
        sregs.cr4 = kCr4Pae;
        sregs.efer = kEferLme | kEferLma;
    } else {
        sregs.cr0 = kCr0Pe | kCr0Et;
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
    }
    if (kvm_ioctl(fd, KVM_SET_SREGS, &sregs) != 0) return fail_sys("KVM_SET_SREGS");

    kvm_regs regs{};
    regs.rflags = 0x2;
    regs.rip = k.entry;
    regs.rsp = regs.rbp = kBootStack;
    if (long_mode) regs.rsi = kZeroPageAddr;
    else regs.rbx = kStartInfoAddr;
    if (kvm_ioctl(fd, KVM_SET_REGS, &regs) != 0) return fail_sys("KVM_SET_REGS");
    return {};
}

}  // namespace hull::vm::x86_64
