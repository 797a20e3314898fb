// The VM image cache ($HULL_VM_CACHE or /var/cache/hull/vm, image_cache_dir()): how builders
// publish entries, how users hold them, and how unused ones are pruned.
//
// Entries: `<key>.erofs` (rootfs_image.hpp), `layers-<key>.erofs` (layered_image.hpp) and
// `initramfs-<key>.cpio` (linux_guest.hpp), the key 16 lowercase hex digits; an entry being
// built is `<entry>.tmp.<suffix>` beside it. Use is marked with OFD locks (disk_lock.hpp):
//   - a builder write-locks its temporary file from creation until it is renamed into place
//     (without replacing an entry another builder published first) and then holds it read-locked;
//   - a user opens an entry, read-locks it, and checks that the name still leads to the file it
//     locked (a prune may have removed it in between; then it looks again, or builds);
//   - the VMM read-locks its disk images itself (Vm::create), and `create` keeps its own lock
//     until the VMM reports ready, so an entry is never unlocked between lookup and use;
//   - a prune takes a write lock without waiting and removes only what it got, after checking
//     the name still leads to the file it locked.
// So an entry any VM, build or lookup holds is never removed, and a removed entry is rebuilt.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::vm {

// An entry of the cache held against pruning: open, with a read lock that lasts as long as `fd`.
struct CacheEntry {
    std::string path;
    UniqueFd fd;
};

// What the cache holds under `name`, a file name in the cache directory.
enum class CacheName { foreign, entry, temporary };
CacheName classify_cache_name(std::string_view name);

// The entry at `path` (a path in the cache), read-locked and with its mtime set to now (its
// last use, for prune's age filter); nullopt when there is none. Waits out a prune that holds
// it (a moment); an entry another process keeps write-locked for over 2 s is an error.
Result<std::optional<CacheEntry>> open_cache_entry(const std::string& path);

// A cache entry being built: a temporary file beside `path`, write-locked so that a prune
// leaves it alone. Removed on destruction unless published.
class CacheBuild {
public:
    // Creates the cache directory (0700) when missing, then the temporary file (0600).
    static Result<CacheBuild> start(const std::string& path);
    CacheBuild(CacheBuild&& o) noexcept;
    CacheBuild& operator=(CacheBuild&&) = delete;
    ~CacheBuild();

    // The temporary file, for a builder that writes to a path (mkfs.erofs): it must write in
    // place (open without O_TRUNC-and-replace tricks), as mkfs.erofs does.
    const std::string& tmp_path() const { return tmp_; }
    int fd() const { return fd_.get(); }

    // Moves the finished file into place as the entry, read-locked. When another builder
    // published the same entry first, this file is removed and theirs returned.
    Result<CacheEntry> publish();

private:
    CacheBuild(std::string path, std::string tmp, UniqueFd fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(std::move(fd)) {}
    std::string path_;
    std::string tmp_;
    UniqueFd fd_;
    bool published_ = false;
};

struct PruneOptions {
    // Only entries whose last use (mtime) is at least this long ago; nullopt: every unused one.
    // Temporary files are removed whenever unlocked: their builder is gone.
    std::optional<std::chrono::seconds> older_than;
    // Report what would go, remove nothing.
    bool dry_run = false;
};

struct PrunedFile {
    std::string name;        // in the cache directory
    std::uint64_t bytes = 0; // disk space it held (allocated blocks)
    bool temporary = false;  // a stale temporary file of an interrupted build
};

struct PruneReport {
    std::vector<PrunedFile> removed;  // in name order; with dry_run, what would be removed
    std::uint64_t bytes_freed = 0;
    std::size_t in_use = 0;           // entries and temporary files kept because someone holds them
    std::size_t recent = 0;           // entries kept because used within `older_than`
};

// Removes every entry and temporary file in `dir` that no process holds a lock on (see above);
// names not of the cache's patterns, directories and symlinks are left alone. A missing
// directory is an empty cache.
Result<PruneReport> prune_image_cache(const std::string& dir, const PruneOptions& options = {});

}  // namespace hull::vm
