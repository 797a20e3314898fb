// The runc-shaped JSON encoding of Stats, and the parsers for the files stats come from.
#include "cgroups/stats.hpp"

#include "cgroups/stats_parse.hpp"
#include "common/strings.hpp"
#include "common/units.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace hull::cgroups {

namespace {

using json = nlohmann::json;

// Go's encoding/json with `omitempty` drops a zero number or an empty slice or map.
void put_nonzero(json& j, const char* key, uint64_t v) {
    if (v != 0) j[key] = v;
}
void put_nonempty(json& j, const char* key, const std::vector<uint64_t>& v) {
    if (!v.empty()) j[key] = v;
}

json memory_entry(const MemoryEntry& e) {
    json j = {{"limit", e.limit}};
    put_nonzero(j, "usage", e.usage);
    put_nonzero(j, "max", e.max);
    j["failcnt"] = e.failcnt;
    return j;
}

json blkio_list(const std::vector<BlkioEntry>& list) {
    json out = json::array();
    for (auto& e : list) {
        json j = json::object();
        put_nonzero(j, "major", e.major);
        put_nonzero(j, "minor", e.minor);
        if (!e.op.empty()) j["op"] = e.op;
        put_nonzero(j, "value", e.value);
        out.push_back(std::move(j));
    }
    return out;
}

std::string_view line_key(std::string_view line, std::string_view& rest) {
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) {
        rest = {};
        return line;
    }
    rest = trim(line.substr(sp + 1));
    return line.substr(0, sp);
}

Error bad(std::string_view shown, std::string_view what) {
    return Error::msg(cat("parse ", q(shown), ": ", what));
}

}  // namespace

json to_runc_json(const Stats& s) {
    json cpu_usage = json::object();
    put_nonzero(cpu_usage, "total", s.cpu.usage.total);
    put_nonempty(cpu_usage, "percpu", s.cpu.usage.percpu);
    put_nonempty(cpu_usage, "percpu_kernel", s.cpu.usage.percpu_kernel);
    put_nonempty(cpu_usage, "percpu_user", s.cpu.usage.percpu_user);
    cpu_usage["kernel"] = s.cpu.usage.kernel;
    cpu_usage["user"] = s.cpu.usage.user;
    json throttling = json::object();
    put_nonzero(throttling, "periods", s.cpu.throttling.periods);
    put_nonzero(throttling, "throttledPeriods", s.cpu.throttling.throttled_periods);
    put_nonzero(throttling, "throttledTime", s.cpu.throttling.throttled_time);

    const auto& cs = s.cpuset;
    json cpuset = json::object();
    if (!cs.cpus.empty()) cpuset["cpus"] = cs.cpus;
    cpuset["cpu_exclusive"] = cs.cpu_exclusive;
    if (!cs.mems.empty()) cpuset["mems"] = cs.mems;
    cpuset["mem_hardwall"] = cs.mem_hardwall;
    cpuset["mem_exclusive"] = cs.mem_exclusive;
    cpuset["memory_migrate"] = cs.memory_migrate;
    cpuset["memory_spread_page"] = cs.memory_spread_page;
    cpuset["memory_spread_slab"] = cs.memory_spread_slab;
    cpuset["memory_pressure"] = cs.memory_pressure;
    cpuset["sched_load_balance"] = cs.sched_load_balance;
    cpuset["sched_relax_domain_level"] = cs.sched_relax_domain_level;

    json memory = json::object();
    put_nonzero(memory, "cache", s.memory.cache);
    memory["usage"] = memory_entry(s.memory.usage);
    memory["swap"] = memory_entry(s.memory.swap);
    memory["kernel"] = memory_entry(s.memory.kernel);
    memory["kernelTCP"] = memory_entry(s.memory.kernel_tcp);
    if (!s.memory.raw.empty()) memory["raw"] = s.memory.raw;

    json pids = json::object();
    put_nonzero(pids, "current", s.pids.current);
    put_nonzero(pids, "limit", s.pids.limit);

    json blkio = json::object();
    auto list = [&](const char* key, const std::vector<BlkioEntry>& l) {
        if (!l.empty()) blkio[key] = blkio_list(l);
    };
    const auto& b = s.blkio;
    list("ioServiceBytesRecursive", b.io_service_bytes_recursive);
    list("ioServicedRecursive", b.io_serviced_recursive);
    list("ioQueueRecursive", b.io_queued_recursive);  // sic: runc's field name
    list("ioServiceTimeRecursive", b.io_service_time_recursive);
    list("ioWaitTimeRecursive", b.io_wait_time_recursive);
    list("ioMergedRecursive", b.io_merged_recursive);
    list("ioTimeRecursive", b.io_time_recursive);
    list("sectorsRecursive", b.sectors_recursive);

    json hugetlb = json::object();
    for (auto& [size, h] : s.hugetlb) {
        json j = json::object();
        put_nonzero(j, "usage", h.usage);
        put_nonzero(j, "max", h.max);
        j["failcnt"] = h.failcnt;
        hugetlb[size] = std::move(j);
    }

    return json{{"cpu", {{"usage", std::move(cpu_usage)}, {"throttling", std::move(throttling)}}},
                {"cpuset", std::move(cpuset)},
                {"memory", std::move(memory)},
                {"pids", std::move(pids)},
                {"blkio", std::move(blkio)},
                {"hugetlb", std::move(hugetlb)},
                {"intel_rdt", json::object()},
                {"network_interfaces", nullptr}};
}

