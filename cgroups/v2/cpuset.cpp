// v2 cpuset controller: cpuset.cpus, cpuset.mems. (An empty v2 cpuset uses the parent's
// effective sets, so nothing needs inheriting, unlike v1.)
#include "cgroups/v2/controllers.hpp"

namespace hull::cgroups::v2 {

Status apply_cpuset(const Dir& d, const oci::Cpu& cpu) {
    std::vector<Write> writes;
    if (!cpu.cpus.empty()) writes.push_back({"cpuset.cpus", cpu.cpus});
    if (!cpu.mems.empty()) writes.push_back({"cpuset.mems", cpu.mems});
    HULL_TRY_CTX(apply_writes(d, writes), "linux.resources.cpu");
    return {};
}

}  // namespace hull::cgroups::v2
