// CVE-2019-5736: until its execve, a process hull forks into a container runs hull's own
// binary, reachable as /proc/<pid>/exe. hull does not re-exec itself for every container (that
// would be a second program start per container); instead:
//  - every such process is non-dumpable, so /proc/<pid>/exe needs CAP_SYS_PTRACE over the
//    host user namespace, which a container only has when it shares that namespace and
//    holds CAP_SYS_PTRACE;
//  - for exactly those containers, hull first re-executes itself from a sealed memfd copy,
//    so the binary such a process can reach cannot be written.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

namespace hull::runtime::linux {

// True when a process of this container could open a non-dumpable hull's /proc/<pid>/exe.
bool exe_reachable_from(const oci::Spec& spec, const std::optional<oci::Capabilities>& process_caps);

// Re-executes the current command line from a sealed memfd copy of /proc/self/exe. Returns
// success at once when already running from one; otherwise returns only on failure.
Status run_from_sealed_copy();

}  // namespace hull::runtime::linux
