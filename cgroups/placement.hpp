// Where a container's cgroup goes in each hierarchy: linux.cgroupsPath (or its default, or
// the systemd "slice:prefix:name" form) resolved against the host's mounts and the caller's
// own cgroups. Pure computation over text; internal to cgroups/ (and its unit tests).
#pragma once

#include "cgroups/dir.hpp"
#include "cgroups/manager.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::cgroups {

struct Placement {
    Layout layout = Layout::unified;
    std::vector<Dir> v1;        // one per v1 hierarchy (empty on a unified host)
    std::optional<Dir> v2;      // the cgroup2 directory (absent on a legacy host)
    std::string cgroup_path;    // as /proc/<pid>/cgroup will show it (see Manager::path())
};

// Checks linux.cgroupsPath and cleans it ("//" and "." collapse): absolute "/a/b" or
// relative "a/b". Refuses "..", NUL bytes, and paths naming the root or the caller's cgroup.
Result<std::string> clean_cgroups_path(std::string_view path);

// systemd's slice naming: "a-b.slice" -> "/a.slice/a-b.slice", "-.slice" -> "/".
Result<std::string> expand_slice(std::string_view slice);

// "slice:prefix:name" -> "/<expanded slice>/<prefix>-<name>.scope", as runc's systemd driver
// names the unit; empty -> "/system.slice/hull-<id>.scope".
Result<std::string> systemd_cgroup_path(std::string_view cgroups_path, std::string_view container_id);

// A v1 controller list in one canonical order, so "cpuacct,cpu" matches "cpu,cpuacct".
std::string canonical_controllers(std::string_view list);

// Parses /proc/<pid>/cgroup: canonical controller list ("" for the cgroup2 line) -> path.
Result<std::map<std::string, std::string>> parse_proc_cgroup(std::string_view text);

// The whole resolution. `proc_self_cgroup` is only consulted for relative paths.
Result<Placement> resolve_placement(const Host& host, const Config& config, std::string_view proc_self_cgroup);

}  // namespace hull::cgroups
