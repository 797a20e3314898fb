// v1 statistics, one hierarchy at a time, read as runc 1.1's fs driver reads them: cpuacct.*,
// cpu.stat, cpuset.*, memory.* (with memsw, kmem and kmem.tcp when the kernel has them),
// pids.*, blkio.*_recursive, hugetlb.<size>.*; and the OOM counter and eventfd notification.
#include "cgroups/stats_parse.hpp"
#include "cgroups/v1/controllers.hpp"
#include "common/strings.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace hull::cgroups::v1 {

namespace {

Result<uint64_t> read_value(FdRef fd, std::string_view file, std::string_view shown) {
    auto text = HULL_TRY(read_at(fd, file, shown));
    return parse_value(text, cat(shown, "/", file));
}

// A missing file reads as 0 (a kernel without that counter).
Result<uint64_t> read_value_or_zero(FdRef fd, std::string_view file, std::string_view shown) {
    auto text = HULL_TRY(read_optional(fd, file, shown));
    if (!text) return uint64_t{0};
    return parse_value(*text, cat(shown, "/", file));
}

// memory.<module>.{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}. The plain memory
// files must be there; memsw (swap accounting), kmem and kmem.tcp are optional, and recent
// kernels have dropped some of the kmem ones.
Result<MemoryEntry> memory_entry(FdRef fd, std::string_view module, std::string_view shown) {
    std::string prefix = module.empty() ? std::string("memory.") : cat("memory.", module, ".");
    auto get = [&](const char* name) {
        return module.empty() ? read_value(fd, prefix + name, shown) : read_value_or_zero(fd, prefix + name, shown);
    };
    MemoryEntry e;
    e.usage = HULL_TRY(get("usage_in_bytes"));
    e.max = HULL_TRY(get("max_usage_in_bytes"));
    e.failcnt = HULL_TRY(get("failcnt"));
    e.limit = HULL_TRY(get("limit_in_bytes"));
    return e;
}

}  // namespace

Status cpuacct_stats(const Dir& d, CpuStats& out) {
    auto fd = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    out.usage.total = HULL_TRY(read_value(fd, "cpuacct.usage", shown));
    out.usage.percpu = HULL_TRY(parse_numbers(HULL_TRY(read_at(fd, "cpuacct.usage_percpu", shown)),
                                              d.file("cpuacct.usage_percpu")));
    if (auto all = HULL_TRY(read_optional(fd, "cpuacct.usage_all", shown)))
        HULL_TRY(parse_usage_all(*all, d.file("cpuacct.usage_all"), out.usage));
    // cpuacct.stat counts in USER_HZ ticks.
    auto stat = HULL_TRY(parse_keyed(HULL_TRY(read_at(fd, "cpuacct.stat", shown)), d.file("cpuacct.stat")));
    long hz = ::sysconf(_SC_CLK_TCK);
    if (hz <= 0) hz = 100;
    auto ns = [&](const char* key) {
        auto it = stat.find(key);
        return it == stat.end() ? uint64_t{0} : it->second * 1000000000u / static_cast<uint64_t>(hz);
    };
    out.usage.user = ns("user");
    out.usage.kernel = ns("system");
    return {};
}

Status cpu_stats(const Dir& d, CpuStats& out) {
    auto fd = HULL_TRY(open_dir(d));
    auto text = HULL_TRY(read_optional(fd, "cpu.stat", d.path()));
    if (!text) return {};  // a kernel without CFS bandwidth control
    auto stat = HULL_TRY(parse_keyed(*text, d.file("cpu.stat")));
    out.throttling.periods = stat["nr_periods"];
    out.throttling.throttled_periods = stat["nr_throttled"];
    out.throttling.throttled_time = stat["throttled_time"];
    return {};
}

Status cpuset_stats(const Dir& d, CpusetStats& out) {
    auto fd = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    out.cpus = HULL_TRY(parse_cpu_list(HULL_TRY(read_at(fd, "cpuset.cpus", shown)), d.file("cpuset.cpus")));
    out.mems = HULL_TRY(parse_cpu_list(HULL_TRY(read_at(fd, "cpuset.mems", shown)), d.file("cpuset.mems")));
    struct Flag {
        const char* file;
        uint64_t* to;
    };
    for (auto [file, to] : {Flag{"cpuset.cpu_exclusive", &out.cpu_exclusive}, Flag{"cpuset.mem_hardwall", &out.mem_hardwall},
                            Flag{"cpuset.mem_exclusive", &out.mem_exclusive}, Flag{"cpuset.memory_migrate", &out.memory_migrate},
                            Flag{"cpuset.memory_spread_page", &out.memory_spread_page},
                            Flag{"cpuset.memory_spread_slab", &out.memory_spread_slab},
                            Flag{"cpuset.memory_pressure", &out.memory_pressure},
                            Flag{"cpuset.sched_load_balance", &out.sched_load_balance}})
        *to = HULL_TRY(read_value_or_zero(fd, file, shown));
    if (auto text = HULL_TRY(read_optional(fd, "cpuset.sched_relax_domain_level", shown))) {
        auto v = parse_int<int64_t>(trim(*text));
        if (!v) return fail_msg(cat("parse ", q(d.file("cpuset.sched_relax_domain_level")), ": expected a number, found ",
                                    q(trim(*text))));
        out.sched_relax_domain_level = *v;
    }
    return {};
}

