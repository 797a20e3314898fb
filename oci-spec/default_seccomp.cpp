// The default seccomp profile: docker's and podman's in effect, written as hull's own data.
#include "oci-spec/default_seccomp.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace hull::oci {
namespace {

using Names = std::span<const std::string_view>;

// What any program may call: files, memory, signals, time, sockets (socket(2) itself has its
// own rule below), ipc, scheduling of its own threads, the 32-bit and time64 variants. Names
// of other architectures are harmless: the runtime skips what libseccomp cannot resolve.
constexpr std::string_view kAllowed[] = {
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
    "capget", "capset", "chdir", "chmod", "chown", "chown32",
    "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat", "dup", "dup2", "dup3",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
    "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat",
    "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64",
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
    "io_uring_setup", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat",
    "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
    "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
    "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
    "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_robust_list",
    "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
    "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
    "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
    "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid", "setuid32",
    "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
    "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    // Newer calls for the same work (chmod without following links, futex2, page cache
    // residency, shadow stacks), which newer libcs try first.
    "cachestat", "fchmodat2", "futex_requeue", "futex_wait", "futex_wake", "map_shadow_stack",
    // Reading another process's memory needs ptrace access to it anyway (same user, and the
    // kernel's ptrace_may_access checks since 4.8 also cover the seccomp bypass).
    "process_vm_readv", "process_vm_writev", "ptrace",
};

#if defined(__x86_64__)
constexpr std::string_view kArchitectures[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
constexpr std::string_view kArchAllowed[] = {"arch_prctl", "modify_ldt"};
#elif defined(__aarch64__)
constexpr std::string_view kArchitectures[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
constexpr std::string_view kArchAllowed[] = {"arm_fadvise64_64", "arm_sync_file_range", "breakpoint",
                                             "cacheflush", "set_tls", "sync_file_range2"};
#else
#error "default_seccomp: only x86_64 and aarch64 have a profile"
#endif

// Syscalls a capability makes useful; without it they fail with EPERM before reaching the
// kernel's own capability check, which shrinks the kernel surface a container can reach.
constexpr std::string_view kSysAdmin[] = {
    "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
    "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
    "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
    "umount2", "unshare",
};
constexpr std::string_view kSysPtrace[] = {"kcmp", "pidfd_getfd", "process_madvise"};
constexpr std::string_view kSysBoot[] = {"reboot"};
constexpr std::string_view kSysChroot[] = {"chroot"};
constexpr std::string_view kSysModule[] = {"delete_module", "finit_module", "init_module"};
constexpr std::string_view kSysPacct[] = {"acct"};
constexpr std::string_view kSysRawio[] = {"ioperm", "iopl"};
constexpr std::string_view kSysTime[] = {"clock_settime", "clock_settime64", "settimeofday", "stime"};
constexpr std::string_view kSysTtyConfig[] = {"vhangup"};
constexpr std::string_view kSysNice[] = {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"};
constexpr std::string_view kSyslog[] = {"syslog"};
constexpr std::string_view kDacReadSearch[] = {"open_by_handle_at"};
constexpr std::string_view kBpf[] = {"bpf"};
constexpr std::string_view kPerfmon[] = {"perf_event_open"};

struct CapGroup {
    std::string_view cap;
    Names names;
};

constexpr CapGroup kCapGroups[] = {
    {"CAP_SYS_ADMIN", kSysAdmin},     {"CAP_SYS_PTRACE", kSysPtrace},
    {"CAP_SYS_BOOT", kSysBoot},       {"CAP_SYS_CHROOT", kSysChroot},
    {"CAP_SYS_MODULE", kSysModule},   {"CAP_SYS_PACCT", kSysPacct},
    {"CAP_SYS_RAWIO", kSysRawio},     {"CAP_SYS_TIME", kSysTime},
    {"CAP_SYS_TTY_CONFIG", kSysTtyConfig}, {"CAP_SYS_NICE", kSysNice},
    {"CAP_SYSLOG", kSyslog},          {"CAP_DAC_READ_SEARCH", kDacReadSearch},
    {"CAP_BPF", kBpf},                {"CAP_PERFMON", kPerfmon},
};

// personality(2) values that change nothing dangerous: PER_LINUX, UNAME26,
// ADDR_NO_RANDOMIZE alone and with UNAME26, and 0xffffffff, which only queries.
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
// CLONE_NEWNET: clone(2) may create threads and processes, not namespaces.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;
constexpr uint64_t kAfVsock = 40;
constexpr int kEperm = 1;
constexpr int kEnosys = 38;

nlohmann::json names_json(Names names) {
    nlohmann::json a = nlohmann::json::array();
    for (std::string_view n : names) a.push_back(n);
    return a;
}

nlohmann::json arg(uint32_t index, uint64_t value, const char* op) {
    return {{"index", index}, {"value", value}, {"op", op}};
}

}  // namespace

nlohmann::json default_seccomp_profile(const std::vector<std::string>& caps) {
    using json = nlohmann::json;
    auto has = [&](std::string_view cap) { return std::ranges::find(caps, cap) != caps.end(); };

    json rules = json::array();
    rules.push_back({{"names", names_json(kAllowed)}, {"action", "SCMP_ACT_ALLOW"}});
    rules.push_back({{"names", names_json(kArchAllowed)}, {"action", "SCMP_ACT_ALLOW"}});
    // AF_VSOCK reaches the hypervisor's sockets; docker keeps it from containers.
    rules.push_back({{"names", {"socket"}}, {"action", "SCMP_ACT_ALLOW"},
                     {"args", {arg(0, kAfVsock, "SCMP_CMP_NE")}}});
    // One rule per value: two comparisons of one argument in a rule would AND.
    for (uint64_t p : kPersonalities)
        rules.push_back({{"names", {"personality"}}, {"action", "SCMP_ACT_ALLOW"},
                         {"args", {arg(0, p, "SCMP_CMP_EQ")}}});

    for (const CapGroup& g : kCapGroups)
        if (has(g.cap)) rules.push_back({{"names", names_json(g.names)}, {"action", "SCMP_ACT_ALLOW"}});

    if (!has("CAP_SYS_ADMIN")) {
        json clone_rule = {{"names", {"clone"}}, {"action", "SCMP_ACT_ALLOW"}};
        // The masked value must be 0: none of the namespace flags set. clone's flags are its
        // first argument on both architectures built here (s390 would differ).
        clone_rule["args"] = json::array({{{"index", 0}, {"value", kCloneNamespaceFlags},
                                           {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}});
        rules.push_back(std::move(clone_rule));
        // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back
        // to clone, where the rule above applies; EPERM would be reported as a failure.
        rules.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}});
    }

    json archs = json::array();
    for (std::string_view a : kArchitectures) archs.push_back(a);
    return {
        {"defaultAction", "SCMP_ACT_ERRNO"},
        {"defaultErrnoRet", kEperm},
        {"architectures", std::move(archs)},
        {"syscalls", std::move(rules)},
    };
}

std::vector<std::string_view> default_seccomp_syscall_names() {
    std::vector<std::string_view> out(std::begin(kAllowed), std::end(kAllowed));
    out.insert(out.end(), std::begin(kArchAllowed), std::end(kArchAllowed));
    out.push_back("socket");
    out.push_back("personality");
    for (const CapGroup& g : kCapGroups) out.insert(out.end(), g.names.begin(), g.names.end());
    std::ranges::sort(out);
    auto dup = std::ranges::unique(out);
    out.erase(dup.begin(), dup.end());
    return out;
}

}  // namespace hull::oci
