// Entry from the boot stubs: find the command line and memory map the VMM handed over, print
// them, then do what `guest.mode=` asks and leave through the exit-status port.
//
// Command line (everything else, e.g. `virtio_mmio.device=`, is for virtio.c or ignored):
//   guest.status=N   exit status, 0..255, written to port 0x501 at the end (default 0)
//   guest.mode=M     normal (default): virtio work, then exit with guest.status
//                    triple-fault: load an empty IDT and fault
//                    spin: loop forever with interrupts off
//                    oom: write just past the end of RAM in the memory map
//                    reset: i8042 reset (0xfe to port 0x64), a power-off for hull
//                    signal: kReady on the control channel, wait for a kSignal message, exit
//                            with 128 + its signal
#include "guest.h"

// hvm_start_info and hvm_memmap_table_entry from Xen's public/arch-x86/hvm/start_info.h.
struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;  // version >= 1
    uint32_t memmap_entries;
    uint32_t reserved;
};
struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
#define HVM_START_MAGIC 0x336ec578u

// The Linux zero page (boot_params) fields the guest reads, from
// Documentation/arch/x86/zero-page.rst and boot.rst.
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
struct __attribute__((packed)) e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};
#define E820_RAM 1

#define COM1 0x3f8
#define EXIT_PORT 0x501

static char cmdline[4096];

// ---- output -------------------------------------------------------------------------------

static void uart_putc(char c) {
    // Wait for THR empty, but never forever: a VMM whose LSR never reports it must still get
    // the byte, and each read is a VM exit, so the bound stays small.
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); ++i) {
    }
    outb(COM1, (uint8_t)c);
}

static void put_str(const char* s) {
    while (*s) uart_putc(*s++);
}

static void put_uint(uint64_t v, unsigned base) {
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n) uart_putc(buf[--n]);
}

void print(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    for (const char* p = fmt; *p; ++p) {
        if (*p != '%') {
            uart_putc(*p);
            continue;
        }
        bool wide = false;
        if (p[1] == 'l') {
            wide = true;
            ++p;
        }
        switch (*++p) {
        case 's': put_str(va_arg(ap, const char*)); break;
        case 'c': uart_putc((char)va_arg(ap, int)); break;
        case 'u': put_uint(wide ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10); break;
        case 'x': put_uint(wide ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16); break;
        case 'd': {
            int64_t v = wide ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) {
                uart_putc('-');
                v = -v;
            }
            put_uint((uint64_t)v, 10);
            break;
        }
        case '%': uart_putc('%'); break;
        default: uart_putc('?'); break;
        }
    }
    va_end(ap);
}

_Noreturn void guest_exit(unsigned status) {
    print(TAG "exit status %u\n", status);
    outb(EXIT_PORT, (uint8_t)status);
    // Only reached under a VMM without the exit port (e.g. qemu without isa-debug-exit).
    print(TAG "port 0x501 did not end the VM; halting\n");
    for (;;) __asm__ volatile("cli; hlt");
}

// ---- the few libc functions gcc may call even when freestanding ---------------------------

void* memset(void* d, int c, size_t n) {
    void* r = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return r;
}

void* memcpy(void* d, const void* s, size_t n) {
    void* r = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return r;
}

size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

bool starts_with(const char* s, const char* prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return false;
    return true;
}

// ---- boot information ---------------------------------------------------------------------

static void copy_cmdline(uint64_t paddr) {
    if (!paddr) return;
    // SAFETY: the VMM put the NUL-terminated command line at `paddr` in RAM, which the boot
    // page tables identity-map below 4 GiB.
    const char* src = (const char*)(uintptr_t)paddr;
    size_t i = 0;
    for (; i + 1 < sizeof cmdline && src[i]; ++i) cmdline[i] = src[i];
    cmdline[i] = 0;
}

struct ram_info {
    uint64_t end;    // One past the highest RAM byte.
    uint64_t total;  // Sum of RAM entries.
    unsigned entries;
    uint64_t initrd, initrd_size;  // The first module (PVH) or the ramdisk (Linux), if any.
};

