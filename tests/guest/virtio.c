// A virtio-mmio (version 2) driver for just enough virtio-blk and virtio-console: find the
// devices from the command line's `virtio_mmio.device=<size>@<base>:<irq>` (the VMM's own
// declaration, so no ACPI parsing and the same code runs under qemu with matching parameters),
// negotiate VIRTIO_F_VERSION_1, set up one split virtqueue, and on every disk read sector 0,
// print the test's pattern, write a reply to sector 1 and flush; on every console but the last
// send one line through its transmit queue. Each request sleeps until the device's interrupt
// says it is done. The last console is hull's control channel: guest.mode=signal speaks its
// protocol (both queues, messages split across buffers put back together).
//
// Disk protocol with the tests: sector 0 starts with "HULL-GUEST-DISK:<text>" (text ends at
// NUL or newline); the guest writes "HULL-GUEST-REPLY:<text>\n" padded with zeros to sector 1.
// A disk without the pattern is only read, never written.
#include "guest.h"

// Register offsets, from the virtio 1.x spec's "MMIO Device Register Layout".
#define VIRTIO_MAGIC 0x000
#define VIRTIO_VERSION 0x004
#define VIRTIO_DEVICE_ID 0x008
#define VIRTIO_DEVICE_FEATURES 0x010
#define VIRTIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_DRIVER_FEATURES 0x020
#define VIRTIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_QUEUE_SEL 0x030
#define VIRTIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_QUEUE_NUM 0x038
#define VIRTIO_QUEUE_READY 0x044
#define VIRTIO_QUEUE_NOTIFY 0x050
#define VIRTIO_INTERRUPT_STATUS 0x060
#define VIRTIO_INTERRUPT_ACK 0x064
#define VIRTIO_STATUS 0x070
#define VIRTIO_QUEUE_DESC 0x080
#define VIRTIO_QUEUE_DRIVER 0x090
#define VIRTIO_QUEUE_DEVICE 0x0a0
#define VIRTIO_CONFIG 0x100

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED 128

#define F_BLK_RO (1ull << 5)
#define F_BLK_FLUSH (1ull << 9)
#define F_VERSION_1 (1ull << 32)

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define MAX_DEVICES 19  // hull's most: IOAPIC pins 5-23
#define QSZ 8
#define IRQ_TIMEOUT_MS 10000

static const char PATTERN[] = "HULL-GUEST-DISK:";
static const char REPLY[] = "HULL-GUEST-REPLY:";

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct vq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[QSZ];
    uint16_t used_event;
};
struct vq_used {
    uint16_t flags;
    uint16_t idx;
    struct {
        uint32_t id;
        uint32_t len;
    } ring[QSZ];
    uint16_t avail_event;
};

// One device's queue and request buffers; the alignments are the split virtqueue's.
struct blk {
    struct vq_desc desc[QSZ] __attribute__((aligned(4096)));
    struct vq_avail avail __attribute__((aligned(16)));
    struct vq_used used __attribute__((aligned(16)));
    struct {
        uint32_t type;
        uint32_t reserved;
        uint64_t sector;
    } hdr __attribute__((aligned(16)));
    uint8_t data[512] __attribute__((aligned(16)));
    volatile uint8_t status;
    uint16_t last_used;
};

struct device {
    uint64_t base;
    unsigned irq;
    char name[12];   // "blk0", "console0": index among devices of its kind, for messages.
    volatile uint32_t interrupts;   // Used-buffer interrupts taken.
    volatile uint32_t last_isr;     // InterruptStatus read by the last one.
    struct blk* blk;  // Queue and buffers, also for a console's transmit queue.
};

static struct blk blks[MAX_DEVICES];
static struct device devices[MAX_DEVICES];

static uint32_t reg(const struct device* d, uint32_t off) { return mmio_read32(d->base + off); }
static void set_reg(const struct device* d, uint32_t off, uint32_t v) { mmio_write32(d->base + off, v); }

static void on_interrupt(void* ctx) {
    struct device* d = ctx;
    uint32_t isr = reg(d, VIRTIO_INTERRUPT_STATUS);
    set_reg(d, VIRTIO_INTERRUPT_ACK, isr);
    d->last_isr = isr;
    if (isr & 1) ++d->interrupts;
}

// ---- command line -------------------------------------------------------------------------

