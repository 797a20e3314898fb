// v2 memory controller: memory.max, memory.low, memory.swap.max.
#include "cgroups/v2/controllers.hpp"

#include "cgroups/convert.hpp"
#include "common/log.hpp"

namespace hull::cgroups::v2 {

Result<std::vector<Write>> memory_writes(const oci::Memory& m) {
    std::vector<Write> out;
    int64_t limit = m.limit.value_or(0);
    int64_t swap = m.swap.value_or(0);
    int64_t swap_only = HULL_TRY(swap_to_v2(swap, limit));
    // In runc's order: swap, memory.max, memory.low (v2 has no cross-file constraint).
    if (auto v = v2_limit(swap_only)) out.push_back({"memory.swap.max", *v});
    else if (swap_only == 0 && swap > 0) out.push_back({"memory.swap.max", "0"});  // swap == limit: none
    if (auto v = v2_limit(limit)) out.push_back({"memory.max", *v});
    // OCI has no "high"; the reservation is the protection memory.low gives (as runc).
    if (auto v = v2_limit(m.reservation.value_or(0))) out.push_back({"memory.low", *v});
    return out;
}

Status apply_memory(const Dir& d, const oci::Memory& m) {
    if (m.kernel || m.kernel_tcp) log::warn("linux.resources.memory: kernel and kernelTCP limits are deprecated and ignored");
    if (m.swappiness) log::debug("linux.resources.memory.swappiness: no cgroup v2 equivalent; ignored");
    if (m.disable_oom_killer.value_or(false))
        log::warn("linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer; ignored");
    auto writes = HULL_TRY_CTX(memory_writes(m), "linux.resources.memory");
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.memory");
    for (auto& w : writes) {
        if (auto r = write_at(fd, w.file, w.value, d.path()); !r) {
            // Without swap accounting there is no memory.swap.max; lifting or zeroing a limit
            // that cannot exist is not worth failing for.
            if (w.file == "memory.swap.max" && r.error().code() == ENOENT && (w.value == "max" || w.value == "0")) continue;
            return fail(std::move(r.error()).context("linux.resources.memory"));
        }
    }
    return {};
}

}  // namespace hull::cgroups::v2
