// Interrupts the way a kernel takes them, without `int n` (which this host's nested /dev/kvm
// cannot emulate): an IDT whose gates hardware delivery enters, the 8259 masked, the IOAPIC
// routing each device pin (level-triggered, as virtio-mmio's InterruptStatus line is) to the
// LAPIC, and an EOI after the device's InterruptACK. The LAPIC timer is a watchdog, so a lost
// interrupt is reported instead of hanging in hlt.
#include "guest.h"

#define IOAPIC_BASE 0xfec00000u
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))
#define IOAPIC_PINS 24

#define MSR_APIC_BASE 0x1b
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)

#define VEC_IRQ_BASE 0x30  // IOAPIC pin n -> vector 0x30 + n.
#define VEC_WATCHDOG 0xf0
#define VEC_SPURIOUS 0xff

struct __attribute__((packed)) idt_gate {
    uint16_t off_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;  // 0x8e: present, DPL 0, 64-bit interrupt gate.
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
};
struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};
struct interrupt_frame {
    uint64_t rip, cs, rflags, rsp, ss;
};

static struct idt_gate idt[256] __attribute__((aligned(4096)));  // One page, see entry_pvh.S.
static uint64_t lapic_base;
static volatile uint32_t watchdog_fired;
static struct {
    void (*fn)(void*);
    void* ctx;
} irq_handlers[IOAPIC_PINS];

static uint32_t lapic_read(uint32_t reg) { return mmio_read32(lapic_base + reg); }
static void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(lapic_base + reg, v); }

static void ioapic_write(uint32_t reg, uint32_t v) {
    mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
    mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

// ---- handlers -----------------------------------------------------------------------------

_Noreturn static void fatal_exception(unsigned vec, uint64_t err, const struct interrupt_frame* f) {
    print(TAG "FAIL: exception %u (error code 0x%lx) at rip 0x%lx\n", vec, err, f->rip);
    guest_exit(GUEST_FAIL_STATUS);
}

// One gate per vector, so each knows its number; the interrupt attribute makes gcc save every
// register it uses and return with iretq (and pop the error code where the CPU pushes one).
#define EXC(n)                                                                                     \
    __attribute__((interrupt)) static void exc_##n(struct interrupt_frame* f) { fatal_exception(n, 0, f); }
#define EXC_ERR(n)                                                                                 \
    __attribute__((interrupt)) static void exc_##n(struct interrupt_frame* f, unsigned long e) {    \
        fatal_exception(n, e, f);                                                                  \
    }
EXC(0) EXC(1) EXC(2) EXC(3) EXC(4) EXC(5) EXC(6) EXC(7) EXC_ERR(8) EXC(9) EXC_ERR(10) EXC_ERR(11)
EXC_ERR(12) EXC_ERR(13) EXC_ERR(14) EXC(15) EXC(16) EXC_ERR(17) EXC(18) EXC(19) EXC(20) EXC_ERR(21)

static void irq_dispatch(unsigned pin) {
    if (irq_handlers[pin].fn) irq_handlers[pin].fn(irq_handlers[pin].ctx);
    // After the device's InterruptACK dropped the line; for a level-triggered pin this EOI also
    // reaches the IOAPIC, which would re-raise a line still asserted.
    lapic_write(LAPIC_EOI, 0);
}

#define IRQ(n)                                                                                     \
    __attribute__((interrupt)) static void irq_##n(struct interrupt_frame* f) {                    \
        (void)f;                                                                                   \
        irq_dispatch(n);                                                                           \
    }
IRQ(0) IRQ(1) IRQ(2) IRQ(3) IRQ(4) IRQ(5) IRQ(6) IRQ(7) IRQ(8) IRQ(9) IRQ(10) IRQ(11) IRQ(12)
IRQ(13) IRQ(14) IRQ(15) IRQ(16) IRQ(17) IRQ(18) IRQ(19) IRQ(20) IRQ(21) IRQ(22) IRQ(23)

__attribute__((interrupt)) static void watchdog(struct interrupt_frame* f) {
    (void)f;
    watchdog_fired = 1;
    lapic_write(LAPIC_EOI, 0);
}

// Spurious interrupts take no EOI.
__attribute__((interrupt)) static void spurious(struct interrupt_frame* f) { (void)f; }

