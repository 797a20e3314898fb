// Boot-protocol detection and the bad-input errors, from the headers alone.
#include "runtime/vm/arch/x86_64/boot.hpp"
#include "runtime/vm/arch/x86_64/layout.hpp"
#include "tests/unit/vm/guest_images.hpp"

#include <gtest/gtest.h>

namespace hull::vm::x86_64 {
namespace {

using test::make_bzimage;
using test::make_elf;
using test::put;

constexpr std::uint64_t kMem = 128ull << 20;

Result<KernelImage> parse(const std::vector<std::uint8_t>& b, std::uint64_t mem = kMem) {
    BufferReader r(b);
    return parse_kernel(r, mem);
}

std::string error_of(const Result<KernelImage>& r) { return r ? std::string("(parsed)") : r.error().message(); }

TEST(VmBoot, ElfWithoutNoteIsLinux64) {
    const auto k = parse(make_elf({0xf4}, false));
    ASSERT_TRUE(k) << k.error().message();
    EXPECT_EQ(k->protocol, BootProtocol::linux64);
    EXPECT_EQ(k->entry, test::kLoadAddr + 64 + 56);
    ASSERT_EQ(k->segments.size(), 1u);
    EXPECT_EQ(k->segments[0].paddr, test::kLoadAddr);
    EXPECT_EQ(k->cmdline_max, 2048u);
}

TEST(VmBoot, ElfWithPvhNoteIsPvh) {
    const auto k = parse(make_elf({0xf4}, true));
    ASSERT_TRUE(k) << k.error().message();
    EXPECT_EQ(k->protocol, BootProtocol::pvh);
    EXPECT_EQ(k->entry, test::kLoadAddr + 64 + 2 * 56);
}

TEST(VmBoot, Elf32WithPvhNoteIsPvh) {
    const auto k = parse(make_elf({0xf4}, true, false));
    ASSERT_TRUE(k) << k.error().message();
    EXPECT_EQ(k->protocol, BootProtocol::pvh);
    EXPECT_EQ(k->entry, test::kLoadAddr + 52 + 2 * 32);
}

TEST(VmBoot, Elf32WithoutPvhNoteIsRefused) {
    EXPECT_EQ(error_of(parse(make_elf({0xf4}, false, false))),
              "32-bit ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
}

TEST(VmBoot, NotAKernel) {
    std::vector<std::uint8_t> text(4096, 'x');
    EXPECT_EQ(error_of(parse(text)), "not a kernel: neither an ELF file nor a bzImage");
    EXPECT_EQ(error_of(parse({1, 2})), "not a kernel: file is too short");
    auto elf = make_elf({0xf4}, false);
    put<std::uint16_t>(elf, 18, 40);  // ARM
    EXPECT_EQ(error_of(parse(elf)), "not an x86 kernel: ELF machine 40");
}

TEST(VmBoot, TruncatedElf) {
    auto elf = make_elf({0xf4}, false);
    put<std::uint64_t>(elf, 64 + 32, elf.size() + 100);  // p_filesz past the end
    put<std::uint64_t>(elf, 64 + 40, elf.size() + 100);
    EXPECT_NE(error_of(parse(elf)).find("truncated: segment 0 needs bytes up to"), std::string::npos) << error_of(parse(elf));
    auto headers_cut = make_elf({0xf4}, false);
    headers_cut.resize(80);
    EXPECT_NE(error_of(parse(headers_cut)).find("truncated: program headers end at byte 120"), std::string::npos);
}

TEST(VmBoot, KernelLargerThanMemory) {
    std::vector<std::uint8_t> big(3 << 20, 0);
    EXPECT_EQ(error_of(parse(big, 2 << 20)), "kernel is 3145728 bytes, larger than guest memory (2097152 bytes)");
}

TEST(VmBoot, SegmentOutsideRam) {
    auto elf = make_elf({0xf4}, false);
    put<std::uint64_t>(elf, 64 + 24, 0x10000000);  // p_paddr at 256 MiB in a 128 MiB guest
    EXPECT_EQ(error_of(parse(elf)), "segment 0 at 0x10000000 (" + std::to_string(elf.size()) +
                                        " bytes) lies outside guest RAM (0x100000 to 0x8000000)");
    put<std::uint64_t>(elf, 64 + 24, 0x1000);  // below 1 MiB, where the boot structures are
    EXPECT_NE(error_of(parse(elf)).find("lies outside guest RAM"), std::string::npos);
}

TEST(VmBoot, BzImage) {
    const auto k = parse(make_bzimage(0x020f, 1));
    ASSERT_TRUE(k) << k.error().message();
    EXPECT_EQ(k->protocol, BootProtocol::bzimage);
    EXPECT_EQ(k->entry, 0x200000u + 0x200);
    ASSERT_EQ(k->segments.size(), 1u);
    EXPECT_EQ(k->segments[0].file_offset, 1024u);
    EXPECT_EQ(k->segments[0].file_size, 0x1000u);
    EXPECT_EQ(k->segments[0].mem_size, 0x2000u);  // init_size
    EXPECT_EQ(k->cmdline_max, 256u);
    EXPECT_EQ(k->setup_header.size(), 0x268u - 0x1f1);
}

TEST(VmBoot, BzImageErrors) {
    EXPECT_EQ(error_of(parse(make_bzimage(0x020b, 1))), "bzImage boot protocol 2.11 is older than 2.12");
    EXPECT_EQ(error_of(parse(make_bzimage(0x020f, 0))), "bzImage has no 64-bit entry point (XLF_KERNEL_64)");
    auto cut = make_bzimage(0x020f, 1);
    cut.resize(1024 + 0x800);
    EXPECT_EQ(error_of(parse(cut)), "truncated: the header promises 4096 bytes of kernel but the file has 2048");
}

TEST(VmBoot, CommandLineLimit) {
    std::vector<std::uint8_t> ram(kCmdlineAddr + kCmdlineRoom);
    GuestMemory mem;
    mem.add_region(0, ram.size(), ram.data());
    const auto k = parse(make_bzimage(0x020f, 1));
    ASSERT_TRUE(k);
    EXPECT_TRUE(write_cmdline(*k, mem, std::string(255, 'a')));
    EXPECT_EQ(ram[kCmdlineAddr + 255], 0);
    const auto too_long = write_cmdline(*k, mem, std::string(256, 'a'));
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().message(),
              "command line is 256 bytes, more than the kernel's limit of 255 (hull's virtio_mmio.device= parameters "
              "count too)");
    const auto elf = parse(make_elf({0xf4}, false));
    EXPECT_TRUE(write_cmdline(*elf, mem, std::string(2047, 'b')));
    EXPECT_FALSE(write_cmdline(*elf, mem, std::string(2048, 'b')));
}

TEST(VmBoot, InitrdPlacement) {
    const auto k = parse(make_elf({0xf4}, false));
    ASSERT_TRUE(k);
    const auto at = place_initrd(*k, kMem, 0x1800);
    ASSERT_TRUE(at);
    EXPECT_EQ(*at, kMem - 0x2000);
    const auto too_big = place_initrd(*k, kMem, kMem);
    ASSERT_FALSE(too_big);
    EXPECT_NE(too_big.error().message().find("does not fit in guest memory"), std::string::npos);
}

TEST(VmBoot, ZeroPageAndStartInfo) {
    std::vector<std::uint8_t> ram(1 << 20);
    GuestMemory mem;
    mem.add_region(0, ram.size(), ram.data());
    auto get32 = [&ram](std::size_t off) {
        std::uint32_t v;
        std::memcpy(&v, ram.data() + off, 4);
        return v;
    };
    const Initrd rd{0x7000000, 0x1234};
    const auto linux64 = parse(make_elf({0xf4}, false));
    ASSERT_TRUE(write_boot_structures(*linux64, mem, kMem, rd));
    EXPECT_EQ(get32(kZeroPageAddr + 0x202), 0x53726448u);  // "HdrS"
    EXPECT_EQ(get32(kZeroPageAddr + 0x228), kCmdlineAddr);
    EXPECT_EQ(get32(kZeroPageAddr + 0x218), 0x7000000u);
    EXPECT_EQ(get32(kZeroPageAddr + 0x21c), 0x1234u);
    EXPECT_EQ(ram[kZeroPageAddr + 0x1e8], e820_map(kMem).size());
    EXPECT_EQ(get32(kPml4Addr), kPdptAddr | 3);

    const auto pvh = parse(make_elf({0xf4}, true));
    ASSERT_TRUE(write_boot_structures(*pvh, mem, kMem, rd));
    EXPECT_EQ(get32(kStartInfoAddr), 0x336ec578u);
    EXPECT_EQ(get32(kStartInfoAddr + 4), 1u);
    EXPECT_EQ(get32(kStartInfoAddr + 12), 1u);  // one module: the initrd
    EXPECT_EQ(get32(kStartInfoAddr + 24), kCmdlineAddr);
    EXPECT_EQ(get32(kStartInfoAddr + 48), e820_map(kMem).size());
    EXPECT_EQ(get32(kModlistAddr), 0x7000000u);
    EXPECT_EQ(get32(kMemmapAddr + 16), kE820Ram);
}

TEST(VmLayout, E820) {
    const auto small = e820_map(128ull << 20);
    ASSERT_EQ(small.size(), 4u);
    EXPECT_EQ(small[0].addr, 0u);
    EXPECT_EQ(small[0].type, kE820Ram);
    EXPECT_EQ(small[3].addr, 0x100000u);
    EXPECT_EQ(small[3].addr + small[3].size, 128ull << 20);
    const auto big = e820_map(5ull << 30);
    ASSERT_EQ(big.size(), 5u);
    EXPECT_EQ(big[3].addr + big[3].size, kMmioHoleStart);  // RAM stops at the hole ...
    EXPECT_EQ(big[4].addr, 4ull << 30);                    // ... and the rest is above 4 GiB
    EXPECT_EQ(big[4].size, (5ull << 30) - kMmioHoleStart);
    for (std::size_t i = 1; i < big.size(); ++i) EXPECT_LE(big[i - 1].addr + big[i - 1].size, big[i].addr);
}

}  // namespace
}  // namespace hull::vm::x86_64

