// Tiny kernel images for the VM tests, built in memory: ELF64/ELF32 files with an optional PVH
// note, and bzImage headers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace hull::vm::test {

inline void put_bytes(std::vector<std::uint8_t>& b, std::size_t off, const void* p, std::size_t n) {
    if (b.size() < off + n) b.resize(off + n);
    std::memcpy(b.data() + off, p, n);
}
template <class T>
void put(std::vector<std::uint8_t>& b, std::size_t off, T v) {
    put_bytes(b, off, &v, sizeof v);
}

inline constexpr std::uint64_t kLoadAddr = 0x100000;

// An ELF executable whose one PT_LOAD maps the whole file at kLoadAddr; the code follows the
// headers. With `pvh`, a PT_NOTE carries XEN_ELFNOTE_PHYS32_ENTRY pointing at the code.
inline std::vector<std::uint8_t> make_elf(const std::vector<std::uint8_t>& code, bool pvh, bool is64 = true) {
    const std::size_t ehsz = is64 ? 64 : 52, phsz = is64 ? 56 : 32;
    const std::size_t nph = pvh ? 2 : 1;
    const std::size_t code_off = ehsz + phsz * nph;
    const std::size_t note_off = code_off + code.size();
    const std::size_t note_size = pvh ? 20 : 0;
    const std::size_t total = note_off + note_size;
    const std::uint64_t entry = kLoadAddr + code_off;
    std::vector<std::uint8_t> b(total, 0);
    const std::uint8_t ident[16] = {0x7f, 'E', 'L', 'F', static_cast<std::uint8_t>(is64 ? 2 : 1), 1, 1};
    put_bytes(b, 0, ident, 16);
    put<std::uint16_t>(b, 16, 2);                      // ET_EXEC
    put<std::uint16_t>(b, 18, is64 ? 62 : 3);          // x86-64 / i386
    put<std::uint32_t>(b, 20, 1);
    if (is64) {
        put<std::uint64_t>(b, 24, entry);
        put<std::uint64_t>(b, 32, ehsz);               // phoff
        put<std::uint16_t>(b, 52, ehsz);
        put<std::uint16_t>(b, 54, phsz);
        put<std::uint16_t>(b, 56, nph);
    } else {
        put<std::uint32_t>(b, 24, static_cast<std::uint32_t>(entry));
        put<std::uint32_t>(b, 28, ehsz);
        put<std::uint16_t>(b, 40, ehsz);
        put<std::uint16_t>(b, 42, phsz);
        put<std::uint16_t>(b, 44, nph);
    }
    auto phdr = [&](std::size_t i, std::uint32_t type, std::uint64_t off, std::uint64_t addr, std::uint64_t size) {
        const std::size_t p = ehsz + i * phsz;
        put<std::uint32_t>(b, p, type);
        if (is64) {
            put<std::uint32_t>(b, p + 4, 5);
            put<std::uint64_t>(b, p + 8, off);
            put<std::uint64_t>(b, p + 16, addr);
            put<std::uint64_t>(b, p + 24, addr);
            put<std::uint64_t>(b, p + 32, size);
            put<std::uint64_t>(b, p + 40, size);
        } else {
            put<std::uint32_t>(b, p + 4, static_cast<std::uint32_t>(off));
            put<std::uint32_t>(b, p + 8, static_cast<std::uint32_t>(addr));
            put<std::uint32_t>(b, p + 12, static_cast<std::uint32_t>(addr));
            put<std::uint32_t>(b, p + 16, static_cast<std::uint32_t>(size));
            put<std::uint32_t>(b, p + 20, static_cast<std::uint32_t>(size));
            put<std::uint32_t>(b, p + 24, 5);
        }
    };
    phdr(0, 1, 0, kLoadAddr, total);
    if (pvh) phdr(1, 4, note_off, 0, note_size);
    put_bytes(b, code_off, code.data(), code.size());
    if (pvh) {
        put<std::uint32_t>(b, note_off, 4);
        put<std::uint32_t>(b, note_off + 4, 4);
        put<std::uint32_t>(b, note_off + 8, 18);
        put_bytes(b, note_off + 12, "Xen", 4);
        put<std::uint32_t>(b, note_off + 16, static_cast<std::uint32_t>(entry));
    }
    return b;
}

// A bzImage: one setup sector after the boot sector, then `pm_size` bytes of protected-mode
// kernel (code at its start, entered at +0x200 in 64-bit mode).
inline std::vector<std::uint8_t> make_bzimage(std::uint16_t version, std::uint16_t xloadflags,
                                              const std::vector<std::uint8_t>& code = {}, std::size_t pm_size = 0x1000) {
    std::vector<std::uint8_t> b(2 * 512 + pm_size, 0);
    b[0x1f1] = 1;                                   // setup_sects
    put<std::uint32_t>(b, 0x1f4, static_cast<std::uint32_t>(pm_size / 16));  // syssize
    put<std::uint16_t>(b, 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = 0x66;                                // header ends at 0x202 + 0x66 = 0x268
    put_bytes(b, 0x202, "HdrS", 4);
    put<std::uint16_t>(b, 0x206, version);
    put<std::uint32_t>(b, 0x22c, 0x7fffffff);       // initrd_addr_max
    put<std::uint16_t>(b, 0x236, xloadflags);
    put<std::uint32_t>(b, 0x238, 255);              // cmdline_size
    put<std::uint64_t>(b, 0x258, 0x200000);         // pref_address
    put<std::uint32_t>(b, 0x260, 0x2000);           // init_size
    if (!code.empty()) put_bytes(b, 1024 + 0x200, code.data(), code.size());
    return b;
}

// Guest code, valid in 32-bit protected mode and 64-bit mode alike: prints `text` on COM1,
// then writes `status` to port 0x501 and halts.
inline std::vector<std::uint8_t> print_and_exit(const std::string& text, std::uint8_t status) {
    std::vector<std::uint8_t> c = {0x66, 0xba, 0xf8, 0x03};  // mov dx, 0x3f8
    for (char ch : text) {
        c.push_back(0xb0);  // mov al, ch
        c.push_back(static_cast<std::uint8_t>(ch));
        c.push_back(0xee);  // out dx, al
    }
    for (std::uint8_t x : {0x66, 0xba, 0x01, 0x05, 0xb0}) c.push_back(x);  // mov dx, 0x501; mov al,
    c.push_back(status);
    c.push_back(0xee);  // out dx, al
    c.push_back(0xf4);  // hlt
    return c;
}

}  // namespace hull::vm::test
