// Resource usage read from a container's cgroup, in the shape runc's `events` prints it.
// Filled by Manager::stats() from whichever hierarchy holds each controller (v2 files such as
// cpu.stat, memory.stat, io.stat; v1 cpuacct.*, memory.*, blkio.*); fields a host cannot
// report stay zero or empty.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hull::cgroups {

struct CpuUsage {
    uint64_t total = 0;                 // nanoseconds
    std::vector<uint64_t> percpu;       // nanoseconds per CPU (v1 cpuacct.usage_percpu)
    std::vector<uint64_t> percpu_kernel, percpu_user;
    uint64_t kernel = 0, user = 0;      // nanoseconds
};
struct CpuThrottling {
    uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;  // throttled_time in ns
};
struct CpuStats {
    CpuUsage usage;
    CpuThrottling throttling;
};

struct MemoryEntry {
    uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
};
struct MemoryStats {
    uint64_t cache = 0;
    MemoryEntry usage, swap, kernel, kernel_tcp;
    std::map<std::string, uint64_t> raw;  // memory.stat as read
};

struct PidsStats {
    uint64_t current = 0, limit = 0;  // limit 0: unlimited ("max")
};

struct BlkioEntry {
    uint64_t major = 0, minor = 0;
    std::string op;                   // "Read", "Write", "Sync", "Async", "Discard", "Total", or ""
    uint64_t value = 0;
};
struct BlkioStats {
    std::vector<BlkioEntry> io_service_bytes_recursive, io_serviced_recursive, io_queued_recursive,
        io_service_time_recursive, io_wait_time_recursive, io_merged_recursive, io_time_recursive,
        sectors_recursive;
};

struct HugetlbStats {
    uint64_t usage = 0, max = 0, failcnt = 0;  // max: peak usage (v1 only), not the limit
};

// v1 cpuset.* (runc 1.1 reports these on v1 only; on v2 they stay zero, as there).
struct CpusetStats {
    std::vector<uint16_t> cpus, mems;  // cpuset.cpus / cpuset.mems, ranges expanded
    uint64_t cpu_exclusive = 0, mem_hardwall = 0, mem_exclusive = 0, memory_migrate = 0, memory_spread_page = 0,
             memory_spread_slab = 0, memory_pressure = 0, sched_load_balance = 0;
    int64_t sched_relax_domain_level = 0;
};

struct Stats {
    CpuStats cpu;
    CpusetStats cpuset;
    MemoryStats memory;
    PidsStats pids;
    BlkioStats blkio;
    std::map<std::string, HugetlbStats> hugetlb;  // page size as runc names it ("2MB", "1GB")
};

// The "data" object of runc's `events --stats` output: {"cpu":{"usage":{"total":..,"percpu":[..],
// "kernel":..,"user":..},"throttling":{..}},"cpuset":{..},"memory":{"cache":..,"usage":{"limit":..,"usage":..,
// "max":..,"failcnt":..},"swap":{..},"kernel":{..},"kernelTCP":{..},"raw":{..}},"pids":{"current":..,
// "limit":..},"blkio":{"ioServiceBytesRecursive":[{"major":..,"minor":..,"op":"Read","value":..}],..},
// "hugetlb":{"2MB":{"usage":..,"max":..,"failcnt":..}},"intel_rdt":{},"network_interfaces":null}.
// Field names and `omitempty` as runc 1.1's types/events.go: zero numbers and empty lists are
// left out where runc leaves them out, nested objects are always there.
nlohmann::json to_runc_json(const Stats& stats);

}  // namespace hull::cgroups
