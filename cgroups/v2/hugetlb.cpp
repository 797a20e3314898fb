// v2 hugetlb controller: hugetlb.<size>.max, and hugetlb.<size>.rsvd.max (reservations,
// Linux 5.7+) to the same value where the kernel has it, as runc 1.1 does.
#include "cgroups/v2/controllers.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v2 {

Status apply_hugetlb(const Dir& d, const std::vector<oci::HugepageLimit>& limits) {
    if (limits.empty()) return {};
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.hugepageLimits");
    if (!exists_at(fd, cat("hugetlb.", limits.front().page_size, ".max"))) {
        log::warn(cat("linux.resources.hugepageLimits: not applied: the `hugetlb` controller is not enabled for ",
                      q(d.path())));
        return {};
    }
    for (auto& l : limits) {
        auto where = cat("linux.resources.hugepageLimits[", l.page_size, "]");
        HULL_TRY_CTX(write_at(fd, cat("hugetlb.", l.page_size, ".max"), cat(l.limit), d.path()), where);
        std::string rsvd = cat("hugetlb.", l.page_size, ".rsvd.max");
        if (exists_at(fd, rsvd)) HULL_TRY_CTX(write_at(fd, rsvd, cat(l.limit), d.path()), where);
    }
    return {};
}

}  // namespace hull::cgroups::v2
