// Seccomp: compiled with libseccomp, then installed for real in a forked child (with
// PR_SET_NO_NEW_PRIVS) whose syscalls show what the filter does.
#include "runtime/linux/seccomp.hpp"
#include "common/unix_socket.hpp"

#include "common/unique_fd.hpp"
#include "common/syscalls.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hull::runtime::linux {
namespace {

using oci::SeccompAction;
using oci::SeccompArg;
using oci::SeccompOp;
using oci::SeccompRule;

SeccompRule rule(std::vector<std::string> names, SeccompAction action, std::optional<uint32_t> errno_ret = {},
                 std::vector<SeccompArg> args = {}) {
    SeccompRule r;
    r.names = std::move(names);
    r.action = action;
    r.errno_ret = errno_ret;
    r.args = std::move(args);
    return r;
}

SeccompArg arg(uint32_t index, SeccompOp op, uint64_t value, uint64_t value_two = 0) {
    SeccompArg a;
    a.index = index;
    a.op = op;
    a.value = value;
    a.value_two = value_two;
    return a;
}

// -1 with errno set, the raw result of a syscall: what the child checks.
struct Sys {
    long rc;
    int err;
};
template <class... A>
Sys raw(long nr, A... a) {
    errno = 0;
    long rc = ::syscall(nr, a...);
    return {rc, rc < 0 ? errno : 0};
}

// The child reports the first failed check's line through shared memory: a failing check
// must not depend on a syscall the filter might block.
#define CHILD_CHECK(cond)          \
    do {                           \
        if (!(cond)) return __LINE__; \
    } while (0)

struct ChildOutcome {
    int status = 0;
    int failed_line = 0;
};

// Forks; the child (no core dumps, NNP set) installs `prog`, passes the install result to
// `body` and exits with 0 when body returns 0.
template <class F>
ChildOutcome run_filtered(const SeccompProgram& prog, F body) {
    void* mem = mmap(nullptr, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return {-1, -1};
    auto* line = static_cast<volatile int*>(mem);
    *line = 0;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no_core {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            *line = -1;
            _exit(1);
        }
        int installed = install_seccomp(prog);
        if (installed < 0) {
            *line = -1000 + installed;  // -1000 - errno
            _exit(1);
        }
        int l = body(installed);
        *line = l;
        // Straight to the kernel: _exit under a sanitizer runs a leak check whose own
        // syscalls a strict filter refuses.
        ::syscall(SYS_exit_group, l == 0 ? 0 : 1);
    }
    ChildOutcome out;
    if (pid < 0) {
        out.status = -1;
    } else {
        while (waitpid(pid, &out.status, 0) < 0 && errno == EINTR) {
        }
    }
    out.failed_line = *line;
    munmap(mem, sizeof(int));
    return out;
}

void expect_clean_exit(const ChildOutcome& o) {
    ASSERT_TRUE(WIFEXITED(o.status)) << "child killed by signal " << (WIFSIGNALED(o.status) ? WTERMSIG(o.status) : 0);
    EXPECT_EQ(WEXITSTATUS(o.status), 0) << "failed check at line " << o.failed_line
                                        << (o.failed_line < -1 ? " (install failed)" : "");
}

oci::Seccomp allow_by_default(std::vector<SeccompRule> rules) {
    oci::Seccomp s;
    s.default_action = SeccompAction::allow;
    s.syscalls = std::move(rules);
    return s;
}

// The allow list of Docker's default profile (moby profiles/seccomp/default.json), trimmed
// of nothing that matters here; it includes names this libseccomp does not know yet.
const std::vector<std::string> kDockerAllowed = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
    "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
    "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
    "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
    "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64",
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
    "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
    "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
    "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
    "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
    "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
    "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
    "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
    "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
    "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
    "hull_no_such_syscall",
};

