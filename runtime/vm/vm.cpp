#include "runtime/vm/vm.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"
#include "runtime/vm/arch/x86_64/acpi.hpp"
#include "runtime/vm/arch/x86_64/boot.hpp"
#include "runtime/vm/arch/x86_64/cpu.hpp"
#include "runtime/vm/arch/x86_64/layout.hpp"
#include "runtime/vm/control_protocol.hpp"
#include "runtime/vm/devices/i8042/i8042.hpp"
#include "runtime/vm/devices/serial/uart.hpp"
#include "runtime/vm/devices/virtio/blk.hpp"
#include "runtime/vm/devices/virtio/console.hpp"
#include "runtime/vm/disk_lock.hpp"
#include "runtime/vm/hex.hpp"
#include "runtime/vm/kvm.hpp"
#include "runtime/vm/memory.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

namespace hull::vm {

namespace x86 = hull::vm::x86_64;

Result<std::uint64_t> parse_memory_size(std::string_view s) {
    std::uint64_t mult = 1;
    std::string_view num = s;
    if (!s.empty()) {
        switch (s.back()) {
        case 'k': case 'K': mult = 1ull << 10; break;
        case 'm': case 'M': mult = 1ull << 20; break;
        case 'g': case 'G': mult = 1ull << 30; break;
        default: break;
        }
        if (mult != 1) num.remove_suffix(1);
    }
    const auto n = parse_int<std::uint64_t>(num);
    if (!n || *n == 0 || *n > (~0ull) / mult)
        return fail_msg(cat("invalid memory size ", q(s), " (want a number of bytes with an optional K, M or G suffix)"));
    return *n * mult;
}

Result<StopSource> StopSource::create() {
    StopSource s;
    s.fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!s.fd_) return fail_sys("eventfd for stop requests");
    return s;
}

void StopSource::request_stop(int status) const noexcept {
    int expected = -1;
    status_.compare_exchange_strong(expected, status);
    wake();
}

void StopSource::forward_signal(int sig) const noexcept {
    if (sig < 1 || sig > 64) return;
    signals_.fetch_or(std::uint64_t{1} << (sig - 1));  // lock-free on x86-64, so fine in a handler
    wake();
}

void StopSource::wake() const noexcept {
    const std::uint64_t one = 1;
    const int saved = errno;  // signal handlers must leave errno as they found it
    (void)!::write(fd_.get(), &one, sizeof one);
    errno = saved;
}

namespace {

// "(rip 0x100123)", naming the vCPU when it is not the boot processor.
std::string where(const Vcpu& v) {
    return v.index() ? cat("(rip ", hex(v.rip()), " on vcpu ", v.index(), ")") : cat("(rip ", hex(v.rip()), ")");
}

// A GSI of KVM's in-kernel interrupt controllers.
class KvmIrqLine final : public IrqLine {
public:
    KvmIrqLine(int vm_fd, std::uint32_t gsi) : vm_fd_(vm_fd), gsi_(gsi) {}
    void set_level(bool high) override {
        kvm_irq_level l{};
        l.irq = gsi_;
        l.level = high;
        (void)kvm_ioctl(vm_fd_, KVM_IRQ_LINE, &l);
    }

private:
    int vm_fd_;
    std::uint32_t gsi_;
};

// The vCPU thread's kvm_run, for the kick signal's handler: setting immediate_exit makes a
// KVM_RUN that has not started yet return at once, closing the race with a running one (which
// the signal itself interrupts).
thread_local kvm_run* t_run = nullptr;

void kick_handler(int) {
    if (t_run) t_run->immediate_exit = 1;
}

int kick_signal() { return SIGRTMIN + 2; }

struct OpenedFile {
    UniqueFd fd;
    std::uint64_t size;
};

Result<OpenedFile> open_file(const std::string& path, int flags, const char* what) {
    OpenedFile f;
    f.fd = UniqueFd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!f.fd) return fail_sys(cat("open ", what, " ", q(path)));
    struct stat st{};
    if (::fstat(f.fd.get(), &st) != 0) return fail_sys(cat("stat ", what, " ", q(path)));
    if (S_ISDIR(st.st_mode)) return fail_msg(cat(what, " ", q(path), " is a directory"));
    // lseek gives block devices' sizes too, which stat reports as 0.
    const off_t end = ::lseek(f.fd.get(), 0, SEEK_END);
    if (end < 0) return fail_sys(cat("size of ", what, " ", q(path)));
    f.size = static_cast<std::uint64_t>(end);
    return f;
}