Result<uint64_t> parse_value(std::string_view text, std::string_view shown) {
    auto t = trim(text);
    if (t == "max") return std::numeric_limits<uint64_t>::max();
    if (auto v = parse_int<uint64_t>(t)) return *v;
    return fail(bad(shown, cat("expected a number, found ", q(t))));
}

Result<std::map<std::string, uint64_t>> parse_keyed(std::string_view text, std::string_view shown) {
    std::map<std::string, uint64_t> out;
    for (auto& raw : split(text, '\n')) {
        auto line = trim(raw);
        if (line.empty()) continue;
        std::string_view rest;
        auto key = line_key(line, rest);
        auto v = parse_int<uint64_t>(rest);
        if (!v) return fail(bad(shown, cat("expected `key number`, found ", q(line))));
        out[std::string(key)] = *v;
    }
    return out;
}

Result<std::vector<uint64_t>> parse_numbers(std::string_view text, std::string_view shown) {
    std::vector<uint64_t> out;
    for (auto& f : split(trim(text), ' ')) {
        if (f.empty()) continue;
        auto v = parse_int<uint64_t>(f);
        if (!v) return fail(bad(shown, cat("expected a number, found ", q(f))));
        out.push_back(*v);
    }
    return out;
}

Result<std::vector<uint16_t>> parse_cpu_list(std::string_view text, std::string_view shown) {
    std::vector<uint16_t> out;
    for (auto& part : split(trim(text), ',')) {
        if (part.empty()) continue;
        auto dash = part.find('-');
        auto lo = parse_int<uint16_t>(std::string_view(part).substr(0, dash));
        auto hi = dash == std::string::npos ? lo : parse_int<uint16_t>(std::string_view(part).substr(dash + 1));
        if (!lo || !hi || *hi < *lo) return fail(bad(shown, cat("bad cpu list entry ", q(part))));
        for (uint32_t i = *lo; i <= *hi; ++i) out.push_back(static_cast<uint16_t>(i));
    }
    return out;
}

Status parse_usage_all(std::string_view text, std::string_view shown, CpuUsage& out) {
    auto lines = split(trim(text), '\n');
    if (lines.empty() || !starts_with(trim(lines[0]), "cpu ")) return fail(bad(shown, "missing the `cpu user system` header"));
    out.percpu_user.clear();
    out.percpu_kernel.clear();
    for (size_t i = 1; i < lines.size(); ++i) {
        auto nums = HULL_TRY(parse_numbers(lines[i], shown));
        if (nums.size() != 3) return fail(bad(shown, cat("expected `cpu user system`, found ", q(trim(lines[i])))));
        out.percpu_user.push_back(nums[1]);
        out.percpu_kernel.push_back(nums[2]);
    }
    return {};
}