// Docker's default profile in its shape: EPERM by default, three x86 ABIs, the allow list,
// `personality` values one per comparison of arg 0 (OR), `clone` only without namespace
// flags (MASKED_EQ), `clone3` answered ENOSYS so libcs fall back to `clone`.
oci::Seccomp docker_like_profile() {
    oci::Seccomp s;
    s.default_action = SeccompAction::errno_;
    s.default_errno_ret = EPERM;
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    s.syscalls.push_back(rule(kDockerAllowed, SeccompAction::allow));
    s.syscalls.push_back(rule({"personality"}, SeccompAction::allow, {},
                              {arg(0, SeccompOp::eq, 0x0), arg(0, SeccompOp::eq, 0x0008),
                               arg(0, SeccompOp::eq, 0x20000), arg(0, SeccompOp::eq, 0x20008),
                               arg(0, SeccompOp::eq, 0xffffffff)}));
    s.syscalls.push_back(rule({"socket"}, SeccompAction::allow, {}, {arg(0, SeccompOp::ne, AF_VSOCK)}));
    // CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
    s.syscalls.push_back(rule({"clone"}, SeccompAction::allow, {}, {arg(0, SeccompOp::masked_eq, 2114060288, 0)}));
    s.syscalls.push_back(rule({"clone3"}, SeccompAction::errno_, ENOSYS));
    return s;
}

