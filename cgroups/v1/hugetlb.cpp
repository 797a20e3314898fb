// v1 hugetlb controller: hugetlb.<size>.limit_in_bytes, and the reservation limit
// (hugetlb.<size>.rsvd.limit_in_bytes, Linux 5.7+) to the same value where it exists.
#include "cgroups/v1/controllers.hpp"

#include "common/strings.hpp"

namespace hull::cgroups::v1 {

Status apply_hugetlb(const Dir& d, const std::vector<oci::HugepageLimit>& limits) {
    if (limits.empty()) return {};
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.hugepageLimits");
    for (auto& l : limits) {
        auto where = cat("linux.resources.hugepageLimits[", l.page_size, "]");
        HULL_TRY_CTX(write_at(fd, cat("hugetlb.", l.page_size, ".limit_in_bytes"), cat(l.limit), d.path()), where);
        std::string rsvd = cat("hugetlb.", l.page_size, ".rsvd.limit_in_bytes");
        if (exists_at(fd, rsvd)) HULL_TRY_CTX(write_at(fd, rsvd, cat(l.limit), d.path()), where);
    }
    return {};
}

}  // namespace hull::cgroups::v1