// The size of the terminal on `in` or else `out`; nullopt when neither is one.
std::optional<winsize> terminal_size(int in, int out) {
    for (int fd : {in, out}) {
        winsize ws{};
        if (fd >= 0 && ::ioctl(fd, TIOCGWINSZ, &ws) == 0) return ws;
    }
    return std::nullopt;
}

std::uint64_t now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

struct VmState {
    VmConfig config;
    Kvm kvm;
    UniqueFd vm_fd;
    GuestRam ram;
    std::vector<Vcpu> vcpus;

    // Devices: every access runs under dev_mu, whichever vCPU or the input thread makes it.
    std::mutex dev_mu;
    std::unique_ptr<KvmIrqLine> com_irq;
    std::unique_ptr<Uart> uart;
    I8042 i8042;
    std::vector<std::unique_ptr<KvmIrqLine>> virtio_irqs;
    std::vector<std::unique_ptr<virtio::Device>> virtio_devices;
    std::vector<std::unique_ptr<virtio::Transport>> transports;
    // The control channel: the last virtio device and its transport.
    virtio::Console* control = nullptr;
    virtio::Transport* control_transport = nullptr;
    bool control_was_ready = false;  // what control_ready_check last saw

    // How the run ended: the first vCPU to finish decides.
    std::mutex end_mu;
    bool ended = false;
    int status = 0;
    std::optional<Error> error;
    std::atomic<bool> stopping{false};
    UniqueFd ended_fd;  // eventfd that wakes the run loop

    void end(int st) { end_with(st, std::nullopt); }
    void fail(Error e) { end_with(1, std::move(e)); }
    void end_with(int st, std::optional<Error> e) {
        {
            std::lock_guard lock(end_mu);
            if (ended) return;
            ended = true;
            status = st;
            error = std::move(e);
        }
        stopping = true;
        const std::uint64_t one = 1;
        (void)!::write(ended_fd.get(), &one, sizeof one);
    }

    // Host -> guest control messages; under dev_mu. False when not sent.
    bool send_control_locked(std::span<const std::uint8_t> message);
    bool send_window_size_locked(std::uint16_t rows, std::uint16_t cols);
    bool send_signal_locked(int sig);
    // After a guest write to the control channel: a guest that just said kReady hears the
    // terminal's size at once. Under dev_mu.
    void control_ready_check();
    // A signal taken from the StopSource; false when it ended the VM.
    bool host_signal(int sig);

    // One port access; false when it ended the VM.
    bool port_io(std::uint16_t port, std::uint8_t* data, std::uint32_t size, bool out);
    bool mmio(const Vcpu& v, std::uint64_t addr, std::uint8_t* data, std::uint32_t len, bool write);
    void vcpu_loop(Vcpu& v);
    // Waits for the end, a stop request, the timeout or host input; then stops every vCPU.
    // Returns whether the timeout passed.
    bool control_loop(const StopSource* stop);
    // Kernel thread ids, index = vCPU; 0 until the thread has started. The kick goes by tgkill
    // rather than pthread_kill: in the OCI VM mode the VMM is a raw clone3 child, whose main
    // thread's glibc descriptor still holds the parent's tid.
    std::unique_ptr<std::atomic<pid_t>[]> vcpu_tids;
};

