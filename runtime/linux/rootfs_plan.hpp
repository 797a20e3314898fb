// The inside of MountPlan (opaque in mounts.hpp): what plan_rootfs decided, and the state the
// init carries from one rootfs step to the next. Private to runtime/linux/{mounts,rootfs_*} and
// their unit tests.
#pragma once

#include "common/unique_fd.hpp"
#include "runtime/linux/devices.hpp"
#include "runtime/linux/mount_options.hpp"
#include "runtime/linux/mounts.hpp"
#include "runtime/linux/rootfs_overlay.hpp"

#include <sys/mount.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace hull::runtime::linux {

enum class MountKind { bind, proc, sysfs, devpts, mqueue, tmpfs, cgroup, other };

inline constexpr size_t kSyntheticMount = static_cast<size_t>(-1);

struct MountStep {
    size_t index = kSyntheticMount;  // position in .mounts; kSyntheticMount for steps we add
    MountKind kind = MountKind::other;
    std::string destination;   // clean, absolute, inside the container
    std::string source;        // bind: absolute host path; otherwise as written (the type if none)
    std::string type;          // filesystem type for mount(2); empty for a bind
    MountOptions opts;
    std::vector<oci::IdMapping> uid_mappings, gid_mappings;  // idmapped binds only

    // Init side.
    UniqueFd idmapped_tree;    // detached idmapped clone of the source (prepare_idmapped_sources)
    UniqueFd mounted;          // the mount's root, kept while finalize_rootfs has work on it
    bool defer_readonly = false;      // tmpfs and /dev are made read-only last (ro)
    bool defer_rec_readonly = false;  // ... and recursively (rro)
};

struct MountPlan {
    RootfsFacts facts;
    unsigned long root_propagation = MS_SLAVE | MS_REC;  // applied to "/" before anything
    unsigned long pivot_propagation = 0;  // rootfsPropagation, applied to the new "/" (0: none)
    std::vector<MountStep> mounts;
    bool setup_dev = true;                // false when /dev is a bind mount
    std::vector<DeviceNode> devices;
    std::vector<std::string> masked_paths, readonly_paths;  // clean, absolute
    bool readonly_root = false;
    std::vector<oci::IdMapping> container_uid_mappings, container_gid_mappings;
    std::optional<OverlayPlan> overlay;   // the root is an overlay of layers, not a self-bind

    // Init side, carried from step to step.
    UniqueFd root;                 // the rootfs after its self-bind; "/" after enter_rootfs
    UniqueFd dev_null;             // clone of the host's /dev/null, checked to be char 1:3
    bool dev_null_attached = false;
    std::string dev_null_error;    // why there is none, told when a file needs masking
};

// One mount step, at plan.root (mounts.cpp). The cgroup code builds steps of its own with it.
Status mount_step(MountPlan& plan, MountStep& step);
// A cgroup mount (rootfs_cgroup.cpp): cgroup2 on a unified host; a tmpfs of per-hierarchy binds
// (or, in a cgroup namespace, fresh cgroup mounts) on a v1 or hybrid one.
Status mount_cgroup(MountPlan& plan, MountStep& step);
// The detached idmapped clone of a bind's source (rootfs_idmap.cpp).
Result<UniqueFd> idmapped_tree(const MountStep& step, const std::vector<oci::IdMapping>& uids,
                               const std::vector<oci::IdMapping>& gids);

// For messages: "mount `src` on `/dst`".
std::string describe(const MountStep& step);

}  // namespace hull::runtime::linux
