// v2 io controller: the weight (io.bfq.weight when the BFQ scheduler offers it, in blkio's
// own 10..1000 scale; otherwise io.weight with runc's conversion), per-device weights, and
// io.max from the throttle lists. blockIO.leafWeight has no v2 counterpart.
#include "cgroups/v2/controllers.hpp"

#include "cgroups/convert.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v2 {

std::vector<Write> io_writes(const oci::BlockIo& b, const IoFiles& files) {
    std::vector<Write> out;
    const char* weight_file = files.bfq_weight ? "io.bfq.weight" : "io.weight";
    auto weight = [&](uint64_t w) { return files.bfq_weight ? w : io_weight_from_blkio(w); };
    if (b.weight && *b.weight != 0) out.push_back({weight_file, cat(weight(*b.weight))});
    for (auto& wd : b.weight_device)
        if (wd.weight && *wd.weight != 0) out.push_back({weight_file, cat(wd.major, ":", wd.minor, " ", weight(*wd.weight))});
    for (auto& line : io_max_lines(b)) out.push_back({"io.max", line});
    return out;
}

Status apply_io(const Dir& d, const oci::BlockIo& b) {
    bool leaf = (b.leaf_weight && *b.leaf_weight != 0);
    for (auto& wd : b.weight_device) leaf = leaf || (wd.leaf_weight && *wd.leaf_weight != 0);
    if (leaf) log::debug("linux.resources.blockIO: leaf weights have no cgroup v2 equivalent; ignored");

    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.blockIO");
    IoFiles files{.bfq_weight = exists_at(fd, "io.bfq.weight")};
    auto writes = io_writes(b, files);
    if (writes.empty()) return {};
    if (!exists_at(fd, "io.max") && !files.bfq_weight && !exists_at(fd, "io.weight")) {
        log::warn(cat("linux.resources.blockIO: not applied: the `io` controller is not enabled for ", q(d.path())));
        return {};
    }
    for (auto& w : writes) HULL_TRY_CTX(write_at(fd, w.file, w.value, d.path()), "linux.resources.blockIO");
    return {};
}

}  // namespace hull::cgroups::v2
