// v1 rdma controller: rdma.max, one line per device (the same format as v2's).
#include "cgroups/convert.hpp"
#include "cgroups/v1/controllers.hpp"

namespace hull::cgroups::v1 {

Status apply_rdma(const Dir& d, const std::map<std::string, oci::Rdma>& rdma) {
    auto writes = HULL_TRY(rdma_writes(rdma));
    HULL_TRY_CTX(apply_writes(d, writes), "linux.resources.rdma");
    return {};
}

}  // namespace hull::cgroups::v1
