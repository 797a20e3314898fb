// cgroup v1 controllers: one file each. `d` is the container's directory in the hierarchy
// holding that controller. Internal to cgroups/ (and its unit tests).
#pragma once

#include "cgroups/dir.hpp"
#include "cgroups/stats.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <cstdint>
#include <vector>

namespace hull::cgroups::v1 {

// devices.cpp: deny everything, then replay the rules in order (runc builds its target list
// from a default-deny state too). Skipped inside a user namespace, where the kernel refuses.
std::vector<Write> device_writes(const std::vector<oci::DeviceRule>& rules);
Status apply_devices(const Dir& d, const std::vector<oci::DeviceRule>& rules);

// pids.cpp
Status apply_pids(const Dir& d, const oci::Pids& pids);

// memory.cpp. `current_limit` is memory.limit_in_bytes now: whether memsw or the memory limit
// goes first depends on it (the kernel keeps memsw >= memory at every step).
Result<std::vector<Write>> memory_writes(const oci::Memory& m, uint64_t current_limit, bool has_memsw);
Status apply_memory(const Dir& d, const oci::Memory& m);

// cpu.cpp: shares (read back to report the kernel's clamping), cfs period/quota/burst,
// realtime runtime/period, idle.
Status apply_cpu(const Dir& d, const oci::Cpu& cpu);

// cpuset.cpp
Status apply_cpuset(const Dir& d, const oci::Cpu& cpu);
// A new v1 cpuset cgroup starts with empty cpus and mems, and no task can join it until they
// are set: copy the parent's where the child's are empty.
Status inherit_cpuset(FdRef parent, FdRef child, std::string_view child_shown);

// blkio.cpp: `bfq` when the hierarchy has blkio.bfq.weight (runc's choice of weight files).
std::vector<Write> blkio_writes(const oci::BlockIo& b, bool bfq);
Status apply_blkio(const Dir& d, const oci::BlockIo& b);

// hugetlb.cpp: `limits` already filtered to the host's page sizes.
Status apply_hugetlb(const Dir& d, const std::vector<oci::HugepageLimit>& limits);

// net.cpp: net_cls.classid; net_prio.ifpriomap, one "ifname prio" per write.
Result<std::vector<Write>> net_prio_writes(const oci::Network& n);
Status apply_net_cls(const Dir& d, uint32_t class_id);
Status apply_net_prio(const Dir& d, const oci::Network& n);

// rdma.cpp
Status apply_rdma(const Dir& d, const std::map<std::string, oci::Rdma>& rdma);

// freezer.cpp
Status set_frozen(const Dir& d, bool frozen);
Result<bool> frozen(const Dir& d);

// stats.cpp: each fills its part of Stats from the hierarchy holding that controller.
Status cpuacct_stats(const Dir& d, CpuStats& out);     // usage, percpu, user/kernel
Status cpu_stats(const Dir& d, CpuStats& out);         // throttling (cpu.stat)
Status cpuset_stats(const Dir& d, CpusetStats& out);
Status memory_stats(const Dir& d, MemoryStats& out);
Status pids_stats(const Dir& d, PidsStats& out);
Status blkio_stats(const Dir& d, BlkioStats& out);
Status hugetlb_stats(const Dir& d, const std::vector<std::string>& sizes, std::map<std::string, HugetlbStats>& out);
// memory.oom_control's `oom_kill` (0 on kernels before 4.13, which do not count).
Result<uint64_t> oom_kill_count(const Dir& d);
// A non-blocking eventfd registered through cgroup.event_control on memory.oom_control: it
// becomes readable on every OOM event of the cgroup (and when the cgroup is removed).
Result<UniqueFd> watch_oom(const Dir& d);

}  // namespace hull::cgroups::v1
