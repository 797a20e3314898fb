#include "common/fs.hpp"

#include "common/strings.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace hull::fs {

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return fail_sys(cat("open ", q(path)));
    return UniqueFd(fd);
}

Result<UniqueFd> openat(FdRef dir, const std::string& path, int flags, mode_t mode) {
    int fd = ::openat(dir.get(), path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return fail_sys(cat("open ", q(path)));
    return UniqueFd(fd);
}

Result<std::string> read_fd(FdRef fd) {
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys("read");
        }
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

Result<std::string> read_file(const std::string& path) {
    auto fd = HULL_TRY(open(path, O_RDONLY));
    return HULL_TRY_CTX(read_fd(fd), cat("read ", q(path)));
}

Status write_fd(FdRef fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd.get(), data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys("write");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Status write_file(const std::string& path, std::string_view data, int flags, mode_t mode) {
    auto fd = HULL_TRY(open(path, flags, mode));
    HULL_TRY_CTX(write_fd(fd, data), cat("write ", q(path)));
    return {};
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    std::string tmp = cat(path, ".tmp.", ::getpid());
    {
        auto fd = HULL_TRY(open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
        if (auto r = write_fd(fd, data); !r) {
            ::unlink(tmp.c_str());
            return fail(std::move(r.error()).context(cat("write ", q(tmp))));
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        auto e = Error::sys(cat("rename ", q(tmp), " to ", q(path)));
        ::unlink(tmp.c_str());
        return fail(std::move(e));
    }
    return {};
}

Status mkdir_p(const std::string& path, mode_t mode) {
    if (path.empty()) return {};
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) {
        struct stat st;
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
        if (errno == EEXIST) return fail(Error(ENOTDIR, cat("mkdir ", q(path))));
    }
    if (errno != ENOENT) return fail_sys(cat("mkdir ", q(path)));
    std::string parent = dirname(path);
    if (parent == path) return fail_sys(cat("mkdir ", q(path)));
    HULL_TRY(mkdir_p(parent, mode));
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return fail_sys(cat("mkdir ", q(path)));
    return {};
}

static Status remove_tree_at(int parent, const char* name, dev_t dev) {
    struct stat st;
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return {};
        return fail_sys(cat("stat ", q(name)));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(parent, name, 0) < 0 && errno != ENOENT) return fail_sys(cat("unlink ", q(name)));
        return {};
    }
    if (st.st_dev != dev) return fail(Error(EBUSY, cat("remove ", q(name), ": a mount point")));
    int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("open ", q(name)));
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return fail_sys(cat("opendir ", q(name)));
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        names.emplace_back(n);
    }
    Status result;
    for (auto& n : names) {
        if (auto r = remove_tree_at(::dirfd(d), n.c_str(), dev); !r && result) result = std::move(r);
    }
    ::closedir(d);
    if (!result) return result;
    if (::unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT) return fail_sys(cat("rmdir ", q(name)));
    return {};
}

Status remove_tree(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return {};
        return fail_sys(cat("stat ", q(path)));
    }
    HULL_TRY_CTX(remove_tree_at(AT_FDCWD, path.c_str(), st.st_dev), cat("remove ", q(path)));
    return {};
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string dirname(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    auto pos = path.rfind('/');
    if (pos == std::string_view::npos) return ".";
    if (pos == 0) return "/";
    return std::string(path.substr(0, pos));
}

std::string join(std::string_view a, std::string_view b) {
    std::string out(a);
    while (!out.empty() && out.back() == '/') out.pop_back();
    while (!b.empty() && b.front() == '/') b.remove_prefix(1);
    out.push_back('/');
    out.append(b);
    return out;
}

std::string clean(std::string_view path) {
    bool abs = !path.empty() && path[0] == '/';
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        auto part = path.substr(i, j - i);
        if (part.empty() || part == ".") {
        } else if (part == "..") {
            if (!parts.empty() && parts.back() != "..") parts.pop_back();
            else if (!abs) parts.push_back(part);
        } else {
            parts.push_back(part);
        }
        i = j + 1;
    }
    std::string out = abs ? "/" : "";
    for (size_t k = 0; k < parts.size(); ++k) {
        if (k) out.push_back('/');
        out.append(parts[k]);
    }
    if (out.empty()) out = ".";
    return out;
}

}  // namespace hull::fs
