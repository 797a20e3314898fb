// v2 rdma controller: rdma.max, one line per device.
#include "cgroups/v2/controllers.hpp"

#include "cgroups/convert.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v2 {

Status apply_rdma(const Dir& d, const std::map<std::string, oci::Rdma>& rdma) {
    auto lines = HULL_TRY(rdma_writes(rdma));
    if (lines.empty()) return {};
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.rdma");
    if (!exists_at(fd, "rdma.max")) {
        log::warn(cat("linux.resources.rdma: not applied: the `rdma` controller is not enabled for ", q(d.path())));
        return {};
    }
    for (auto& w : lines) HULL_TRY_CTX(write_at(fd, w.file, w.value, d.path()), "linux.resources.rdma");
    return {};
}

}  // namespace hull::cgroups::v2
