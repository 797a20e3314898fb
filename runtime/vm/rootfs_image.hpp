// The container's rootfs as a read-only erofs image (mkfs.erofs from Debian's erofs-utils),
// built once per rootfs content and reused from a cache.
#pragma once

#include "common/result.hpp"
#include "runtime/vm/cache.hpp"

#include <string>

namespace hull::vm {

// $HULL_VM_CACHE, else /var/cache/hull/vm.
std::string image_cache_dir();

// A key for the tree under `rootfs`: every entry's relative path, type, mode, owner, size,
// mtime, device number and symlink target, in sorted order, hashed. Any change a rebuilt image
// would show changes the key (contents are trusted to change the size or mtime, as make and
// rsync trust them).
Result<std::string> rootfs_key(const std::string& rootfs);

// An erofs image of `rootfs` in the cache, building it (into a temporary file, renamed into
// place, so concurrent creates never see half an image) when missing; read-locked against
// pruning for as long as the entry's fd is open (cache.hpp).
Result<CacheEntry> rootfs_image(const std::string& rootfs);

}  // namespace hull::vm
