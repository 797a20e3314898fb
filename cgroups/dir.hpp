// A container's cgroup directory in one hierarchy, and symlink-proof access to its files.
// Internal to cgroups/ (and its unit tests).
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>

#include <string>
#include <string_view>
#include <vector>

namespace hull::cgroups {

struct Dir {
    std::string controllers;  // v1: the hierarchy's controllers as mounted ("cpu,cpuacct",
                              // "name=systemd"); empty for the cgroup2 directory
    std::string mount;        // the hierarchy's mount point
    std::string rel;          // the cgroup below the mount point: "/a/b", clean, never "/" or ".."

    std::string path() const;
    std::string file(std::string_view name) const { return path() + "/" + std::string(name); }
    bool has(std::string_view controller) const;
    bool is_v2() const { return controllers.empty(); }
};

// One value for one control file, in the order the kernel must see them.
struct Write {
    std::string file;
    std::string value;
    bool operator==(const Write&) const = default;
};

// Checks that `rel` is "/"-prefixed, has no empty, "." or ".." components and is not "/".
Status check_rel(std::string_view rel);

// The error for a failed open of a cgroup directory: ENOTDIR/ELOOP (from O_NOFOLLOW and
// O_DIRECTORY) mean a symlink or a file where a cgroup directory should be.
Error open_error(int err, std::string_view shown);

// Opens the mount point, then each component of `rel` with O_NOFOLLOW, so a symlink planted
// in the tree cannot redirect writes elsewhere. `flags` apply to the last component.
Result<UniqueFd> open_dir(const Dir& d, int flags = O_PATH | O_DIRECTORY);

// Control files, read or written through a directory fd (never following a symlink).
// `shown` is the directory's path, for messages.
Result<std::string> read_at(FdRef dir, std::string_view file, std::string_view shown);
Status write_at(FdRef dir, std::string_view file, std::string_view value, std::string_view shown);
bool exists_at(FdRef dir, std::string_view file);

Result<std::string> read_file(const Dir& d, std::string_view file);
Status write_file(const Dir& d, std::string_view file, std::string_view value);
bool has_file(const Dir& d, std::string_view file);
Status apply_writes(const Dir& d, const std::vector<Write>& writes);

// Whitespace trimmed from both ends (control files end in "\n").
std::string_view trim(std::string_view s);

// For the short waits cgroup state changes need (freezing, tasks leaving before rmdir).
void sleep_ms(int ms);

}  // namespace hull::cgroups
