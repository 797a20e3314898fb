#include "runtime/process/spawn.hpp"

#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace hull::runtime::process {

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
    if (this != &o) {
        kill_and_reap();
        pid_ = std::exchange(o.pid_, 0);
        pidfd_ = std::move(o.pidfd_);
    }
    return *this;
}

void ChildProcess::kill_and_reap() {
    if (pid_ <= 0) return;
    if (pidfd_) sys::pidfd_send_signal(pidfd_.get(), SIGKILL, nullptr, 0);
    else ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
}

Result<int> ChildProcess::wait() {
    int status = 0;
    for (;;) {
        if (::waitpid(pid_, &status, 0) >= 0) break;
        if (errno != EINTR) return fail_sys("waitpid");
    }
    pid_ = 0;
    return status;
}

Result<ChildProcess> clone_child(const CloneOptions& opts) {
    int pidfd = -1;
    struct clone_args ca;
    std::memset(&ca, 0, sizeof ca);
    ca.flags = static_cast<uint64_t>(opts.flags) | CLONE_PIDFD;
    ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);  // SAFETY: the kernel writes an int here
    if (opts.parent) ca.flags |= CLONE_PARENT;
    else ca.exit_signal = SIGCHLD;
    if (opts.cgroup_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = static_cast<uint64_t>(opts.cgroup_fd);
    }
    long pid = sys::clone3(&ca, sizeof ca);
    if (pid < 0 && (errno == ENOSYS || errno == E2BIG)) {
        // Before clone3 (Linux < 5.3): a raw clone with no new stack behaves like fork.
        unsigned long flags = static_cast<unsigned long>(opts.flags) | (opts.parent ? CLONE_PARENT : SIGCHLD);
        pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
        pidfd = -1;
    }
    if (pid < 0) return fail_sys("clone");
    if (pid == 0) return ChildProcess();
    if (pidfd < 0) pidfd = sys::pidfd_open(static_cast<pid_t>(pid), 0);
    return ChildProcess(static_cast<pid_t>(pid), UniqueFd(pidfd));
}

namespace {

[[noreturn]] void child_fail(Channel& chan, Error e) {
    chan.send_error(e);
    ::_exit(1);
}

// Stage one of the two-stage path: join the named namespaces, make the new ones, then fork
// the real init into them (a new pid or time namespace only takes effect for children).
[[noreturn]] void stage_one(ContainerPlan& plan, InitFds& fds, Channel& chan, int cgroup_fd) {
    size_t bad = 0;
    if (int rc = linux::join_namespaces(plan.ns, &bad); rc < 0)
        child_fail(chan, Error(-rc, cat("join ", oci::to_string(plan.ns.join[bad].type), " namespace")));
    if (plan.ns.creates(CLONE_NEWUSER)) {
        if (::unshare(CLONE_NEWUSER) < 0) child_fail(chan, Error::sys("unshare the user namespace"));
        if (auto r = chan.send(Msg::idmap_request); !r) child_fail(chan, r.error());
        if (auto r = chan.expect(Msg::idmap_done, "uid/gid mappings"); !r) child_fail(chan, r.error());
        if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0)
            child_fail(chan, Error::sys("become root of the user namespace"));
    }
    int rest = plan.ns.new_flags & ~CLONE_NEWUSER & ~(plan.late_cgroup_ns ? CLONE_NEWCGROUP : 0);
    if (rest && ::unshare(rest) < 0) child_fail(chan, Error::sys("unshare namespaces"));
    if (plan.ns.creates(CLONE_NEWTIME)) {
        if (auto r = linux::write_time_offsets(plan.ns); !r) child_fail(chan, r.error());
    }
    auto child = clone_child({.flags = 0, .cgroup_fd = cgroup_fd, .parent = true});
    if (!child) child_fail(chan, child.error());
    if (child->pid() == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        container_init(plan, fds);
    }
    // The grandchild belongs to our parent (CLONE_PARENT); we only report its pid.
    pid_t gpid = child->pid();
    child->release();
    if (auto r = chan.send(Msg::init_pid, gpid); !r) ::_exit(1);
    ::_exit(0);
}

}  // namespace

Result<ChildProcess> spawn_container(ContainerPlan& plan, InitFds& fds, Channel& chan_parent, Channel& chan_child,
                                     int cgroup_fd) {
    fds.channel = chan_child.fd();
    // A cgroup namespace's root is the cgroup its creator is in when it is made, and clone
    // makes namespaces before CLONE_INTO_CGROUP moves the child: so the init always makes its
    // cgroup namespace itself, once it is in its cgroups (as runc's init does).
    plan.late_cgroup_ns = plan.ns.creates(CLONE_NEWCGROUP);
    if (!plan.ns.needs_two_stages()) {
        int flags = plan.ns.new_flags & ~(plan.late_cgroup_ns ? CLONE_NEWCGROUP : 0);
        auto child = HULL_TRY_CTX(clone_child({.flags = flags, .cgroup_fd = cgroup_fd}), "clone the container init");
        if (child.pid() == 0) {
            ::close(chan_parent.release());
            ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            // CVE-2019-5736: until execve our /proc/self/exe is hull's binary. Non-dumpable,
            // it cannot be opened by processes in the container without CAP_SYS_PTRACE over
            // the host user namespace.
            ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
            container_init(plan, fds);
        }
        chan_child.close();
        if (plan.ns.creates(CLONE_NEWUSER)) {
            HULL_TRY(linux::write_id_maps(child.pid(), plan.ns));
            HULL_TRY(chan_parent.send(Msg::idmap_done));
        }
        return child;
    }

    auto stage1 = HULL_TRY_CTX(clone_child({}), "clone the namespace setup process");
    if (stage1.pid() == 0) {
        ::close(chan_parent.release());
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        stage_one(plan, fds, chan_child, cgroup_fd);
    }
    chan_child.close();
    pid_t init_pid = 0;
    while (init_pid == 0) {
        auto m = HULL_TRY(chan_parent.recv("namespace setup"));
        switch (m.type) {
        case Msg::error: return fail(Error(m.value, std::move(m.text)));
        case Msg::idmap_request:
            HULL_TRY(linux::write_id_maps(stage1.pid(), plan.ns));
            HULL_TRY(chan_parent.send(Msg::idmap_done));
            break;
        case Msg::init_pid: init_pid = m.value; break;
        default: return fail_msg("namespace setup: unexpected message");
        }
    }
    auto st = HULL_TRY(stage1.wait());
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return fail_msg("namespace setup process failed");
    // The init is our child now (CLONE_PARENT), so its pid cannot be reused before we reap it.
    return ChildProcess(init_pid, UniqueFd(sys::pidfd_open(init_pid, 0)));
}

}  // namespace hull::runtime::process