bool VmState::port_io(std::uint16_t port, std::uint8_t* data, std::uint32_t size, bool out) {
    if (!out) std::memset(data, 0xff, size);  // nothing there reads as all ones, as on a PC bus
    if (port >= x86::kComPort && port < x86::kComPort + 8) {
        std::lock_guard lock(dev_mu);
        if (out) uart->write(port - x86::kComPort, data[0]);
        else data[0] = uart->read(port - x86::kComPort);
    } else if (port == I8042::kDataPort || port == I8042::kCommandPort) {
        if (!out) data[0] = i8042.read(port);
        else if (i8042.write(port, data[0])) {
            end(0);
            return false;
        }
    } else if (port == x86::kExitPort) {
        if (out) {
            end(data[0]);
            return false;
        }
    } else if (port == x86::kSleepControlPort || port == x86::kSleepControlPort + 1) {
        // ACPI hardware-reduced sleep control: SLP_EN with the _S5 sleep type powers off.
        if (!out) std::memset(data, 0, size);
        else if (port == x86::kSleepControlPort && (data[0] & 0x20)) {
            end(0);
            return false;
        }
    }
    return true;
}

bool VmState::mmio(const Vcpu& v, std::uint64_t addr, std::uint8_t* data, std::uint32_t len, bool write) {
    const std::uint64_t base = x86::kVirtioMmioBase;
    if (addr >= base && addr < base + transports.size() * x86::kVirtioMmioSize) {
        const std::uint64_t index = (addr - base) / x86::kVirtioMmioSize;
        const std::uint64_t offset = (addr - base) % x86::kVirtioMmioSize;
        std::lock_guard lock(dev_mu);
        if (write) {
            transports[index]->write(offset, std::span<const std::uint8_t>(data, len));
            if (transports[index].get() == control_transport) control_ready_check();
        } else {
            transports[index]->read(offset, std::span(data, len));
        }
        return true;
    }
    fail(Error::msg(cat("guest ", write ? "wrote to" : "read from", " ", hex(addr),
                        ", which is neither RAM nor a device ", where(v))));
    return false;
}

bool VmState::send_control_locked(std::span<const std::uint8_t> message) {
    if (!control->guest_ready()) return false;
    return control->send(message, *control_transport);
}

bool VmState::send_window_size_locked(std::uint16_t rows, std::uint16_t cols) {
    const std::uint8_t m[] = {control::kWindowSize, 4,
                              static_cast<std::uint8_t>(rows), static_cast<std::uint8_t>(rows >> 8),
                              static_cast<std::uint8_t>(cols), static_cast<std::uint8_t>(cols >> 8)};
    return send_control_locked(m);
}

bool VmState::send_signal_locked(int sig) {
    if (sig < 1 || sig > 64) return false;
    const std::uint8_t m[] = {control::kSignal, 1, static_cast<std::uint8_t>(sig)};
    return send_control_locked(m);
}

void VmState::control_ready_check() {
    const bool ready = control->guest_ready();
    if (ready && !control_was_ready)
        if (const auto ws = terminal_size(config.in_fd, config.out_fd)) send_window_size_locked(ws->ws_row, ws->ws_col);
    control_was_ready = ready;
}

bool VmState::host_signal(int sig) {
    {
        std::lock_guard lock(dev_mu);
        if (control->guest_ready()) {
            // The size first, so a process that asks on SIGWINCH finds the new one.
            if (sig == SIGWINCH)
                if (const auto ws = terminal_size(config.in_fd, config.out_fd))
                    send_window_size_locked(ws->ws_row, ws->ws_col);
            send_signal_locked(sig);
            return true;
        }
    }
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT) {
        end(128 + sig);
        return false;
    }
    log::debug(cat("vm: signal ", sig, " dropped: the guest has not said it listens for signals"));
    return true;
}

