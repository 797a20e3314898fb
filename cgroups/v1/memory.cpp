// v1 memory controller: limit, memsw (OCI swap is memory+swap, as memsw is), soft limit,
// OOM killer, swappiness.
#include "cgroups/v1/controllers.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v1 {

namespace {
constexpr const char* kLimit = "memory.limit_in_bytes";
constexpr const char* kMemsw = "memory.memsw.limit_in_bytes";
}  // namespace

Result<std::vector<Write>> memory_writes(const oci::Memory& m, uint64_t current_limit, bool has_memsw) {
    std::vector<Write> out;
    int64_t limit = m.limit.value_or(0);
    int64_t swap = m.swap.value_or(0);
    // An unlimited memory limit with swap unset also lifts the memsw limit (runc does the
    // same), or the old memsw would keep capping memory.
    if (limit == -1 && swap == 0 && has_memsw) swap = -1;
    if (swap != 0 && !has_memsw)
        return fail_msg("linux.resources.memory.swap: this kernel has no swap accounting (`memory.memsw.limit_in_bytes` is missing)");

    // The kernel refuses memsw below the memory limit at every step, so when raising memsw
    // above the current memory limit (or lifting it), memsw goes first.
    bool swap_first = limit != 0 && swap != 0 && (swap == -1 || current_limit < static_cast<uint64_t>(swap));
    if (swap_first && swap != 0) out.push_back({kMemsw, cat(swap)});
    if (limit != 0) out.push_back({kLimit, cat(limit)});
    if (!swap_first && swap != 0) out.push_back({kMemsw, cat(swap)});

    if (m.reservation && *m.reservation != 0) out.push_back({"memory.soft_limit_in_bytes", cat(*m.reservation)});
    if (m.disable_oom_killer.value_or(false)) out.push_back({"memory.oom_control", "1"});
    if (m.swappiness) {
        if (*m.swappiness > 100)
            return fail_msg(cat("linux.resources.memory.swappiness: ", *m.swappiness, " is out of range (0-100)"));
        out.push_back({"memory.swappiness", cat(*m.swappiness)});
    }
    return out;
}

Status apply_memory(const Dir& d, const oci::Memory& m) {
    // Kernel memory limits are deprecated (and refused by kernels >= 6.1); runc 1.1 ignores them.
    if (m.kernel || m.kernel_tcp)
        log::warn("linux.resources.memory: kernel and kernelTCP limits are deprecated and ignored");
    if (m.use_hierarchy) log::debug("linux.resources.memory.useHierarchy: ignored (always on in current kernels)");

    uint64_t current = 0;
    if (m.limit.value_or(0) != 0 && m.swap.value_or(0) != 0) {
        auto text = HULL_TRY_CTX(read_file(d, kLimit), "linux.resources.memory");
        auto v = parse_int<uint64_t>(trim(text));
        if (!v) return fail_msg(cat("linux.resources.memory: unexpected ", q(d.file(kLimit)), " content ", q(trim(text))));
        current = *v;
    }
    auto writes = HULL_TRY(memory_writes(m, current, has_file(d, kMemsw)));
    if (writes.empty()) return {};
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.memory");
    for (auto& w : writes) {
        auto r = write_at(fd, w.file, w.value, d.path());
        if (r) continue;
        // EBUSY: an update lowering a limit below what the container uses now, and the kernel
        // could not reclaim enough. Say so with the numbers (runc does too).
        if (r.error().code() == EBUSY && (w.file == kLimit || w.file == kMemsw)) {
            bool memsw = w.file == kMemsw;
            auto usage = read_at(fd, memsw ? "memory.memsw.usage_in_bytes" : "memory.usage_in_bytes", d.path());
            return fail_msg(cat("linux.resources.memory.", memsw ? "swap" : "limit", ": cannot lower the limit to ", w.value,
                                " bytes: the container uses ", usage ? trim(*usage) : std::string_view("more"),
                                " bytes and the kernel could not reclaim enough"));
        }
        return fail(std::move(r.error()).context("linux.resources.memory"));
    }
    return {};
}

}  // namespace hull::cgroups::v1
