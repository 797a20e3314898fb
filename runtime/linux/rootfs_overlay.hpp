// A read-only overlay root: the container's root assembled from image layer directories,
// mounted inside the container's own mount namespace, so the host never sees the mount,
// `delete` has nothing to unmount, and a crash leaves nothing behind.
//
// The contract is the annotation `org.hull.rootfs.overlay`, whose value is a JSON object (as a
// string):
//   {"lower": ["/store/l/TOP...", ..., "/store/l/BOTTOM..."],   // absolute dirs, top first, 1..500
//    "upper": "tmpfs" | "/abs/upper-dir",                        // optional
//    "work":  "/abs/work-dir",                                   // with a directory upper only
//    "tmpfs_size": 67108864}                                     // bytes, with "tmpfs" only
// - no `upper`: the root is read-only (writes fail with EROFS);
// - `"tmpfs"`: a fresh tmpfs, made in the container's mount namespace, holds the upper and work
//   directories; the container's changes vanish with it;
// - a directory: a persistent upper that keeps the container's changes; `work` must then be a
//   directory on the same filesystem (overlayfs's scratch space, normally empty at first).
// Unknown members are an error. root.path must be an existing directory: the mount point,
// normally empty. The spec must ask for a mount namespace, and must not ask for a user
// namespace: layers use trusted.overlay.* xattrs (opaque directories, see images/unpack.hpp),
// which an overlay mounted inside a user namespace cannot read (it would need `userxattr` and
// user.overlay.* xattrs), so the merged view would be wrong; that is refused, not attempted.
//
// The mount uses the new mount API, one `lowerdir+` per layer (Linux >= 6.8), so the number of
// layers is not bounded by the page-sized option string of mount(2). Older kernels (Debian 12's
// 6.1) get mount(2): the option string must fit in a page, so lowers under one parent directory
// (the image store's `<store>/l/<26 chars>` links) are named relative to it after a chdir
// there, and when even that does not fit, the layers are split into groups that are each
// mounted as a read-only overlay and stacked as the lowers of the root overlay (overlayfs allows
// an overlay as a layer of another, two deep). Test knob: HULL_OVERLAY_LEGACY=1 in the
// environment of `hull create`/`hull run` forces the mount(2) path.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::runtime::linux {

inline constexpr std::string_view kOverlayAnnotation = "org.hull.rootfs.overlay";
// overlayfs's OVL_MAX_STACK: the most lower layers one overlay takes.
inline constexpr size_t kOverlayMaxLowers = 500;

enum class OverlayUpper { none, tmpfs, dir };

struct OverlayRootfs {
    std::vector<std::string> lower;     // absolute, clean, top layer first
    OverlayUpper upper = OverlayUpper::none;
    std::string upper_dir, work_dir;    // absolute, clean; OverlayUpper::dir only
    std::optional<uint64_t> tmpfs_size;  // bytes; OverlayUpper::tmpfs only
};

// The annotation's value, parsed and checked for shape only (no syscalls): JSON, members,
// types, absolute paths, counts. Errors name the member: ".lower[2]: `x` is not an absolute
// path" (without the annotation prefix, which parse_overlay_annotation adds).
Result<OverlayRootfs> parse_overlay_value(std::string_view value);

// The annotation of `spec`, if any, parsed and checked against the host: every lower, the
// upper and the work directory exist and are directories, upper and work share a filesystem.
// nullopt when the spec has no such annotation. Errors read
//   annotation `org.hull.rootfs.overlay`: .lower[2]: `/x` is not a directory
// It does not look at namespaces or root.path (the container plan does, see plan_overlay).
Result<std::optional<OverlayRootfs>> parse_overlay_annotation(const oci::Spec& spec);

// --- the plan and its execution (runtime/linux/mounts.cpp) -----------------------------------

// What the init needs to mount the overlay, decided by the parent.
struct OverlayPlan {
    OverlayRootfs layers;
    bool legacy_only = false;       // HULL_OVERLAY_LEGACY=1: mount(2) even where lowerdir+ works
    // One lower and no upper: overlayfs wants two layers, so an empty read-only tmpfs goes below.
    bool empty_bottom = false;
    // The top layer's root, which a tmpfs upper's directory copies (the merged root shows the
    // upper's mode and owner).
    mode_t top_mode = 0755;
    uid_t top_uid = 0;
    gid_t top_gid = 0;

    // The mount(2) fallback. `legacy_cwd`, when set, is the lowers' common parent, which the
    // init enters so the names below can be relative. `legacy_groups` holds the lowers, top
    // first: one group is the whole lowerdir; with several, a group of two or more becomes a
    // read-only overlay of its own and a group of one stays a plain layer.
    std::string legacy_cwd;
    std::vector<std::vector<std::string>> legacy_groups;
    std::string legacy_error;       // why mount(2) cannot do it, said only when it must be used
};

// Parent side: the shape and host checks are done (parse_overlay_annotation); this prepares
// the mount(2) fallback for an option string of at most `page_size - 1` bytes. Errors only when
// `legacy_only` and the fallback cannot work.
Result<OverlayPlan> plan_overlay(OverlayRootfs layers, bool legacy_only, size_t page_size);

// Init side, in the container's mount namespace, after the rootfs's parent mount was made
// private: mounts the overlay on `rootfs` and returns an O_PATH descriptor of its root. The
// VMM's image builder (runtime/vm/layered_image.cpp) calls it too, in a child's private mount
// namespace.
Result<UniqueFd> mount_overlay_root(const OverlayPlan& plan, const std::string& rootfs);

}  // namespace hull::runtime::linux
