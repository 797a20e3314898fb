#include "runtime/vm/cache.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/vm/disk_lock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <thread>
#include <utility>

namespace hull::vm {
namespace {

constexpr std::string_view kTmpMark = ".tmp.";
// How long a lookup waits for an entry someone holds write-locked. A prune holds its lock for
// a stat and an unlink; anything longer is a process using the entry as a writable disk.
constexpr auto kLockWait = std::chrono::seconds(2);
// Rounds of "published or pruned in between" before a builder gives up: each needs a prune to
// remove a just-published entry, so more than one is already unlikely.
constexpr int kPublishRounds = 8;

bool is_key(std::string_view s) {
    return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_entry_name(std::string_view n) {
    auto strip = [&](std::string_view prefix, std::string_view suffix) -> std::optional<std::string_view> {
        if (!n.starts_with(prefix) || !n.ends_with(suffix) || n.size() < prefix.size() + suffix.size()) return std::nullopt;
        return n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
    };
    for (auto [prefix, suffix] : {std::pair<std::string_view, std::string_view>{"", ".erofs"},
                                  {"layers-", ".erofs"},
                                  {"initramfs-", ".cpio"}})
        if (auto key = strip(prefix, suffix); key && is_key(*key)) return true;
    return false;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Whether `path` still names the file open at `fd`: a prune may have removed it (or a builder
// published another) between the open and the lock.
Result<bool> still_named(int fd, const std::string& path) {
    struct stat held, named;
    if (::fstat(fd, &held) < 0) return fail_sys(cat("stat ", q(path)));
    if (::lstat(path.c_str(), &named) < 0) {
        if (errno == ENOENT) return false;
        return fail_sys(cat("stat ", q(path)));
    }
    return same_file(held, named);
}

}  // namespace

CacheName classify_cache_name(std::string_view name) {
    if (is_entry_name(name)) return CacheName::entry;
    auto at = name.find(kTmpMark);
    if (at != std::string_view::npos && at + kTmpMark.size() < name.size() && is_entry_name(name.substr(0, at)))
        return CacheName::temporary;
    return CacheName::foreign;
}

Result<std::optional<CacheEntry>> open_cache_entry(const std::string& path) {
    const auto deadline = std::chrono::steady_clock::now() + kLockWait;
    for (;;) {
        int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (raw < 0) {
            if (errno == ENOENT) return std::nullopt;
            return fail_sys(cat("open ", q(path)));
        }
        UniqueFd fd(raw);
        struct stat st;
        if (::fstat(raw, &st) < 0) return fail_sys(cat("stat ", q(path)));
        if (!S_ISREG(st.st_mode)) return fail_msg(cat(q(path), " in the image cache is not a regular file"));
        auto holder = HULL_TRY_CTX(try_lock_file(raw, LockMode::shared), cat("image cache entry ", q(path)));
        if (holder) {
            if (std::chrono::steady_clock::now() >= deadline)
                return fail_msg(cat("image cache entry ", q(path), " is locked for writing by another process",
                                    holder->pid > 0 ? cat(" (pid ", holder->pid, ")") : std::string()));
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            continue;
        }
        if (!HULL_TRY(still_named(raw, path))) continue;  // pruned meanwhile: look again
        // Its last use, for prune --older-than. Best effort: a cache on a read-only filesystem
        // still works, it just ages from its build.
        (void)::futimens(raw, nullptr);
        return CacheEntry{path, std::move(fd)};
    }
}

Result<CacheBuild> CacheBuild::start(const std::string& path) {
    HULL_TRY(fs::mkdir_p(fs::dirname(path), 0700));
    for (;;) {
        std::string tmp = cat(path, kTmpMark, "XXXXXX");
        int raw = ::mkostemp(tmp.data(), O_CLOEXEC);
        if (raw < 0) return fail_sys(cat("create a temporary file beside ", q(path)));
        CacheBuild build(path, std::move(tmp), UniqueFd(raw));
        // A prune that comes between the create and the lock sees an unlocked temporary file
        // and removes it: wait for its lock to go, then check the name; gone, start over.
        const auto deadline = std::chrono::steady_clock::now() + kLockWait;
        for (;;) {
            auto holder = HULL_TRY_CTX(try_lock_file(raw, LockMode::exclusive), q(build.tmp_));
            if (!holder) break;
            if (std::chrono::steady_clock::now() >= deadline)
                return fail_msg(cat(q(build.tmp_), " is locked by another process"));
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (!HULL_TRY(still_named(raw, build.tmp_))) {
            build.published_ = true;  // not ours to remove any more
            continue;
        }
        return build;
    }
}

CacheBuild::CacheBuild(CacheBuild&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), fd_(std::move(o.fd_)), published_(std::exchange(o.published_, true)) {}

CacheBuild::~CacheBuild() {
    // Our temporary file: nobody else removes a file we hold locked.
    if (!published_) ::unlink(tmp_.c_str());
}

Result<CacheEntry> CacheBuild::publish() {
    if (!HULL_TRY(still_named(fd_.get(), tmp_)))
        return fail_msg(cat(q(tmp_), " was replaced while it was built"));
    // Downgrading never waits: this description holds the only lock.
    HULL_TRY_CTX(try_lock_file(fd_.get(), LockMode::shared), q(tmp_));
    for (int round = 0; round < kPublishRounds; ++round) {
        // Never over an entry another builder published: a process may already hold that one.
        int r = ::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
        if (r < 0 && errno == EINVAL) {
            // A filesystem without RENAME_NOREPLACE: link(2) never replaces either.
            r = ::link(tmp_.c_str(), path_.c_str());
            if (r == 0) ::unlink(tmp_.c_str());
        }
        if (r == 0) {
            published_ = true;
            return CacheEntry{path_, std::move(fd_)};
        }
        if (errno != EEXIST) return fail_sys(cat("rename ", q(tmp_), " to ", q(path_)));
        if (auto theirs = HULL_TRY(open_cache_entry(path_))) return std::move(*theirs);
        // Theirs was pruned before we could lock it: publish ours after all.
    }
    return fail_msg(cat("publish ", q(path_), ": the entry keeps appearing and disappearing"));
}

Result<PruneReport> prune_image_cache(const std::string& dir, const PruneOptions& options) {
    PruneReport report;
    int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (raw < 0) {
        if (errno == ENOENT) return report;
        return fail_sys(cat("open the image cache ", q(dir)));
    }
    UniqueFd dirfd(raw);
    std::vector<std::string> names;
    {
        int dup = ::fcntl(raw, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return fail_sys(cat("read the image cache ", q(dir)));
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            return fail_sys(cat("read the image cache ", q(dir)));
        }
        errno = 0;
        while (auto* e = ::readdir(d)) {
            if (classify_cache_name(e->d_name) != CacheName::foreign) names.emplace_back(e->d_name);
            errno = 0;
        }
        int err = errno;
        ::closedir(d);
        if (err) return fail(Error(err, cat("read the image cache ", q(dir))));
    }
    std::sort(names.begin(), names.end());
    const std::time_t now = std::time(nullptr);
    for (const std::string& name : names) {
        const std::string path = fs::join(dir, name);
        const bool temporary = classify_cache_name(name) == CacheName::temporary;
        int fd_raw = ::openat(dirfd.get(), name.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd_raw < 0) {
            // Gone meanwhile, a symlink, or a directory: not ours to remove.
            if (errno == ENOENT || errno == ELOOP || errno == EISDIR) continue;
            return fail_sys(cat("open ", q(path)));
        }
        UniqueFd fd(fd_raw);
        struct stat held;
        if (::fstat(fd_raw, &held) < 0) return fail_sys(cat("stat ", q(path)));
        if (!S_ISREG(held.st_mode)) continue;
        auto holder = HULL_TRY_CTX(try_lock_file(fd_raw, LockMode::exclusive), q(path));
        if (holder) {
            ++report.in_use;
            continue;
        }
        // Locked: nobody can start using it now. Is it still the file the name leads to?
        struct stat named;
        if (::fstatat(dirfd.get(), name.c_str(), &named, AT_SYMLINK_NOFOLLOW) < 0 || !same_file(held, named)) continue;
        if (!temporary && options.older_than && now - held.st_mtim.tv_sec < options.older_than->count()) {
            ++report.recent;
            continue;
        }
        if (!options.dry_run && ::unlinkat(dirfd.get(), name.c_str(), 0) < 0) {
            if (errno == ENOENT) continue;
            return fail_sys(cat("remove ", q(path)));
        }
        // What unlinking gives back: its blocks, unless another name still holds them.
        std::uint64_t bytes = held.st_nlink <= 1 ? static_cast<std::uint64_t>(held.st_blocks) * 512 : 0;
        report.removed.push_back({name, bytes, temporary});
        report.bytes_freed += bytes;
    }
    return report;
}

}  // namespace hull::vm
