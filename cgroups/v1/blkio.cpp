// v1 blkio controller: weight and leaf weight (BFQ's blkio.bfq.weight* files when the kernel
// has them, CFQ's blkio.weight* otherwise, as runc picks them), per-device weights, and the
// four throttle files. Kernels since 5.0 have no CFQ; without BFQ there is no weight file at
// all, and a weight is then an error naming the missing file.
#include "cgroups/v1/controllers.hpp"

#include "common/strings.hpp"

namespace hull::cgroups::v1 {

std::vector<Write> blkio_writes(const oci::BlockIo& b, bool bfq) {
    std::vector<Write> out;
    const char* weight = bfq ? "blkio.bfq.weight" : "blkio.weight";
    const char* weight_device = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
    if (b.weight && *b.weight != 0) out.push_back({weight, cat(*b.weight)});
    if (b.leaf_weight && *b.leaf_weight != 0) out.push_back({"blkio.leaf_weight", cat(*b.leaf_weight)});
    for (auto& wd : b.weight_device) {
        if (wd.weight && *wd.weight != 0) out.push_back({weight_device, cat(wd.major, ":", wd.minor, " ", *wd.weight)});
        if (wd.leaf_weight && *wd.leaf_weight != 0)
            out.push_back({"blkio.leaf_weight_device", cat(wd.major, ":", wd.minor, " ", *wd.leaf_weight)});
    }
    // A rate of 0 removes the device's limit in the v1 throttle files.
    auto throttle = [&](const std::vector<oci::ThrottleDevice>& list, const char* file) {
        for (auto& t : list) out.push_back({file, cat(t.major, ":", t.minor, " ", t.rate)});
    };
    throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device");
    throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device");
    throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device");
    throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device");
    return out;
}

Status apply_blkio(const Dir& d, const oci::BlockIo& b) {
    auto fd = HULL_TRY_CTX(open_dir(d), "linux.resources.blockIO");
    auto writes = blkio_writes(b, exists_at(fd, "blkio.bfq.weight"));
    for (auto& w : writes) {
        if (auto r = write_at(fd, w.file, w.value, d.path()); !r) {
            if (r.error().code() == ENOENT && w.file.find("weight") != std::string::npos)
                return fail_msg(cat("linux.resources.blockIO: this kernel has no ", q(w.file), " in ", q(d.path()),
                                    " (block I/O weights need the BFQ or CFQ I/O scheduler)"));
            return fail(std::move(r.error()).context("linux.resources.blockIO"));
        }
    }
    return {};
}

}  // namespace hull::cgroups::v1
