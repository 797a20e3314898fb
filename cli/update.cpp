// `hull update <id>`: registered with runc's flags so callers get a clear failure, not a usage
// error; live resource updates arrive with the cgroups work.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action setup(CLI::App& app) {
    app.add_option("-r,--resources",
                   "path to the file containing the resources to update or '-' to read from the standard input");
    app.add_option("--blkio-weight", "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)");
    app.add_option("--cpu-period", "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default");
    app.add_option("--cpu-quota", "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period");
    app.add_option("--cpu-share", "CPU shares (relative weight vs. other containers)");
    app.add_option("--cpu-rt-period",
                   "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default");
    app.add_option("--cpu-rt-runtime", "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period");
    app.add_option("--cpuset-cpus", "CPU(s) to use");
    app.add_option("--cpuset-mems", "Memory node(s) to use");
    app.add_option("--memory", "Memory limit (in bytes)");
    app.add_option("--memory-reservation", "Memory reservation or soft_limit (in bytes)");
    app.add_option("--memory-swap", "Total memory usage (memory + swap); set '-1' to enable unlimited swap");
    app.add_option("--pids-limit", "Maximum number of pids allowed in the container (default: 0)");
    app.add_option("--l3-cache-schema", "The string of Intel RDT/CAT L3 cache schema");
    app.add_option("--mem-bw-schema", "The string of Intel RDT/MBA memory bandwidth schema");
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(not_implemented(ctx));
        return 0;
    };
}

}  // namespace

extern const Command update_command{
    "update",
    "update container resource constraints",
    "[command options] <container-id>",
    "",
    setup,
};

}  // namespace hull::cli