#if defined(__x86_64__)
TEST(Seccomp, DockerLikeProfileCompilesAndEnforces) {
    auto prog = compile_seccomp(docker_like_profile());
    ASSERT_TRUE(prog) << prog.error().message();
    EXPECT_FALSE(prog->wants_listener);
    EXPECT_EQ(prog->flags, 0u);
    EXPECT_GT(prog->filter.size(), 100u);
    EXPECT_LE(prog->filter.size(), static_cast<size_t>(BPF_MAXINSNS));

    char dir[] = "/tmp/hull-seccomp-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string sub = std::string(dir) + "/d";

    auto out = run_filtered(*prog, [&](int installed) -> int {
        CHILD_CHECK(installed == 0);
        CHILD_CHECK(raw(SYS_getpid).rc > 0);
        Sys mk = raw(SYS_mkdir, sub.c_str(), 0700);
        CHILD_CHECK(mk.rc == 0);
        CHILD_CHECK(raw(SYS_rmdir, sub.c_str()).rc == 0);
        // Not in the list: the default action. Unfiltered root would switch accounting off.
        Sys acct = raw(SYS_acct, nullptr);
        CHILD_CHECK(acct.rc == -1 && acct.err == EPERM);
        Sys unshare = raw(SYS_unshare, CLONE_NEWUTS);
        CHILD_CHECK(unshare.rc == -1 && unshare.err == EPERM);
        // personality: the listed values pass (0xffffffff queries), others do not.
        CHILD_CHECK(raw(SYS_personality, 0xffffffffUL).rc >= 0);
        Sys pers = raw(SYS_personality, static_cast<unsigned long>(READ_IMPLIES_EXEC));
        CHILD_CHECK(pers.rc == -1 && pers.err == EPERM);
        // socket: NE on arg 0.
        Sys vsock = raw(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
        CHILD_CHECK(vsock.rc == -1 && vsock.err == EPERM);
        Sys unix_sock = raw(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHILD_CHECK(unix_sock.rc >= 0);
        // clone3: the rule's errnoRet.
        Sys c3 = raw(SYS_clone3, nullptr, 0);
        CHILD_CHECK(c3.rc == -1 && c3.err == ENOSYS);
        // clone: MASKED_EQ lets a plain fork through and stops namespace flags.
        Sys ns = raw(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
        if (ns.rc == 0) _exit(0);
        CHILD_CHECK(ns.rc == -1 && ns.err == EPERM);
        Sys plain = raw(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (plain.rc == 0) _exit(0);
        CHILD_CHECK(plain.rc > 0);
        int st = 0;
        CHILD_CHECK(raw(SYS_wait4, plain.rc, &st, 0, nullptr).rc == plain.rc);
        return 0;
    });
    expect_clean_exit(out);
    rmdir(sub.c_str());
    rmdir(dir);
}
#endif

TEST(Seccomp, ErrnoActionReturnsConfiguredErrnoAndEpermByDefault) {
    auto prog = compile_seccomp(allow_by_default({
        rule({"mkdir", "mkdirat"}, SeccompAction::errno_, ENOTBLK),
        rule({"rmdir"}, SeccompAction::errno_),
    }));
    ASSERT_TRUE(prog) << prog.error().message();
    auto out = run_filtered(*prog, [](int) -> int {
        Sys mk = raw(SYS_mkdirat, AT_FDCWD, "/tmp/hull-never-created", 0700);
        CHILD_CHECK(mk.rc == -1 && mk.err == ENOTBLK);
        Sys rm = raw(SYS_rmdir, "/tmp/hull-never-created");
        CHILD_CHECK(rm.rc == -1 && rm.err == EPERM);
        CHILD_CHECK(raw(SYS_getpid).rc > 0);
        Sys fd = raw(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
        CHILD_CHECK(fd.rc >= 0);
        return 0;
    });
    expect_clean_exit(out);
    struct stat st;
    EXPECT_NE(stat("/tmp/hull-never-created", &st), 0);
}

TEST(Seccomp, DefaultErrnoRetAppliesToEverythingNotAllowed) {
    oci::Seccomp s;
    s.default_action = SeccompAction::errno_;
    s.default_errno_ret = ENXIO;
    s.syscalls = {rule({"exit", "exit_group", "getpid"}, SeccompAction::allow)};
    auto prog = compile_seccomp(s);
    ASSERT_TRUE(prog) << prog.error().message();
    auto out = run_filtered(*prog, [](int) -> int {
        CHILD_CHECK(raw(SYS_getpid).rc > 0);
        Sys ppid = raw(SYS_getppid);
        CHILD_CHECK(ppid.rc == -1 && ppid.err == ENXIO);
        return 0;
    });
    expect_clean_exit(out);
}

TEST(Seccomp, KillProcessAndKillEndTheChildWithSigsys) {
    for (auto action : {SeccompAction::kill_process, SeccompAction::kill, SeccompAction::kill_thread}) {
        auto prog = compile_seccomp(allow_by_default({rule({"getppid"}, action)}));
        ASSERT_TRUE(prog) << prog.error().message();
        auto out = run_filtered(*prog, [](int) -> int {
            raw(SYS_getppid);
            return __LINE__;  // not reached
        });
        ASSERT_TRUE(WIFSIGNALED(out.status)) << "action " << static_cast<int>(action) << ": exited with line "
                                             << out.failed_line;
        EXPECT_EQ(WTERMSIG(out.status), SIGSYS);
    }
}

TEST(Seccomp, ArgumentComparisons) {
    auto prog = compile_seccomp(allow_by_default({
        // EQ on arg 0.
        rule({"umask"}, SeccompAction::errno_, ENOTBLK, {arg(0, SeccompOp::eq, 0777)}),
        // Two comparisons of one argument: one rule each, so either matches.
        rule({"setpgid"}, SeccompAction::errno_, EXDEV,
             {arg(1, SeccompOp::eq, 12345), arg(1, SeccompOp::eq, 23456)}),
        // MASKED_EQ: (flags & EFD_NONBLOCK) == EFD_NONBLOCK.
        rule({"eventfd2"}, SeccompAction::errno_, EDOM,
             {arg(1, SeccompOp::masked_eq, EFD_NONBLOCK, EFD_NONBLOCK)}),
        // Comparisons of different arguments AND.
        rule({"dup3"}, SeccompAction::errno_, ERANGE, {arg(0, SeccompOp::eq, 1000), arg(2, SeccompOp::eq, O_CLOEXEC)}),
        // GT / LE.
        rule({"getpriority"}, SeccompAction::errno_, ENOMSG, {arg(1, SeccompOp::gt, 5000)}),
    }));
    ASSERT_TRUE(prog) << prog.error().message();
    auto out = run_filtered(*prog, [](int) -> int {
        Sys u = raw(SYS_umask, 0777);
        CHILD_CHECK(u.rc == -1 && u.err == ENOTBLK);
        CHILD_CHECK(raw(SYS_umask, 022).rc >= 0);

        Sys p1 = raw(SYS_setpgid, 0, 12345);
        CHILD_CHECK(p1.rc == -1 && p1.err == EXDEV);
        Sys p2 = raw(SYS_setpgid, 0, 23456);
        CHILD_CHECK(p2.rc == -1 && p2.err == EXDEV);
        Sys p3 = raw(SYS_setpgid, 0, 34567);  // unfiltered: no such process group
        CHILD_CHECK(p3.rc == -1 && p3.err != EXDEV);

        Sys e1 = raw(SYS_eventfd2, 0, EFD_NONBLOCK | EFD_CLOEXEC);
        CHILD_CHECK(e1.rc == -1 && e1.err == EDOM);
        Sys e2 = raw(SYS_eventfd2, 0, EFD_CLOEXEC);
        CHILD_CHECK(e2.rc >= 0);

        Sys d1 = raw(SYS_dup3, 1000, 1001, O_CLOEXEC);
        CHILD_CHECK(d1.rc == -1 && d1.err == ERANGE);
        Sys d2 = raw(SYS_dup3, 1000, 1001, 0);
        CHILD_CHECK(d2.rc == -1 && d2.err == EBADF);

        Sys g1 = raw(SYS_getpriority, PRIO_PROCESS, 6000);
        CHILD_CHECK(g1.rc == -1 && g1.err == ENOMSG);
        CHILD_CHECK(raw(SYS_getpriority, PRIO_PROCESS, 0).rc >= 0);
        return 0;
    });
    expect_clean_exit(out);
}

TEST(Seccomp, UnknownSyscallNamesAreSkipped) {
    auto prog = compile_seccomp(allow_by_default({
        rule({"hull_no_such_syscall", "getppid"}, SeccompAction::errno_, EIO),
        rule({"another_made_up_one"}, SeccompAction::errno_),
    }));
    ASSERT_TRUE(prog) << prog.error().message();
    auto out = run_filtered(*prog, [](int) -> int {
        Sys p = raw(SYS_getppid);
        CHILD_CHECK(p.rc == -1 && p.err == EIO);
        return 0;
    });
    expect_clean_exit(out);
}

TEST(Seccomp, RulesWithTheDefaultActionAreSkipped) {
    oci::Seccomp s = allow_by_default({rule({"getpid"}, SeccompAction::allow), rule({"getppid"}, SeccompAction::log)});
    EXPECT_TRUE(compile_seccomp(s));
    s.default_action = SeccompAction::errno_;  // EPERM
    s.syscalls = {rule({"exit_group", "exit"}, SeccompAction::allow), rule({"getpid"}, SeccompAction::errno_, EPERM)};
    EXPECT_TRUE(compile_seccomp(s));
}

TEST(Seccomp, ArchitecturesAndFlags) {
    oci::Seccomp s = allow_by_default({rule({"getppid"}, SeccompAction::errno_)});
    auto native = compile_seccomp(s);
    ASSERT_TRUE(native);
#if defined(__x86_64__)
    s.architectures = {"SCMP_ARCH_X86_64"};
    auto same = compile_seccomp(s);
    ASSERT_TRUE(same) << same.error().message();
    EXPECT_EQ(same->filter.size(), native->filter.size());
    s.architectures = {"SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"};
    auto multi = compile_seccomp(s);
    ASSERT_TRUE(multi) << multi.error().message();
    EXPECT_GT(multi->filter.size(), native->filter.size());
    // The native architecture stays: the child keeps running under the multi-arch filter.
    auto out = run_filtered(*multi, [](int) -> int {
        Sys p = raw(SYS_getppid);
        CHILD_CHECK(p.rc == -1 && p.err == EPERM);
        return 0;
    });
    expect_clean_exit(out);
#endif

    s.architectures.clear();
    s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"};
    auto flagged = compile_seccomp(s);
    ASSERT_TRUE(flagged) << flagged.error().message();
    EXPECT_EQ(flagged->flags, unsigned{SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC});
    auto out2 = run_filtered(*flagged, [](int installed) -> int {
        CHILD_CHECK(installed == 0);
        Sys p = raw(SYS_getppid);
        CHILD_CHECK(p.rc == -1 && p.err == EPERM);
        return 0;
    });
    expect_clean_exit(out2);
}

struct BadCase {
    const char* what;
    oci::Seccomp spec;
    const char* message;
};

TEST(Seccomp, InvalidProfilesFailNamingTheJsonPath) {
    std::vector<BadCase> cases;
    {
        oci::Seccomp s = allow_by_default({});
        s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"};
        cases.push_back({"unknown arch", s, ".linux.seccomp.architectures[1]: unknown seccomp architecture `SCMP_ARCH_PDP11`"});
    }
    {
        oci::Seccomp s = allow_by_default({});
        s.architectures = {"x86_64"};
        cases.push_back({"arch without prefix", s, ".linux.seccomp.architectures[0]: unknown seccomp architecture `x86_64`"});
    }
    {
        oci::Seccomp s = allow_by_default({});
        s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_BOGUS"};
        cases.push_back({"unknown flag", s, ".linux.seccomp.flags[1]: unknown seccomp flag `SECCOMP_FILTER_FLAG_BOGUS`"});
    }
    {
        oci::Seccomp s = allow_by_default({});
        s.flags = {"SECCOMP_FILTER_FLAG_NEW_LISTENER"};
        cases.push_back({"listener flag is ours", s, ".linux.seccomp.flags[0]: unknown seccomp flag"});
    }
    cases.push_back({"errnoRet on allow",
                     allow_by_default({rule({"getpid"}, SeccompAction::errno_), rule({"getppid"}, SeccompAction::kill, EIO)}),
                     ".linux.seccomp.syscalls[1].errnoRet: `SCMP_ACT_KILL` takes no errno"});
    {
        oci::Seccomp s = allow_by_default({});
        s.default_action = SeccompAction::kill_process;
        s.default_errno_ret = EIO;
        cases.push_back({"defaultErrnoRet on kill", s, ".linux.seccomp.defaultErrnoRet: `SCMP_ACT_KILL_PROCESS` takes no errno"});
    }
    cases.push_back({"errno out of range", allow_by_default({rule({"getpid"}, SeccompAction::errno_, 70000)}),
                     ".linux.seccomp.syscalls[0].errnoRet: 70000 is out of range"});
    cases.push_back({"arg index", allow_by_default({rule({"getpid"}, SeccompAction::errno_, {}, {arg(6, SeccompOp::eq, 1)})}),
                     ".linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0 to 5)"});
    cases.push_back({"no names", allow_by_default({rule({}, SeccompAction::errno_)}),
                     ".linux.seccomp.syscalls[0].names: must name at least one syscall"});
    {
        oci::Seccomp s = allow_by_default({});
        s.default_action = SeccompAction::notify;
        s.listener_path = "/run/agent.sock";
        cases.push_back({"notify default", s, ".linux.seccomp.defaultAction: `SCMP_ACT_NOTIFY` cannot be the default action"});
    }
    {
        oci::Seccomp s = allow_by_default({rule({"read", "write"}, SeccompAction::notify)});
        s.listener_path = "/run/agent.sock";
        cases.push_back({"notify write", s, ".linux.seccomp.syscalls[0]: `SCMP_ACT_NOTIFY` cannot be used for `write`"});
    }
    {
        oci::Seccomp s = allow_by_default({rule({"sendmsg"}, SeccompAction::notify)});
        s.listener_path = "/run/agent.sock";
        cases.push_back({"notify sendmsg", s, ".linux.seccomp.syscalls[0]: `SCMP_ACT_NOTIFY` cannot be used for `sendmsg`"});
    }
    cases.push_back({"notify without listener", allow_by_default({rule({"mkdir"}, SeccompAction::notify)}),
                     ".linux.seccomp.listenerPath: required when a rule uses `SCMP_ACT_NOTIFY`"});

    for (const auto& c : cases) {
        auto r = compile_seccomp(c.spec);
        ASSERT_FALSE(r) << c.what;
        EXPECT_EQ(r.error().message().rfind(c.message, 0), 0u) << c.what << ": " << r.error().message();
    }
}

TEST(Seccomp, InstallRejectsAnEmptyProgram) {
    SeccompProgram empty;
    EXPECT_EQ(install_seccomp(empty), -EINVAL);
}

// The child installs a NOTIFY filter and reports the listener's number with write(2); the
// parent takes the fd with pidfd_getfd(2), as the runtime does, and answers the child's
// mkdir calls through SECCOMP_IOCTL_NOTIF_RECV/SEND.
TEST(Seccomp, NotifyGivesAListenerTheParentCanServe) {
    oci::Seccomp s = allow_by_default({rule({"mkdir", "mkdirat"}, SeccompAction::notify)});
    s.listener_path = "/run/hull-test-agent.sock";  // compile only checks it is set
    s.flags = {"SECCOMP_FILTER_FLAG_TSYNC"};
    auto prog = compile_seccomp(s);
    ASSERT_TRUE(prog) << prog.error().message();
    ASSERT_TRUE(prog->wants_listener);
    EXPECT_EQ(prog->flags, unsigned{SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH});

    int report[2];
    ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
    UniqueFd report_r(report[0]), report_w(report[1]);

    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        report_r.reset();
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
        int listener = install_seccomp(*prog);
        if (write(report_w.get(), &listener, sizeof listener) != sizeof listener) _exit(11);
        if (listener <= 0) _exit(12);
        Sys first = raw(SYS_mkdirat, AT_FDCWD, "/tmp/hull-notify-never", 0700);
        if (!(first.rc == -1 && first.err == ENOTBLK)) _exit(13);
        Sys second = raw(SYS_mkdirat, AT_FDCWD, "/tmp/hull-notify-never", 0700);
        if (second.rc != 42) _exit(14);
        _exit(0);
    }
    report_w.reset();
    auto kill_child = [&] {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    };

    int child_fd = -1;
    ASSERT_EQ(read(report_r.get(), &child_fd, sizeof child_fd), static_cast<ssize_t>(sizeof child_fd));
    ASSERT_GT(child_fd, 0) << "install_seccomp returned " << child_fd;
    UniqueFd pidfd(sys::pidfd_open(pid, 0));
    ASSERT_TRUE(pidfd) << std::strerror(errno);
    UniqueFd listener(sys::pidfd_getfd(pidfd.get(), child_fd, 0));
    if (!listener) {
        int err = errno;
        kill_child();
        FAIL() << "pidfd_getfd: " << std::strerror(err);
    }

    for (int round = 0; round < 2; ++round) {
        struct pollfd pfd {listener.get(), POLLIN, 0};
        if (poll(&pfd, 1, 10000) != 1) {
            kill_child();
            FAIL() << "no notification in round " << round;
        }
        struct seccomp_notif req;
        std::memset(&req, 0, sizeof req);
        // SAFETY: SECCOMP_IOCTL_NOTIF_RECV fills a zeroed struct seccomp_notif.
        if (ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
            int err = errno;
            kill_child();
            FAIL() << "SECCOMP_IOCTL_NOTIF_RECV: " << std::strerror(err);
        }
        EXPECT_EQ(req.data.nr, SYS_mkdirat);
        EXPECT_EQ(static_cast<pid_t>(req.pid), pid);
        EXPECT_EQ(req.data.args[2], 0700u);
        struct seccomp_notif_resp resp;
        std::memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        if (round == 0) {
            resp.error = -ENOTBLK;
        } else {
            resp.val = 42;
        }
        // SAFETY: SECCOMP_IOCTL_NOTIF_SEND reads the response for the id just received.
        ASSERT_EQ(ioctl(listener.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << std::strerror(errno);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Seccomp, ProcessStateDocument) {
    nlohmann::json state = {{"ociVersion", "1.2.0"}, {"id", "web"}, {"status", "creating"}, {"pid", 4242},
                            {"bundle", "/b"}};
    auto doc = nlohmann::json::parse(seccomp_process_state_json(state, 4242, "pod=a"));
    EXPECT_EQ(doc["ociVersion"], oci::kSpecVersion);
    EXPECT_EQ(doc["fds"], nlohmann::json::array({"seccompFd"}));
    EXPECT_EQ(doc["pid"], 4242);
    EXPECT_EQ(doc["metadata"], "pod=a");
    EXPECT_EQ(doc["state"], state);
    auto bare = nlohmann::json::parse(seccomp_process_state_json(state, 1, ""));
    EXPECT_FALSE(bare.contains("metadata"));
}

// An agent's side of the exchange: accept one connection, read the whole document and the
// descriptor that came with it.
TEST(Seccomp, SendListenerPassesTheFdAndTheStateToTheAgent) {
    char dir[] = "/tmp/hull-agent-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/agent.sock";

    UniqueFd server(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(server);
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    // SAFETY: sockaddr_un is the AF_UNIX sockaddr.
    ASSERT_EQ(bind(server.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(server.get(), 1), 0);

    UniqueFd passed(memfd_create("hull-test-listener", MFD_CLOEXEC));
    ASSERT_TRUE(passed);
    struct stat want;
    ASSERT_EQ(fstat(passed.get(), &want), 0);

    nlohmann::json state = {{"ociVersion", "1.2.0"}, {"id", "c1"}, {"status", "creating"}, {"pid", 77}, {"bundle", "/b"}};
    // Big enough that a stream socket may split it.
    std::string payload = seccomp_process_state_json(state, 77, std::string(100000, 'm'));
    auto agent = connect_unix(path);
    ASSERT_TRUE(agent) << agent.error().message();
    auto sent = send_seccomp_listener(agent->get(), passed.get(), payload);
    ASSERT_TRUE(sent) << sent.error().message();
    agent->reset();  // one state per connection

    UniqueFd conn(accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(conn);
    std::string got;
    int received_fd = -1;
    for (;;) {
        char buf[4096];
        alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        struct iovec iov {buf, sizeof buf};
        struct msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
        ASSERT_GE(n, 0) << std::strerror(errno);
        if (n == 0) break;
        for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                EXPECT_EQ(received_fd, -1) << "more than one descriptor";
                std::memcpy(&received_fd, CMSG_DATA(cm), sizeof(int));
            }
        }
        got.append(buf, static_cast<size_t>(n));
    }
    UniqueFd received(received_fd);
    ASSERT_TRUE(received);
    struct stat have;
    ASSERT_EQ(fstat(received.get(), &have), 0);
    EXPECT_EQ(have.st_ino, want.st_ino);
    EXPECT_EQ(have.st_dev, want.st_dev);
    EXPECT_EQ(got, payload);
    auto doc = nlohmann::json::parse(got);
    EXPECT_EQ(doc["fds"][0], "seccompFd");
    EXPECT_EQ(doc["state"]["id"], "c1");

    server.reset();
    unlink(path.c_str());
    auto refused = connect_unix(path);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(), "connect to `" + path + "`: no such file or directory");
    rmdir(dir);
}

}  // namespace
}  // namespace hull::runtime::linux
