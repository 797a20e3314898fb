// Per-container state under --root: `<root>/<id>/state.json` (written atomically) and
// `<root>/<id>/exec.fifo` (present from create until start). IDs are validated before they
// become a path component, and the directory is reached with O_NOFOLLOW.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hull::runtime {

// What hull persists about a container. `config` is the spec as created (exec and the
// hooks of later commands need it).
struct Record {
    std::string id;
    std::string bundle;
    std::string rootfs;
    int pid = 0;
    uint64_t pid_start_time = 0;    // /proc/<pid>/stat field 22: tells pid reuse apart
    std::string created;            // RFC 3339, UTC
    uid_t owner = 0;
    nlohmann::json cgroup;          // cgroups::Manager::save()
    nlohmann::json config;          // config.json as created
    bool detached_terminal = false;
    bool exe_reachable = false;     // linux::exe_reachable_from at create: exec must run sealed
};

class StateStore {
public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}

    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }
    std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }

    // Makes `<root>/<id>` (the root itself 0700 if missing); fails if the id is taken.
    Status create_dir(const std::string& id);
    Result<Record> load(const std::string& id) const;
    Status save(const Record& r) const;
    // Removes `<root>/<id>` and everything in it.
    Status remove(const std::string& id) const;
    Result<std::vector<std::string>> ids() const;
    // An exclusive flock on the container's directory, held for the life of the fd, so
    // concurrent start/kill/delete of one container serialize.
    Result<UniqueFd> lock(const std::string& id) const;

private:
    std::string root_;
};

// The status right now, from the record and the live process: stopped when the init is
// gone (or a zombie, or its pid was reused), created while exec.fifo exists, paused when
// frozen, else running.
oci::Status live_status(const StateStore& store, const Record& r, bool frozen);

// Field 22 of /proc/<pid>/stat, or 0 when the process is gone; `zombie` set when state is Z/X.
uint64_t process_start_time(pid_t pid, bool* zombie = nullptr);

std::string now_rfc3339();

}  // namespace hull::runtime
