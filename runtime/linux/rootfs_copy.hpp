// tmpcopyup: copying what a directory of the image held into the tmpfs mounted over it.
// Private to runtime/linux/{mounts,rootfs_*}.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace hull::runtime::linux {

// Copies the contents of the directory `from` into the directory `to` (both may be O_PATH):
// directories, regular files, symlinks (as links, never followed), device nodes, fifos and
// sockets, with their mode, owner and times. Nothing is looked up by path: every step is an
// *at() call with O_NOFOLLOW relative to a descriptor, so the image's symlinks cannot redirect
// the copy; a directory's mount points are not crossed.
Status copy_tree(FdRef from, FdRef to);

}  // namespace hull::runtime::linux
