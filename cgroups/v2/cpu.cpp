// v2 cpu controller: cpu.weight, cpu.max, cpu.max.burst, cpu.idle.
#include "cgroups/v2/controllers.hpp"

#include "cgroups/convert.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v2 {

Status apply_cpu(const Dir& d, const oci::Cpu& cpu) {
    auto max = cpu_max(cpu.quota.value_or(0), cpu.period.value_or(0));
    bool weight = cpu.shares && *cpu.shares != 0;
    if (!weight && !max && !cpu.burst && !cpu.idle && !cpu.realtime_period && !cpu.realtime_runtime) return {};
    if (cpu.realtime_period || cpu.realtime_runtime)
        log::warn("linux.resources.cpu: realtime runtime/period have no cgroup v2 equivalent; ignored");

    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.cpu");
    const std::string shown = d.path();
    if (weight)
        HULL_TRY_CTX(write_at(fd, "cpu.weight", cat(cpu_weight_from_shares(*cpu.shares)), shown), "linux.resources.cpu.shares");
    if (cpu.idle) HULL_TRY_CTX(write_at(fd, "cpu.idle", *cpu.idle ? "1" : "0", shown), "linux.resources.cpu.idle");
    bool burst_pending = false;
    if (cpu.burst) {
        if (auto r = write_at(fd, "cpu.max.burst", cat(*cpu.burst), shown); !r) {
            // A burst above the current quota is refused until the new quota is in.
            if (r.error().code() != EINVAL || !max) return fail(std::move(r.error()).context("linux.resources.cpu.burst"));
            burst_pending = true;
        }
    }
    if (max && cpu.quota.value_or(0) == 0) {
        // Only the period is given: keep the quota as it is (writing "max <period>" would
        // lift it). The kernel keeps the period when only a quota is written.
        auto now = HULL_TRY_CTX(read_at(fd, "cpu.max", shown), "linux.resources.cpu.period");
        auto parts = split(trim(now), ' ');
        if (!parts.empty() && !parts[0].empty()) max = cat(parts[0], " ", *cpu.period);
    }
    if (max) {
        HULL_TRY_CTX(write_at(fd, "cpu.max", *max, shown), "linux.resources.cpu.quota");
        if (burst_pending)
            HULL_TRY_CTX(write_at(fd, "cpu.max.burst", cat(*cpu.burst), shown), "linux.resources.cpu.burst");
    }
    return {};
}

}  // namespace hull::cgroups::v2
