// v1 net_cls and net_prio controllers (usually mounted together): the class id tagged on the
// container's packets, and per-interface priorities. cgroup v2 has neither.
#include "cgroups/v1/controllers.hpp"

#include "common/strings.hpp"

namespace hull::cgroups::v1 {

Result<std::vector<Write>> net_prio_writes(const oci::Network& n) {
    std::vector<Write> out;
    for (auto& p : n.priorities) {
        if (p.name.empty() || p.name.find_first_of(" \t\n/") != std::string::npos)
            return fail_msg(cat("linux.resources.network.priorities: invalid interface name ", q(p.name)));
        out.push_back({"net_prio.ifpriomap", cat(p.name, " ", p.priority)});
    }
    return out;
}

Status apply_net_cls(const Dir& d, uint32_t class_id) {
    HULL_TRY_CTX(write_file(d, "net_cls.classid", cat(class_id)), "linux.resources.network.classID");
    return {};
}

Status apply_net_prio(const Dir& d, const oci::Network& n) {
    auto writes = HULL_TRY(net_prio_writes(n));
    HULL_TRY_CTX(apply_writes(d, writes), "linux.resources.network.priorities");
    return {};
}

}  // namespace hull::cgroups::v1
