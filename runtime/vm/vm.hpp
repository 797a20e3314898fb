// hull's KVM micro-VM: the library API `hull vm run` (and later the OCI VM mode) drives.
//
// Setup (Vm::create: open /dev/kvm, create the VM, map guest memory, load the kernel, open
// disks, create vCPUs) is separate from running (Vm::run: the boot vCPU on the calling thread,
// one thread per other vCPU, one control thread for host input, the timeout and stop requests),
// so a caller can confine the process in between. vCPU threads are kicked out of KVM_RUN with
// SIGRTMIN+2, which Vm::run installs a handler for. Exit status convention, for guests:
//   - a byte written to I/O port 0x501 ends the VM with that byte as its status;
//   - i8042 reset (0xfe to port 0x64), ACPI power-off or a KVM shutdown event: status 0;
//   - a StopSource request: the status it was given (hull uses 128 + signal number);
//   - triple fault, KVM internal/emulation error, failed entry, a guest access to memory that is
//     neither RAM nor a device, or the timeout: an Error naming what happened (rip where known).
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
    std::vector<DiskConfig> disks;     // virtio-blk, in order, then the virtio-console
    int in_fd = 0;                     // host input to the UART; -1 for none
    int out_fd = 1;                    // UART and virtio-console output
    std::uint64_t timeout_ms = 0;      // 0: none
    std::string kvm_path = "/dev/kvm";
};

inline constexpr std::uint64_t kMinMemory = 2ull << 20;
inline constexpr unsigned kMaxCpus = 254;  // 8-bit APIC ids, 0xff is broadcast

// Parses a memory size: bytes, or a number with a K/M/G suffix (powers of 1024).
Result<std::uint64_t> parse_memory_size(std::string_view s);

// Stops a running VM from another thread or from a signal handler.
class StopSource {
public:
    static Result<StopSource> create();
    StopSource(StopSource&& o) noexcept : fd_(std::move(o.fd_)), status_(o.status_.load()) {}

    // Async-signal-safe. The first request decides the status Vm::run returns.
    void request_stop(int status) const noexcept;
    int fd() const { return fd_.get(); }
    int status() const { return status_.load(); }

private:
    StopSource() = default;
    UniqueFd fd_;
    mutable std::atomic<int> status_{-1};
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
