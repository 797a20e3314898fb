// The container's init, from "cloned" to "execve". A straight script of named steps; the
// numbered sync points match the parent's side in runtime/container.cpp:
//   (1) idmap_done    parent wrote our uid/gid maps (new user namespace only)
//   (2) cgroup_done   we are in our cgroup, resources applied; carries the state JSON
//   (3) hooks_done    prestart/createRuntime hooks ran (only when there are any)
//   (4) ready         we are created and wait on exec.fifo for `start`
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/linux/console.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/process/channel.hpp"
#include "runtime/process/plan.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hull::runtime::process {
namespace {

Status step(int rc, const char* what) {
    if (rc < 0) return fail(Error(-rc, what));
    return {};
}

Status apply_scheduler(const oci::Scheduler& s) {
    // sched_setattr has no glibc wrapper; struct sched_attr as in the kernel uapi.
    struct {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
    } attr = {};
    attr.size = sizeof attr;
    attr.sched_policy = static_cast<uint32_t>(s.policy);
    attr.sched_flags = s.flags;
    attr.sched_nice = s.nice;
    attr.sched_priority = static_cast<uint32_t>(s.priority);
    attr.sched_runtime = s.runtime;
    attr.sched_deadline = s.deadline;
    attr.sched_period = s.period;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0) return fail_sys("set the scheduler (process.scheduler)");
    return {};
}

Status apply_io_priority(const oci::IoPriority& p) {
    constexpr int kWhoProcess = 1, kClassShift = 13;
    if (::syscall(SYS_ioprio_set, kWhoProcess, 0, (p.klass << kClassShift) | p.priority) < 0)
        return fail_sys("set the I/O priority (process.ioPriority)");
    return {};
}

// Closes every fd from `first` up, except those in `keep` (sorted, deduplicated here).
void close_fds_from(int first, std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned lo = static_cast<unsigned>(first);
    for (int k : keep) {
        if (k < first) continue;
        if (static_cast<unsigned>(k) > lo) sys::close_range(lo, static_cast<unsigned>(k) - 1, 0);
        lo = static_cast<unsigned>(k) + 1;
    }
    sys::close_range(lo, ~0U, 0);
}

Status ensure_cwd(const std::string& cwd) {
    struct stat st;
    if (::stat(cwd.c_str(), &st) == 0) return {};
    if (errno != ENOENT) return {};
    HULL_TRY_CTX(fs::mkdir_p(cwd, 0755), cat("create process.cwd ", q(cwd)));
    return {};
}

Status become_root_in_userns() {
    // In a new user namespace our host ids map to nothing until we switch to the mapped root.
    if (::setresgid(0, 0, 0) < 0) return fail_sys("setresgid to root of the user namespace");
    if (::setresuid(0, 0, 0) < 0) return fail_sys("setresuid to root of the user namespace");
    return {};
}

bool is_executable_file(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) return false;
    return ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<std::string> find_executable(const ProcessPlan& plan) {
    const std::string& name = plan.args[0];
    if (name.find('/') != std::string::npos) {
        if (is_executable_file(name)) return name;
        return fail(Error(errno ? errno : EACCES, cat("exec ", q(name))));
    }
    std::string path = plan.path_env.empty() ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                             : plan.path_env;
    for (const auto& dir : split(path, ':')) {
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        if (is_executable_file(candidate)) return candidate;
    }
    return fail_msg(cat("exec ", q(name), ": executable file not found in $PATH"));
}

