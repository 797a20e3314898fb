// The container's root filesystem: every mount of the spec, /dev, pivot_root, masked and
// readonly paths. Every target is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), so a
// symlink in the image can never send a mount outside it (CVE-2021-30465, CVE-2025-31133).
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <memory>
#include <string>
#include <vector>

namespace hull::runtime::linux {

// Facts the plan depends on, gathered by the parent.
struct RootfsFacts {
    std::string rootfs;        // absolute path of the bundle's root.path, symlinks resolved
    std::string bundle;        // absolute bundle dir, for relative bind sources
    bool user_ns = false;      // a new or joined user namespace (mknod is not allowed: bind devices)
    bool new_mount_ns = true;  // false only when the spec shares the host mount namespace
    bool new_cgroup_ns = false;
    bool no_pivot = false;     // --no-pivot: MS_MOVE + chroot instead of pivot_root
    bool terminal = false;     // process.terminal: /dev/console becomes the pty slave
};

struct MountPlan;  // opaque: parsed options, flags and propagation for every step

struct MountPlanDeleter { void operator()(MountPlan*) const; };
using MountPlanPtr = std::unique_ptr<MountPlan, MountPlanDeleter>;

// Parent side: parses every mount option into flags, validates destinations, and orders the
// work. Errors name the JSON path (".mounts[3].options[1]: unknown mount option `foo`").
Result<MountPlanPtr> plan_rootfs(const oci::Spec& spec, const RootfsFacts& facts);

// Init side, in the container's new mount namespace, in this order:
//  1. prepare_rootfs: root propagation, bind the rootfs onto itself, every spec mount,
//     default devices and linux.devices, /dev symlinks, /dev/pts/ptmx.
//  2. (the createContainer hooks run here, before pivot_root)
//  3. enter_rootfs: pivot_root (or MS_MOVE + chroot with --no-pivot), detach the old root.
//  4. (sysctls, hostname, console setup happen here)
//  5. finalize_rootfs: masked paths, readonly paths, root.readonly, rootfsPropagation.
Status prepare_rootfs(const MountPlan& plan);
Status enter_rootfs(const MountPlan& plan);
Status finalize_rootfs(const MountPlan& plan);

// After enter_rootfs: bind the pty slave at `slave_path` (inside the container) over
// /dev/console, creating it if needed.
Status mount_console(const std::string& slave_path);

}  // namespace hull::runtime::linux