void VmState::vcpu_loop(Vcpu& v) {
    kvm_run* run = v.run();
    t_run = run;
    // Published before the first look at `stopping` (both seq_cst), so the control loop
    // either sees this tid and kicks it or this loop sees `stopping` and never enters KVM_RUN.
    vcpu_tids[v.index()].store(static_cast<pid_t>(::gettid()));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    while (!stopping.load()) {
        if (::ioctl(v.fd(), KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                run->immediate_exit = 0;
                continue;
            }
            fail(Error::sys(cat("KVM_RUN on vcpu ", v.index())));
            break;
        }
        bool go_on = true;
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            // SAFETY: KVM puts the data at data_offset inside the kvm_run mapping, count * size bytes.
            std::uint8_t* data = reinterpret_cast<std::uint8_t*>(run) + run->io.data_offset;
            const bool out = run->io.direction == KVM_EXIT_IO_OUT;
            for (std::uint32_t i = 0; i < run->io.count && go_on; ++i)
                go_on = port_io(run->io.port, data + i * run->io.size, run->io.size, out);
            break;
        }
        case KVM_EXIT_MMIO:
            go_on = mmio(v, run->mmio.phys_addr, run->mmio.data, std::min<std::uint32_t>(run->mmio.len, 8),
                         run->mmio.is_write);
            break;
        case KVM_EXIT_INTR:
            break;
        case KVM_EXIT_SHUTDOWN:
            fail(Error::msg(cat("guest triple-faulted ", where(v))));
            go_on = false;
            break;
        case KVM_EXIT_SYSTEM_EVENT:
            if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH)
                fail(Error::msg(cat("guest reported a crash ", where(v))));
            else end(0);  // shutdown or reset: the guest is done
            go_on = false;
            break;
        case KVM_EXIT_INTERNAL_ERROR: {
            const std::uint32_t sub = run->internal.suberror;
            const char* what = sub == KVM_INTERNAL_ERROR_EMULATION ? "instruction emulation failed"
                               : sub == KVM_INTERNAL_ERROR_SIMUL_EX ? "exception while delivering an exception"
                               : sub == KVM_INTERNAL_ERROR_DELIVERY_EV ? "event delivery failed"
                                                                       : "internal error";
            fail(Error::msg(cat("guest stopped: kvm ", what, " (suberror ", sub, ") ", where(v))));
            go_on = false;
            break;
        }
        case KVM_EXIT_FAIL_ENTRY:
            fail(Error::msg(cat("kvm could not enter the guest (hardware reason ",
                                hex(run->fail_entry.hardware_entry_failure_reason), ") ", where(v))));
            go_on = false;
            break;
        case KVM_EXIT_HLT:
            fail(Error::msg(cat("guest halted with no way to wake it ", where(v))));
            go_on = false;
            break;
        default:
            fail(Error::msg(cat("unexpected kvm exit reason ", run->exit_reason, " ", where(v))));
            go_on = false;
            break;
        }
        if (!go_on) break;
    }
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    t_run = nullptr;
}

Vm::Vm() = default;
Vm::Vm(Vm&&) noexcept = default;
Vm& Vm::operator=(Vm&&) noexcept = default;
Vm::~Vm() = default;

