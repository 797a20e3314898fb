// The mount primitives the rootfs steps are made of, all acting on descriptors: detached
// clones (open_tree), attaching them (move_mount), mount_setattr, propagation, and mount(2) on
// an O_PATH descriptor through /proc/self/fd. Private to runtime/linux/{mounts,devices,rootfs_*}.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>

#include <cstdint>
#include <string>

namespace hull::runtime::linux::ops {

// A detached copy of the mount tree at `path` (a host path, symlinks followed), or at `dir`
// itself when `path` is empty; the submounts too when `recursive`.
Result<UniqueFd> clone_tree(FdRef dir, const std::string& path, bool recursive);
inline Result<UniqueFd> clone_tree(const std::string& path, bool recursive) {
    return clone_tree(FdRef(AT_FDCWD), path, recursive);
}

// Attaches a detached tree (clone_tree, fsmount) on top of `target`.
Status attach(FdRef tree, FdRef target);

// mount_setattr(2) on the mount `mnt` is the root of (its submounts too when `recursive`).
// Fails with ENOSYS before Linux 5.12; callers fall back to remount_fd where they can.
Status set_attrs(FdRef mnt, uint64_t set, uint64_t clear, bool recursive);
bool have_mount_setattr();

// mount(NULL, /proc/self/fd/N, NULL, MS_BIND|MS_REMOUNT|flags): the pre-5.12 way to change a
// mount's per-mount flags.
Status remount_fd(FdRef mnt, unsigned long flags);

// Applies MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE (| MS_REC) to the mount `mnt` is
// the root of.
Status set_propagation(FdRef mnt, unsigned long flags);

// mount(2) of a filesystem on the directory `target` is open on. The error is the caller's to
// phrase; this returns the bare errno with `what` as the message.
Status mount_on(const char* source, FdRef target, const char* type, unsigned long flags, const char* data,
                std::string what);

// A fresh, detached, read-only, empty tmpfs (fsopen/fsmount), for masking directories.
Result<UniqueFd> empty_readonly_tmpfs();

}  // namespace hull::runtime::linux::ops
