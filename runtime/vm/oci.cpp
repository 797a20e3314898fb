#include "runtime/vm/oci.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/vm/layered_image.hpp"
#include "runtime/vm/linux_guest.hpp"
#include "runtime/vm/rootfs_image.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace hull::vm {
namespace {

std::string annotation(const oci::Spec& spec, std::string_view key) {
    auto it = spec.annotations.find(std::string(key));
    return it == spec.annotations.end() ? std::string() : it->second;
}

// Opens `path` inside `rootfs` the way the guest would see it: `..` never climbs above the
// rootfs and symlinks resolve against it (RESOLVE_IN_ROOT), so nothing on the host outside the
// rootfs can be named; `..` components are refused outright, since they can only mean a mistake.
Result<UniqueFd> open_in_rootfs(const std::string& rootfs, const std::string& path, std::string_view what) {
    std::string where = cat("annotation ", what, " ", q(path));
    if (path.empty()) return fail_msg(cat(where, ": empty path"));
    for (const auto& part : split(path, '/'))
        if (part == "..") return fail_msg(cat(where, ": `..` may not appear in a path inside the rootfs"));
    UniqueFd root = HULL_TRY(fs::open(rootfs, O_PATH | O_DIRECTORY));
    struct open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd = sys::openat2(root.get(), path.c_str(), &how, sizeof how);
    if (fd < 0) return fail_sys(cat(where, " in the rootfs ", q(rootfs)));
    UniqueFd file(fd);
    struct stat st;
    if (::fstat(fd, &st) < 0) return fail_sys(cat("stat ", where));
    if (!S_ISREG(st.st_mode)) return fail_msg(cat(where, ": not a regular file"));
    return file;
}

unsigned host_cpu_count() {
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1;
}

// "0-3,6" -> 5; nullopt when malformed.
std::optional<unsigned> cpuset_size(std::string_view s) {
    unsigned total = 0;
    for (const auto& part : split(s, ',')) {
        if (part.empty()) return std::nullopt;
        auto dash = part.find('-');
        auto lo = parse_int<unsigned>(part.substr(0, dash));
        auto hi = dash == std::string::npos ? lo : parse_int<unsigned>(part.substr(dash + 1));
        if (!lo || !hi || *hi < *lo) return std::nullopt;
        total += *hi - *lo + 1;
    }
    return total;
}

// ---- the VMM's confinement --------------------------------------------------------------

[[noreturn]] void die(int ready_fd, const Error& e) {
    std::string msg = e.message();
    (void)!::write(ready_fd, msg.data(), msg.size());
    ::_exit(1);
}

Status bind_file(const std::string& src, const std::string& dst, bool read_only) {
    UniqueFd f = HULL_TRY(fs::open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600));
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) < 0)
        return fail_sys(cat("bind ", q(src), " on ", q(dst)));
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC | (read_only ? MS_RDONLY : 0);
    if (::mount(nullptr, dst.c_str(), nullptr, flags, nullptr) < 0) return fail_sys(cat("remount ", q(dst)));
    return {};
}