Result<Vm> Vm::create(const VmConfig& config) {
    if (config.memory < kMinMemory) return fail_msg(cat("guest memory of ", config.memory, " bytes is less than the minimum of 2 MiB"));
    if (config.memory % 4096) return fail_msg(cat("guest memory of ", config.memory, " bytes is not a multiple of 4 KiB"));
    if (config.cpus < 1 || config.cpus > kMaxCpus) return fail_msg(cat("vcpu count ", config.cpus, " is not between 1 and ", kMaxCpus));
    // The disks, the output console and the control channel.
    const std::size_t n_virtio = config.disks.size() + 2;
    if (n_virtio > x86::kMaxVirtioDevices)
        return fail_msg(cat("too many disks: ", config.disks.size(), " (at most ", x86::kMaxVirtioDevices - 2, ")"));

    Vm machine;
    machine.s_ = std::make_unique<VmState>();
    VmState& s = *machine.s_;
    s.config = config;

    // Files first: a wrong path fails before any KVM object exists.
    OpenedFile kernel = HULL_TRY(open_file(config.kernel, O_RDONLY, "kernel"));
    const x86::FileReader kernel_reader(kernel.fd.get(), kernel.size);
    const x86::KernelImage image = HULL_TRY_CTX(x86::parse_kernel(kernel_reader, config.memory), cat("kernel ", q(config.kernel)));
    std::optional<OpenedFile> initrd;
    if (!config.initrd.empty()) initrd = HULL_TRY(open_file(config.initrd, O_RDONLY, "initrd"));
    std::vector<OpenedFile> disks;
    for (const DiskConfig& d : config.disks) {
        OpenedFile disk = HULL_TRY(open_file(d.path, d.read_only ? O_RDONLY : O_RDWR, "disk"));
        // Shared for a read-only disk, exclusive for a writable one, held while the VM has it.
        HULL_TRY(lock_disk(disk.fd.get(), d.path, d.read_only));
        disks.push_back(std::move(disk));
    }

    s.kvm = HULL_TRY(Kvm::open(config.kvm_path.c_str()));
    s.vm_fd = UniqueFd(kvm_ioctl(s.kvm.fd(), KVM_CREATE_VM, 0UL));
    if (!s.vm_fd) return fail_sys("KVM_CREATE_VM");
    const int vm = s.vm_fd.get();
    // Guest RAM goes in first. Registering a memory slot waits for an SRCU grace period once
    // the VM has slots of its own (the TSS, identity map and APIC pages that the calls below
    // add): 4-11 ms on a nested host, against 0.05-0.15 ms for a VM that has none yet.
    s.ram = HULL_TRY(GuestRam::create(config.memory));
    const GuestMemory& mem = s.ram.memory();
    for (std::uint32_t slot = 0; slot < mem.regions().size(); ++slot) {
        const GuestMemory::Region& r = mem.regions()[slot];
        kvm_userspace_memory_region region{};
        region.slot = slot;
        region.guest_phys_addr = r.gpa;
        region.memory_size = r.size;
        // SAFETY: the host address of guest RAM, passed to KVM as the integer the ABI wants.
        region.userspace_addr = reinterpret_cast<std::uint64_t>(r.host);
        if (kvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0)
            return fail_sys(cat("KVM_SET_USER_MEMORY_REGION for ", hex(r.gpa), "+", hex(r.size)));
    }
    // Intel's VMX wants these pages for real-mode emulation; put them in the MMIO hole's top.
    if (kvm_ioctl(vm, KVM_SET_TSS_ADDR, static_cast<unsigned long>(x86::kTssAddr)) != 0) return fail_sys("KVM_SET_TSS_ADDR");
    std::uint64_t identity = x86::kIdentityMapAddr;
    if (kvm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity) != 0) return fail_sys("KVM_SET_IDENTITY_MAP_ADDR");
    if (kvm_ioctl(vm, KVM_CREATE_IRQCHIP, 0UL) != 0) return fail_sys("KVM_CREATE_IRQCHIP");
    kvm_pit_config pit{};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;
    if (kvm_ioctl(vm, KVM_CREATE_PIT2, &pit) != 0) return fail_sys("KVM_CREATE_PIT2");

    // Kernel, initrd, command line, then the tables that describe the machine.
    HULL_TRY_CTX(x86::load_kernel(kernel_reader, image, mem), cat("kernel ", q(config.kernel)));
    x86::Initrd rd;
    if (initrd) {
        rd.size = initrd->size;
        rd.addr = HULL_TRY_CTX(x86::place_initrd(image, config.memory, rd.size), cat("initrd ", q(config.initrd)));
        std::uint8_t* dst = mem.ptr(rd.addr, rd.size);
        // SAFETY: place_initrd put [addr, addr + size) inside low RAM; ptr checked it again.
        const x86::FileReader reader(initrd->fd.get(), initrd->size);
        if (!dst) return fail_msg(cat("initrd ", q(config.initrd), " does not fit in guest memory"));
        HULL_TRY_CTX(reader.read_at(0, std::span(dst, rd.size)), cat("load initrd ", q(config.initrd)));
    }
    std::vector<x86::MmioDevice> mmio;
    std::string cmdline = config.cmdline;
    for (unsigned i = 0; i < n_virtio; ++i) {
        mmio.push_back({x86::virtio_mmio_addr(i), static_cast<std::uint32_t>(x86::kVirtioMmioSize), x86::virtio_irq(i)});
        if (!cmdline.empty()) cmdline += ' ';
        cmdline += cat("virtio_mmio.device=4K@", hex(mmio.back().addr), ":", mmio.back().irq);
    }
    HULL_TRY(x86::write_cmdline(image, mem, cmdline));
    HULL_TRY(x86::write_boot_structures(image, mem, config.memory, rd));
    HULL_TRY(x86::write_acpi_tables(mem, config.cpus, mmio));
    HULL_TRY(x86::write_mp_table(mem, config.cpus, mmio));

    const auto cpuid = HULL_TRY(s.kvm.supported_cpuid());
    const std::size_t run_size = HULL_TRY(s.kvm.vcpu_mmap_size());
    for (unsigned i = 0; i < config.cpus; ++i) {
        s.vcpus.push_back(HULL_TRY(Vcpu::create(vm, i, run_size)));
        HULL_TRY_CTX(x86::setup_vcpu(s.vcpus.back().fd(), cpuid, i, config.cpus), cat("set up vcpu ", i));
    }
    HULL_TRY_CTX(x86::setup_boot_registers(s.vcpus[0].fd(), image), "set up the boot vcpu");

    s.com_irq = std::make_unique<KvmIrqLine>(vm, x86::kComIrq);
    s.uart = std::make_unique<Uart>(s.com_irq.get(), config.out_fd);
    for (std::size_t i = 0; i < n_virtio; ++i) {
        s.virtio_irqs.push_back(std::make_unique<KvmIrqLine>(vm, x86::virtio_irq(static_cast<unsigned>(i))));
        if (i < disks.size())
            s.virtio_devices.push_back(std::make_unique<virtio::Block>(std::move(disks[i].fd), disks[i].size,
                                                                       config.disks[i].read_only, cat("hull-disk", i)));
        else if (i == disks.size()) s.virtio_devices.push_back(std::make_unique<virtio::Console>(config.out_fd));
        else s.virtio_devices.push_back(std::make_unique<virtio::Console>(virtio::Console::kControl));
        s.transports.push_back(std::make_unique<virtio::Transport>(*s.virtio_devices.back(), mem, s.virtio_irqs.back().get()));
    }
    // SAFETY: the last device was made just above as the control console.
    s.control = static_cast<virtio::Console*>(s.virtio_devices.back().get());
    s.control_transport = s.transports.back().get();
    s.ended_fd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!s.ended_fd) return fail_sys("eventfd for the vm's end");
    return machine;
}

