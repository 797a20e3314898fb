#include "runtime/linux/rootfs_copy.hpp"

#include "common/strings.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

namespace hull::runtime::linux {

namespace {

constexpr int kMaxDepth = 256;

Result<std::vector<std::string>> list_dir(int dir) {
    int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_sys("open the directory");
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return fail_sys("opendir");
    }
    std::vector<std::string> names;
    errno = 0;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err) return fail(Error(err, "readdir"));
    return names;
}

Status copy_data(int in, int out) {
    for (;;) {
        ssize_t n = ::sendfile(out, in, nullptr, 1 << 30);
        if (n > 0) continue;
        if (n == 0) return {};
        if (errno == EINTR) continue;
        if (errno != EINVAL && errno != ENOSYS) return fail_sys("copy");
        break;  // sendfile cannot do this pair: copy by hand
    }
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(in, buf, sizeof buf);
        if (n == 0) return {};
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys("read");
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                return fail_sys("write");
            }
            off += w;
        }
    }
}

Status copy_entry(int from, int to, const std::string& name, int depth, dev_t dev);

Status copy_dir(int from, int to, int depth, dev_t dev) {
    if (depth > kMaxDepth) return fail(Error(ELOOP, "directory tree too deep"));
    auto names = HULL_TRY(list_dir(from));
    for (const auto& n : names) HULL_TRY_CTX(copy_entry(from, to, n, depth, dev), q(n));
    return {};
}

Status copy_entry(int from, int to, const std::string& name, int depth, dev_t dev) {
    struct stat st;
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return fail_sys("stat");
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    const mode_t perm = st.st_mode & 07777;

    if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(to, name.c_str(), 0700) < 0 && errno != EEXIST) return fail_sys("mkdir");
        UniqueFd out(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!out) return fail_sys("open the copy");
        // Another filesystem mounted inside the image's directory is not part of it.
        if (st.st_dev == dev) {
            UniqueFd in(::openat(from, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!in) return fail_sys("open");
            HULL_TRY(copy_dir(in.get(), out.get(), depth + 1, dev));
        }
        // Owner before mode: chown clears set-id bits.
        if (::fchown(out.get(), st.st_uid, st.st_gid) < 0) return fail_sys("chown");
        if (::fchmod(out.get(), perm) < 0) return fail_sys("chmod");
        if (::futimens(out.get(), times) < 0) return fail_sys("set times");
        return {};
    }
    if (S_ISREG(st.st_mode)) {
        // O_NONBLOCK: should the file be swapped for a fifo after the stat, do not hang on it.
        UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!in) return fail_sys("open");
        struct stat again;
        if (::fstat(in.get(), &again) < 0 || !S_ISREG(again.st_mode)) return fail(Error(EAGAIN, "changed while copied"));
        UniqueFd out(::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) return fail_sys("create the copy");
        HULL_TRY(copy_data(in.get(), out.get()));
        if (::fchown(out.get(), st.st_uid, st.st_gid) < 0) return fail_sys("chown");
        if (::fchmod(out.get(), perm) < 0) return fail_sys("chmod");
        if (::futimens(out.get(), times) < 0) return fail_sys("set times");
        return {};
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = ::readlinkat(from, name.c_str(), target, sizeof target);
        if (n < 0) return fail_sys("readlink");
        if (static_cast<size_t>(n) >= sizeof target) return fail(Error(ENAMETOOLONG, "readlink"));
        target[n] = '\0';
        if (::symlinkat(target, to, name.c_str()) < 0) return fail_sys("symlink");
    } else {
        if (::mknodat(to, name.c_str(), st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0) return fail_sys("mknod");
    }
    if (::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) return fail_sys("chown");
    if (!S_ISLNK(st.st_mode) && ::fchmodat(to, name.c_str(), perm, 0) < 0) return fail_sys("chmod");
    if (::utimensat(to, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) return fail_sys("set times");
    return {};
}

}  // namespace

Status copy_tree(FdRef from, FdRef to) {
    struct stat st;
    if (::fstat(from.get(), &st) < 0) return fail_sys("stat the source directory");
    // A real descriptor for the destination: fchown and friends refuse O_PATH ones.
    UniqueFd out(::openat(to.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!out) return fail_sys("open the tmpfs");
    return copy_dir(from.get(), out.get(), 0, st.st_dev);
}

}  // namespace hull::runtime::linux
