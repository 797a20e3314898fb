// Merged-view reads through overlay layer directories. Every lookup stays beneath its layer:
// directories are walked one component at a time with O_NOFOLLOW, and a symlink met on the
// way is resolved with openat2 inside that layer's root.
#include "images/layer_files.hpp"

#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

namespace hull::images {
namespace {

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool is_opaque(int dirfd) {
    char value[2] = {};
    ssize_t n = ::fgetxattr(dirfd, "trusted.overlay.opaque", value, sizeof value);
    return n == 1 && value[0] == 'y';
}

// Reads a regular file, refusing more than `max_size` bytes.
Result<std::string> read_capped(int fd, size_t max_size, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) return fail_sys(cat("stat ", what));
    if (!S_ISREG(st.st_mode)) return fail_msg(cat(what, " is not a regular file"));
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys(cat("read ", what));
        }
        if (n == 0) break;
        if (out.size() + static_cast<size_t>(n) > max_size)
            return fail_msg(cat(what, " is larger than ", max_size, " bytes"));
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

// The path's components; empty ones and "." dropped. ".." is refused by the caller.
std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> out;
    for (std::string& c : split(path, '/'))
        if (!c.empty() && c != ".") out.push_back(std::move(c));
    return out;
}

enum class Found { absent, hidden, file };

enum class Want { content, status };

struct LayerLookup {
    Found found = Found::absent;
    bool opaque = false;   // an opaque directory on the way: lower layers are hidden
    std::string content;   // Want::content
    struct stat st {};     // Want::status
};

// Opens `rel` beneath `layerfd`, symlinks resolved inside the layer.
Result<UniqueFd> open_in_layer(int layerfd, const std::string& rel, const std::string& what, Want want) {
    struct open_how how {};
    how.flags = want == Want::status ? O_PATH | O_CLOEXEC : O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd;
    do fd = sys::openat2(layerfd, rel.c_str(), &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);  // a concurrent rename elsewhere in the layer
    if (fd < 0) return fail_sys(cat("open ", what));
    return UniqueFd(fd);
}

Result<LayerLookup> lookup(const std::string& layer, const std::vector<std::string>& parts, Want want,
                           size_t max_size, const std::string& shown) {
    LayerLookup r;
    UniqueFd layerfd(::open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!layerfd) return fail_sys(cat("open layer ", q(layer)));
    const std::string what = cat(q(shown), " in layer ", q(layer));

    // Walk the directories leading to the file, one component at a time.
    UniqueFd dir;
    int cur = layerfd.get();
    std::string rel;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string& name = parts[i];
        const bool last = i + 1 == parts.size();
        rel = rel.empty() ? name : cat(rel, "/", name);
        struct stat st {};
        if (::fstatat(cur, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) return r;  // not in this layer: lower ones decide
            return fail_sys(cat("stat ", what));
        }
        if (is_whiteout(st)) {
            r.found = Found::hidden;
            return r;
        }
        if (S_ISLNK(st.st_mode)) {
            // The link hides whatever lower layers hold at this name. Follow it (and the rest
            // of the path) inside this layer only.
            std::string full;
            for (const std::string& p : parts) full = full.empty() ? p : cat(full, "/", p);
            auto fd = open_in_layer(layerfd.get(), full, what, want);
            if (!fd) {
                int e = fd.error().code();
                if (e == ENOENT || e == ENOTDIR || e == ELOOP || e == EXDEV) {
                    r.found = Found::hidden;
                    return r;
                }
                return fail(std::move(fd.error()));
            }
            if (want == Want::status) {
                if (::fstat(fd->get(), &r.st) < 0) return fail_sys(cat("stat ", what));
            } else {
                r.content = HULL_TRY(read_capped(fd->get(), max_size, what));
            }
            r.found = Found::file;
            return r;
        }
        if (last && want == Want::status) {
            r.st = st;
            r.found = Found::file;
            return r;
        }
        if (last) {
            if (!S_ISREG(st.st_mode)) return fail_msg(cat(what, " is not a regular file"));
            UniqueFd fd(::openat(cur, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
            if (!fd) return fail_sys(cat("open ", what));
            r.content = HULL_TRY(read_capped(fd.get(), max_size, what));
            r.found = Found::file;
            return r;
        }
        if (!S_ISDIR(st.st_mode)) {
            // A file where a directory should be: nothing lies below it in the merged view.
            r.found = Found::hidden;
            return r;
        }
        UniqueFd next(::openat(cur, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
        if (!next) return fail_sys(cat("open ", q(rel), " in layer ", q(layer)));
        if (is_opaque(next.get())) r.opaque = true;
        dir = std::move(next);
        cur = dir.get();
    }
    return r;
}

}  // namespace

Result<std::optional<std::string>> read_layer_file(const std::vector<std::string>& layers, std::string_view path,
                                                   size_t max_size) {
    const std::vector<std::string> parts = components(path);
    for (const std::string& p : parts)
        if (p == "..") return fail_msg(cat("read ", q(path), " from the image: `..` is not allowed"));
    if (parts.empty()) return fail_msg(cat("read ", q(path), " from the image: not a file path"));
    const std::string shown = cat("/", join(parts, "/"));
    for (const std::string& layer : layers) {
        LayerLookup r = HULL_TRY(lookup(layer, parts, Want::content, max_size, shown));
        if (r.found == Found::file) return std::optional<std::string>(std::move(r.content));
        if (r.found == Found::hidden || r.opaque) return std::optional<std::string>();
    }
    return std::optional<std::string>();
}

Result<std::optional<struct stat>> stat_layer_path(const std::vector<std::string>& layers, std::string_view path) {
    const std::vector<std::string> parts = components(path);
    for (const std::string& p : parts)
        if (p == "..") return fail_msg(cat("stat ", q(path), " in the image: `..` is not allowed"));
    if (parts.empty()) return std::optional<struct stat>();  // the root has no single owner layer
    const std::string shown = cat("/", join(parts, "/"));
    for (const std::string& layer : layers) {
        LayerLookup r = HULL_TRY(lookup(layer, parts, Want::status, 0, shown));
        if (r.found == Found::file) return std::optional<struct stat>(r.st);
        if (r.found == Found::hidden || r.opaque) return std::optional<struct stat>();
    }
    return std::optional<struct stat>();
}

}  // namespace hull::images