Status become_process(ProcessPlan& p, int preserve_fds, std::initializer_list<int> keep) {
    if (p.personality && ::personality(*p.personality) < 0) return fail_sys("set personality");
    if (p.scheduler) HULL_TRY(apply_scheduler(*p.scheduler));
    if (p.io_priority) HULL_TRY(apply_io_priority(*p.io_priority));
    // rlimits are set by the parent with prlimit (a child in a user namespace could not
    // raise a hard limit, and runc does the same).

    // CVE-2024-21626: no descriptor of the host may survive into the container, or a cwd of
    // /proc/self/fd/N could walk out through it. Close them before entering the cwd.
    std::vector<int> kept(keep);
    close_fds_from(3 + preserve_fds, kept);
    if (::chdir(p.cwd.c_str()) < 0) return fail_sys(cat("chdir to process.cwd ", q(p.cwd)));
    char buf[4096];
    if (!::getcwd(buf, sizeof buf))
        return fail(Error(errno, cat("process.cwd ", q(p.cwd), " is outside the container")));
    p.exec_path = HULL_TRY(find_executable(p));

    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it while we have it,
    // after the steps above (a profile may well deny getcwd or stat). With no_new_privs it
    // waits until just before execve, so the profile need allow fewer of hull's own calls.
    if (p.seccomp && !p.no_new_privs) {
        int listener = linux::install_seccomp(*p.seccomp);
        if (listener < 0) return fail(Error(-listener, "install the seccomp filter"));
        if (listener > 0) p.seccomp_listener_fd = listener;
        p.seccomp.reset();
    }

    HULL_TRY(step(p.caps.drop_bounding(), "drop capabilities from the bounding set"));
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail_sys("prctl(PR_SET_KEEPCAPS)");
    if (::setgroups(p.groups.size(), p.groups.data()) < 0) {
        // A user namespace with setgroups denied refuses even an empty list; that is fine
        // when nothing was asked for.
        if (!(errno == EPERM && p.groups.empty())) return fail_sys("setgroups (process.user.additionalGids)");
    }
    if (::setresgid(p.gid, p.gid, p.gid) < 0) return fail_sys(cat("setresgid to ", p.gid));
    if (::setresuid(p.uid, p.uid, p.uid) < 0) return fail_sys(cat("setresuid to ", p.uid));
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail_sys("prctl(PR_SET_KEEPCAPS)");
    HULL_TRY(step(p.caps.apply(), "set capabilities"));
    ::umask(p.umask);
    if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail_sys("prctl(PR_SET_NO_NEW_PRIVS)");
    return {};
}

