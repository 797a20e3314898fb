// x86_64 boot protocols: which one a kernel file speaks (parsed from its headers alone, no guest
// needed), loading it into guest memory, and the structures each protocol hands the kernel
// (PVH's hvm_start_info, Linux's boot_params, identity page tables, the GDT).
#pragma once

#include "common/result.hpp"
#include "runtime/vm/memory.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hull::vm::x86_64 {

enum class BootProtocol {
    pvh,      // ELF with XEN_ELFNOTE_PHYS32_ENTRY: 32-bit flat protected mode, paging off
    linux64,  // ELF without it (vmlinux): Linux's 64-bit boot protocol
    bzimage,  // bzImage >= 2.12 with XLF_KERNEL_64: its protected-mode part, entered at +0x200
};
const char* protocol_name(BootProtocol p);

// Reads bytes of the kernel file; a file in hull, a buffer in unit tests.
class ImageReader {
public:
    virtual ~ImageReader() = default;
    virtual std::uint64_t size() const = 0;
    // Reads exactly buf.size() bytes at offset, or fails.
    virtual Status read_at(std::uint64_t offset, std::span<std::uint8_t> buf) const = 0;
};

class BufferReader final : public ImageReader {
public:
    explicit BufferReader(std::span<const std::uint8_t> data) : data_(data) {}
    std::uint64_t size() const override { return data_.size(); }
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> buf) const override;

private:
    std::span<const std::uint8_t> data_;
};

class FileReader final : public ImageReader {
public:
    FileReader(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
    std::uint64_t size() const override { return size_; }
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> buf) const override;

private:
    int fd_;
    std::uint64_t size_;
};

struct Segment {
    std::uint64_t file_offset;
    std::uint64_t file_size;
    std::uint64_t paddr;
    std::uint64_t mem_size;  // >= file_size; the rest is zero (fresh guest memory already is)
};

inline constexpr std::uint32_t kElfCmdlineMax = 2048;  // bytes including the NUL
inline constexpr std::size_t kSetupHeaderOffset = 0x1f1;

struct KernelImage {
    BootProtocol protocol;
    std::uint64_t entry = 0;  // guest-physical
    std::vector<Segment> segments;
    std::uint32_t cmdline_max = kElfCmdlineMax;  // bytes including the NUL
    std::uint64_t initrd_addr_max = 0xffffffff;  // last byte an initrd may occupy
    std::vector<std::uint8_t> setup_header;      // bzImage: bytes from 0x1f1, copied to boot_params
};

// Works out the protocol and the segments from the headers; `mem` is guest memory's size, for the
// checks that the kernel fits. Errors name what is wrong with the file, without its path.
Result<KernelImage> parse_kernel(const ImageReader& file, std::uint64_t mem);

// Copies the segments into guest memory.
Status load_kernel(const ImageReader& file, const KernelImage& k, const GuestMemory& mem);

struct Initrd {
    std::uint64_t addr = 0;
    std::uint64_t size = 0;
};

// Where the initrd goes: page-aligned at the top of RAM below the 32-bit hole, above the kernel,
// below the header's initrd_addr_max.
Result<std::uint64_t> place_initrd(const KernelImage& k, std::uint64_t mem, std::uint64_t size);

// Writes the command line (checked against the kernel's limit) to kCmdlineAddr.
Status write_cmdline(const KernelImage& k, const GuestMemory& mem, std::string_view cmdline);

// The protocol's boot structures: hvm_start_info (PVH) or boot_params (Linux), the GDT, and for
// 64-bit entry the identity page tables covering 4 GiB.
Status write_boot_structures(const KernelImage& k, const GuestMemory& mem, std::uint64_t mem_size,
                             const Initrd& initrd);

// Guest-physical values the vCPU setup needs for each protocol.
inline constexpr std::uint16_t kCode32Selector = 0x08;
inline constexpr std::uint16_t kCode64Selector = 0x10;
inline constexpr std::uint16_t kDataSelector = 0x18;
inline constexpr std::uint16_t kTssSelector = 0x20;
inline constexpr std::array<std::uint64_t, 5> kGdt = {
    0,
    0x00cf9b000000ffff,  // code32: flat, 4 KiB granular, 32-bit
    0x00af9b000000ffff,  // code64: L=1
    0x00cf93000000ffff,  // data: flat read/write
    0x008f8b000000ffff,  // tss: busy 32-bit TSS, as VMX entry wants one
};

}  // namespace hull::vm::x86_64
