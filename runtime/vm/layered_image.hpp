// The erofs image of an overlay root (`org.hull.rootfs.overlay`, runtime/linux/rootfs_overlay.hpp)
// for vm isolation: the merged view of the image's layers, built once per layer set.
#pragma once

#include "common/result.hpp"
#include "runtime/vm/cache.hpp"

#include <span>
#include <string>

namespace hull::vm {

// An erofs image of the read-only overlay of `lowers` (absolute directories, top first) in the
// image cache, read-locked against pruning while the entry's fd is open (cache.hpp), built when
// missing: a child process mounts the overlay in a private mount namespace of its own on an
// empty directory under `work_dir` (removed again) and runs mkfs.erofs on it, so the host never
// sees the mount and a crash leaves none. The key hashes the lowers' real paths and their inode
// identities: store layers are immutable once published (images/store.hpp), so the same set is
// the same content.
Result<CacheEntry> layers_image(std::span<const std::string> lowers, const std::string& work_dir);

// The layer (of `lowers`, top first) in which `path` exists, as the merged root would show it;
// empty when none has it. For files the VMM opens by a path inside the image (the kernel).
std::string layer_holding(std::span<const std::string> lowers, const std::string& path);

}  // namespace hull::vm