Error exec_process(ProcessPlan& p, int listener_sock, const std::string& state_json) {
    if (p.seccomp) {
        int listener = linux::install_seccomp(*p.seccomp);
        if (listener < 0) return Error(-listener, "install the seccomp filter");
        if (listener > 0) p.seccomp_listener_fd = listener;
    }
    if (p.seccomp_listener_fd >= 0 && listener_sock >= 0) {
        auto state = nlohmann::json::parse(state_json, nullptr, false);
        int pid = state.is_object() ? state.value("pid", 0) : 0;
        std::string payload = linux::seccomp_process_state_json(state, pid, p.seccomp_listener_metadata);
        if (auto r = linux::send_seccomp_listener(listener_sock, p.seccomp_listener_fd, payload); !r)
            return std::move(r.error());
        ::close(p.seccomp_listener_fd);
        ::close(listener_sock);
    }
    std::vector<char*> argv, envp;
    for (auto& a : p.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : p.env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(p.exec_path.c_str(), argv.data(), envp.data());
    return Error::sys(cat("exec ", q(p.args[0])));
}

namespace {

Status init_steps(ContainerPlan& plan, InitFds& fds, Channel& chan, std::string& state_json) {
    // (1) In a new user namespace, wait for our maps and become its root.
    if (plan.ns.creates(CLONE_NEWUSER) && !plan.ns.needs_two_stages()) {
        HULL_TRY(chan.expect(Msg::idmap_done, "uid/gid mappings"));
    }
    if (plan.ns.has(CLONE_NEWUSER)) HULL_TRY(become_root_in_userns());

    // (2) The parent places us in our cgroup and gives us the state JSON for hooks.
    auto m = HULL_TRY(chan.expect(Msg::cgroup_done, "cgroup setup"));
    state_json = std::move(m.text);
    if (plan.late_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) return fail_sys("unshare the cgroup namespace");

    if (plan.new_keyring) {
        // A session keyring of our own, so the container cannot read the host's keys.
        std::string name = "_ses." + plan.id;
        if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS &&
            errno != EPERM)
            return fail_sys("join a new session keyring");
    }

    HULL_TRY(linux::prepare_rootfs(*plan.mounts));

    // (3) prestart and createRuntime hooks run in the runtime namespace: the parent runs them.
    if (plan.runtime_hooks) {
        HULL_TRY(chan.send(Msg::hooks_request));
        HULL_TRY(chan.expect(Msg::hooks_done, "createRuntime hooks"));
    }
    HULL_TRY(linux::run_hooks(plan.create_container_hooks, "createContainer", state_json));

    HULL_TRY(linux::enter_rootfs(*plan.mounts));

    for (const auto& [path, value] : plan.sysctl)
        HULL_TRY_CTX(fs::write_file(path, value), cat("set sysctl ", q(path)));
    if (plan.set_hostname && ::sethostname(plan.hostname.data(), plan.hostname.size()) < 0)
        return fail_sys(cat("set hostname ", q(plan.hostname)));
    if (plan.set_domainname && ::setdomainname(plan.domainname.data(), plan.domainname.size()) < 0)
        return fail_sys(cat("set domainname ", q(plan.domainname)));

    if (plan.process.terminal) {
        HULL_TRY_CTX(linux::setup_console(fds.console, plan.process.console_size, true), "set up the terminal");
        ::close(fds.console);
        fds.console = -1;
    } else if (::setsid() < 0) {
        return fail_sys("setsid");
    }

    // As runc: a missing working directory is made, before the root may turn read-only.
    HULL_TRY(ensure_cwd(plan.process.cwd));
    HULL_TRY(linux::finalize_rootfs(*plan.mounts));
    if (plan.has_process) {
        HULL_TRY(become_process(plan.process, plan.preserve_fds, {chan.fd(), fds.fifo, fds.seccomp_listener}));
    } else {
        // Nothing will run: hold no host descriptor while waiting to be deleted.
        close_fds_from(3, {chan.fd(), fds.fifo});
    }

    // (4) Created. hull create may exit now; we must outlive it.
    if (::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) return fail_sys("prctl(PR_SET_PDEATHSIG)");
    HULL_TRY(chan.send(Msg::ready));

    // The start gate: `start` writes one byte into exec.fifo. Until a writer comes, poll on
    // a FIFO that never had one waits rather than reporting a hang-up.
    for (;;) {
        struct pollfd pfd = {fds.fifo, POLLIN, 0};
        int r = ::poll(&pfd, 1, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail_sys("wait for start");
        char c;
        ssize_t n = ::read(fds.fifo, &c, 1);
        if (n == 1) break;
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        // A writer came and went without a byte: not a start. Keep waiting.
        if (n == 0) {
            ::usleep(1000);
            continue;
        }
        return fail_sys("read exec.fifo");
    }
    // From here on the container is "created" (startContainer hooks, the seccomp listener).
    // The parent sent the state once, as "creating"; the status is the only field that moves.
    if (!plan.start_container_hooks.empty() || fds.seccomp_listener >= 0) {
        auto state = nlohmann::json::parse(state_json, nullptr, false);
        if (state.is_object()) state["status"] = "created";
        state_json = state.dump();
    }
    HULL_TRY(linux::run_hooks(plan.start_container_hooks, "startContainer", state_json));
    // The fifo stays open until execve closes it (O_CLOEXEC): `start` waits for that moment
    // to know the process runs before it calls the poststart hooks.
    return fail(exec_process(plan.process, fds.seccomp_listener, state_json));
}

}  // namespace

Status join_cgroup_tasks(std::vector<int>& tasks) {
    Status result;
    for (int& fd : tasks) {
        if (result && ::write(fd, "0", 1) != 1) result = fail_sys("join cgroup: write `0` to `tasks`");
        ::close(fd);
        fd = -1;
    }
    return result;
}

void container_init(ContainerPlan& plan, InitFds& fds) {
    Channel chan{UniqueFd(fds.channel)};
    std::string state_json;
    // First of all, so that everything the init does is charged to the container.
    auto r = join_cgroup_tasks(fds.cgroup_tasks);
    if (r) r = init_steps(plan, fds, chan, state_json);
    // Only failures come back here.
    Error e = r ? Error::msg("init returned") : std::move(r.error());
    // Until `create` returns, the parent prints the error (one line, with its context); after
    // `start` nobody listens on the channel, so it goes where the caller can see it.
    if (!chan.send_error(e)) {
        std::string line = cat("hull: ", e.message(), "\n");
        (void)!::write(STDERR_FILENO, line.data(), line.size());
    }
    ::_exit(127);
}

}  // namespace hull::runtime::process
