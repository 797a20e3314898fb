// OCI linux.resources values -> the strings cgroup files take. Pure functions, shared by the
// v1 and v2 controller files and unit-tested on their own.
#pragma once

#include "cgroups/dir.hpp"
#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hull::cgroups {

// pids.max (same on v1 and v2). runc 1.1: 0 means "not set", any negative value "max".
std::optional<std::string> pids_max(int64_t limit);

// cpu.shares (v1, 2..262144) -> cpu.weight (v2, 1..10000), runc 1.1's linear map:
// 1 + (shares - 2) * 9999 / 262142. 0 stays 0 ("not set"); shares outside the kernel's range
// are clamped first, as the v1 kernel would.
uint64_t cpu_weight_from_shares(uint64_t shares);

// OCI memory.swap is memory+swap; cgroup v2's memory.swap.max is swap alone. -1 = unlimited,
// 0 = not set. With memory -1 and swap unset, swap becomes unlimited too (v1 compatibility).
// Errors on a swap limit without a memory limit or below it.
Result<int64_t> swap_to_v2(int64_t memory_swap, int64_t memory);

// A v2 memory/cpu number: 0 -> nullopt (not set), -1 -> "max", else the decimal value.
std::optional<std::string> v2_limit(int64_t value);

// cpu.max from quota/period: "max" or the quota, then the period when set. nullopt when
// neither is set.
std::optional<std::string> cpu_max(int64_t quota, uint64_t period);

// The v1 devices.allow / devices.deny lines for one rule: "c 1:3 rwm", "b *:* m", or "a" for
// a rule covering every device with every access. The kernel reads "a" as exactly that and
// ignores anything after it, so a narrower type-"a" rule ("a 1:3 r") becomes a "c" and a "b"
// line instead.
std::vector<std::string> device_rule_lines(const oci::DeviceRule& rule);

// blkio weight (v1 and BFQ, 10..1000) -> io.weight (v2, 1..10000), runc's linear map:
// 1 + (weight - 10) * 9999 / 990. 0 stays 0 ("not set").
uint64_t io_weight_from_blkio(uint64_t weight);

// The io.max lines for the throttle lists, one per device, keys in the order rbps wbps riops
// wiops: "8:0 rbps=1048576 wiops=100". A rate of 0 lifts that limit ("max"), as 0 does in the
// v1 blkio.throttle files.
std::vector<std::string> io_max_lines(const oci::BlockIo& b);

// One rdma.max line (v1 and v2 alike): "mlx4_0 hca_handle=2 hca_object=2000"; an absent field
// is left out and keeps its current value. nullopt when neither field is set.
std::optional<std::string> rdma_line(const std::string& device, const oci::Rdma& r);
// rdma.max writes for every device; device names are checked (no blanks, no '/').
Result<std::vector<Write>> rdma_writes(const std::map<std::string, oci::Rdma>& rdma);

// Kubernetes sends limits for every page size it knows of; those the host lacks are dropped
// (runc does the same). `host_sizes` is hugepage_sizes(); `dropped` gets the others.
std::vector<oci::HugepageLimit> hugepage_limits_for_host(const std::vector<oci::HugepageLimit>& limits,
                                                         const std::vector<std::string>& host_sizes,
                                                         std::vector<std::string>* dropped = nullptr);

}  // namespace hull::cgroups
