// cgroup v2: one file per controller, plus core.cpp for the interface files every cgroup2
// directory has (subtree_control, freeze, kill). `d` is the container's cgroup2 directory.
// Internal to cgroups/ (and its unit tests).
#pragma once

#include "cgroups/dir.hpp"
#include "cgroups/stats.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <map>
#include <string>
#include <vector>

namespace hull::cgroups::v2 {

// core.cpp
// Enables in `dir`'s cgroup.subtree_control every controller its cgroup.controllers offers,
// all at once or, if the kernel refuses the set, one by one (some may stay off, e.g. when
// delegated partially; the controller's own write reports that later).
void enable_controllers(FdRef dir, std::string_view shown);
// cgroup.freeze, then waits for cgroup.events to report the state reached.
Status set_frozen(const Dir& d, bool frozen);
Result<bool> frozen(const Dir& d);
bool has_freeze(const Dir& d);
bool has_kill(const Dir& d);
// cgroup.kill: SIGKILL to every task in the subtree, atomically against forks.
Status kill(const Dir& d);

// pids.cpp
Status apply_pids(const Dir& d, const oci::Pids& pids);

// memory.cpp: memory.max (limit), memory.low (reservation), memory.swap.max (OCI swap minus
// the limit). Swappiness, kernel limits and the OOM-killer switch have no v2 file.
Result<std::vector<Write>> memory_writes(const oci::Memory& m);
Status apply_memory(const Dir& d, const oci::Memory& m);

// cpu.cpp: cpu.weight (from shares), cpu.max (quota/period), cpu.max.burst, cpu.idle.
Status apply_cpu(const Dir& d, const oci::Cpu& cpu);

// cpuset.cpp
Status apply_cpuset(const Dir& d, const oci::Cpu& cpu);

// io.cpp: weights go to io.bfq.weight when it exists (BFQ's scale is blkio's), else to
// io.weight converted; throttles to io.max. A cgroup without the io controller: a warning.
struct IoFiles {
    bool bfq_weight = false;
};
std::vector<Write> io_writes(const oci::BlockIo& b, const IoFiles& files);
Status apply_io(const Dir& d, const oci::BlockIo& b);

// hugetlb.cpp: `limits` already filtered to the host's page sizes.
Status apply_hugetlb(const Dir& d, const std::vector<oci::HugepageLimit>& limits);

// rdma.cpp
Status apply_rdma(const Dir& d, const std::map<std::string, oci::Rdma>& rdma);

// devices.cpp: v2 has no devices files; the rules become an eBPF program (device_filter.hpp)
// attached to the cgroup with BPF_F_ALLOW_MULTI. On update the new program is attached first
// and the old ones detached after, so there is never a moment without a filter. No rules: the
// attached programs stay as they are.
Status apply_devices(const Dir& d, const std::vector<oci::DeviceRule>& rules);

// stats.cpp: every controller enabled for the cgroup (those that are not have no files).
Status stats(const Dir& d, const std::vector<std::string>& hugepage_sizes, Stats& out);
// memory.events' `oom_kill`; 0 without the memory controller.
Result<uint64_t> oom_kill_count(const Dir& d);
// A non-blocking inotify fd watching memory.events for IN_MODIFY.
Result<UniqueFd> watch_memory_events(const Dir& d);

// unified.cpp: linux.resources.unified, file name -> value, written last so it overrides.
Status apply_unified(const Dir& d, const std::map<std::string, std::string>& unified);

}  // namespace hull::cgroups::v2