Status memory_stats(const Dir& d, MemoryStats& out) {
    auto fd = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    out.raw = HULL_TRY(parse_keyed(HULL_TRY(read_at(fd, "memory.stat", shown)), d.file("memory.stat")));
    if (auto it = out.raw.find("cache"); it != out.raw.end()) out.cache = it->second;
    out.usage = HULL_TRY(memory_entry(fd, "", shown));
    out.swap = HULL_TRY(memory_entry(fd, "memsw", shown));
    out.kernel = HULL_TRY(memory_entry(fd, "kmem", shown));
    out.kernel_tcp = HULL_TRY(memory_entry(fd, "kmem.tcp", shown));
    return {};
}

Status pids_stats(const Dir& d, PidsStats& out) {
    auto fd = HULL_TRY(open_dir(d));
    out.current = HULL_TRY(read_value(fd, "pids.current", d.path()));
    uint64_t max = HULL_TRY(read_value(fd, "pids.max", d.path()));
    out.limit = max == UINT64_MAX ? 0 : max;  // runc reports "no limit" as 0
    return {};
}

Status blkio_stats(const Dir& d, BlkioStats& out) {
    auto fd = HULL_TRY(open_dir(d));
    using List = std::vector<BlkioEntry> BlkioStats::*;
    struct Source {
        const char* file;
        List list;
    };
    // runc's order: BFQ's debug files, BFQ's, CFQ's, then the throttle layer's (which counts
    // every IO, whatever the scheduler). The first set whose files all exist wins.
    static const std::vector<std::vector<Source>> kSets = {
        {{"blkio.bfq.sectors_recursive", &BlkioStats::sectors_recursive},
         {"blkio.bfq.io_service_time_recursive", &BlkioStats::io_service_time_recursive},
         {"blkio.bfq.io_wait_time_recursive", &BlkioStats::io_wait_time_recursive},
         {"blkio.bfq.io_merged_recursive", &BlkioStats::io_merged_recursive},
         {"blkio.bfq.io_queued_recursive", &BlkioStats::io_queued_recursive},
         {"blkio.bfq.time_recursive", &BlkioStats::io_time_recursive},
         {"blkio.bfq.io_serviced_recursive", &BlkioStats::io_serviced_recursive},
         {"blkio.bfq.io_service_bytes_recursive", &BlkioStats::io_service_bytes_recursive}},
        {{"blkio.bfq.io_serviced_recursive", &BlkioStats::io_serviced_recursive},
         {"blkio.bfq.io_service_bytes_recursive", &BlkioStats::io_service_bytes_recursive}},
        {{"blkio.sectors_recursive", &BlkioStats::sectors_recursive},
         {"blkio.io_service_time_recursive", &BlkioStats::io_service_time_recursive},
         {"blkio.io_wait_time_recursive", &BlkioStats::io_wait_time_recursive},
         {"blkio.io_merged_recursive", &BlkioStats::io_merged_recursive},
         {"blkio.io_queued_recursive", &BlkioStats::io_queued_recursive},
         {"blkio.time_recursive", &BlkioStats::io_time_recursive},
         {"blkio.io_serviced_recursive", &BlkioStats::io_serviced_recursive},
         {"blkio.io_service_bytes_recursive", &BlkioStats::io_service_bytes_recursive}},
        {{"blkio.throttle.io_serviced_recursive", &BlkioStats::io_serviced_recursive},
         {"blkio.throttle.io_service_bytes_recursive", &BlkioStats::io_service_bytes_recursive}},
        {{"blkio.throttle.io_serviced", &BlkioStats::io_serviced_recursive},
         {"blkio.throttle.io_service_bytes", &BlkioStats::io_service_bytes_recursive}},
    };
    for (auto& set : kSets) {
        bool all = true;
        for (auto& s : set) all = all && exists_at(fd, s.file);
        if (!all) continue;
        BlkioStats got;
        for (auto& s : set) got.*s.list = HULL_TRY(parse_blkio_v1(HULL_TRY(read_at(fd, s.file, d.path())), d.file(s.file)));
        out = std::move(got);
        return {};
    }
    return {};
}

Status hugetlb_stats(const Dir& d, const std::vector<std::string>& sizes, std::map<std::string, HugetlbStats>& out) {
    auto fd = HULL_TRY(open_dir(d));
    for (auto& size : sizes) {
        HugetlbStats h;
        h.usage = HULL_TRY(read_value(fd, cat("hugetlb.", size, ".usage_in_bytes"), d.path()));
        h.max = HULL_TRY(read_value(fd, cat("hugetlb.", size, ".max_usage_in_bytes"), d.path()));
        h.failcnt = HULL_TRY(read_value(fd, cat("hugetlb.", size, ".failcnt"), d.path()));
        out[size] = h;
    }
    return {};
}

Result<uint64_t> oom_kill_count(const Dir& d) {
    auto fd = HULL_TRY(open_dir(d));
    auto control = HULL_TRY(parse_keyed(HULL_TRY(read_at(fd, "memory.oom_control", d.path())), d.file("memory.oom_control")));
    return control["oom_kill"];  // absent before Linux 4.13: no count to give
}

Result<UniqueFd> watch_oom(const Dir& d) {
    auto dir = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    int control = ::openat(dir.get(), "memory.oom_control", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (control < 0) return fail_sys(cat("open ", q(d.file("memory.oom_control"))));
    UniqueFd control_fd(control);
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return fail_sys("eventfd");
    UniqueFd event(efd);
    // The kernel keeps its own reference to the eventfd; the control file is only needed for
    // the registration, and the registration ends when the eventfd is closed.
    HULL_TRY(write_at(dir, "cgroup.event_control", cat(event.get(), " ", control_fd.get()), shown));
    return event;
}

}  // namespace hull::cgroups::v1
