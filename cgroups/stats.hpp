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
    uint64_t usage = 0, max = 0, failcnt = 0;
};

struct Stats {
    CpuStats cpu;
    MemoryStats memory;
    PidsStats pids;
    BlkioStats blkio;
    std::map<std::string, HugetlbStats> hugetlb;  // page size as runc names it ("2MB", "1GB")
};

// The "data" object of runc's `events --stats` output: {"cpu":{"usage":{"total":..,"percpu":[..],
// "kernel":..,"user":..},"throttling":{..}},"memory":{"cache":..,"usage":{"limit":..,"usage":..,
// "max":..,"failcnt":..},"swap":{..},"kernel":{..},"kernelTCP":{..},"raw":{..}},"pids":{"current":..,
// "limit":..},"blkio":{"ioServiceBytesRecursive":[{"major":..,"minor":..,"op":"Read","value":..}],..},
// "hugetlb":{"2MB":{"usage":..,"max":..,"failcnt":..}}}. Empty lists and zero entries are left
// out the way runc's `omitempty` leaves them out.
nlohmann::json to_runc_json(const Stats& stats);

}  // namespace hull::cgroups
