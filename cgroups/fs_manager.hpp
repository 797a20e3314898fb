// The cgroupfs driver: hull's one Manager, writing the cgroup filesystems directly on unified,
// hybrid and legacy hosts. Internal to cgroups/; unit tests use these to point a manager at a
// fake cgroupfs tree in a temp dir and at a fake /proc/self/cgroup.
#pragma once

#include "cgroups/placement.hpp"

#include <memory>
#include <string_view>

namespace hull::cgroups {

std::unique_ptr<Manager> make_fs_manager(Placement placement);
Result<std::unique_ptr<Manager>> make_manager(const Host& host, const Config& config, std::string_view proc_self_cgroup);

}  // namespace hull::cgroups
