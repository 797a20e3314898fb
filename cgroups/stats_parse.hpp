// Parsers for the cgroup files stats are read from, shared by v1/stats.cpp and v2/stats.cpp.
// Pure functions over text; `shown` (the file's path) only goes into error messages.
// Internal to cgroups/ (and its unit tests).
#pragma once

#include "cgroups/dir.hpp"
#include "cgroups/stats.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::cgroups {

// One number: "4096\n". "max" (a v2 limit that is not set) reads as UINT64_MAX, as runc reads it.
Result<uint64_t> parse_value(std::string_view text, std::string_view shown);

// "key value" lines (memory.stat, cpu.stat, memory.events, cpuacct.stat) -> map.
Result<std::map<std::string, uint64_t>> parse_keyed(std::string_view text, std::string_view shown);

// Space-separated numbers on one line (cpuacct.usage_percpu).
Result<std::vector<uint64_t>> parse_numbers(std::string_view text, std::string_view shown);

// A cpuset list, "0-3,8,10-11", expanded.
Result<std::vector<uint16_t>> parse_cpu_list(std::string_view text, std::string_view shown);

// cpuacct.usage_all: a "cpu user system" header, then one line per CPU. Fills percpu_user and
// percpu_kernel (nanoseconds).
Status parse_usage_all(std::string_view text, std::string_view shown, CpuUsage& out);

// A v1 blkio statistics file: "MAJ:MIN Op value" lines (Op absent in the sectors and time
// files), ending with a "Total N" line that runc leaves out, as do we.
Result<std::vector<BlkioEntry>> parse_blkio_v1(std::string_view text, std::string_view shown);

// v2 io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..". rbytes/wbytes
// become Read/Write entries of io_service_bytes_recursive, rios/wios of io_serviced_recursive
// (runc's mapping); other keys are not reported.
Result<BlkioStats> parse_io_stat(std::string_view text, std::string_view shown);

// Huge page sizes as runc names them: the kernel's "hugepages-2048kB" -> "2MB",
// "hugepages-1048576kB" -> "1GB", "hugepages-64kB" -> "64KB". nullopt for other names.
std::optional<std::string> hugepage_size_name(std::string_view sysfs_dir_name);
// The names of the sizes this host has (/sys/kernel/mm/hugepages by default), sorted;
// empty when the kernel has no huge pages.
std::vector<std::string> hugepage_sizes(const std::string& sysfs_dir = "/sys/kernel/mm/hugepages");

// A control file read through an open cgroup directory, or nullopt when it does not exist
// (a controller or a kernel feature this host lacks).
Result<std::optional<std::string>> read_optional(FdRef dir, std::string_view file, std::string_view shown);

}  // namespace hull::cgroups
