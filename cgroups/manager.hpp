// One interface over the host's cgroup layout: pure v2, v1, or hybrid (v1 controllers plus a
// cgroup2 mount that holds few or no controllers, as systemd's "hybrid" mode leaves it).
#pragma once

#include "cgroups/stats.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hull::cgroups {

enum class Layout { unified, hybrid, legacy };
const char* to_string(Layout l);

struct Host {
    Layout layout = Layout::unified;
    std::string unified_mount;                     // cgroup2 mount point, empty if none
    std::vector<std::pair<std::string, std::string>> v1;  // (controller list as mounted, mount point)
    bool systemd_running = false;
    // mountinfo's root field of each cgroup mount (mount point -> path inside the hierarchy
    // that is mounted there; "/" unless /sys/fs/cgroup was bind-mounted from a subtree, as in
    // some containers). Needed to map /proc/self/cgroup paths onto mount points.
    std::map<std::string, std::string> mount_roots;
};

// Reads /proc/self/mountinfo once. `mountinfo_text` lets unit tests pass a fixture.
Result<Host> detect_host();
Result<Host> parse_host(std::string_view mountinfo_text);

struct Config {
    std::string cgroups_path;   // linux.cgroupsPath as written (may be empty)
    std::string container_id;
    bool systemd = false;       // --systemd-cgroup: cgroupsPath is "slice:prefix:name"
};

// A new process joining its cgroup by itself costs far less than its parent writing its pid
// to cgroup.procs: that write takes the kernel's global threadgroup rwsem for writing, which
// after an idle moment waits out an RCU grace period (measured on this v1 host: 8-16 ms for
// its seven hierarchies). A thread writing "0" to a v1 `tasks` file moves itself without
// that lock (0.1 ms for the same seven), and clone3(CLONE_INTO_CGROUP) places a child in its
// cgroup2 cgroup with only the lock's cheap read side.
struct SelfJoin {
    int clone_into = -1;            // cgroup2 directory for CLONE_INTO_CGROUP (owned by the manager)
    std::vector<UniqueFd> tasks;    // v1 `tasks` files opened for writing: the child writes "0"
    bool usable() const { return clone_into >= 0 || !tasks.empty(); }
};

class Manager {
public:
    virtual ~Manager() = default;

    // Creates the container's cgroup directories (nothing is moved into them yet).
    // The cgroup must not already hold processes of another container.
    virtual Status create() = 0;
    // Moves `pid` into the container's cgroup(s), every hierarchy.
    virtual Status add_process(pid_t pid) = 0;
    // A directory fd of the v2 cgroup for clone3(CLONE_INTO_CGROUP), or -1 when that cannot
    // place the child everywhere it must go (v1 or hybrid hosts).
    virtual int clone_into_fd() const = 0;
    // How a new process can enter the container's cgroup by itself (see SelfJoin), or an
    // empty SelfJoin when it cannot (then the caller uses add_process). Meant for a
    // single-threaded child: a v1 `tasks` write moves only the writing thread.
    virtual Result<SelfJoin> self_join() const = 0;
    // Processes currently in the container's cgroup, child cgroups included (read from a
    // hierarchy every task is in: v1 pids or freezer, else cgroup2). Empty once it is gone.
    virtual Result<std::vector<pid_t>> pids() const = 0;
    // Sends `sig` to every process in the cgroup (cgroup.kill for SIGKILL on v2 when present;
    // otherwise freeze, signal until no new pid shows up, thaw, so a fork loop cannot escape).
    // A paused container stays frozen unless the signal is SIGKILL.
    virtual Status kill_all(int sig) = 0;
    // Applies linux.resources: devices (the v1 whitelist; on a pure v2 host an eBPF filter,
    // attached before the one it replaces is detached; no rules leave the current ones), pids, memory, cpu, cpuset, blockIO
    // (v2 io.*, v1 blkio.*), hugepageLimits, rdma, network (v1 net_cls/net_prio only) and
    // `unified` (v2 only). Devices, pids, memory and cpu whose controller is not mounted are
    // an error; blockIO, hugepage, network and rdma limits then only log a warning (Kubernetes
    // sends hugepage limits for every container), and a hugepage size this host lacks is
    // skipped with a debug note, as runc does. Called again by `update` with the merged
    // resources: every write is idempotent, a v1 memory limit below what the container uses
    // is a clear error, and an unset half of cpu quota/period keeps its current value.
    // Callers wanting runc's behaviour append default_device_rules() to the device rules.
    virtual Status apply(const oci::Resources& resources) = 0;
    // Freezes or thaws every task (v2 cgroup.freeze, v1 freezer).
    virtual Status set_frozen(bool frozen) = 0;
    virtual Result<bool> frozen() const = 0;
    // Usage counters of every mounted controller (see stats.hpp).
    virtual Result<Stats> stats() const = 0;
    // How many times the OOM killer has killed a task of this cgroup so far (v2 memory.events
    // `oom_kill`, v1 memory.oom_control `oom_kill`); 0 without a memory controller.
    virtual Result<uint64_t> oom_kill_count() const = 0;
    // An fd that polls readable whenever the cgroup's memory events may have changed (v2:
    // inotify on memory.events; v1: an eventfd registered through cgroup.event_control on
    // memory.oom_control). The caller drains it with read() and then asks oom_kill_count().
    virtual Result<UniqueFd> watch_memory_events() const = 0;
    // Removes the cgroup directories, killing nothing; retries while exiting tasks linger.
    // Missing directories are not an error.
    virtual Status destroy() = 0;

    // What `state` keeps so later commands can rebuild the manager without the spec.
    virtual nlohmann::json save() const = 0;
    // Absolute cgroup path as seen in /proc/<pid>/cgroup (for the cgroup namespace root): the
    // cgroup2 line's on unified and hybrid hosts, the pids hierarchy's on legacy ones.
    virtual std::string path() const = 0;
};

// The device rules runc 1.1 appends after linux.resources.devices: mknod of any char or block
// device, rwm on /dev/null, zero, full, random, urandom, tty, the pts range (136:*), ptmx
// (5:2) and tun (10:200). A rule whose device path also appears in `linux_devices` is left
// out, as runc does. Callers append these to the spec's rules before apply() to act like runc.
std::vector<oci::DeviceRule> default_device_rules(const std::vector<oci::Device>& linux_devices);

// Builds the manager for a new container. Validates the path: relative paths go under the
// calling process's own cgroup (on a pure v2 host under its parent, as runc does); ".."
// components and other escapes are refused. An empty cgroupsPath means the container id,
// relative, as in runc 1.1. With `systemd`: an error when systemd is not running, otherwise
// "slice:prefix:name" becomes /<expanded slice>/<prefix>-<name>.scope, created directly
// (hull has no systemd D-Bus integration yet; an empty path gives system.slice:hull:<id>).
Result<std::unique_ptr<Manager>> make_manager(const Host& host, const Config& config);
// Rebuilds a manager from `save()` output.
Result<std::unique_ptr<Manager>> load_manager(const Host& host, const nlohmann::json& saved);

}  // namespace hull::cgroups
