#include "runtime/vm/rootfs_image.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "runtime/vm/host_tools.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace hull::vm {
namespace {

using detail::Fnv64;

// Bumped whenever the mkfs.erofs options below change, so old images are not reused.
constexpr std::string_view kImageFormat = "erofs-v1";

Status hash_tree(int dirfd, const std::string& rel, Fnv64& h) {
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("open ", q(rel)));
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return fail_sys(cat("read directory ", q(rel)));
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    std::sort(names.begin(), names.end());
    Status result;
    for (const auto& name : names) {
        struct stat st;
        std::string path = rel + "/" + name;
        if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            result = fail_sys(cat("stat ", q(path)));
            break;
        }
        h.add(path);
        h.add_num(st.st_mode);
        h.add_num(st.st_uid);
        h.add_num(st.st_gid);
        h.add_num(st.st_size);
        h.add_num(st.st_mtim.tv_sec);
        h.add_num(st.st_mtim.tv_nsec);
        h.add_num(st.st_rdev);
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = ::readlinkat(::dirfd(d), name.c_str(), target, sizeof target);
            if (n < 0) {
                result = fail_sys(cat("readlink ", q(path)));
                break;
            }
            h.add(std::string_view(target, static_cast<std::size_t>(n)));
        } else if (S_ISDIR(st.st_mode)) {
            int sub = ::openat(::dirfd(d), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                result = fail_sys(cat("open ", q(path)));
                break;
            }
            UniqueFd owner(sub);
            if (auto r = hash_tree(sub, path, h); !r) {
                result = r;
                break;
            }
        }
    }
    ::closedir(d);
    return result;
}

}  // namespace

std::string image_cache_dir() {
    const char* env = std::getenv("HULL_VM_CACHE");
    return env && *env ? std::string(env) : std::string("/var/cache/hull/vm");
}

Result<std::string> rootfs_key(const std::string& rootfs) {
    UniqueFd root = HULL_TRY(fs::open(rootfs, O_PATH | O_DIRECTORY));
    Fnv64 h;
    h.add(kImageFormat);
    HULL_TRY_CTX(hash_tree(root.get(), "", h), cat("hash rootfs ", q(rootfs)));
    return h.hex();
}

Result<CacheEntry> rootfs_image(const std::string& rootfs) {
    auto mkfs = detail::find_tool("mkfs.erofs");
    if (!mkfs)
        return fail_msg("the rootfs image for vm isolation needs mkfs.erofs (Debian package erofs-utils): not found");
    std::string key = HULL_TRY(rootfs_key(rootfs));
    std::string image = cat(image_cache_dir(), "/", key, ".erofs");
    if (auto hit = HULL_TRY_CTX(open_cache_entry(image), "image cache")) return std::move(*hit);
    CacheBuild build = HULL_TRY_CTX(CacheBuild::start(image), "image cache");
    // -T0: the image does not depend on when it was built. -x-1: no xattrs (the guest gets
    // none of the host's security labels). mkfs.erofs writes into the file it is given in
    // place, so the build's lock stays on what it writes.
    HULL_TRY(detail::run_tool({*mkfs, "--quiet", "-T0", "-x-1", build.tmp_path(), rootfs}, cat("mkfs.erofs ", q(rootfs))));
    return HULL_TRY_CTX(build.publish(), "image cache");
}

}  // namespace hull::vm
