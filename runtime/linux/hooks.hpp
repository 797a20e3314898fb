// OCI hooks: each runs with the container state JSON on stdin, its own env and args, and a
// timeout; runtime-spec 1.2 decides where and when each kind runs.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <string>
#include <vector>

namespace hull::runtime::linux {

// Runs `hooks` in order; the first failure is returned, naming the kind and index
// ("createRuntime hook [0] `/bin/x`: exited with status 1").
Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind, const std::string& state_json);

// As run_hooks, but failures are logged as warnings and the rest still run (poststart,
// poststop: the spec says the lifecycle continues).
void run_hooks_warn(const std::vector<oci::Hook>& hooks, std::string_view kind, const std::string& state_json);

}  // namespace hull::runtime::linux
