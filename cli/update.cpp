// `hull update <id>`: changes a running container's resource limits, with runc's flags. Either
// `-r FILE` (a linux.resources JSON object, "-" for stdin) or the flags; with -r the flags are
// ignored, as runc ignores them.
#include "cli/command.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <unistd.h>

#include <memory>

namespace hull::cli {
namespace {

struct UpdateFlags {
    std::string resources;
    std::string blkio_weight, cpu_period, cpu_quota, cpu_share, cpu_rt_period, cpu_rt_runtime;
    std::string cpuset_cpus, cpuset_mems;
    std::string memory, memory_reservation, memory_swap, kernel_memory, kernel_memory_tcp;
    std::string pids_limit;
    std::string l3_cache_schema, mem_bw_schema;
};

Result<std::string> read_stdin() {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys("read resources from stdin");
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

// A numeric flag as runc's Go flag package parses it: decimal, within the type's range.
Result<nlohmann::json> number(std::string_view flag, const std::string& v, bool is_signed, int64_t min) {
    auto n = parse_int<int64_t>(v);
    if (!n || *n < min)
        return fail_msg(cat("invalid value ", q(v), " for flag -", flag, ": parse error"));
    if (!is_signed) return nlohmann::json(static_cast<uint64_t>(*n));
    return nlohmann::json(*n);
}

Result<nlohmann::json> patch_from_flags(const UpdateFlags& f) {
    nlohmann::json p = nlohmann::json::object();
    if (!f.l3_cache_schema.empty() || !f.mem_bw_schema.empty())
        return fail_msg("intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by hull");
    if (!f.blkio_weight.empty()) {
        auto w = parse_int<int64_t>(f.blkio_weight);
        if (!w || *w < 0 || *w > 65535)
            return fail_msg(cat("invalid value ", q(f.blkio_weight), " for flag -blkio-weight: parse error"));
        if (*w != 0) p["blockIO"]["weight"] = *w;  // runc: 0 means "not given"
    }
    struct CpuFlag {
        const char* flag;
        const std::string* value;
        const char* field;
        bool is_signed;
    };
    for (const CpuFlag& c : {CpuFlag{"cpu-period", &f.cpu_period, "period", false},
                             CpuFlag{"cpu-quota", &f.cpu_quota, "quota", true},
                             CpuFlag{"cpu-share", &f.cpu_share, "shares", false},
                             CpuFlag{"cpu-rt-period", &f.cpu_rt_period, "realtimePeriod", false},
                             CpuFlag{"cpu-rt-runtime", &f.cpu_rt_runtime, "realtimeRuntime", true}}) {
        if (c.value->empty()) continue;
        auto v = HULL_TRY(number(c.flag, *c.value, c.is_signed, c.is_signed ? INT64_MIN : 0));
        // runc only takes a non-zero value: 0 leaves the setting as it is.
        if (v != 0) p["cpu"][c.field] = v;
    }
    if (!f.cpuset_cpus.empty()) p["cpu"]["cpus"] = f.cpuset_cpus;
    if (!f.cpuset_mems.empty()) p["cpu"]["mems"] = f.cpuset_mems;
    struct MemFlag {
        const char* flag;
        const std::string* value;
        const char* field;
    };
    for (const MemFlag& m : {MemFlag{"memory", &f.memory, "limit"},
                             MemFlag{"memory-reservation", &f.memory_reservation, "reservation"},
                             MemFlag{"memory-swap", &f.memory_swap, "swap"},
                             MemFlag{"kernel-memory", &f.kernel_memory, "kernel"},
                             MemFlag{"kernel-memory-tcp", &f.kernel_memory_tcp, "kernelTCP"}}) {
        if (m.value->empty()) continue;
        if (*m.value == "-1") {
            p["memory"][m.field] = -1;
            continue;
        }
        auto bytes = parse_ram_bytes(*m.value);
        if (!bytes) return fail(std::move(bytes.error()).context(cat("invalid value for --", m.flag)));
        p["memory"][m.field] = *bytes;
    }
    if (!f.pids_limit.empty()) p["pids"]["limit"] = HULL_TRY(number("pids-limit", f.pids_limit, true, INT64_MIN));
    return p;
}

Action update_setup(CLI::App& app) {
    auto f = std::make_shared<UpdateFlags>();
    app.add_option("-r,--resources", f->resources,
                   "path to the file containing the resources to update or '-' to read from the standard input");
    app.add_option("--blkio-weight", f->blkio_weight, "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)");
    app.add_option("--cpu-period", f->cpu_period, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default");
    app.add_option("--cpu-quota", f->cpu_quota, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period");
    app.add_option("--cpu-share", f->cpu_share, "CPU shares (relative weight vs. other containers)");
    app.add_option("--cpu-rt-period", f->cpu_rt_period,
                   "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default");
    app.add_option("--cpu-rt-runtime", f->cpu_rt_runtime,
                   "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period");
    app.add_option("--cpuset-cpus", f->cpuset_cpus, "CPU(s) to use");
    app.add_option("--cpuset-mems", f->cpuset_mems, "Memory node(s) to use");
    app.add_option("--kernel-memory", f->kernel_memory, "(obsoleted; do not use)");
    app.add_option("--kernel-memory-tcp", f->kernel_memory_tcp, "(obsoleted; do not use)");
    app.add_option("--memory", f->memory, "Memory limit (in bytes)");
    app.add_option("--memory-reservation", f->memory_reservation, "Memory reservation or soft_limit (in bytes)");
    app.add_option("--memory-swap", f->memory_swap, "Total memory usage (memory + swap); set '-1' to enable unlimited swap");
    app.add_option("--pids-limit", f->pids_limit, "Maximum number of pids allowed in the container (default: 0)");
    app.add_option("--l3-cache-schema", f->l3_cache_schema, "The string of Intel RDT/CAT L3 cache schema");
    app.add_option("--mem-bw-schema", f->mem_bw_schema, "The string of Intel RDT/MBA memory bandwidth schema");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        nlohmann::json patch;
        if (!f->resources.empty()) {
            std::string text = f->resources == "-" ? HULL_TRY(read_stdin()) : HULL_TRY(fs::read_file(f->resources));
            patch = nlohmann::json::parse(text, nullptr, false);
            std::string where = f->resources == "-" ? "stdin" : q(f->resources);
            if (patch.is_discarded()) return fail_msg(cat("resources from ", where, ": invalid JSON"));
            if (!patch.is_object()) return fail_msg(cat("resources from ", where, ": must be a JSON object"));
        } else {
            patch = HULL_TRY(patch_from_flags(*f));
        }
        HULL_TRY(runtime::update(ctx.globals, ctx.args[0], patch));
        return 0;
    };
}

}  // namespace

extern const Command update_command{
    "update",
    "update container resource constraints",
    "[command options] <container-id>",
    "The data can be read from a file or the standard input, the\n"
    "accepted format is as follow (unchanged values can be omitted):\n\n"
    "{\n"
    "  \"memory\": {\n"
    "    \"limit\": 0,\n"
    "    \"reservation\": 0,\n"
    "    \"swap\": 0\n"
    "  },\n"
    "  \"cpu\": {\n"
    "    \"shares\": 0,\n"
    "    \"quota\": 0,\n"
    "    \"period\": 0,\n"
    "    \"realtimeRuntime\": 0,\n"
    "    \"realtimePeriod\": 0,\n"
    "    \"cpus\": \"\",\n"
    "    \"mems\": \"\"\n"
    "  },\n"
    "  \"blockIO\": {\n"
    "    \"weight\": 0\n"
    "  },\n"
    "  \"pids\": {\n"
    "    \"limit\": 0\n"
    "  }\n"
    "}\n\n"
    "Note: if data is to be read from a file or the standard input, all\n"
    "other options are ignored.",
    update_setup,
};

}  // namespace hull::cli
