// Parent side of process creation: clone3 into the planned namespaces (and cgroup), or the
// two-stage path when namespaces must be joined first.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "runtime/process/channel.hpp"
#include "runtime/process/plan.hpp"

#include <sys/types.h>

#include <functional>

namespace hull::runtime::process {

// A child we own: killed and reaped unless released.
class ChildProcess {
public:
    ChildProcess() = default;
    ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
    ChildProcess(ChildProcess&& o) noexcept : pid_(std::exchange(o.pid_, 0)), pidfd_(std::move(o.pidfd_)) {}
    ChildProcess& operator=(ChildProcess&& o) noexcept;
    ~ChildProcess() { kill_and_reap(); }

    pid_t pid() const { return pid_; }
    int pidfd() const { return pidfd_.get(); }
    // Keeps the process running when this object goes away.
    void release() { pid_ = 0; }
    void kill_and_reap();
    // Waits for exit; returns the wait status.
    Result<int> wait();

private:
    pid_t pid_ = 0;
    UniqueFd pidfd_;
};

struct CloneOptions {
    int flags = 0;           // CLONE_NEW* to create at clone time
    int cgroup_fd = -1;      // CLONE_INTO_CGROUP target, or -1
    bool parent = false;     // CLONE_PARENT: the child becomes our parent's child
};

// clone3 that returns 0 in the child (fork-like, same stack), falling back to clone when
// clone3 is missing. The parent gets the pid and, where the kernel offers it, a pidfd.
Result<ChildProcess> clone_child(const CloneOptions& opts);

// Starts the container init for `plan`. `chan_child` is the child's end of the sync channel;
// the parent keeps `chan_parent`. Handles the uid/gid map handshake and the two-stage path,
// and returns the init process.
Result<ChildProcess> spawn_container(ContainerPlan& plan, InitFds& fds, Channel& chan_parent, Channel& chan_child,
                                     int cgroup_fd);

}  // namespace hull::runtime::process
