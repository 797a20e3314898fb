// Mount options of a runtime-spec mount -> mount(2) flags, propagation, mount_setattr(2)
// attributes and the filesystem's data string, the way runc reads them. Parsing happens once,
// in the parent; the init only reads the result.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <sys/mount.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hull::runtime::linux {

enum class IdmapMode { none, top, recursive };  // no idmap, "idmap", "ridmap"

struct MountOptions {
    unsigned long flags = 0;    // MS_* set (MS_BIND, MS_REC, MS_RDONLY, MS_NOSUID, MS_REMOUNT, ...)
    unsigned long cleared = 0;  // MS_* an option explicitly cleared ("rw", "suid", "dev", "atime", ...)
    std::vector<unsigned long> propagation;  // MS_SHARED, MS_SLAVE|MS_REC, ...: applied in order
    uint64_t rec_set = 0;       // MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) ("rro", "rnosuid", ...)
    uint64_t rec_clear = 0;
    bool tmpcopyup = false;     // tmpfs: copy what the destination held into the new tmpfs
    IdmapMode idmap = IdmapMode::none;
    std::string data;           // filesystem-specific options, comma-joined in the order written

    bool bind() const;
    bool recursive() const;     // "rbind"
    bool has_rec_attrs() const { return rec_set != 0 || rec_clear != 0; }
};

// Parses a mount's options in order; a later option overrides an earlier one, as in mount(8).
// `bind_type` says the mount's type is "bind"; a "bind"/"rbind" option makes it one too.
// Options mount(8) keeps to itself ("x-*") are ignored. Anything unknown is filesystem data,
// except on a bind mount, where the kernel would silently drop it: there it is an error.
// `path` is the options' JSON path for messages, e.g. ".mounts[3].options", giving
//   .mounts[3].options[1]: unknown mount option `foo`
Result<MountOptions> parse_mount_options(const std::vector<std::string>& options, bool bind_type,
                                         std::string_view path);

// rootfsPropagation and the propagation options -> MS_* (0 for unset).
unsigned long propagation_flags(oci::Propagation p);

// The per-mount flags a bind remount can change (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC,
// the atime group, MS_NOSYMFOLLOW): the others are superblock flags a bind cannot touch.
inline constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;
inline constexpr unsigned long kPerMountFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | kAtimeFlags | MS_NOSYMFOLLOW;
// The flags the kernel locks on mounts inherited into a less privileged user namespace
// (MNT_LOCK_*): a remount there may not clear them.
inline constexpr unsigned long kLockableFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | kAtimeFlags;

// mount_setattr(2) attributes that make a mount's per-mount flags exactly `flags`, as
// mount(MS_BIND|MS_REMOUNT|flags) would: requested flags set, the others cleared, the atime
// group left alone unless an atime flag is requested.
struct MountAttrs {
    uint64_t set = 0;
    uint64_t clear = 0;
};
MountAttrs exact_mount_attrs(unsigned long flags);

// statfs(2) f_flags (ST_*) -> the MS_* per-mount flags they report (ST_RELATIME, no atime flag
// at all meaning MS_STRICTATIME, as runc reads them).
unsigned long statfs_mount_flags(unsigned long f_flags);

}  // namespace hull::runtime::linux