#include "runtime/vm/arch/x86_64/cpu.hpp"

namespace hull::vm::x86_64 {
namespace {

TEST(VmCpuid, TopologyForTheVcpuCount) {
    std::vector<kvm_cpuid_entry2> e(5);
    e[0].function = 1;
    e[0].ebx = 0xff00ff08;  // stale APIC id and count, CLFLUSH size 8
    e[1].function = 4;
    e[1].eax = (1 << 5) | 0x1;  // L1 data cache
    e[2].function = 4;
    e[2].eax = (3 << 5) | 0x3;  // L3 unified
    e[3].function = 0xb;
    e[3].index = 0;
    e[4].function = 0xb;
    e[4].index = 1;
    normalize_cpuid(e, 2, 4);
    EXPECT_TRUE(e[0].ecx & (1u << 31));          // hypervisor
    EXPECT_EQ(e[0].ebx >> 24, 2u);               // APIC id
    EXPECT_EQ((e[0].ebx >> 16) & 0xff, 4u);      // logical processors
    EXPECT_EQ(e[0].ebx & 0xffff, 0xff08u);       // the rest kept
    EXPECT_TRUE(e[0].edx & (1u << 28));          // HTT
    EXPECT_EQ(e[1].eax >> 26, 3u);               // cores per package - 1
    EXPECT_EQ((e[1].eax >> 14) & 0xfff, 0u);     // L1 private
    EXPECT_EQ((e[2].eax >> 14) & 0xfff, 3u);     // L3 shared by all
    EXPECT_EQ(e[3].ebx, 1u);                     // one thread per core
    EXPECT_EQ(e[3].ecx, 1u << 8);
    EXPECT_EQ(e[4].eax, 2u);                     // 2 bits of core id
    EXPECT_EQ(e[4].ebx, 4u);
    EXPECT_EQ(e[4].ecx, (2u << 8) | 1);
    EXPECT_EQ(e[4].edx, 2u);                     // x2APIC id
}

TEST(VmCpuid, SingleVcpuHasNoHtt) {
    std::vector<kvm_cpuid_entry2> e(1);
    e[0].function = 1;
    normalize_cpuid(e, 0, 1);
    EXPECT_FALSE(e[0].edx & (1u << 28));
    EXPECT_EQ((e[0].ebx >> 16) & 0xff, 1u);
}

}  // namespace
}  // namespace hull::vm::x86_64
