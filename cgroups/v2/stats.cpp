// v2 statistics, read as runc 1.1's fs2 driver reads them: cpu.stat, memory.* (with the swap
// entry reported as memory+swap, as v1's memsw), pids.*, io.stat, hugetlb.<size>.*; a
// controller not enabled for the cgroup has no files and is left out. Also memory.events for
// the OOM counter and its inotify watch.
#include "cgroups/stats_parse.hpp"
#include "cgroups/v2/controllers.hpp"
#include "common/strings.hpp"

#include <sys/inotify.h>

#include <limits>

namespace hull::cgroups::v2 {

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

Status cpu(FdRef fd, const Dir& d, CpuStats& out) {
    auto text = HULL_TRY(read_optional(fd, "cpu.stat", d.path()));
    if (!text) return {};
    auto stat = HULL_TRY(parse_keyed(*text, d.file("cpu.stat")));
    out.usage.total = stat["usage_usec"] * 1000;
    out.usage.user = stat["user_usec"] * 1000;
    out.usage.kernel = stat["system_usec"] * 1000;
    out.throttling.periods = stat["nr_periods"];
    out.throttling.throttled_periods = stat["nr_throttled"];
    out.throttling.throttled_time = stat["throttled_usec"] * 1000;
    return {};
}

Status memory(FdRef fd, const Dir& d, MemoryStats& out) {
    const std::string shown = d.path();
    auto current = HULL_TRY(read_optional(fd, "memory.current", shown));
    if (!current) return {};  // no memory controller here
    out.usage.usage = HULL_TRY(parse_value(*current, d.file("memory.current")));
    out.usage.limit = HULL_TRY(parse_value(HULL_TRY(read_at(fd, "memory.max", shown)), d.file("memory.max")));
    if (auto peak = HULL_TRY(read_optional(fd, "memory.peak", shown)))  // Linux 5.19+
        out.usage.max = HULL_TRY(parse_value(*peak, d.file("memory.peak")));
    out.raw = HULL_TRY(parse_keyed(HULL_TRY(read_at(fd, "memory.stat", shown)), d.file("memory.stat")));
    out.cache = out.raw["file"];
    // No swap files without swap accounting. v1 reported memory+swap (memsw); runc keeps
    // that meaning on v2, and so do we, so consumers need not know which host they are on.
    if (auto swap = HULL_TRY(read_optional(fd, "memory.swap.current", shown))) {
        out.swap.usage = HULL_TRY(parse_value(*swap, d.file("memory.swap.current"))) + out.usage.usage;
        out.swap.limit = HULL_TRY(parse_value(HULL_TRY(read_at(fd, "memory.swap.max", shown)), d.file("memory.swap.max")));
        if (out.swap.limit != kMax) {
            out.swap.limit = out.usage.limit == kMax ? kMax : out.swap.limit + out.usage.limit;
        }
    }
    return {};
}

Status pids(FdRef fd, const Dir& d, PidsStats& out) {
    const std::string shown = d.path();
    if (auto current = HULL_TRY(read_optional(fd, "pids.current", shown))) {
        out.current = HULL_TRY(parse_value(*current, d.file("pids.current")));
        uint64_t max = HULL_TRY(parse_value(HULL_TRY(read_at(fd, "pids.max", shown)), d.file("pids.max")));
        out.limit = max == kMax ? 0 : max;  // runc reports "no limit" as 0
        return {};
    }
    // Without the pids controller: count the cgroup's own processes, as runc does.
    auto procs = HULL_TRY(read_at(fd, "cgroup.procs", shown));
    for (auto& line : split(procs, '\n'))
        if (!trim(line).empty()) ++out.current;
    return {};
}

Status io(FdRef fd, const Dir& d, BlkioStats& out) {
    auto text = HULL_TRY(read_optional(fd, "io.stat", d.path()));
    if (!text) return {};
    out = HULL_TRY(parse_io_stat(*text, d.file("io.stat")));
    return {};
}

Status hugetlb(FdRef fd, const Dir& d, const std::vector<std::string>& sizes, std::map<std::string, HugetlbStats>& out) {
    const std::string shown = d.path();
    for (auto& size : sizes) {
        auto current = HULL_TRY(read_optional(fd, cat("hugetlb.", size, ".current"), shown));
        if (!current) continue;  // no hugetlb controller here
        HugetlbStats h;
        h.usage = HULL_TRY(parse_value(*current, d.file(cat("hugetlb.", size, ".current"))));
        // The number of allocations refused for hitting the limit; v2 has no peak usage.
        std::string events_file = cat("hugetlb.", size, ".events");
        if (auto events = HULL_TRY(read_optional(fd, events_file, shown)))
            h.failcnt = HULL_TRY(parse_keyed(*events, d.file(events_file)))["max"];
        out[size] = h;
    }
    return {};
}

}  // namespace

Status stats(const Dir& d, const std::vector<std::string>& hugepage_sizes, Stats& out) {
    auto fd = HULL_TRY(open_dir(d));
    HULL_TRY(cpu(fd, d, out.cpu));
    HULL_TRY(memory(fd, d, out.memory));
    HULL_TRY(pids(fd, d, out.pids));
    HULL_TRY(io(fd, d, out.blkio));
    HULL_TRY(hugetlb(fd, d, hugepage_sizes, out.hugetlb));
    return {};
}

Result<uint64_t> oom_kill_count(const Dir& d) {
    auto fd = HULL_TRY(open_dir(d));
    auto text = HULL_TRY(read_optional(fd, "memory.events", d.path()));
    if (!text) return uint64_t{0};  // no memory controller: nothing is ever OOM-killed here
    return HULL_TRY(parse_keyed(*text, d.file("memory.events")))["oom_kill"];
}

Result<UniqueFd> watch_memory_events(const Dir& d) {
    auto dir = HULL_TRY(open_dir(d));
    if (!exists_at(dir, "memory.events"))
        return fail_msg(cat("no `memory.events` in ", q(d.path()), " (memory controller not enabled)"));
    int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) return fail_sys("inotify_init1");
    UniqueFd owned(fd);
    // The kernel signals IN_MODIFY on memory.events whenever a counter in it changes.
    // /proc/self/fd/N names the file through the directory we opened without following links.
    std::string path = cat("/proc/self/fd/", dir.get(), "/memory.events");
    if (::inotify_add_watch(owned.get(), path.c_str(), IN_MODIFY | IN_DONT_FOLLOW) < 0)
        return fail_sys(cat("watch ", q(d.file("memory.events"))));
    return owned;
}

}  // namespace hull::cgroups::v2
