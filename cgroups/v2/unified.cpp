// linux.resources.unified: raw cgroup2 file name -> value, for knobs the OCI spec has no
// field for (memory.high, io.weight, ...). Applied after everything else, so it wins.
#include "cgroups/v2/controllers.hpp"

#include "common/strings.hpp"

namespace hull::cgroups::v2 {

Status apply_unified(const Dir& d, const std::map<std::string, std::string>& unified) {
    if (unified.empty()) return {};
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.unified");
    const std::string shown = d.path();
    for (auto& [key, value] : unified) {
        auto where = cat("linux.resources.unified.", key);
        if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
            return fail_msg(cat(where, ": must be a file name in the cgroup directory"));
        auto dot = key.find('.');
        if (dot == std::string::npos || dot == 0) return fail_msg(cat(where, ": must look like `controller.parameter`"));
        // Multi-line values (io.max for several devices) go one line per write, as the
        // kernel parses one entry per write.
        for (auto& line : split(value, '\n')) {
            if (line.empty()) continue;
            if (auto r = write_at(fd, key, line, shown); !r) {
                if (r.error().code() == ENOENT)
                    return fail(std::move(r.error())
                                    .context(cat(where, ": no such file (is the ", q(key.substr(0, dot)),
                                                 " controller enabled for this cgroup?)")));
                return fail(std::move(r.error()).context(where));
            }
        }
    }
    return {};
}

}  // namespace hull::cgroups::v2