static void add_ram(struct ram_info* r, uint64_t addr, uint64_t size, uint32_t type) {
    ++r->entries;
    if (type != E820_RAM) return;
    r->total += size;
    if (addr + size > r->end) r->end = addr + size;
}

// Reads what the VMM passed; false if it does not look like the protocol's structure.
static bool read_boot_info(enum boot_protocol proto, uint64_t info, struct ram_info* ram) {
    if (proto == BOOT_PVH) {
        // SAFETY: ebx at the PVH entry, identity-mapped RAM.
        const struct hvm_start_info* si = (const struct hvm_start_info*)(uintptr_t)info;
        if (si->magic != HVM_START_MAGIC) return false;
        copy_cmdline(si->cmdline_paddr);
        if (si->nr_modules && si->modlist_paddr) {
            // SAFETY: nr_modules entries at modlist_paddr, in RAM.
            const struct hvm_modlist_entry* m = (const struct hvm_modlist_entry*)(uintptr_t)si->modlist_paddr;
            ram->initrd = m->paddr;
            ram->initrd_size = m->size;
        }
        if (si->version >= 1 && si->memmap_paddr) {
            // SAFETY: memmap_entries entries at memmap_paddr, in RAM.
            const struct hvm_memmap_entry* m = (const struct hvm_memmap_entry*)(uintptr_t)si->memmap_paddr;
            for (uint32_t i = 0; i < si->memmap_entries && i < 128; ++i) add_ram(ram, m[i].addr, m[i].size, m[i].type);
        }
        return true;
    }
    // SAFETY: rsi at the 64-bit entry points at the 4 KiB zero page, in RAM.
    const uint8_t* bp = (const uint8_t*)(uintptr_t)info;
    if (!bp) return false;
    uint64_t cmd = *(const uint32_t*)(bp + BP_CMD_LINE_PTR) | (uint64_t)*(const uint32_t*)(bp + BP_EXT_CMD_LINE_PTR) << 32;
    copy_cmdline(cmd);
    ram->initrd = *(const uint32_t*)(bp + BP_RAMDISK_IMAGE) | (uint64_t)*(const uint32_t*)(bp + BP_EXT_RAMDISK_IMAGE) << 32;
    ram->initrd_size = *(const uint32_t*)(bp + BP_RAMDISK_SIZE) | (uint64_t)*(const uint32_t*)(bp + BP_EXT_RAMDISK_SIZE) << 32;
    const struct e820_entry* e = (const struct e820_entry*)(bp + BP_E820_TABLE);
    for (unsigned i = 0; i < bp[BP_E820_ENTRIES] && i < 128; ++i) add_ram(ram, e[i].addr, e[i].size, e[i].type);
    return true;
}

// The value of `key` (e.g. "guest.mode=") on the command line, copied into `out`; false if absent.
static bool cmdline_value(const char* key, char* out, size_t cap) {
    for (const char* p = cmdline; *p;) {
        while (*p == ' ') ++p;
        if (starts_with(p, key)) {
            p += strlen(key);
            size_t n = 0;
            while (*p && *p != ' ' && n + 1 < cap) out[n++] = *p++;
            out[n] = 0;
            return true;
        }
        while (*p && *p != ' ') ++p;
    }
    return false;
}

static bool streq(const char* a, const char* b) { return strlen(a) == strlen(b) && starts_with(a, b); }

// ---- modes --------------------------------------------------------------------------------

_Noreturn static void spin(void) {
    print(TAG "spinning with interrupts off\n");
    __asm__ volatile("cli");
    for (;;) __asm__ volatile("" ::: "memory");
}

