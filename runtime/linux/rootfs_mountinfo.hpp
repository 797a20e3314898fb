// /proc/self/mountinfo, parsed (proc(5)). Private to runtime/linux/{mounts,rootfs_*}.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hull::runtime::linux {

struct MountInfo {
    int id = 0;
    int parent = 0;
    std::string root;           // the mounted directory, within its filesystem
    std::string mount_point;    // octal escapes (\040) decoded
    std::string options;        // per-mount options
    std::string optional;       // "shared:1 master:2", space-separated
    std::string fstype;
    std::string source;
    std::string super_options;  // per-superblock options
};

std::vector<MountInfo> parse_mountinfo(std::string_view text);
Result<std::vector<MountInfo>> read_mountinfo();

// The mount `path` lives on: the entry with the longest mount point that is `path` or one of
// its ancestors (component-wise). nullptr when there is none.
const MountInfo* mount_containing(const std::vector<MountInfo>& mounts, std::string_view path);

}  // namespace hull::runtime::linux
