// One interface over the host's cgroup layout: pure v2, v1, or hybrid (v1 controllers plus a
// cgroup2 mount that holds few or no controllers, as systemd's "hybrid" mode leaves it).
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

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
};

// Reads /proc/self/mountinfo once. `mountinfo_text` lets unit tests pass a fixture.
Result<Host> detect_host();
Result<Host> parse_host(std::string_view mountinfo_text);

struct Config {
    std::string cgroups_path;   // linux.cgroupsPath as written (may be empty)
    std::string container_id;
    bool systemd = false;       // --systemd-cgroup: cgroupsPath is "slice:prefix:name"
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
    // Processes currently in the container's cgroup (any hierarchy that lists them).
    virtual Result<std::vector<pid_t>> pids() const = 0;
    // Sends `sig` to every process in the cgroup (cgroup.kill for SIGKILL on v2 when present).
    virtual Status kill_all(int sig) = 0;
    // Applies linux.resources. (The quotas issue fills this in; until then only what is
    // trivially safe, and an error for what is asked but not supported.)
    virtual Status apply(const oci::Resources& resources) = 0;
    // Freezes or thaws every task (v2 cgroup.freeze, v1 freezer).
    virtual Status set_frozen(bool frozen) = 0;
    virtual Result<bool> frozen() const = 0;
    // Removes the cgroup directories, killing nothing; retries while exiting tasks linger.
    // Missing directories are not an error.
    virtual Status destroy() = 0;

    // What `state` keeps so later commands can rebuild the manager without the spec.
    virtual nlohmann::json save() const = 0;
    // Absolute cgroup path as seen in /proc/<pid>/cgroup (for the cgroup namespace root).
    virtual std::string path() const = 0;
};

// Builds the manager for a new container. Validates the path: relative paths go under the
// calling process's own cgroup; ".." components and other escapes are refused.
Result<std::unique_ptr<Manager>> make_manager(const Host& host, const Config& config);
// Rebuilds a manager from `save()` output.
Result<std::unique_ptr<Manager>> load_manager(const Host& host, const nlohmann::json& saved);

}  // namespace hull::cgroups