static const char* parse_num(const char* p, uint64_t* out) {
    uint64_t v = 0;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    const char* start = p;
    for (;; ++p) {
        unsigned dig;
        if (*p >= '0' && *p <= '9') dig = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f') dig = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F') dig = (unsigned)(*p - 'A' + 10);
        else break;
        v = v * base + dig;
    }
    *out = v;
    return p == start ? NULL : p;
}

// `<size>[KMG]@<base>:<irq>[:<id>]`, as Linux's virtio_mmio module parameter takes it.
static bool parse_device(const char* p, uint64_t* base, unsigned* irq) {
    uint64_t size, b, i;
    if (!(p = parse_num(p, &size))) return false;
    if (*p == 'K' || *p == 'k' || *p == 'M' || *p == 'm' || *p == 'G' || *p == 'g') ++p;
    if (*p++ != '@' || !(p = parse_num(p, &b)) || *p++ != ':' || !(p = parse_num(p, &i))) return false;
    *base = b;
    *irq = (unsigned)i;
    return true;
}

// ---- virtio-blk ---------------------------------------------------------------------------

static const char* blk_status_name(uint8_t s) {
    switch (s) {
    case 0: return "OK";
    case 1: return "IOERR";
    case 2: return "UNSUPP";
    default: return "invalid";
    }
}

// Makes the descriptor chain at desc[0] available on `queue`, notifies, and sleeps until the
// device's interrupt; false (after saying why) if none came or it used nothing.
static bool submit_and_wait(struct device* d, unsigned queue) {
    struct blk* b = d->blk;
    uint32_t seen = d->interrupts;
    b->avail.ring[b->avail.idx % QSZ] = 0;
    mb();
    b->avail.idx = (uint16_t)(b->avail.idx + 1);
    mb();
    set_reg(d, VIRTIO_QUEUE_NOTIFY, queue);
    if (!wait_for_irq(&d->interrupts, seen, IRQ_TIMEOUT_MS)) {
        uint16_t used = ((volatile struct vq_used*)&b->used)->idx;
        print(TAG "FAIL: %s: no interrupt on irq %u within %u ms (used idx %u, expected %u)\n", d->name, d->irq,
              IRQ_TIMEOUT_MS, used, (unsigned)(uint16_t)(b->last_used + 1));
        return false;
    }
    uint16_t used = ((volatile struct vq_used*)&b->used)->idx;
    print(TAG "%s: interrupt on irq %u arrived (InterruptStatus 0x%x), used idx %u\n", d->name, d->irq, d->last_isr,
          used);
    if (used == b->last_used) {
        print(TAG "FAIL: %s: interrupt without a used buffer\n", d->name);
        return false;
    }
    b->last_used = used;
    return true;
}

// Submits one request and sleeps until its interrupt; false (after saying why) if none came.
static bool blk_request(struct device* d, uint32_t type, uint64_t sector, bool with_data, uint8_t* status) {
    struct blk* b = d->blk;
    b->hdr.type = type;
    b->hdr.reserved = 0;
    b->hdr.sector = sector;
    b->status = 0xff;
    unsigned n = 0;
    b->desc[n] = (struct vq_desc){(uint64_t)(uintptr_t)&b->hdr, sizeof b->hdr, DESC_F_NEXT, (uint16_t)(n + 1)};
    ++n;
    if (with_data) {
        uint16_t flags = DESC_F_NEXT | (type == BLK_T_IN ? DESC_F_WRITE : 0);
        b->desc[n] = (struct vq_desc){(uint64_t)(uintptr_t)b->data, sizeof b->data, flags, (uint16_t)(n + 1)};
        ++n;
    }
    b->desc[n] = (struct vq_desc){(uint64_t)(uintptr_t)&b->status, 1, DESC_F_WRITE, 0};
    if (!submit_and_wait(d, 0)) return false;
    *status = b->status;
    return true;
}