_Noreturn static void touch_past_ram(const struct ram_info* ram) {
    if (!ram->end || ram->end >= (1ull << 32)) {
        print(TAG "FAIL: no usable RAM end below 4 GiB in the memory map\n");
        guest_exit(GUEST_FAIL_STATUS);
    }
    // Walk the last pages of RAM, then step over the end: the write at `end` is the first one
    // the VMM has no memory for, and it must stop the guest there.
    print(TAG "touching memory up to 0x%lx, past the end of RAM\n", ram->end + 4096);
    for (uint64_t a = ram->end - 2 * 4096; a <= ram->end + 4096; a += 4096) {
        // SAFETY: deliberately out of bounds past RAM; that is the test.
        *(volatile uint8_t*)(uintptr_t)a = 0x5a;
    }
    print(TAG "FAIL: wrote past the end of RAM at 0x%lx and the VMM let it pass\n", ram->end);
    guest_exit(GUEST_FAIL_STATUS);
}

void guest_main(uint64_t info, uint32_t proto) {
    struct ram_info ram = {0};
    bool ok = read_boot_info((enum boot_protocol)proto, info, &ram);
    print(TAG "hull test guest, boot protocol %s\n", proto == BOOT_PVH ? "pvh" : "linux64");
    if (!ok) {
        print(TAG "FAIL: no valid %s boot information at 0x%lx\n", proto == BOOT_PVH ? "hvm_start_info" : "zero page",
              info);
        guest_exit(GUEST_FAIL_STATUS);
    }
    print(TAG "cmdline: %s\n", cmdline);
    print(TAG "memory map: %u entries, %lu KiB RAM, RAM ends at 0x%lx\n", ram.entries, ram.total / 1024, ram.end);
    if (ram.initrd_size) {
        // Its 32-bit FNV-1a over every byte and its first line (printable ASCII, at most 64
        // bytes), so a test can tell that all of it arrived.
        char head[65];
        size_t n = 0;
        // SAFETY: initrd_size bytes at initrd, placed in RAM by the VMM.
        const uint8_t* p = (const uint8_t*)(uintptr_t)ram.initrd;
        for (; n < ram.initrd_size && n + 1 < sizeof head && p[n] != '\n'; ++n)
            head[n] = p[n] >= 0x20 && p[n] < 0x7f ? (char)p[n] : '?';
        head[n] = 0;
        uint32_t hash = 2166136261u;
        for (uint64_t i = 0; i < ram.initrd_size; ++i) hash = (hash ^ p[i]) * 16777619u;
        print(TAG "initrd: %lu bytes at 0x%lx, fnv1a 0x%x: %s\n", ram.initrd_size, ram.initrd, hash, head);
    }
    idt_init();

    char value[32];
    unsigned status = 0;
    if (cmdline_value("guest.status=", value, sizeof value)) {
        status = 0;
        for (const char* p = value; *p >= '0' && *p <= '9'; ++p) status = status * 10 + (unsigned)(*p - '0');
        if (status > 255) {
            print(TAG "FAIL: guest.status=%s is not 0..255\n", value);
            guest_exit(GUEST_FAIL_STATUS);
        }
    }
    const char* mode = "normal";
    if (cmdline_value("guest.mode=", value, sizeof value)) mode = value;
    print(TAG "mode %s\n", mode);

    if (streq(mode, "triple-fault")) triple_fault();
    if (streq(mode, "spin")) spin();
    if (streq(mode, "oom")) touch_past_ram(&ram);
    if (streq(mode, "reset")) {
        print(TAG "i8042 reset\n");
        outb(0x64, 0xfe);
        print(TAG "FAIL: the i8042 reset did not end the VM\n");
        guest_exit(GUEST_FAIL_STATUS);
    }
    if (streq(mode, "signal")) {
        apic_init();
        unsigned sig;
        if (!virtio_wait_for_signal(cmdline, &sig)) guest_exit(GUEST_FAIL_STATUS);
        print(TAG "got signal %u\n", sig);
        guest_exit(128 + sig);
    }
    if (!streq(mode, "normal")) {
        print(TAG "FAIL: unknown guest.mode=%s\n", mode);
        guest_exit(GUEST_FAIL_STATUS);
    }
    apic_init();
    if (!virtio_run(cmdline)) guest_exit(GUEST_FAIL_STATUS);
    guest_exit(status);
}