bool VmState::control_loop(const StopSource* stop) {
    const std::uint64_t deadline = config.timeout_ms ? now_ms() + config.timeout_ms : 0;
    bool input_open = config.in_fd >= 0;
    bool timed_out = false;
    while (true) {
        pollfd fds[3];
        nfds_t n = 0;
        fds[n++] = {ended_fd.get(), POLLIN, 0};
        if (stop) fds[n++] = {stop->fd(), POLLIN, 0};
        std::size_t room = 0;
        if (input_open) {
            std::lock_guard lock(dev_mu);
            room = uart->rx_room();
        }
        const bool poll_input = input_open && room > 0;
        if (poll_input) fds[n++] = {config.in_fd, POLLIN, 0};
        int wait = -1;
        if (deadline) {
            const std::uint64_t now = now_ms();
            if (now >= deadline) {
                timed_out = true;
                break;
            }
            wait = static_cast<int>(std::min<std::uint64_t>(deadline - now, 1 << 30));
        }
        // A full receive FIFO is drained by the guest without telling hull: look again shortly.
        if (input_open && !poll_input) wait = wait < 0 ? 10 : std::min(wait, 10);
        const int r = ::poll(fds, n, wait);
        if (r < 0) {
            if (errno == EINTR) continue;
            fail(Error::sys("poll"));
            break;
        }
        if (fds[0].revents) break;
        if (stop && fds[1].revents) {
            std::uint64_t count;
            (void)!::read(stop->fd(), &count, sizeof count);
            if (stop->status() >= 0) {
                end(stop->status());
                break;
            }
            // Read after the eventfd was: a signal that comes in between wakes the next poll.
            const std::uint64_t sigs = stop->take_signals();
            bool go_on = true;
            for (int sig = 1; sig <= 64 && go_on; ++sig)
                if (sigs & (std::uint64_t{1} << (sig - 1))) go_on = host_signal(sig);
            if (!go_on) break;
        }
        if (poll_input && fds[n - 1].revents) {
            std::uint8_t buf[Uart::kFifoSize];
            const ssize_t got = ::read(config.in_fd, buf, std::min(room, sizeof buf));
            if (got > 0) {
                std::lock_guard lock(dev_mu);
                uart->receive(std::span(buf, static_cast<std::size_t>(got)));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                input_open = false;  // end of input: the guest just hears nothing more
            }
        }
    }
    stopping = true;
    const pid_t self = ::getpid();
    for (std::size_t i = 0; i < vcpus.size(); ++i)
        if (const pid_t tid = vcpu_tids[i].load()) (void)::syscall(SYS_tgkill, self, tid, kick_signal());
    return timed_out;
}