// Reset and negotiate VIRTIO_F_VERSION_1 plus whatever of `accept` the device offers.
static bool negotiate(struct device* d, uint64_t accept, uint64_t* features) {
    set_reg(d, VIRTIO_STATUS, 0);
    set_reg(d, VIRTIO_STATUS, STATUS_ACKNOWLEDGE);
    set_reg(d, VIRTIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    set_reg(d, VIRTIO_DEVICE_FEATURES_SEL, 0);
    uint64_t offered = reg(d, VIRTIO_DEVICE_FEATURES);
    set_reg(d, VIRTIO_DEVICE_FEATURES_SEL, 1);
    offered |= (uint64_t)reg(d, VIRTIO_DEVICE_FEATURES) << 32;
    print(TAG "%s: device features 0x%lx\n", d->name, offered);
    if (!(offered & F_VERSION_1)) {
        print(TAG "FAIL: %s: VIRTIO_F_VERSION_1 not offered\n", d->name);
        set_reg(d, VIRTIO_STATUS, STATUS_FAILED);
        return false;
    }
    uint64_t wanted = offered & (F_VERSION_1 | accept);
    set_reg(d, VIRTIO_DRIVER_FEATURES_SEL, 0);
    set_reg(d, VIRTIO_DRIVER_FEATURES, (uint32_t)wanted);
    set_reg(d, VIRTIO_DRIVER_FEATURES_SEL, 1);
    set_reg(d, VIRTIO_DRIVER_FEATURES, (uint32_t)(wanted >> 32));
    set_reg(d, VIRTIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(reg(d, VIRTIO_STATUS) & STATUS_FEATURES_OK)) {
        print(TAG "FAIL: %s: device refused features 0x%lx\n", d->name, wanted);
        set_reg(d, VIRTIO_STATUS, STATUS_FAILED);
        return false;
    }
    *features = wanted;
    return true;
}

// Sets up `queue` with QSZ entries (or the device's smaller maximum) at the given rings.
static bool setup_queue(struct device* d, unsigned queue, struct vq_desc* desc_table, struct vq_avail* avail_ring,
                        struct vq_used* used_ring) {
    set_reg(d, VIRTIO_QUEUE_SEL, queue);
    uint32_t max = reg(d, VIRTIO_QUEUE_NUM_MAX);
    if (max == 0 || reg(d, VIRTIO_QUEUE_READY)) {
        print(TAG "FAIL: %s: queue %u unavailable (QueueNumMax %u)\n", d->name, queue, max);
        set_reg(d, VIRTIO_STATUS, STATUS_FAILED);
        return false;
    }
    // QSZ is a power of two, so any smaller power-of-two maximum is taken as is.
    uint32_t num = max < QSZ ? max : QSZ;
    set_reg(d, VIRTIO_QUEUE_NUM, num);
    uint64_t desc = (uint64_t)(uintptr_t)desc_table, avail = (uint64_t)(uintptr_t)avail_ring,
             used = (uint64_t)(uintptr_t)used_ring;
    set_reg(d, VIRTIO_QUEUE_DESC, (uint32_t)desc);
    set_reg(d, VIRTIO_QUEUE_DESC + 4, (uint32_t)(desc >> 32));
    set_reg(d, VIRTIO_QUEUE_DRIVER, (uint32_t)avail);
    set_reg(d, VIRTIO_QUEUE_DRIVER + 4, (uint32_t)(avail >> 32));
    set_reg(d, VIRTIO_QUEUE_DEVICE, (uint32_t)used);
    set_reg(d, VIRTIO_QUEUE_DEVICE + 4, (uint32_t)(used >> 32));
    set_reg(d, VIRTIO_QUEUE_READY, 1);
    return true;
}

// Routes the device's interrupt and sets DRIVER_OK.
static bool driver_ok(struct device* d) {
    if (!irq_register(d->irq, on_interrupt, d)) {
        print(TAG "FAIL: %s: irq %u is not an IOAPIC pin\n", d->name, d->irq);
        return false;
    }
    set_reg(d, VIRTIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return true;
}

// Reset, negotiate VIRTIO_F_VERSION_1 plus whatever of `accept` the device offers, set up
// `queue` (the only one the guest uses) and its interrupt, and set DRIVER_OK.
static bool device_init(struct device* d, uint64_t accept, unsigned queue, uint64_t* features) {
    struct blk* b = d->blk;
    return negotiate(d, accept, features) && setup_queue(d, queue, b->desc, &b->avail, &b->used) && driver_ok(d);
}

// An erofs image (hull's OCI VM mode gives the container's rootfs as one) has its superblock
// at byte 1024, starting with the magic 0xE0F5E1E2 (little-endian): sector 2. The guest cannot
// mount it; printing the magic proves the disk is the image.
static bool erofs_check(struct device* d) {
    if (reg(d, VIRTIO_CONFIG) < 3 && reg(d, VIRTIO_CONFIG + 4) == 0) return true;
    uint8_t st;
    if (!blk_request(d, BLK_T_IN, 2, true, &st)) return false;
    if (st != 0) {
        print(TAG "%s: read sector 2: status %u (%s)\n", d->name, st, blk_status_name(st));
        return true;
    }
    const uint8_t* p = d->blk->data;
    uint32_t magic = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (magic == 0xE0F5E1E2u) print(TAG "%s: erofs superblock magic 0x%x at byte 1024\n", d->name, magic);
    return true;
}

static bool blk_run(struct device* d) {
    uint64_t features;
    if (!device_init(d, F_BLK_RO | F_BLK_FLUSH, 0, &features)) return false;
    struct blk* b = d->blk;
    uint64_t capacity = reg(d, VIRTIO_CONFIG) | (uint64_t)reg(d, VIRTIO_CONFIG + 4) << 32;
    print(TAG "%s: capacity %lu sectors%s%s\n", d->name, capacity, features & F_BLK_RO ? ", read-only" : "",
          features & F_BLK_FLUSH ? ", flush" : "");
    if (capacity < 2) {
        print(TAG "%s: too small for the test (needs 2 sectors)\n", d->name);
        return true;
    }

    uint8_t st;
    if (!blk_request(d, BLK_T_IN, 0, true, &st)) return false;
    print(TAG "%s: read sector 0: status %u (%s)\n", d->name, st, blk_status_name(st));
    if (st != 0) return true;
    if (!starts_with((const char*)b->data, PATTERN)) {
        print(TAG "%s: sector 0 has no %s pattern; not writing\n", d->name, PATTERN);
        return erofs_check(d);
    }
    // The text after the pattern, printable ASCII only, kept for the reply.
    char text[128];
    size_t n = 0;
    for (size_t i = sizeof PATTERN - 1; i < sizeof b->data && n + 1 < sizeof text; ++i) {
        char c = (char)b->data[i];
        if (c == 0 || c == '\n') break;
        text[n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    text[n] = 0;
    print(TAG "%s: sector 0 pattern: %s\n", d->name, text);

    memset(b->data, 0, sizeof b->data);
    memcpy(b->data, REPLY, sizeof REPLY - 1);
    memcpy(b->data + sizeof REPLY - 1, text, n);
    b->data[sizeof REPLY - 1 + n] = '\n';
    if (!blk_request(d, BLK_T_OUT, 1, true, &st)) return false;
    print(TAG "%s: write sector 1: status %u (%s)\n", d->name, st, blk_status_name(st));
    if (features & F_BLK_FLUSH) {
        if (!blk_request(d, BLK_T_FLUSH, 0, false, &st)) return false;
        print(TAG "%s: flush: status %u (%s)\n", d->name, st, blk_status_name(st));
    }
    return true;
}

// Sends one line through the console's transmitq (queue 1 of port 0); the VMM prints it.
static bool console_run(struct device* d) {
    static const char line[] = TAG "hello through virtio-console\n";
    uint64_t features;
    if (!device_init(d, 0, 1, &features)) return false;
    struct blk* b = d->blk;
    memcpy(b->data, line, sizeof line - 1);
    b->desc[0] = (struct vq_desc){(uint64_t)(uintptr_t)b->data, sizeof line - 1, 0, 0};
    return submit_and_wait(d, 1);
}

static void name_device(struct device* d, const char* kind, unsigned index) {
    size_t n = strlen(kind);
    memcpy(d->name, kind, n);
    if (index >= 10) d->name[n++] = (char)('0' + index / 10);  // MAX_DEVICES keeps it two digits.
    d->name[n] = (char)('0' + index % 10);
    d->name[n + 1] = 0;
}

// Finds every `virtio_mmio.device=` on `cmdline` in order, checks its magic and version and
// calls `found(device, DeviceID, ctx)`; false (after saying why) on a malformed entry or
// device, or when `found` returns false.
static bool for_each_device(const char* cmdline, bool (*found)(struct device*, uint32_t, void*), void* ctx) {
    static const char key[] = "virtio_mmio.device=";
    unsigned ndev = 0;
    for (const char* p = cmdline; *p;) {
        while (*p == ' ') ++p;
        if (starts_with(p, key)) {
            uint64_t base;
            unsigned irq;
            if (!parse_device(p + sizeof key - 1, &base, &irq)) {
                print(TAG "FAIL: cannot parse %s\n", p);
                return false;
            }
            if (ndev == MAX_DEVICES) {
                print(TAG "FAIL: more than %u virtio devices\n", MAX_DEVICES);
                return false;
            }
            struct device* d = &devices[ndev++];
            d->base = base;
            d->irq = irq;
            uint32_t magic = reg(d, VIRTIO_MAGIC), version = reg(d, VIRTIO_VERSION), id = reg(d, VIRTIO_DEVICE_ID);
            const char* kind = id == 2 ? "blk" : id == 3 ? "console" : id == 0 ? "none" : "other";
            print(TAG "virtio-mmio at 0x%lx irq %u: magic 0x%x version %u device %u (%s)\n", base, irq, magic,
                  version, id, kind);
            if (magic != 0x74726976 || version != 2) {
                print(TAG "FAIL: not a virtio-mmio version 2 device\n");
                return false;
            }
            d->blk = &blks[ndev - 1];
            if (!found(d, id, ctx)) return false;
        }
        while (*p && *p != ' ') ++p;
    }
    return true;
}

struct run_state {
    unsigned nblk, ncons;
    struct device* console;  // The last console seen, run only once a later one shows it is not the last.
};

static bool run_device(struct device* d, uint32_t id, void* ctx) {
    struct run_state* st = ctx;
    if (id == 2) {
        name_device(d, "blk", st->nblk++);
        return blk_run(d);
    }
    if (id != 3) return true;
    name_device(d, "console", st->ncons++);
    struct device* before = st->console;
    st->console = d;
    return !before || console_run(before);
}

bool virtio_run(const char* cmdline) {
    struct run_state st = {0, 0, NULL};
    if (!for_each_device(cmdline, run_device, &st)) return false;
    // The last console is the control channel, which only guest.mode=signal speaks.
    if (st.console) print(TAG "%s: the control channel, not used in this mode\n", st.console->name);
    if (!st.nblk) print(TAG "no virtio-blk device\n");
    return true;
}

// ---- the control channel (runtime/vm/control_protocol.hpp) --------------------------------
//
// Messages both ways are a type byte, a length byte and that many payload bytes; the host sends
// kSignal (a signal number) and kWindowSize (rows, columns: little-endian u16 each), the guest
// kReady once it reads the channel.

#define CTL_SIGNAL 1
#define CTL_WINDOW_SIZE 2
#define CTL_READY 3
#define CTL_RX_BUFS 4
#define CTL_RX_BUF_SIZE 64

// Both queues and their buffers, in one page (the rings need 16-byte alignment at most).
static struct ctl {
    struct vq_desc rx_desc[QSZ] __attribute__((aligned(16)));
    struct vq_avail rx_avail __attribute__((aligned(16)));
    struct vq_used rx_used __attribute__((aligned(16)));
    struct vq_desc tx_desc[QSZ] __attribute__((aligned(16)));
    struct vq_avail tx_avail __attribute__((aligned(16)));
    struct vq_used tx_used __attribute__((aligned(16)));
    uint8_t rx_buf[CTL_RX_BUFS][CTL_RX_BUF_SIZE];
    uint8_t tx_buf[2];
    uint16_t rx_last_used;
    uint8_t msg[2 + 255];  // The message being put back together from the receive buffers.
    unsigned msg_len;
} ctl __attribute__((aligned(4096)));

static bool find_control(struct device* d, uint32_t id, void* ctx) {
    if (id == 3) *(struct device**)ctx = d;
    return true;
}

// Makes receive buffer `i` available again.
static void ctl_post_rx(uint16_t i) {
    ctl.rx_avail.ring[ctl.rx_avail.idx % QSZ] = i;
    mb();
    ctl.rx_avail.idx = (uint16_t)(ctl.rx_avail.idx + 1);
}

// Feeds received bytes to the message reader, which keeps a message's first bytes until the
// rest arrive; returns the signal of the first kSignal message they complete, or 0.
static unsigned ctl_feed(const uint8_t* p, uint32_t len) {
    for (uint32_t i = 0; i < len; ++i) {
        ctl.msg[ctl.msg_len++] = p[i];
        if (ctl.msg_len < 2 || ctl.msg_len < 2u + ctl.msg[1]) continue;
        ctl.msg_len = 0;
        const uint8_t* m = ctl.msg;
        if (m[0] == CTL_SIGNAL && m[1] == 1 && m[2] >= 1 && m[2] <= 64) return m[2];
        if (m[0] == CTL_WINDOW_SIZE && m[1] == 4)
            print(TAG "control: window size %u rows, %u columns\n", (unsigned)(m[2] | m[3] << 8),
                  (unsigned)(m[4] | m[5] << 8));
        else print(TAG "control: ignoring message type %u with %u payload bytes\n", m[0], m[1]);
    }
    return 0;
}

bool virtio_wait_for_signal(const char* cmdline, unsigned* sig) {
    struct device* d = NULL;
    if (!for_each_device(cmdline, find_control, &d)) return false;
    if (!d) {
        print(TAG "FAIL: no virtio-console on the command line for the control channel\n");
        return false;
    }
    memcpy(d->name, "control", 8);
    uint64_t features;
    if (!negotiate(d, 0, &features) || !setup_queue(d, 0, ctl.rx_desc, &ctl.rx_avail, &ctl.rx_used) ||
        !setup_queue(d, 1, ctl.tx_desc, &ctl.tx_avail, &ctl.tx_used) || !driver_ok(d))
        return false;
    print(TAG "control: virtio-console at 0x%lx irq %u\n", d->base, d->irq);
    for (uint16_t i = 0; i < CTL_RX_BUFS; ++i) {
        ctl.rx_desc[i] = (struct vq_desc){(uint64_t)(uintptr_t)ctl.rx_buf[i], CTL_RX_BUF_SIZE, DESC_F_WRITE, 0};
        ctl_post_rx(i);
    }
    mb();
    set_reg(d, VIRTIO_QUEUE_NOTIFY, 0);

    // kReady, and the transmit buffer back before the guest says it waits.
    uint32_t seen = d->interrupts;
    ctl.tx_buf[0] = CTL_READY;
    ctl.tx_buf[1] = 0;
    ctl.tx_desc[0] = (struct vq_desc){(uint64_t)(uintptr_t)ctl.tx_buf, 2, 0, 0};
    ctl.tx_avail.ring[0] = 0;
    mb();
    ctl.tx_avail.idx = 1;
    mb();
    set_reg(d, VIRTIO_QUEUE_NOTIFY, 1);
    if (!wait_for_irq(&d->interrupts, seen, IRQ_TIMEOUT_MS) || ((volatile struct vq_used*)&ctl.tx_used)->idx != 1) {
        print(TAG "FAIL: control: the ready message was not used within %u ms\n", IRQ_TIMEOUT_MS);
        return false;
    }
    print(TAG "waiting for a signal\n");

    for (;;) {
        seen = d->interrupts;
        bool reposted = false;
        uint16_t used_idx;
        while (ctl.rx_last_used != (used_idx = ((volatile struct vq_used*)&ctl.rx_used)->idx)) {
            mb();  // The element is read only after the index that published it.
            uint32_t id = ((volatile struct vq_used*)&ctl.rx_used)->ring[ctl.rx_last_used % QSZ].id;
            uint32_t len = ((volatile struct vq_used*)&ctl.rx_used)->ring[ctl.rx_last_used % QSZ].len;
            ctl.rx_last_used = (uint16_t)(ctl.rx_last_used + 1);
            if (id >= CTL_RX_BUFS || len > CTL_RX_BUF_SIZE) {
                print(TAG "FAIL: control: used element %u with %u bytes is not one of ours\n", id, len);
                return false;
            }
            unsigned s = ctl_feed(ctl.rx_buf[id], len);
            if (s) {
                *sig = s;
                return true;
            }
            ctl_post_rx((uint16_t)id);
            reposted = true;
        }
        if (reposted) {
            mb();
            set_reg(d, VIRTIO_QUEUE_NOTIFY, 0);
        }
        // Sleeps in hlt until the device's interrupt; the watchdog only wakes it every 10 s to
        // look again, so a guest that waits long is not a failure.
        wait_for_irq(&d->interrupts, seen, IRQ_TIMEOUT_MS);
    }
}
