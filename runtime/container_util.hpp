// Helpers the lifecycle commands share (container.cpp, resources.cpp): rebuilding a
// container's cgroup manager and live status from its record, and the resources it runs with.
#pragma once

#include "cgroups/manager.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"
#include "runtime/state_store.hpp"

#include <memory>

namespace hull::runtime::detail {

Result<std::unique_ptr<cgroups::Manager>> manager_for(const Record& r);
oci::Status status_of(const StateStore& store, const Record& r, const cgroups::Manager* mgr);
// Waits up to `ms` for the process behind `pidfd` to exit.
bool wait_exit(int pidfd, int ms);
// A pidfd for the record's init, only if it is still the same process.
UniqueFd open_init(const Record& r);
// linux.resources as applied: the spec's device rules, then an allow rule for every
// linux.devices entry, then runc's default allow list (null, zero, pts, ...) except devices a
// spec rule explicitly denies, so a container always has the devices it was given.
oci::Resources effective_resources(const oci::Linux& lx);

}  // namespace hull::runtime::detail
