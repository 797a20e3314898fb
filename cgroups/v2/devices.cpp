// v2 device access control is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the
// container's cgroup; the quotas issue adds it. Until then the rules are not enforced on a
// pure v2 host, and we say so in the debug log. (Hybrid and legacy hosts use v1/devices.cpp.)
#include "cgroups/v2/controllers.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v2 {

Status apply_devices(const Dir& d, const std::vector<oci::DeviceRule>& rules) {
    if (!rules.empty())
        log::debug(cat("linux.resources.devices: ", rules.size(), " rule(s) not enforced on cgroup v2 yet (needs the eBPF "
                       "device filter) for ", q(d.path())));
    return {};
}

}  // namespace hull::cgroups::v2
