// OCI containers on hull's micro-VM: which bundles are VMs (annotations), how a spec becomes a
// VmConfig (kernel from the rootfs, vCPUs and memory from linux.resources, the rootfs as an
// erofs disk), and the VMM process that `create` leaves waiting at exec.fifo.
//
// The container lifecycle (state dir, cgroup, exec.fifo, record) stays in runtime/container.cpp;
// it clones the VMM process into the container's cgroup and namespaces and calls vmm_main there.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"
#include "runtime/vm/vm.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace hull::vm {

inline constexpr std::string_view kIsolationAnnotation = "org.hull.isolation";
inline constexpr std::string_view kKernelAnnotation = "org.hull.vm.kernel";
inline constexpr std::string_view kCmdlineAnnotation = "org.hull.vm.cmdline";
inline constexpr std::string_view kInitrdAnnotation = "org.hull.vm.initrd";

// What the memory limit pays for besides guest RAM: hull's text and heap (~2 MiB measured), KVM's
// per-VM and per-vCPU kernel objects and shadow page tables, which the kernel charges to the
// VMM's memory cgroup. Guest memory = limit - this, rounded down to 1 MiB.
inline constexpr std::uint64_t kVmmOverhead = 16ull << 20;
inline constexpr std::uint64_t kDefaultGuestMemory = 128ull << 20;
// The writable disk given to a container whose root is not read-only: sparse, so it costs
// only what the guest writes.
inline constexpr std::uint64_t kScratchDiskSize = 1ull << 30;

// True when the spec asks for VM isolation (`org.hull.isolation` = `vm`); an error for any
// value but `vm` and `container`.
Result<bool> wants_vm(const oci::Spec& spec);

// A VM container planned in the parent: everything the VMM child needs, opened or computed
// before the clone so the child only confines itself, boots and waits.
struct OciVm {
    VmConfig config;          // paths as the jailed VMM sees them: /dev/kvm, /kernel, /disk0..
    std::string rootfs;
    std::string kernel;       // path inside the rootfs, checked by opening it (openat2 RESOLVE_IN_ROOT)
    std::string initrd;       // empty: none
    // No org.hull.vm.kernel: a Linux image booted with the host kernel from hull's configuration
    // and hull's guest init (linux_guest.hpp); `kernel` and `initrd` are then host paths.
    bool host_kernel = false;
    std::string kernel_config;  // with host_kernel: the config file that named the kernel
    std::string image;        // host path of the rootfs image (erofs, cached)
    UniqueFd image_fd;        // the image, read-locked so a prune keeps it until the VMM holds its own lock
    std::string scratch;      // host path of the writable disk, empty when root.readonly
    std::string jail;         // empty directory the VMM mounts its root on (in its own mount ns)
    int clone_flags = 0;      // CLONE_NEW* for the VMM (always CLONE_NEWNS)
    bool cgroup_ns = false;   // unshare the cgroup namespace after joining the cgroup
};

// Plans the VM for a container. `state_dir` is the container's state directory: the writable
// disk and the jail mount point go there, so `delete` removes them. `layers`: the lower
// directories (top first) of an `org.hull.rootfs.overlay` root, whose merged view becomes the
// rootfs image (layered_image.hpp) and holds the kernel; empty: the rootfs directory is the root.
Result<OciVm> plan_oci_vm(const oci::Spec& spec, const std::string& rootfs, const std::string& state_dir,
                          std::span<const std::string> layers = {});

// Adds what the VMM itself must open to the container's device rules: `/dev/kvm` (read-write).
// Nothing else: the guest's devices are emulated, not host devices.
void allow_vmm_devices(oci::Resources& resources);

// The vCPU count for linux.resources.cpu: quota/period rounded up, else the cpuset's size,
// else 1; never more than `host_cpus`.
Result<unsigned> vcpus_for(const oci::Spec& spec, unsigned host_cpus);
// Guest memory for linux.resources.memory.limit (see kVmmOverhead).
Result<std::uint64_t> guest_memory_for(const oci::Spec& spec);

// The VMM process, in the container's cgroup and new namespaces (cloned by create). Builds its
// jail root (/dev/kvm, the kernel, initrd and disks, nothing else), pivots into it, creates the
// VM, drops every capability, sets no_new_privs, then reports on `ready_fd` (one byte 'r', or
// the error as text) and waits at `fifo_fd` (exec.fifo) for `start`. Then it installs the
// seccomp filter (TSYNC; the vCPU and control threads inherit it), runs the guest and exits
// with its status. SIGTERM, SIGINT, SIGHUP and SIGQUIT stop the VM (exit 128 + signal).
[[noreturn]] void vmm_main(OciVm& vm, int fifo_fd, int ready_fd);

}  // namespace hull::vm
