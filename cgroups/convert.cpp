#include "cgroups/convert.hpp"

#include "common/strings.hpp"

#include <algorithm>

namespace hull::cgroups {

std::optional<std::string> pids_max(int64_t limit) {
    if (limit == 0) return std::nullopt;
    if (limit < 0) return "max";
    return cat(limit);
}

uint64_t cpu_weight_from_shares(uint64_t shares) {
    if (shares == 0) return 0;
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + (shares - 2) * 9999 / 262142;
}

Result<int64_t> swap_to_v2(int64_t memory_swap, int64_t memory) {
    if (memory == -1 && memory_swap == 0) return -1;
    if (memory_swap == -1 || memory_swap == 0) return memory_swap;
    if (memory == 0 || memory == -1)
        return fail_msg("linux.resources.memory.swap: a swap limit needs a memory limit (cgroup v2 keeps them apart)");
    if (memory < 0) return fail_msg(cat("linux.resources.memory.limit: invalid value ", memory));
    if (memory_swap < memory)
        return fail_msg(cat("linux.resources.memory.swap: ", memory_swap, " is below the memory limit ", memory,
                            " (it counts memory plus swap)"));
    return memory_swap - memory;
}

std::optional<std::string> v2_limit(int64_t value) {
    if (value == 0) return std::nullopt;
    if (value == -1) return "max";
    return cat(value);
}

std::optional<std::string> cpu_max(int64_t quota, uint64_t period) {
    if (quota == 0 && period == 0) return std::nullopt;
    std::string s = quota > 0 ? cat(quota) : std::string("max");
    if (period != 0) s += cat(" ", period);
    return s;
}

std::vector<std::string> device_rule_lines(const oci::DeviceRule& rule) {
    auto num = [](const std::optional<int64_t>& v) { return v && *v >= 0 ? cat(*v) : std::string("*"); };
    std::string access = rule.access.empty() ? std::string("rwm") : rule.access;
    bool every_access = access.find('r') != std::string::npos && access.find('w') != std::string::npos &&
                        access.find('m') != std::string::npos;
    std::string numbers = cat(num(rule.major), ":", num(rule.minor));
    if (rule.type == 'a') {
        if (every_access && numbers == "*:*") return {"a"};
        return {cat("c ", numbers, " ", access), cat("b ", numbers, " ", access)};
    }
    return {cat(rule.type, " ", numbers, " ", access)};
}

}  // namespace hull::cgroups