// Firecracker's jailer, in-process: a private mount namespace whose root is a small tmpfs
// holding /dev/kvm, the kernel, the initrd and the disks, and nothing else.
Status enter_jail(const OciVm& vm) {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return fail_sys("make / private");
    struct stat kvm;
    if (::stat("/dev/kvm", &kvm) < 0) return fail_sys("stat `/dev/kvm`");
    if (!S_ISCHR(kvm.st_mode)) return fail_msg("`/dev/kvm` is not a character device");
    const std::string& j = vm.jail;
    if (::mount("hull-vm", j.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=16") < 0)
        return fail_sys(cat("mount tmpfs on ", q(j)));
    if (::mkdir((j + "/dev").c_str(), 0755) < 0) return fail_sys("mkdir `/dev` in the vm root");
    if (::mknod((j + "/dev/kvm").c_str(), S_IFCHR | 0600, kvm.st_rdev) < 0) return fail_sys("mknod `/dev/kvm`");
    // Opened again here: a bind mount's source must belong to this mount namespace.
    UniqueFd kernel = vm.host_kernel ? HULL_TRY(fs::open(vm.kernel, O_RDONLY | O_NOCTTY | O_NONBLOCK))
                                     : HULL_TRY(open_in_rootfs(vm.rootfs, vm.kernel, kKernelAnnotation));
    HULL_TRY(bind_file(cat("/proc/self/fd/", kernel.get()), j + "/kernel", true));
    if (!vm.initrd.empty()) {
        UniqueFd initrd = vm.host_kernel ? HULL_TRY(fs::open(vm.initrd, O_RDONLY | O_NOCTTY))
                                         : HULL_TRY(open_in_rootfs(vm.rootfs, vm.initrd, kInitrdAnnotation));
        HULL_TRY(bind_file(cat("/proc/self/fd/", initrd.get()), j + "/initrd", true));
    }
    HULL_TRY(bind_file(vm.image, j + "/disk0", true));
    // The name led to the locked entry when `create` found it, and nothing removes a locked
    // entry; checked anyway, since a different file here would be a different root.
    struct stat bound, locked;
    if (::stat((j + "/disk0").c_str(), &bound) < 0 || ::fstat(vm.image_fd.get(), &locked) < 0 ||
        bound.st_dev != locked.st_dev || bound.st_ino != locked.st_ino)
        return fail_msg(cat("the cached image ", q(vm.image), " changed while the vm was created"));
    if (!vm.scratch.empty()) HULL_TRY(bind_file(vm.scratch, j + "/disk1", false));
    if (::chdir(j.c_str()) < 0) return fail_sys(cat("chdir ", q(j)));
    if (sys::pivot_root(".", ".") < 0) return fail_sys("pivot_root into the vm root");
    if (::umount2(".", MNT_DETACH) < 0) return fail_sys("detach the old root");
    if (::chdir("/") < 0) return fail_sys("chdir `/`");
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, nullptr) < 0)
        return fail_sys("make the vm root read-only");
    return {};
}

Status drop_privileges() {
    for (int cap = 0; cap <= 63; ++cap) {
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;  // past the kernel's last capability
            return fail_sys(cat("drop capability ", cap, " from the bounding set"));
        }
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return fail_sys("clear ambient capabilities");
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capset, &hdr, data) < 0) return fail_sys("capset");
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail_sys("prctl(PR_SET_NO_NEW_PRIVS)");
    return {};
}

// What Vm::run and its threads call, and nothing else (Firecracker's VMM filter is the model):
// KVM_RUN and the few vCPU/VM ioctls of the run loop, I/O on descriptors already open, thread
// start and end, signals for the vCPU kick, memory management for thread stacks and malloc, and
// TIOCGWINSZ for the terminal size the control channel sends the guest.
// No open, no socket, no exec, no mount. Installed with TSYNC; threads started later inherit it.
Status install_seccomp() {
    scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) return fail_msg("seccomp_init failed");
    struct Guard {
        scmp_filter_ctx c;
        ~Guard() { ::seccomp_release(c); }
    } guard{ctx};
    static const int allowed[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
        SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(fsync),
        SCMP_SYS(fdatasync), SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(futex),
        SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(set_robust_list),
        SCMP_SYS(rseq), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
        SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
        SCMP_SYS(rt_sigreturn), SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
        SCMP_SYS(sched_yield), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime),
        SCMP_SYS(restart_syscall), SCMP_SYS(eventfd2), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
        SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom),
    };
    for (int nr : allowed)
        if (int r = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); r < 0)
            return fail(Error(-r, "seccomp_rule_add"));
    static const unsigned long ioctls[] = {KVM_RUN,      KVM_IRQ_LINE,  KVM_GET_REGS, KVM_SET_REGS,
                                           KVM_GET_SREGS, KVM_SET_SREGS, TCGETS,       TIOCGWINSZ};
    for (unsigned long req : ioctls)
        if (int r = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, req)); r < 0)
            return fail(Error(-r, "seccomp_rule_add ioctl"));
    if (int r = ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1); r < 0)
        return fail(Error(-r, "seccomp tsync"));
    if (int r = ::seccomp_load(ctx); r < 0) return fail(Error(-r, "load the vmm seccomp filter"));
    return {};
}

