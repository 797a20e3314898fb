// v2 pids controller: pids.max.
#include "cgroups/v2/controllers.hpp"

#include "cgroups/convert.hpp"

namespace hull::cgroups::v2 {

Status apply_pids(const Dir& d, const oci::Pids& pids) {
    if (!pids.limit) return {};
    auto value = pids_max(*pids.limit);
    if (!value) return {};
    HULL_TRY_CTX(write_file(d, "pids.max", *value), "linux.resources.pids.limit");
    return {};
}

}  // namespace hull::cgroups::v2