namespace {

Result<std::pair<uint64_t, uint64_t>> parse_dev(std::string_view dev, std::string_view shown) {
    auto colon = dev.find(':');
    if (colon != std::string_view::npos) {
        auto major = parse_int<uint64_t>(dev.substr(0, colon));
        auto minor = parse_int<uint64_t>(dev.substr(colon + 1));
        if (major && minor) return std::pair{*major, *minor};
    }
    return fail(bad(shown, cat("expected `major:minor`, found ", q(dev))));
}

}  // namespace

Result<std::vector<BlkioEntry>> parse_blkio_v1(std::string_view text, std::string_view shown) {
    std::vector<BlkioEntry> out;
    for (auto& raw : split(text, '\n')) {
        std::vector<std::string> f;
        for (auto& w : split(trim(raw), ' '))
            if (!w.empty()) f.push_back(w);
        if (f.empty()) continue;
        if (f.size() == 2 && f[0] == "Total") continue;
        if (f.size() != 2 && f.size() != 3) return fail(bad(shown, cat("unexpected line ", q(trim(raw)))));
        auto [major, minor] = HULL_TRY(parse_dev(f[0], shown));
        auto v = parse_int<uint64_t>(f.back());
        if (!v) return fail(bad(shown, cat("expected a number, found ", q(f.back()))));
        out.push_back(BlkioEntry{major, minor, f.size() == 3 ? f[1] : std::string(), *v});
    }
    return out;
}

Result<BlkioStats> parse_io_stat(std::string_view text, std::string_view shown) {
    BlkioStats out;
    for (auto& raw : split(text, '\n')) {
        std::vector<std::string> f;
        for (auto& w : split(trim(raw), ' '))
            if (!w.empty()) f.push_back(w);
        if (f.empty()) continue;
        auto [major, minor] = HULL_TRY(parse_dev(f[0], shown));
        for (size_t i = 1; i < f.size(); ++i) {
            auto eq = f[i].find('=');
            if (eq == std::string::npos) return fail(bad(shown, cat("expected `key=value`, found ", q(f[i]))));
            std::string_view key = std::string_view(f[i]).substr(0, eq);
            auto v = parse_int<uint64_t>(std::string_view(f[i]).substr(eq + 1));
            if (!v) return fail(bad(shown, cat("expected a number in ", q(f[i]))));
            std::vector<BlkioEntry>* table = nullptr;
            const char* op = nullptr;
            if (key == "rbytes") table = &out.io_service_bytes_recursive, op = "Read";
            else if (key == "wbytes") table = &out.io_service_bytes_recursive, op = "Write";
            else if (key == "rios") table = &out.io_serviced_recursive, op = "Read";
            else if (key == "wios") table = &out.io_serviced_recursive, op = "Write";
            else continue;
            table->push_back(BlkioEntry{major, minor, op, *v});
        }
    }
    return out;
}

std::optional<std::string> hugepage_size_name(std::string_view name) {
    constexpr std::string_view prefix = "hugepages-", suffix = "kB";
    if (!starts_with(name, prefix) || name.size() <= prefix.size() + suffix.size() ||
        name.substr(name.size() - suffix.size()) != suffix)
        return std::nullopt;
    auto kb = parse_int<uint64_t>(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
    if (!kb || *kb == 0) return std::nullopt;
    // runc formats the byte size with 1024-based units and %g ("2MB", "1GB", "64KB").
    static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    return custom_size("%g%s", static_cast<double>(*kb) * 1024, 1024, kUnits);
}

std::vector<std::string> hugepage_sizes(const std::string& sysfs_dir) {
    std::vector<std::string> out;
    DIR* dir = ::opendir(sysfs_dir.c_str());
    if (!dir) return out;
    while (auto* e = ::readdir(dir))
        if (auto n = hugepage_size_name(e->d_name)) out.push_back(*n);
    ::closedir(dir);
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::optional<std::string>> read_optional(FdRef dir, std::string_view file, std::string_view shown) {
    auto r = read_at(dir, file, shown);
    if (r) return std::optional<std::string>(std::move(*r));
    if (r.error().code() == ENOENT) return std::optional<std::string>();
    return fail(std::move(r.error()));
}

}  // namespace hull::cgroups