const StopSource* g_stop = nullptr;

// Async-signal-safe: records the signal and writes the StopSource's eventfd.
void on_guest_signal(int sig) {
    if (g_stop) g_stop->forward_signal(sig);
}

// SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH are for the guest: once it
// has said kReady on the control channel each becomes a kSignal message (StopSource::
// forward_signal) and the VM ends when the guest does; before that the first four stop the VM
// (exit 128 + signal) and the other three are dropped. SIGKILL ends the VMM at once. SIGPIPE,
// SIGALRM and SIGTSTP/TTIN/TTOU are ignored: the VMM itself must not stop or die of them.
Status install_signals(const StopSource& stop) {
    g_stop = &stop;
    struct sigaction sa{};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_guest_signal;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
        if (::sigaction(sig, &sa, nullptr) < 0) return fail_sys(cat("sigaction ", sig));
    sa.sa_handler = SIG_IGN;
    for (int sig : {SIGPIPE, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU})
        if (::sigaction(sig, &sa, nullptr) < 0) return fail_sys(cat("sigaction ", sig));
    return {};
}

// The start gate, as the container init waits at it: one byte from `start`.
Status wait_for_start(int fifo_fd) {
    for (;;) {
        struct pollfd pfd = {fifo_fd, POLLIN, 0};
        int r = ::poll(&pfd, 1, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail_sys("wait for start");
        char c;
        ssize_t n = ::read(fifo_fd, &c, 1);
        if (n == 1) return {};
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n == 0) {  // a writer came and went without a byte: not a start
            ::usleep(1000);
            continue;
        }
        return fail_sys("read exec.fifo");
    }
}

}  // namespace

Result<bool> wants_vm(const oci::Spec& spec) {
    auto it = spec.annotations.find(std::string(kIsolationAnnotation));
    if (it == spec.annotations.end() || it->second == "container") return false;
    if (it->second == "vm") return true;
    return fail_msg(cat("config.json: .annotations[\"", kIsolationAnnotation, "\"]: unknown isolation ", q(it->second),
                        " (want `vm` or `container`)"));
}

void allow_vmm_devices(oci::Resources& resources) {
    struct stat st;
    std::int64_t major = 10, minor = 232;  // the misc device's fixed numbers, if stat fails
    if (::stat("/dev/kvm", &st) == 0 && S_ISCHR(st.st_mode)) {
        major = ::major(st.st_rdev);
        minor = ::minor(st.st_rdev);
    }
    oci::DeviceRule kvm;
    kvm.allow = true;
    kvm.type = 'c';
    kvm.major = major;
    kvm.minor = minor;
    kvm.access = "rw";
    resources.devices.push_back(kvm);
}

Result<unsigned> vcpus_for(const oci::Spec& spec, unsigned host_cpus) {
    unsigned n = 1;
    const oci::Cpu* cpu = spec.linux && spec.linux->resources && spec.linux->resources->cpu
                              ? &*spec.linux->resources->cpu
                              : nullptr;
    if (cpu && cpu->quota && *cpu->quota > 0) {
        std::uint64_t period = cpu->period && *cpu->period ? *cpu->period : 100000;
        std::uint64_t q = static_cast<std::uint64_t>(*cpu->quota);
        n = static_cast<unsigned>(std::min<std::uint64_t>((q + period - 1) / period, kMaxCpus));
    } else if (cpu && !cpu->cpus.empty()) {
        auto size = cpuset_size(cpu->cpus);
        if (!size || *size == 0) return fail_msg(cat("linux.resources.cpu.cpus: malformed cpuset ", q(cpu->cpus)));
        n = *size;
    }
    return std::clamp(n, 1u, std::min(std::max(host_cpus, 1u), kMaxCpus));
}