static void set_gate(unsigned vec, void* handler) {
    uint64_t a = (uint64_t)(uintptr_t)handler;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    // Whatever code segment the entry runs in (ours for PVH, the VMM's for the Linux protocol).
    idt[vec] = (struct idt_gate){(uint16_t)a, cs, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
}

void idt_init(void) {
    void* exc[] = {exc_0,  exc_1,  exc_2,  exc_3,  exc_4,  exc_5,  exc_6,  exc_7,  exc_8,  exc_9,  exc_10,
                   exc_11, exc_12, exc_13, exc_14, exc_15, exc_16, exc_17, exc_18, exc_19, exc_20, exc_21};
    void* irq[IOAPIC_PINS] = {irq_0,  irq_1,  irq_2,  irq_3,  irq_4,  irq_5,  irq_6,  irq_7,
                              irq_8,  irq_9,  irq_10, irq_11, irq_12, irq_13, irq_14, irq_15,
                              irq_16, irq_17, irq_18, irq_19, irq_20, irq_21, irq_22, irq_23};
    for (unsigned i = 0; i < sizeof exc / sizeof exc[0]; ++i) set_gate(i, exc[i]);
    for (unsigned i = 0; i < IOAPIC_PINS; ++i) set_gate(VEC_IRQ_BASE + i, irq[i]);
    set_gate(VEC_WATCHDOG, watchdog);
    set_gate(VEC_SPURIOUS, spurious);
    struct desc_ptr p = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(p));
}

void apic_init(void) {
    // Mask both 8259s (OCW1), so nothing arrives through LINT0 with vectors the guest never set.
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    lapic_base = rdmsr(MSR_APIC_BASE) & ~0xfffull;
    lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);  // Software-enable the LAPIC.
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_WATCHDOG);
    lapic_write(LAPIC_TIMER_DIV, 0xa);  // Divide by 128.
    print(TAG "lapic at 0x%lx, id %u\n", lapic_base, lapic_read(LAPIC_ID) >> 24);
}

bool irq_register(unsigned irq, void (*handler)(void*), void* ctx) {
    if (irq >= IOAPIC_PINS) return false;
    irq_handlers[irq].fn = handler;
    irq_handlers[irq].ctx = ctx;
    uint32_t apic_id = lapic_read(LAPIC_ID) >> 24;
    // Destination first, then the low half, which unmasks: fixed delivery, physical
    // destination, active high, level-triggered (bit 15).
    ioapic_write(IOAPIC_REDTBL(irq) + 1, apic_id << 24);
    ioapic_write(IOAPIC_REDTBL(irq), (VEC_IRQ_BASE + irq) | (1u << 15));
    return true;
}

bool wait_for_irq(volatile uint32_t* counter, uint32_t seen, uint32_t timeout_ms) {
    watchdog_fired = 0;
    // KVM's and qemu's LAPIC count a 1 GHz bus clock: with the divider at 128, 7812 ticks/ms.
    uint64_t ticks = (uint64_t)timeout_ms * 7812;
    lapic_write(LAPIC_LVT_TIMER, VEC_WATCHDOG);  // One-shot, unmasked.
    lapic_write(LAPIC_TIMER_INIT, ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks);
    // sti's one-instruction shadow covers hlt, so an interrupt arriving after the check still
    // wakes the hlt rather than being taken before it and slept through.
    while (*counter == seen && !watchdog_fired) __asm__ volatile("sti; hlt; cli" ::: "memory");
    lapic_write(LAPIC_TIMER_INIT, 0);
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_WATCHDOG);
    return *counter != seen;
}

_Noreturn void triple_fault(void) {
    print(TAG "triple-faulting now\n");
    struct desc_ptr none = {0, 0};
    // With no IDT the #GP from a non-canonical access cannot be delivered, nor the #DF that
    // follows: a shutdown (triple fault), which the VMM must report and end the VM on.
    __asm__ volatile("lidt %0\n\t"
                     "movabs $0x8000000000000000, %%rax\n\t"
                     "mov (%%rax), %%rax" ::"m"(none)
                     : "rax", "memory");
    print(TAG "FAIL: still running after a triple fault\n");
    guest_exit(GUEST_FAIL_STATUS);
}
