#include "runtime/vm/arch/x86_64/boot.hpp"

#include "common/strings.hpp"
#include "runtime/vm/arch/x86_64/layout.hpp"
#include "runtime/vm/hex.hpp"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hull::vm::x86_64 {
namespace {

constexpr std::uint32_t kXenElfnotePhys32Entry = 18;
constexpr std::uint16_t kXlfKernel64 = 1 << 0;
constexpr std::uint16_t kMinBzImageVersion = 0x020c;
constexpr std::uint64_t kMaxNoteBytes = 1 << 16;  // notes are a few hundred bytes; more is a broken file

template <class T>
T get(std::span<const std::uint8_t> b, std::size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

template <class T>
void put(std::uint8_t* base, std::size_t off, T v) {
    std::memcpy(base + off, &v, sizeof v);
}

std::string mib(std::uint64_t bytes) { return cat(bytes, " bytes"); }

// A segment must lie wholly in RAM at or above 1 MiB, where none of hull's boot structures are.
Status check_in_ram(const Segment& s, std::size_t index, std::uint64_t mem) {
    const std::uint64_t low_end = low_ram_end(mem);
    const std::uint64_t high = high_ram_size(mem);
    const std::uint64_t end = s.paddr + s.mem_size;
    const bool overflow = end < s.paddr;
    const bool in_low = !overflow && s.paddr >= kHighMemStart && end <= low_end;
    const bool in_high = !overflow && high && s.paddr >= kHighRamStart && end <= kHighRamStart + high;
    if (in_low || in_high) return {};
    return fail_msg(cat("segment ", index, " at ", hex(s.paddr), " (", s.mem_size, " bytes) lies outside guest RAM (",
                        hex(kHighMemStart), " to ", hex(low_end), high ? cat(" and ", hex(kHighRamStart), " to ",
                                                                                hex(kHighRamStart + high))
                                                                          : std::string(),
                        ")"));
}

Status check_in_file(const Segment& s, std::size_t index, std::uint64_t file_size) {
    if (s.file_offset > file_size || s.file_size > file_size - s.file_offset)
        return fail_msg(cat("truncated: segment ", index, " needs bytes up to ", s.file_offset + s.file_size,
                            " but the file has ", file_size));
    return {};
}

// Finds XEN_ELFNOTE_PHYS32_ENTRY in one PT_NOTE segment.
Result<std::optional<std::uint64_t>> find_pvh_note(const ImageReader& file, std::uint64_t off, std::uint64_t size) {
    if (off > file.size() || size > file.size() - off) return fail_msg("truncated: a note segment ends past the end of the file");
    size = std::min(size, kMaxNoteBytes);
    std::vector<std::uint8_t> buf(size);
    HULL_TRY(file.read_at(off, buf));
    std::size_t p = 0;
    auto align4 = [](std::uint64_t n) { return (n + 3) & ~std::uint64_t{3}; };
    while (p + 12 <= buf.size()) {
        const auto namesz = get<std::uint32_t>(buf, p);
        const auto descsz = get<std::uint32_t>(buf, p + 4);
        const auto type = get<std::uint32_t>(buf, p + 8);
        const std::uint64_t name_at = p + 12;
        const std::uint64_t desc_at = name_at + align4(namesz);
        if (desc_at + descsz > buf.size()) break;
        const bool xen = namesz == 4 && std::memcmp(buf.data() + name_at, "Xen", 4) == 0;
        if (xen && type == kXenElfnotePhys32Entry) {
            if (descsz == 4) return std::optional<std::uint64_t>(get<std::uint32_t>(buf, desc_at));
            if (descsz == 8) return std::optional<std::uint64_t>(get<std::uint64_t>(buf, desc_at));
            return fail_msg(cat("PVH entry note has a ", descsz, "-byte address"));
        }
        p = desc_at + align4(descsz);
    }
    return std::optional<std::uint64_t>();
}

Result<KernelImage> parse_elf(const ImageReader& file, std::uint64_t mem) {
    std::array<std::uint8_t, sizeof(Elf64_Ehdr)> raw{};
    const std::uint64_t n = std::min<std::uint64_t>(file.size(), raw.size());
    HULL_TRY(file.read_at(0, std::span(raw).first(n)));
    const bool is64 = raw[EI_CLASS] == ELFCLASS64;
    if (!is64 && raw[EI_CLASS] != ELFCLASS32) return fail_msg("not a kernel: ELF file of unknown class");
    if (raw[EI_DATA] != ELFDATA2LSB) return fail_msg("not a kernel: big-endian ELF file");
    if (n < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) return fail_msg("truncated: incomplete ELF header");

    std::uint16_t machine, type, phentsize, phnum;
    std::uint64_t entry, phoff;
    if (is64) {
        Elf64_Ehdr h;
        std::memcpy(&h, raw.data(), sizeof h);
        machine = h.e_machine, type = h.e_type, entry = h.e_entry, phoff = h.e_phoff;
        phentsize = h.e_phentsize, phnum = h.e_phnum;
    } else {
        Elf32_Ehdr h;
        std::memcpy(&h, raw.data(), sizeof h);
        machine = h.e_machine, type = h.e_type, entry = h.e_entry, phoff = h.e_phoff;
        phentsize = h.e_phentsize, phnum = h.e_phnum;
    }
    if (machine != (is64 ? EM_X86_64 : EM_386))
        return fail_msg(cat("not an x86 kernel: ELF machine ", machine));
    if (type != ET_EXEC && type != ET_DYN) return fail_msg(cat("not a kernel: ELF type ", type, " is not executable"));
    const std::size_t want_phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (phnum == 0) return fail_msg("ELF kernel has no program headers");
    if (phentsize != want_phentsize) return fail_msg(cat("ELF program header size ", phentsize, " is not ", want_phentsize));
    const std::uint64_t ph_bytes = std::uint64_t{phnum} * phentsize;
    if (phoff > file.size() || ph_bytes > file.size() - phoff)
        return fail_msg(cat("truncated: program headers end at byte ", phoff + ph_bytes, " but the file has ", file.size()));
    std::vector<std::uint8_t> ph(ph_bytes);
    HULL_TRY(file.read_at(phoff, ph));

    KernelImage k{.protocol = BootProtocol::linux64};
    std::optional<std::uint64_t> pvh_entry;
    for (std::size_t i = 0; i < phnum; ++i) {
        std::uint32_t p_type;
        Segment s;
        if (is64) {
            Elf64_Phdr p;
            std::memcpy(&p, ph.data() + i * phentsize, sizeof p);
            p_type = p.p_type;
            s = {p.p_offset, p.p_filesz, p.p_paddr, p.p_memsz};
        } else {
            Elf32_Phdr p;
            std::memcpy(&p, ph.data() + i * phentsize, sizeof p);
            p_type = p.p_type;
            s = {p.p_offset, p.p_filesz, p.p_paddr, p.p_memsz};
        }
        if (p_type == PT_NOTE && !pvh_entry) {
            pvh_entry = HULL_TRY(find_pvh_note(file, s.file_offset, s.file_size));
        } else if (p_type == PT_LOAD && s.mem_size > 0) {
            if (s.file_size > s.mem_size) return fail_msg(cat("segment ", i, " has more file bytes than memory bytes"));
            HULL_TRY(check_in_file(s, i, file.size()));
            HULL_TRY(check_in_ram(s, i, mem));
            k.segments.push_back(s);
        }
    }
    if (k.segments.empty()) return fail_msg("ELF kernel has no loadable segments");
    if (pvh_entry) {
        k.protocol = BootProtocol::pvh;
        k.entry = *pvh_entry;
        if (k.entry >= kMmioHoleStart) return fail_msg(cat("PVH entry point ", hex(k.entry), " is not in 32-bit RAM"));
    } else {
        if (!is64) return fail_msg("32-bit ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
        k.entry = entry;
    }
    return k;
}

Result<KernelImage> parse_bzimage(const ImageReader& file, std::uint64_t mem) {
    std::array<std::uint8_t, 0x280> raw{};
    const std::uint64_t n = std::min<std::uint64_t>(file.size(), raw.size());
    HULL_TRY(file.read_at(0, std::span(raw).first(n)));
    std::span<const std::uint8_t> h(raw);
    if (n < 0x206 || get<std::uint16_t>(h, 0x1fe) != 0xaa55 || std::memcmp(raw.data() + 0x202, "HdrS", 4) != 0)
        return fail_msg("not a kernel: neither an ELF file nor a bzImage");
    const auto version = get<std::uint16_t>(h, 0x206);
    if (version < kMinBzImageVersion)
        return fail_msg(cat("bzImage boot protocol ", version >> 8, ".", version & 0xff, " is older than 2.12"));
    if (n < 0x268) return fail_msg("truncated: incomplete bzImage setup header");
    if (!(get<std::uint16_t>(h, 0x236) & kXlfKernel64))
        return fail_msg("bzImage has no 64-bit entry point (XLF_KERNEL_64)");

    std::uint32_t setup_sects = raw[0x1f1];
    if (setup_sects == 0) setup_sects = 4;
    const std::uint64_t pm_offset = (std::uint64_t{setup_sects} + 1) * 512;
    if (pm_offset >= file.size()) return fail_msg(cat("truncated: the setup code alone needs ", pm_offset, " bytes"));
    const std::uint64_t pm_size = file.size() - pm_offset;
    const std::uint64_t syssize = std::uint64_t{get<std::uint32_t>(h, 0x1f4)} * 16;
    if (syssize > pm_size)
        return fail_msg(cat("truncated: the header promises ", syssize, " bytes of kernel but the file has ", pm_size));

    KernelImage k{.protocol = BootProtocol::bzimage};
    const std::uint64_t pref = get<std::uint64_t>(h, 0x258);
    const std::uint64_t init_size = get<std::uint32_t>(h, 0x260);
    Segment s{pm_offset, pm_size, pref, std::max(pm_size, init_size)};
    HULL_TRY(check_in_ram(s, 0, mem));
    k.segments.push_back(s);
    k.entry = pref + 0x200;
    k.cmdline_max = get<std::uint32_t>(h, 0x238) + 1;
    k.initrd_addr_max = get<std::uint32_t>(h, 0x22c);
    const std::size_t header_end = 0x202 + raw[0x201];
    k.setup_header.assign(raw.begin() + kSetupHeaderOffset, raw.begin() + std::min<std::size_t>(header_end, n));
    return k;
}

}  // namespace

const char* protocol_name(BootProtocol p) {
    switch (p) {
    case BootProtocol::pvh: return "pvh";
    case BootProtocol::linux64: return "linux64";
    case BootProtocol::bzimage: return "bzimage";
    }
    return "?";
}

Status BufferReader::read_at(std::uint64_t offset, std::span<std::uint8_t> buf) const {
    if (offset > data_.size() || buf.size() > data_.size() - offset)
        return fail_msg(cat("truncated: read of ", buf.size(), " bytes at ", offset, " past the end"));
    std::memcpy(buf.data(), data_.data() + offset, buf.size());
    return {};
}

Status FileReader::read_at(std::uint64_t offset, std::span<std::uint8_t> buf) const {
    std::size_t done = 0;
    while (done < buf.size()) {
        const ssize_t r = ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return fail_sys("read");
        }
        if (r == 0) return fail_msg(cat("truncated: the file ends at byte ", offset + done));
        done += static_cast<std::size_t>(r);
    }
    return {};
}

Result<KernelImage> parse_kernel(const ImageReader& file, std::uint64_t mem) {
    if (file.size() > mem)
        return fail_msg(cat("kernel is ", mib(file.size()), ", larger than guest memory (", mib(mem), ")"));
    std::array<std::uint8_t, 4> magic{};
    if (file.size() < magic.size()) return fail_msg("not a kernel: file is too short");
    HULL_TRY(file.read_at(0, magic));
    if (std::memcmp(magic.data(), ELFMAG, SELFMAG) == 0) return parse_elf(file, mem);
    return parse_bzimage(file, mem);
}

Status load_kernel(const ImageReader& file, const KernelImage& k, const GuestMemory& mem) {
    for (std::size_t i = 0; i < k.segments.size(); ++i) {
        const Segment& s = k.segments[i];
        std::uint8_t* dst = mem.ptr(s.paddr, s.mem_size);
        if (!dst) return fail_msg(cat("segment ", i, " at ", hex(s.paddr), " lies outside guest RAM"));
        // SAFETY: dst covers mem_size >= file_size bytes of guest RAM (checked by ptr). The rest of
        // the segment stays as it is: zero, since guest memory is a fresh memfd.
        HULL_TRY_CTX(file.read_at(s.file_offset, std::span(dst, s.file_size)), cat("load segment ", i));
    }
    return {};
}

Result<std::uint64_t> place_initrd(const KernelImage& k, std::uint64_t mem, std::uint64_t size) {
    std::uint64_t kernel_end = kHighMemStart;
    for (const Segment& s : k.segments)
        if (s.paddr < kMmioHoleStart) kernel_end = std::max(kernel_end, s.paddr + s.mem_size);
    const std::uint64_t top = std::min(low_ram_end(mem), k.initrd_addr_max + 1);
    if (size > top || ((top - size) & ~std::uint64_t{0xfff}) < kernel_end)
        return fail_msg(cat("initrd (", size, " bytes) does not fit in guest memory between the kernel's end at ",
                            hex(kernel_end), " and ", hex(top)));
    return (top - size) & ~std::uint64_t{0xfff};
}

Status write_cmdline(const KernelImage& k, const GuestMemory& mem, std::string_view cmdline) {
    if (cmdline.size() + 1 > k.cmdline_max)
        return fail_msg(cat("command line is ", cmdline.size(), " bytes, more than the kernel's limit of ",
                            k.cmdline_max - 1, " (hull's virtio_mmio.device= parameters count too)"));
    if (cmdline.find('\0') != std::string_view::npos) return fail_msg("command line contains a NUL byte");
    std::uint8_t* p = mem.ptr(kCmdlineAddr, cmdline.size() + 1);
    if (!p || cmdline.size() + 1 > kCmdlineRoom) return fail_msg("command line does not fit in guest memory");
    // SAFETY: p covers the command line and its NUL in guest RAM (checked by ptr).
    std::memcpy(p, cmdline.data(), cmdline.size());
    p[cmdline.size()] = 0;
    return {};
}

namespace {

// Identity-maps the first 4 GiB with 2 MiB pages: enough for any kernel hull loads and for the
// MMIO hole, which the guest must reach before it builds its own tables.
Status write_page_tables(const GuestMemory& mem) {
    std::uint8_t* pml4 = mem.ptr(kPml4Addr, 0x1000);
    std::uint8_t* pdpt = mem.ptr(kPdptAddr, 0x1000);
    std::uint8_t* pd = mem.ptr(kPdAddr, 4 * 0x1000);
    if (!pml4 || !pdpt || !pd) return fail_msg("guest memory too small for page tables");
    // SAFETY: each pointer covers the table it is written as (checked by ptr above).
    put<std::uint64_t>(pml4, 0, kPdptAddr | 0x3);
    for (std::uint64_t i = 0; i < 4; ++i) put<std::uint64_t>(pdpt, i * 8, (kPdAddr + i * 0x1000) | 0x3);
    for (std::uint64_t i = 0; i < 4 * 512; ++i) put<std::uint64_t>(pd, i * 8, (i << 21) | 0x83);
    return {};
}

Status write_zero_page(const KernelImage& k, const GuestMemory& mem, std::uint64_t mem_size, const Initrd& initrd) {
    std::uint8_t* zp = mem.ptr(kZeroPageAddr, 0x1000);
    if (!zp) return fail_msg("guest memory too small for the zero page");
    // SAFETY: zp covers the 4 KiB boot_params page (checked by ptr); every offset below is < 4 KiB.
    if (!k.setup_header.empty()) {
        std::memcpy(zp + kSetupHeaderOffset, k.setup_header.data(), k.setup_header.size());
    } else {
        put<std::uint16_t>(zp, 0x1fe, 0xaa55);                // boot_flag
        std::memcpy(zp + 0x202, "HdrS", 4);                   // header
        put<std::uint16_t>(zp, 0x206, 0x020f);                // version
        put<std::uint32_t>(zp, 0x230, 0x01000000);            // kernel_alignment
        put<std::uint32_t>(zp, 0x238, kElfCmdlineMax - 1);    // cmdline_size
    }
    zp[0x210] = 0xff;                                         // type_of_loader: undefined
    zp[0x211] |= 0x80 | 0x01;                                 // loadflags: CAN_USE_HEAP, LOADED_HIGH
    put<std::uint16_t>(zp, 0x224, 0xfe00);                    // heap_end_ptr
    put<std::uint32_t>(zp, 0x228, static_cast<std::uint32_t>(kCmdlineAddr));  // cmd_line_ptr
    put<std::uint32_t>(zp, 0x0c8, static_cast<std::uint32_t>(kCmdlineAddr >> 32));  // ext_cmd_line_ptr
    put<std::uint32_t>(zp, 0x218, static_cast<std::uint32_t>(initrd.addr));  // ramdisk_image
    put<std::uint32_t>(zp, 0x21c, static_cast<std::uint32_t>(initrd.size));  // ramdisk_size
    put<std::uint32_t>(zp, 0x0c0, static_cast<std::uint32_t>(initrd.addr >> 32));  // ext_ramdisk_image
    put<std::uint32_t>(zp, 0x0c4, static_cast<std::uint32_t>(initrd.size >> 32));  // ext_ramdisk_size
    put<std::uint64_t>(zp, 0x070, kAcpiAddr);                 // acpi_rsdp_addr
    const auto map = e820_map(mem_size);
    zp[0x1e8] = static_cast<std::uint8_t>(map.size());        // e820_entries
    for (std::size_t i = 0; i < map.size(); ++i) {
        const std::size_t off = 0x2d0 + i * 20;
        put<std::uint64_t>(zp, off, map[i].addr);
        put<std::uint64_t>(zp, off + 8, map[i].size);
        put<std::uint32_t>(zp, off + 16, map[i].type);
    }
    return {};
}

Status write_start_info(const GuestMemory& mem, std::uint64_t mem_size, const Initrd& initrd) {
    const auto map = e820_map(mem_size);
    std::uint8_t* si = mem.ptr(kStartInfoAddr, 56);
    std::uint8_t* ml = mem.ptr(kModlistAddr, 32);
    std::uint8_t* mm = mem.ptr(kMemmapAddr, map.size() * 24);
    if (!si || !ml || !mm) return fail_msg("guest memory too small for the PVH start info");
    // SAFETY: si, ml and mm cover hvm_start_info, one module entry and the memory map (checked by ptr).
    put<std::uint32_t>(si, 0, 0x336ec578);  // magic
    put<std::uint32_t>(si, 4, 1);           // version: has the memory map
    put<std::uint32_t>(si, 12, initrd.size ? 1 : 0);  // nr_modules
    put<std::uint64_t>(si, 16, initrd.size ? kModlistAddr : 0);
    put<std::uint64_t>(si, 24, kCmdlineAddr);
    put<std::uint64_t>(si, 32, kAcpiAddr);  // rsdp_paddr
    put<std::uint64_t>(si, 40, kMemmapAddr);
    put<std::uint32_t>(si, 48, static_cast<std::uint32_t>(map.size()));
    if (initrd.size) {
        put<std::uint64_t>(ml, 0, initrd.addr);
        put<std::uint64_t>(ml, 8, initrd.size);
    }
    for (std::size_t i = 0; i < map.size(); ++i) {
        put<std::uint64_t>(mm, i * 24, map[i].addr);
        put<std::uint64_t>(mm, i * 24 + 8, map[i].size);
        put<std::uint32_t>(mm, i * 24 + 16, map[i].type);
    }
    return {};
}

}  // namespace

Status write_boot_structures(const KernelImage& k, const GuestMemory& mem, std::uint64_t mem_size,
                             const Initrd& initrd) {
    for (std::size_t i = 0; i < kGdt.size(); ++i)
        if (!mem.write(kGdtAddr + i * 8, kGdt[i])) return fail_msg("guest memory too small for the GDT");
    if (k.protocol == BootProtocol::pvh) return write_start_info(mem, mem_size, initrd);
    HULL_TRY(write_page_tables(mem));
    return write_zero_page(k, mem, mem_size, initrd);
}

}  // namespace hull::vm::x86_64