Result<std::uint64_t> guest_memory_for(const oci::Spec& spec) {
    const oci::Memory* mem = spec.linux && spec.linux->resources && spec.linux->resources->memory
                                 ? &*spec.linux->resources->memory
                                 : nullptr;
    if (!mem || !mem->limit || *mem->limit <= 0) return kDefaultGuestMemory;  // -1: unlimited
    std::uint64_t limit = static_cast<std::uint64_t>(*mem->limit);
    if (limit < kVmmOverhead + kMinMemory)
        return fail_msg(cat("linux.resources.memory.limit: ", limit, " bytes leaves less than 2 MiB of guest memory after the VMM's ",
                            kVmmOverhead >> 20, " MiB allowance"));
    return (limit - kVmmOverhead) & ~((1ull << 20) - 1);
}

Result<OciVm> plan_oci_vm(const oci::Spec& spec, const std::string& rootfs, const std::string& state_dir,
                          std::span<const std::string> layers) {
    OciVm vm;
    VmConfig& c = vm.config;
    c.cpus = HULL_TRY(vcpus_for(spec, host_cpu_count()));
    c.memory = HULL_TRY(guest_memory_for(spec));
    vm.rootfs = rootfs;
    std::string kernel = annotation(spec, kKernelAnnotation);
    if (kernel.empty()) {
        // A Linux image: the configured host kernel and hull's guest init (linux_guest.hpp).
        if (!annotation(spec, kInitrdAnnotation).empty())
            return fail_msg(cat("annotation ", kInitrdAnnotation, " needs ", kKernelAnnotation,
                                " (a linux image boots hull's own initramfs)"));
        LinuxGuest g = HULL_TRY(plan_linux_guest(spec, state_dir, !spec.root.readonly));
        vm.host_kernel = true;
        vm.kernel = g.kernel;
        vm.kernel_config = g.config_path;
        vm.initrd = g.initrd;
        c.cmdline = g.cmdline;
        const auto* res = spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
        if (g.memory && !(res && res->memory && res->memory->limit && *res->memory->limit > 0)) c.memory = g.memory;
        if (g.cpus && !(res && res->cpu && ((res->cpu->quota && *res->cpu->quota > 0) || !res->cpu->cpus.empty())))
            c.cpus = g.cpus;
    } else {
        // Opened here for the error (the VMM opens them again in its own mount namespace).
        vm.kernel = kernel;
        vm.initrd = annotation(spec, kInitrdAnnotation);
        if (!layers.empty()) {
            // An overlay root: the files come from the top layer that has them.
            std::string top = layer_holding(layers, kernel);
            vm.rootfs = top.empty() ? layers.front() : top;
            if (!vm.initrd.empty() && layer_holding(layers, vm.initrd) != vm.rootfs)
                return fail_msg(cat("annotations ", kKernelAnnotation, " and ", kInitrdAnnotation,
                                    ": with org.hull.rootfs.overlay both must come from the same layer"));
        }
        HULL_TRY(open_in_rootfs(vm.rootfs, kernel, kKernelAnnotation));
        if (!vm.initrd.empty()) HULL_TRY(open_in_rootfs(vm.rootfs, vm.initrd, kInitrdAnnotation));
        c.cmdline = "console=ttyS0";
        if (std::string extra = annotation(spec, kCmdlineAnnotation); !extra.empty()) c.cmdline += " " + extra;
    }
    c.kernel = "/kernel";
    c.initrd = vm.initrd.empty() ? "" : "/initrd";

    if (spec.linux) {
        for (const auto& ns : spec.linux->namespaces) {
            if (!ns.path.empty())
                return fail_msg(cat("linux.namespaces: vm isolation cannot join the ", oci::to_string(ns.type),
                                    " namespace at ", q(ns.path), ": the VMM only runs in new namespaces"));
            if (ns.type == oci::NamespaceType::user)
                return fail_msg("linux.namespaces: vm isolation does not support a user namespace (the VMM needs `/dev/kvm` as root)");
            if (ns.type == oci::NamespaceType::cgroup) vm.cgroup_ns = true;
            else vm.clone_flags |= oci::clone_flag(ns.type);
        }
    }
    vm.clone_flags |= CLONE_NEWNS;

    // The entry stays read-locked (cache.hpp) until the VMM has taken its own disk lock.
    CacheEntry image = layers.empty() ? HULL_TRY(rootfs_image(rootfs)) : HULL_TRY(layers_image(layers, state_dir));
    vm.image = std::move(image.path);
    vm.image_fd = std::move(image.fd);
    c.disks.push_back({"/disk0", true});
    if (!spec.root.readonly) {
        vm.scratch = state_dir + "/vm-disk1.img";
        UniqueFd f = HULL_TRY(fs::open(vm.scratch, O_WRONLY | O_CREAT | O_EXCL, 0600));
        if (::ftruncate(f.get(), static_cast<off_t>(kScratchDiskSize)) < 0) return fail_sys(cat("size ", q(vm.scratch)));
        // hull's guest init mounts it as the overlay's upper layer.
        if (vm.host_kernel) HULL_TRY_CTX(format_writable_disk(vm.scratch), "the writable disk");
        c.disks.push_back({"/disk1", false});
    }
    vm.jail = state_dir + "/vm-root";
    if (::mkdir(vm.jail.c_str(), 0700) < 0) return fail_sys(cat("mkdir ", q(vm.jail)));
    c.kvm_path = "/dev/kvm";
    c.in_fd = STDIN_FILENO;
    c.out_fd = STDOUT_FILENO;
    return vm;
}

