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

uint64_t io_weight_from_blkio(uint64_t weight) {
    if (weight == 0) return 0;
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + (weight - 10) * 9999 / 990;
}

std::vector<std::string> io_max_lines(const oci::BlockIo& b) {
    // Devices in first-seen order, each with its keys gathered from the four lists.
    std::vector<std::pair<std::pair<int64_t, int64_t>, std::string>> lines;
    auto add = [&](const std::vector<oci::ThrottleDevice>& list, const char* key) {
        for (auto& t : list) {
            auto dev = std::pair{t.major, t.minor};
            auto it = std::find_if(lines.begin(), lines.end(), [&](auto& l) { return l.first == dev; });
            if (it == lines.end()) it = lines.insert(lines.end(), {dev, cat(t.major, ":", t.minor)});
            it->second += cat(" ", key, "=", t.rate == 0 ? std::string("max") : cat(t.rate));
        }
    };
    add(b.throttle_read_bps, "rbps");
    add(b.throttle_write_bps, "wbps");
    add(b.throttle_read_iops, "riops");
    add(b.throttle_write_iops, "wiops");
    std::vector<std::string> out;
    for (auto& l : lines) out.push_back(std::move(l.second));
    return out;
}

std::optional<std::string> rdma_line(const std::string& device, const oci::Rdma& r) {
    if (!r.hca_handles && !r.hca_objects) return std::nullopt;
    std::string s = device;
    if (r.hca_handles) s += cat(" hca_handle=", *r.hca_handles);
    if (r.hca_objects) s += cat(" hca_object=", *r.hca_objects);
    return s;
}

Result<std::vector<Write>> rdma_writes(const std::map<std::string, oci::Rdma>& rdma) {
    std::vector<Write> out;
    for (auto& [device, r] : rdma) {
        if (device.empty() || device.find_first_of(" \t\n/") != std::string::npos)
            return fail_msg(cat("linux.resources.rdma: invalid device name ", q(device)));
        if (auto line = rdma_line(device, r)) out.push_back({"rdma.max", *line});
    }
    return out;
}

std::vector<oci::HugepageLimit> hugepage_limits_for_host(const std::vector<oci::HugepageLimit>& limits,
                                                         const std::vector<std::string>& host_sizes,
                                                         std::vector<std::string>* dropped) {
    std::vector<oci::HugepageLimit> out;
    for (auto& l : limits) {
        if (std::find(host_sizes.begin(), host_sizes.end(), l.page_size) != host_sizes.end())
            out.push_back(l);
        else if (dropped)
            dropped->push_back(l.page_size);
    }
    return out;
}

}  // namespace hull::cgroups
