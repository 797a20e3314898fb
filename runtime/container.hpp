// The container lifecycle, as the CLI and libhull see it. One function per runtime-spec
// operation; each loads state from the state root, acts, and leaves nothing half-done.
#pragma once

#include "cgroups/stats.hpp"
#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hull::runtime {

struct Globals {
    std::string root = "/run/hull";   // --root: where per-container state lives
    bool systemd_cgroup = false;      // --systemd-cgroup
    bool debug = false;
};

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;             // fds 3..3+N-1 are passed to the container
};

struct RunOptions : CreateOptions {
    bool detach = false;
    bool keep = false;                // do not delete the container after it exits
};

struct ExecOptions {
    std::string id;
    std::string process_file;         // --process: a runtime-spec "process" JSON
    std::vector<std::string> args;
    bool tty = false;
    std::string console_socket;
    std::string cwd;
    std::vector<std::string> env;
    std::string user;                 // "uid[:gid]"
    std::vector<std::string> caps;    // --cap, added to every set but ambient
    bool no_new_privs = false;
    bool detach = false;
    std::string pid_file;
    int preserve_fds = 0;
    std::vector<gid_t> additional_gids;  // --additional-gids
    std::string apparmor, process_label;
};

struct ContainerInfo {
    oci::State state;
    std::string created;              // RFC 3339
    std::string owner;                // user name of the state dir's owner
    std::string rootfs;
};

// Container IDs: 1-255 of [A-Za-z0-9_.+-], not "." or "..". Anything else never becomes a path.
Status validate_id(std::string_view id);

Status create(const Globals& g, const CreateOptions& opts);
Status start(const Globals& g, const std::string& id);
Result<ContainerInfo> state(const Globals& g, const std::string& id);
// `sig` is a signal number; `all` signals every process in the container's cgroup.
Status kill(const Globals& g, const std::string& id, int sig, bool all);
// delete: without `force`, only a stopped (or created-never-started) container may go.
Status remove(const Globals& g, const std::string& id, bool force);
// create + start; unless detached, waits and returns the container process's exit code
// (128+signal when killed), forwarding signals and the terminal.
Result<int> run(const Globals& g, const RunOptions& opts);
// Runs a process in the running container; returns its exit code unless detached (then 0).
Result<int> exec(const Globals& g, const ExecOptions& opts);
Result<std::vector<ContainerInfo>> list(const Globals& g);
Result<std::vector<pid_t>> pids(const Globals& g, const std::string& id);
Status pause(const Globals& g, const std::string& id);
Status resume(const Globals& g, const std::string& id);

// `update`: `patch` is a linux.resources object (runc's `update -r` JSON). Its members are laid
// over the container's current resources (objects merge member by member, anything else
// replaces, null means "leave as is"), the result is validated as config.json would be, applied
// to the cgroup, and kept in the container's state for later updates. A stopped container
// cannot be updated.
Status update(const Globals& g, const std::string& id, const nlohmann::json& patch);

// Usage counters of a container that is not stopped.
Result<cgroups::Stats> stats(const Globals& g, const std::string& id);

// runc's `events` stream: calls `emit` with {"type":"stats","id":..,"data":..} every `interval`
// and with {"type":"oom","id":..} as soon as the OOM killer kills a task of the container.
// Returns once the container has stopped (or, with `stats_only`, after one stats event).
Status events(const Globals& g, const std::string& id, std::chrono::milliseconds interval, bool stats_only,
              const std::function<void(const nlohmann::json&)>& emit);

// Signal names: "KILL", "SIGKILL", "9". Unknown: error naming it.
Result<int> parse_signal(std::string_view s);

}  // namespace hull::runtime