void vmm_main(OciVm& vm, int fifo_fd, int ready_fd) {
    if (vm.cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) die(ready_fd, Error::sys("unshare the cgroup namespace"));
    if (auto r = enter_jail(vm); !r) die(ready_fd, Error(r.error()).context("vm root"));
    auto machine = Vm::create(vm.config);
    // The VMM's own lock on /disk0 (Vm::create) now keeps the image; so does a failure's exit.
    vm.image_fd.reset();
    if (!machine) {
        // The VMM names its files by their jail paths; the user knows them by the annotations.
        Error e = machine.error();
        std::string what = e.what();
        auto rename = [&](const std::string& jailed, const std::string& real, const std::string& where) {
            if (auto at = what.find(q(jailed)); at != std::string::npos && !real.empty())
                what.replace(at, jailed.size() + 2, cat(q(real), where));
        };
        rename("/kernel", vm.kernel, vm.host_kernel ? cat(" (vm.kernel in ", q(vm.kernel_config), ")") : " (in the rootfs)");
        rename("/initrd", vm.initrd, vm.host_kernel ? " (hull's initramfs for the guest)" : " (in the rootfs)");
        rename("/disk0", vm.image, " (the rootfs image)");
        rename("/disk1", vm.scratch, " (the writable disk)");
        die(ready_fd, Error(e.code(), what).context("vm"));
    }
    auto stop = StopSource::create();
    if (!stop) die(ready_fd, stop.error());
    if (auto r = install_signals(*stop); !r) die(ready_fd, r.error());
    if (auto r = drop_privileges(); !r) die(ready_fd, r.error());
    // Created. `hull create` may exit now; the VMM must outlive it.
    if (::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) die(ready_fd, Error::sys("prctl(PR_SET_PDEATHSIG)"));
    if (::write(ready_fd, "r", 1) != 1) ::_exit(1);
    ::close(ready_fd);
    if (auto r = wait_for_start(fifo_fd); !r) ::_exit(1);
    if (auto r = install_seccomp(); !r) {
        std::string line = cat("hull: vm: ", r.error().message(), "\n");
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        ::_exit(1);
    }
    // Closing the gate's read end tells `start` the container runs.
    ::close(fifo_fd);
    auto status = machine->run(&*stop);
    if (!status) {
        std::string line = cat("hull: vm: ", status.error().message(), "\n");
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        ::_exit(1);
    }
    ::_exit(*status & 0xff);
}

}  // namespace hull::vm
