// v1 cpuset controller: cpus and mems, and the inheritance new cpuset cgroups need.
#include "cgroups/v1/controllers.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v1 {

Status apply_cpuset(const Dir& d, const oci::Cpu& cpu) {
    std::vector<Write> writes;
    if (!cpu.cpus.empty()) writes.push_back({"cpuset.cpus", cpu.cpus});
    if (!cpu.mems.empty()) writes.push_back({"cpuset.mems", cpu.mems});
    HULL_TRY_CTX(apply_writes(d, writes), "linux.resources.cpu");
    return {};
}

Status inherit_cpuset(FdRef parent, FdRef child, std::string_view child_shown) {
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto mine = read_at(child, file, child_shown);
        if (!mine) {
            // Only a cpuset mounted with "noprefix" lacks the file; nothing to inherit then.
            if (mine.error().code() == ENOENT) {
                log::debug(cat("cpuset: no ", q(file), " in ", q(child_shown), "; not inheriting"));
                continue;
            }
            return fail(std::move(mine.error()));
        }
        if (!trim(*mine).empty()) continue;
        auto theirs = HULL_TRY(read_at(parent, file, cat(child_shown, "/..")));
        auto value = trim(theirs);
        if (value.empty()) continue;
        HULL_TRY(write_at(child, file, value, child_shown));
    }
    return {};
}

}  // namespace hull::cgroups::v1
