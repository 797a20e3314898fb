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
    bool new_mount_ns = true;  // the init has a mount namespace of the container's own (created, or
                               // joined by path); false only when it shares the runtime's, and
                               // then no mount may be asked for
    bool new_cgroup_ns = false;  // a cgroup namespace: cgroup v1 hierarchies are mounted, not bound
    bool no_pivot = false;     // --no-pivot: MS_MOVE + chroot instead of pivot_root
    bool terminal = false;     // process.terminal: /dev/console becomes the pty slave
    bool overlay_legacy = false;  // test knob HULL_OVERLAY_LEGACY=1: an overlay root uses mount(2)
};

struct MountPlan;  // opaque: parsed options, flags and propagation for every step

struct MountPlanDeleter { void operator()(MountPlan*) const; };
using MountPlanPtr = std::unique_ptr<MountPlan, MountPlanDeleter>;

// Parent side: parses every mount option into flags, validates destinations, and orders the
// work. Errors name the JSON path (".mounts[3].options[1]: unknown mount option `foo`").
Result<MountPlanPtr> plan_rootfs(const oci::Spec& spec, const RootfsFacts& facts);

// Parent side, after plan_rootfs and before the init is forked, only when the spec has idmapped
// bind mounts ("idmap"/"ridmap", or uidMappings/gidMappings on a mount): builds each one's
// detached idmapped clone of its source while still in the host's user namespace (the init,
// once in the container's, may not idmap host mounts); the init inherits the descriptors and
// attaches them. Without a container user namespace the init can do it itself, so this is
// optional there.
Status prepare_idmapped_sources(MountPlan& plan);

// Init side, in the container's new mount namespace, in this order. The plan carries state
// from step to step (the rootfs descriptor, a checked /dev/null, mounts left to make
// read-only), hence non-const.
//  1. prepare_rootfs: root propagation, bind the rootfs onto itself (or, with the annotation
//     `org.hull.rootfs.overlay`, mount the overlay of its layers there), every spec mount,
//     default devices and linux.devices, /dev symlinks, /dev/ptmx.
//  2. (the createContainer hooks run here, before pivot_root)
//  3. enter_rootfs: pivot_root (or MS_MOVE + chroot with --no-pivot), detach the old root,
//     then apply rootfsPropagation to the new "/" (as runc does, right after the pivot).
//  4. (sysctls, hostname, console setup happen here)
//  5. finalize_rootfs: read-only tmpfs and /dev remounts, root.readonly, readonly paths, masked
//     paths (runc's order).
Status prepare_rootfs(MountPlan& plan);
Status enter_rootfs(MountPlan& plan);
Status finalize_rootfs(MountPlan& plan);

// After enter_rootfs: bind the pty slave at `slave_path` (inside the container) over
// /dev/console, creating it (an empty file, mode 0600) if needed.
Status mount_console(const std::string& slave_path);

}  // namespace hull::runtime::linux
