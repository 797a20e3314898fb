// v1 cpu controller: shares, CFS bandwidth (period, quota, burst), realtime budget, idle.
#include "cgroups/v1/controllers.hpp"

#include "common/strings.hpp"

namespace hull::cgroups::v1 {

Status apply_cpu(const Dir& d, const oci::Cpu& cpu) {
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.cpu");
    const std::string shown = d.path();

    if (cpu.shares && *cpu.shares != 0) {
        HULL_TRY_CTX(write_at(fd, "cpu.shares", cat(*cpu.shares), shown), "linux.resources.cpu.shares");
        // The kernel clamps to [2, 262144] silently; say so instead of running with another value.
        auto text = HULL_TRY_CTX(read_at(fd, "cpu.shares", shown), "linux.resources.cpu.shares");
        auto got = parse_int<uint64_t>(trim(text));
        if (got && *got < *cpu.shares)
            return fail_msg(cat("linux.resources.cpu.shares: ", *cpu.shares, " is above the maximum ", *got));
        if (got && *got > *cpu.shares)
            return fail_msg(cat("linux.resources.cpu.shares: ", *cpu.shares, " is below the minimum ", *got));
    }

    int64_t quota = cpu.quota.value_or(0);
    bool period_pending = false;
    if (cpu.period && *cpu.period != 0) {
        if (auto r = write_at(fd, "cpu.cfs_period_us", cat(*cpu.period), shown); !r) {
            // A period shorter than the current one can exceed the parent's bandwidth until
            // the new quota is in; retry it after the quota when one is coming.
            if (r.error().code() != EINVAL || quota == 0)
                return fail(std::move(r.error()).context("linux.resources.cpu.period"));
            period_pending = true;
        }
    }
    if (quota != 0) {
        HULL_TRY_CTX(write_at(fd, "cpu.cfs_quota_us", cat(quota), shown), "linux.resources.cpu.quota");
        if (period_pending)
            HULL_TRY_CTX(write_at(fd, "cpu.cfs_period_us", cat(*cpu.period), shown), "linux.resources.cpu.period");
    }
    if (cpu.burst)
        HULL_TRY_CTX(write_at(fd, "cpu.cfs_burst_us", cat(*cpu.burst), shown), "linux.resources.cpu.burst");
    // Realtime: the period before the runtime, so the runtime fits in it.
    if (cpu.realtime_period && *cpu.realtime_period != 0)
        HULL_TRY_CTX(write_at(fd, "cpu.rt_period_us", cat(*cpu.realtime_period), shown),
                     "linux.resources.cpu.realtimePeriod");
    if (cpu.realtime_runtime && *cpu.realtime_runtime != 0)
        HULL_TRY_CTX(write_at(fd, "cpu.rt_runtime_us", cat(*cpu.realtime_runtime), shown),
                     "linux.resources.cpu.realtimeRuntime");
    if (cpu.idle)
        HULL_TRY_CTX(write_at(fd, "cpu.idle", *cpu.idle ? "1" : "0", shown), "linux.resources.cpu.idle");
    return {};
}

}  // namespace hull::cgroups::v1
