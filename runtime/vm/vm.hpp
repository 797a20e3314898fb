// hull's KVM micro-VM: the library API `hull vm run` (and later the OCI VM mode) drives.
//
// Setup (Vm::create: open /dev/kvm, create the VM, map guest memory, load the kernel, open
// disks, create vCPUs) is separate from running (Vm::run: the boot vCPU on the calling thread,
// one thread per other vCPU, one control thread for host input, the timeout and stop requests),
// so a caller can confine the process in between. vCPU threads are kicked out of KVM_RUN with
// SIGRTMIN+2, which Vm::run installs a handler for. Exit status convention, for guests:
//   - a byte written to I/O port 0x501 ends the VM with that byte as its status;
//   - i8042 reset (0xfe to port 0x64), ACPI power-off or a KVM shutdown event: status 0;
//   - a StopSource request: the status it was given (hull uses 128 + signal number), or a
//     host signal forwarded before the guest listens for signals (below);
//   - triple fault, KVM internal/emulation error, failed entry, a guest access to memory that is
//     neither RAM nor a device, or the timeout: an Error naming what happened (rip where known).
//
// The control channel (control_protocol.hpp) is the last virtio-mmio device, a second
// virtio-console: the host sends signals and window sizes to the guest through it once the guest
// has said kReady.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hull::vm {

struct DiskConfig {
    std::string path;
    bool read_only = false;
};

struct VmConfig {
    std::string kernel;
    std::string initrd;                // empty: none
    std::string cmdline;               // hull appends a virtio_mmio.device= per device
    std::uint64_t memory = 128ull << 20;
    unsigned cpus = 1;
    std::vector<DiskConfig> disks;     // virtio-blk, in order, then the virtio-console, then
                                       // the control channel
    int in_fd = 0;                     // host input to the UART (and, as out_fd, the terminal
                                       // whose size the guest hears of); -1 for none
    int out_fd = 1;                    // UART and virtio-console output
    std::uint64_t timeout_ms = 0;      // 0: none
    std::string kvm_path = "/dev/kvm";
};

inline constexpr std::uint64_t kMinMemory = 2ull << 20;
inline constexpr unsigned kMaxCpus = 254;  // 8-bit APIC ids, 0xff is broadcast

// Parses a memory size: bytes, or a number with a K/M/G suffix (powers of 1024).
Result<std::uint64_t> parse_memory_size(std::string_view s);

// Stops a running VM, or hands it host signals, from another thread or from a signal handler:
// both only record the request and write an eventfd, which Vm::run's control thread reads.
class StopSource {
public:
    static Result<StopSource> create();
    StopSource(StopSource&& o) noexcept
        : fd_(std::move(o.fd_)), status_(o.status_.load()), signals_(o.signals_.load()) {}

    // Async-signal-safe. The first request decides the status Vm::run returns.
    void request_stop(int status) const noexcept;
    // Async-signal-safe. A host signal (1..64) for the guest. Once the guest has said kReady it
    // becomes a kSignal message (SIGWINCH also a kWindowSize with the terminal's size, when
    // config.in_fd or out_fd is a terminal) and the VM runs on until the guest ends it. Before
    // that, SIGTERM, SIGINT, SIGHUP and SIGQUIT stop the VM with 128 + signal and any other
    // signal is dropped: nothing in the guest would hear it. A signal sent again before the
    // control thread took it counts once, as the kernel's pending set does.
    void forward_signal(int sig) const noexcept;
    int fd() const { return fd_.get(); }
    int status() const { return status_.load(); }
    // The signals forwarded since the last call, bit sig - 1 for each.
    std::uint64_t take_signals() const noexcept { return signals_.exchange(0); }

private:
    StopSource() = default;
    void wake() const noexcept;
    UniqueFd fd_;
    mutable std::atomic<int> status_{-1};
    mutable std::atomic<std::uint64_t> signals_{0};
};

struct VmState;

class Vm {
public:
    static Result<Vm> create(const VmConfig& config);
    // Runs until the guest ends, `stop` is requested or the timeout passes; returns the guest's
    // exit status. Call once.
    Result<int> run(const StopSource* stop = nullptr);

    Vm(Vm&&) noexcept;
    Vm& operator=(Vm&&) noexcept;
    ~Vm();

private:
    Vm();
    std::unique_ptr<VmState> s_;
};

// create + run.
Result<int> run_vm(const VmConfig& config, const StopSource* stop = nullptr);

}  // namespace hull::vm
