// Open-file-description (OFD) locks on the files a VM uses, as QEMU takes them: a disk is
// read-locked while a VM reads it and write-locked while a VM may write it, so two VMs never
// write one disk (or one writes what another reads), and the image cache (cache.hpp) can tell
// an entry in use from one nobody holds.
//
// OFD locks (F_OFD_SETLK, Linux 3.15) belong to the open file description, not the process:
// they last until the last descriptor sharing it closes, survive fork as one lock, and two
// descriptions of the same file conflict even within one process. They conflict with classic
// POSIX record locks too, but not with flock(2).
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>

namespace hull::vm {

enum class LockMode { shared, exclusive };

// Who holds a conflicting lock. `pid` is -1 for an OFD lock (F_OFD_GETLK cannot name its
// owner), the holder's pid for a classic POSIX lock.
struct LockHolder {
    pid_t pid = -1;
};

// Locks the whole file behind `fd` (open for reading for `shared`, for writing for `exclusive`)
// without waiting. Converts a lock this description already holds. Returns nullopt when taken,
// the holder when another description holds a conflicting lock. A filesystem without locks
// (ENOLCK, EOPNOTSUPP) counts as taken: there is nothing to coordinate with.
Result<std::optional<LockHolder>> try_lock_file(int fd, LockMode mode);

// Drops this description's lock on the file behind `fd`.
Status unlock_file(int fd);

// The disk lock Vm::create takes right after opening each disk: shared for a read-only disk,
// exclusive for a writable one, held for as long as `fd` is open. A conflict reads
// "disk `<path>` is in use by another VM (locked by pid N)", the pid where known.
Status lock_disk(int fd, const std::string& path, bool read_only);

}  // namespace hull::vm
