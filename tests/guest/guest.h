// The hull test guest: a tiny freestanding x86-64 program that `hull vm run` boots directly
// (PVH or the Linux 64-bit boot protocol) to prove the VMM's devices and error paths on hosts
// where a real kernel cannot boot. Everything here is single-threaded, identity-mapped and
// runs with interrupts off except inside wait_for_irq().
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// How the VMM entered the guest; set by the entry code in entry_*.S.
enum boot_protocol { BOOT_LINUX64 = 1, BOOT_PVH = 2 };

// Exit status when the guest itself finds something wrong (a virtio protocol violation, an
// interrupt that never comes, an unexpected exception). Tests never choose it as guest.status.
enum { GUEST_FAIL_STATUS = 250 };

// The prefix of every line the guest prints, so tests can tell its output from the VMM's.
#define TAG "hull-test-guest: "

// ---- port and memory-mapped I/O -----------------------------------------------------------

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
// SAFETY: every caller passes an identity-mapped device register address taken from the
// command line or a fixed architectural address (IOAPIC, LAPIC).
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t*)(uintptr_t)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t*)(uintptr_t)addr = v; }

// Orders ring updates against the device: x86 keeps stores in order, but the compiler must
// not move ring writes past the notify, and mfence is cheap next to a VM exit.
static inline void mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- guest.c ------------------------------------------------------------------------------

void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));  // %s %c %d %u %x %lu %lx %ld %%; polled COM1.
_Noreturn void guest_exit(unsigned status);
void* memset(void* d, int c, size_t n);
void* memcpy(void* d, const void* s, size_t n);
size_t strlen(const char* s);
bool starts_with(const char* s, const char* prefix);

// ---- irq.c --------------------------------------------------------------------------------

void idt_init(void);
void apic_init(void);
// Route IOAPIC pin `irq` (level-triggered, active high) to this CPU; `handler` runs in
// interrupt context with `ctx` before the LAPIC EOI.
bool irq_register(unsigned irq, void (*handler)(void* ctx), void* ctx);
// Sleep (sti; hlt) until `*counter` differs from `seen` or the LAPIC-timer watchdog fires
// after `timeout_ms`; true if the counter moved.
bool wait_for_irq(volatile uint32_t* counter, uint32_t seen, uint32_t timeout_ms);
_Noreturn void triple_fault(void);

// ---- virtio.c -----------------------------------------------------------------------------

// Probes every `virtio_mmio.device=` on `cmdline`, runs the disk check on each virtio-blk
// device, sends a line through each virtio-console but the last (the control channel) and
// reports the others. Returns false on a protocol failure.
bool virtio_run(const char* cmdline);
// On the control channel (the last virtio-console on `cmdline`): says kReady, prints that it
// waits, and sleeps until the host sends a kSignal message; its signal goes to `*sig`. Returns
// false on a protocol failure.
bool virtio_wait_for_signal(const char* cmdline, unsigned* sig);
