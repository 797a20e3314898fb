// Path resolution inside a container's root filesystem.
//
// Every path the runtime touches inside the rootfs (mount destinations, devices, masked and
// readonly paths, /dev/console) goes through here, so a symlink in the image can never send a
// mount, a mkdir or a mknod outside the rootfs (CVE-2021-30465 and its kin): paths are looked up
// with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), and missing components are created one
// at a time relative to the directory fd that was resolved before them, never by path string.
// The results are O_PATH descriptors; callers mount on them (move_mount, or mount(2) on
// /proc/self/fd/N) instead of on a path that could change underneath.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>

namespace hull::runtime::linux::pathres {

// Opens `path` (absolute or relative, always taken inside `root`) with O_PATH, as if `root` were
// "/": symlinks are followed, absolute ones and `..` clamped at `root`; magic links (/proc/*/fd/*,
// /proc/*/root, ...) are refused.
Result<UniqueFd> open_in_root(FdRef root, std::string_view path);

enum class Kind { directory, file };

// As open_in_root, creating what is missing on the way: directories with `dir_mode` and, for
// Kind::file, the last component as an empty regular file with `file_mode`. A dangling symlink
// is followed and its target created, inside `root`. The result must be of the asked kind
// (ENOTDIR / EISDIR otherwise); an existing non-directory counts as a file (a device node or a
// socket can be bind-mounted over as well as a regular file).
Result<UniqueFd> create_in_root(FdRef root, std::string_view path, Kind kind, mode_t dir_mode = 0755,
                                mode_t file_mode = 0644);

// Resolves the parent directory of `path` inside `root` (creating it with `dir_mode` when
// `create`) and returns it with the last component, for the *at() calls that must not follow
// it (mknodat, symlinkat, unlinkat). Fails with EINVAL when the last component is "", "." or "..".
struct Parent {
    UniqueFd dir;
    std::string name;
};
Result<Parent> open_parent_in_root(FdRef root, std::string_view path, bool create, mode_t dir_mode = 0755);

// "/proc/self/fd/<fd>": the magic link that lets mount(2) act on an O_PATH descriptor.
std::string proc_fd_path(int fd);

}  // namespace hull::runtime::linux::pathres