Result<int> Vm::run(const StopSource* stop) {
    VmState& s = *s_;
    // The kick signal interrupts KVM_RUN; blocked everywhere but inside the vCPU loops, so it
    // never lands on a thread that does not expect it.
    struct sigaction sa{};
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(kick_signal(), &sa, nullptr) != 0) return fail_sys("install the vcpu kick handler");
    sigset_t kick, old;
    sigemptyset(&kick);
    sigaddset(&kick, kick_signal());
    pthread_sigmask(SIG_BLOCK, &kick, &old);

    // The boot vCPU runs on the calling thread, so no thread start stands between run() and the
    // guest's first instruction; the other vCPUs (parked until the guest sends them INIT/SIPI)
    // and the control loop (input, timeout, stop requests) get threads of their own.
    s.vcpu_tids = std::make_unique<std::atomic<pid_t>[]>(s.vcpus.size());
    std::vector<std::thread> aps;
    aps.reserve(s.vcpus.size() - 1);
    for (std::size_t i = 1; i < s.vcpus.size(); ++i) aps.emplace_back([&s, i] { s.vcpu_loop(s.vcpus[i]); });
    bool timed_out = false;
    std::thread control([&s, &timed_out, stop] { timed_out = s.control_loop(stop); });
    s.vcpu_loop(s.vcpus[0]);
    control.join();
    for (std::thread& t : aps) t.join();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);

    std::lock_guard lock(s.end_mu);
    if (timed_out && !s.ended) {
        s.ended = true;
        const std::uint64_t ms = s.config.timeout_ms;
        s.error = Error::msg(cat("guest still running after the ", ms % 1000 ? cat(ms, " ms") : cat(ms / 1000, " s"),
                                 " timeout (rip ", hex(s.vcpus[0].rip()), ")"));
    }
    if (s.error) return fail(*s.error);
    return s.status;
}

Result<int> run_vm(const VmConfig& config, const StopSource* stop) {
    Vm vm = HULL_TRY(Vm::create(config));
    return vm.run(stop);
}

}  // namespace hull::vm
