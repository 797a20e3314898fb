// Layer unpack. Two libarchive readers are chained so the input is read exactly once: the
// first ("raw" format, gzip/zstd filters bidding on magic) decompresses; its output feeds the
// second (tar) through a callback that hashes the uncompressed stream for the diff_id and
// enforces the size limit. The raw input is hashed as it is read for the blob digest.
//
// Every path is resolved relative to the layer's dirfd with openat2 and RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS, and every final component is created with *at calls that do not follow
// symlinks, so neither a `..` that slipped through nor a symlink planted by an earlier entry
// can take a write outside the layer.
#include "images/unpack.hpp"

#include "images/digest.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace hull::images {

namespace {

// A user.* xattr the store's filesystem cannot hold (tmpfs before Linux 6.6) is left out, as
// docker and containers/storage leave out what their storage cannot keep; anything else that
// cannot be set (security.capability, trusted.*) fails the layer. Call right after the failed
// set, while errno is its.
bool unsupported_user_xattr(std::string_view name) {
    return errno == EOPNOTSUPP && name.starts_with("user.");
}

constexpr size_t kBlock = 128 * 1024;

struct ArchiveDeleter {
    void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

// The state shared by the two readers' callbacks.
struct Stream {
    int fd = -1;
    Hasher blob_hash;
    Hasher tar_hash;
    uint64_t raw_bytes = 0;
    uint64_t tar_bytes = 0;
    uint64_t max_bytes = 0;
    bool sniffed = false;
    struct archive* raw = nullptr;
    std::vector<char> in_buf = std::vector<char>(kBlock);
    std::vector<char> out_buf = std::vector<char>(kBlock);
    std::optional<Error> error;  // our own failure, reported instead of libarchive's wording
};

la_ssize_t read_raw(struct archive* a, void* client, const void** buf) {
    auto* s = static_cast<Stream*>(client);
    for (;;) {
        ssize_t n = ::read(s->fd, s->in_buf.data(), s->in_buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            s->error = Error::sys("read layer");
            archive_set_error(a, errno, "read failed");
            return -1;
        }
        if (!s->sniffed && n > 0) {
            s->sniffed = true;
            // SAFETY: bytes read into a char buffer viewed as unsigned char, same size.
            const auto* head = reinterpret_cast<const unsigned char*>(s->in_buf.data());
            std::span<const unsigned char> h(head, static_cast<size_t>(n));
            if (h.size() >= 6 && std::memcmp(head, "\xfd" "7zXZ\0", 6) == 0) {
                s->error = Error::msg("unsupported layer compression xz (supported: gzip, zstd, none)");
            } else if (h.size() >= 3 && std::memcmp(head, "BZh", 3) == 0) {
                s->error = Error::msg("unsupported layer compression bzip2 (supported: gzip, zstd, none)");
            }
            if (s->error) {
                archive_set_error(a, EINVAL, "unsupported compression");
                return -1;
            }
        }
        s->blob_hash.update(s->in_buf.data(), static_cast<size_t>(n));
        s->raw_bytes += static_cast<uint64_t>(n);
        *buf = s->in_buf.data();
        return n;
    }
}

// Pulls decompressed bytes for the tar reader.
la_ssize_t read_tar(struct archive* a, void* client, const void** buf) {
    auto* s = static_cast<Stream*>(client);
    la_ssize_t n = archive_read_data(s->raw, s->out_buf.data(), s->out_buf.size());
    if (n < 0) {
        if (!s->error) s->error = Error::msg(cat("decompress layer: ", archive_error_string(s->raw)));
        if (a) archive_set_error(a, EIO, "decompress failed");
        return -1;
    }
    s->tar_bytes += static_cast<uint64_t>(n);
    if (s->tar_bytes > s->max_bytes) {
        s->error = Error::msg(cat("layer exceeds the size limit of ", s->max_bytes, " bytes"));
        if (a) archive_set_error(a, EFBIG, "too large");
        return -1;
    }
    s->tar_hash.update(s->out_buf.data(), static_cast<size_t>(n));
    *buf = s->out_buf.data();
    return n;
}

// Opens the decompressing reader over s.fd.
Result<ArchivePtr> open_raw(Stream& s) {
    ArchivePtr raw(archive_read_new());
    if (!raw) return fail_msg("libarchive: out of memory");
    archive_read_support_filter_gzip(raw.get());
    archive_read_support_filter_zstd(raw.get());
    archive_read_support_format_raw(raw.get());
    if (archive_read_open(raw.get(), &s, nullptr, read_raw, nullptr) != ARCHIVE_OK) {
        if (s.error) return fail(*s.error);
        return fail_msg(cat("open layer: ", archive_error_string(raw.get())));
    }
    struct archive_entry* e;
    int r = archive_read_next_header(raw.get(), &e);
    if (r != ARCHIVE_OK) {
        if (s.error) return fail(*s.error);
        return fail_msg(cat("open layer: ", r == ARCHIVE_EOF ? "empty input" : archive_error_string(raw.get())));
    }
    s.raw = raw.get();
    return raw;
}

// Reads whatever the tar reader left (the end-of-archive blocks and padding) so the diff_id
// covers the whole stream, then the raw input to its end for the blob digest.
Status drain(Stream& s) {
    const void* p;
    for (;;) {
        la_ssize_t n = read_tar(nullptr, &s, &p);
        if (n < 0) return fail(s.error ? *s.error : Error::msg("decompress layer"));
        if (n == 0) break;
    }
    for (;;) {
        ssize_t n = ::read(s.fd, s.in_buf.data(), s.in_buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys("read layer");
        if (n == 0) break;
        s.blob_hash.update(s.in_buf.data(), static_cast<size_t>(n));
        s.raw_bytes += static_cast<uint64_t>(n);
    }
    return {};
}

// --- paths -------------------------------------------------------------------------------

// Makes an entry name relative and lexically clean. Leading slashes are dropped (umoci and
// containerd treat absolute names as relative to the layer root); `..` may only cancel a
// component before it. "" is the root itself.
Result<std::string> clean_entry_path(std::string_view name) {
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i <= name.size()) {
        size_t j = name.find('/', i);
        if (j == std::string_view::npos) j = name.size();
        std::string_view c = name.substr(i, j - i);
        if (c == "..") {
            if (parts.empty()) return fail_msg("path escapes the layer root");
            parts.pop_back();
        } else if (!c.empty() && c != ".") {
            parts.push_back(c);
        }
        i = j + 1;
    }
    std::string out;
    for (auto p : parts) {
        if (!out.empty()) out.push_back('/');
        out.append(p);
    }
    if (out.size() >= PATH_MAX) return fail_msg("path too long");
    return out;
}

std::pair<std::string, std::string> split_parent(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return {"", path};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

Result<UniqueFd> open_beneath(int root, const std::string& rel, uint64_t flags) {
    struct open_how how{};
    how.flags = flags | O_CLOEXEC;
    how.resolve = kResolve;
    int fd = sys::openat2(root, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
    if (fd < 0) {
        if (errno == ELOOP) return fail_msg("path goes through a symlink");
        if (errno == EXDEV) return fail_msg("path escapes the layer root");
        if (errno == ENOTDIR) return fail_msg("a parent is not a directory");
        return fail_sys(cat("open ", q(rel)));
    }
    return UniqueFd(fd);
}

struct DeferredDir {
    std::string path;
    mode_t mode;
    struct timespec times[2];
};

// The process's umask, from /proc (umask(2) can only read it by changing it, which would race
// with other threads); nullopt when unknown.
std::optional<mode_t> current_umask() {
    auto status = fs::read_file("/proc/self/status");
    if (!status) return std::nullopt;
    auto at = status->find("\nUmask:\t");
    if (at == std::string::npos) return std::nullopt;
    auto v = parse_int<unsigned>(std::string_view(*status).substr(at + 8, 4), 8);
    if (!v) return std::nullopt;
    return static_cast<mode_t>(*v);
}

// What a file this process just created is known to have, so metadata() can skip the chown
// and chmod that would not change anything: most entries of most layers are root's 0644/0755
// files, and every syscall saved counts thousands of times per layer.
struct Created {
    uid_t uid;
    gid_t gid;
    mode_t mode;
};

class Unpacker {
public:
    Unpacker(int root, const UnpackOptions& opts)
        : root_(root), opts_(opts), euid_(::geteuid()), egid_(::getegid()), umask_(current_umask()) {}

    Status entry(struct archive* a, struct archive_entry* e);
    Status finish();
    // Directories created only as parents of other entries ("" for an unlisted root).
    std::vector<std::string> implicit_dirs() const;

private:
    // The directory that holds `parent`, creating missing components as root-owned 0755 dirs
    // (what umoci and tar do for entries whose parents the layer does not list).
    Result<int> parent_fd(const std::string& parent);
    Status create(struct archive* a, struct archive_entry* e, const std::string& path, int pfd, const std::string& base);
    Status metadata(struct archive_entry* e, int pfd, const std::string& base, int fd, mode_t type,
                    const std::optional<Created>& created = std::nullopt);
    // Returns the end of the last block written.
    Result<int64_t> write_data(struct archive* a, int fd);
    Status write_regular(struct archive* a, struct archive_entry* e, int pfd, const std::string& base);
    Status whiteout(const std::string& parent, const std::string& name);

    int root_;
    const UnpackOptions& opts_;
    std::string cached_parent_;
    UniqueFd cached_fd_;
    struct stat cached_st_{};
    uid_t euid_;
    gid_t egid_;
    std::optional<mode_t> umask_;
    std::vector<DeferredDir> dirs_;
    std::set<std::string> implicit_;
    bool root_listed_ = false;
};

std::vector<std::string> Unpacker::implicit_dirs() const {
    std::vector<std::string> out;
    if (!root_listed_) out.emplace_back();
    out.insert(out.end(), implicit_.begin(), implicit_.end());  // sorted: "a" before "a/b"
    return out;
}

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

Result<int> Unpacker::parent_fd(const std::string& parent) {
    if (cached_fd_ && cached_parent_ == parent) return cached_fd_.get();
    auto fd = open_beneath(root_, parent, O_PATH | O_DIRECTORY);
    if (!fd && fd.error().code() == ENOENT) {
        // Walk down, creating what is missing, each step again beneath the root.
        std::string sofar;
        for (const auto& comp : split(parent, '/')) {
            std::string next = sofar.empty() ? comp : sofar + "/" + comp;
            auto dfd = HULL_TRY(open_beneath(root_, sofar, O_PATH | O_DIRECTORY));
            if (::mkdirat(dfd.get(), comp.c_str(), 0755) == 0) implicit_.insert(next);
            else if (errno != EEXIST) return fail_sys(cat("mkdir ", q(next)));
            sofar = std::move(next);
        }
        fd = open_beneath(root_, parent, O_PATH | O_DIRECTORY);
    }
    if (!fd) return fail(std::move(fd.error()));
    // Its gid and setgid bit decide the group of files created in it.
    if (::fstat(fd->get(), &cached_st_) < 0) return fail_sys(cat("stat ", q(parent)));
    cached_parent_ = parent;
    cached_fd_ = std::move(*fd);
    return cached_fd_.get();
}

Status Unpacker::whiteout(const std::string& parent, const std::string& name) {
    int pfd = HULL_TRY(parent_fd(parent));
    if (name == ".wh..opq") {
        // The marker makes its directory opaque: overlay hides everything below from lower
        // layers.
        auto dfd = HULL_TRY(open_beneath(root_, parent, O_RDONLY | O_DIRECTORY));
        if (::fsetxattr(dfd.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
            return fail_sys("set trusted.overlay.opaque (opaque directories need CAP_SYS_ADMIN)");
        return {};
    }
    if (name.starts_with(".wh.")) return {};  // other aufs metadata (.wh..wh.plnk...): meaningless here
    if (name.empty() || name == "." || name == "..") return fail_msg("invalid whiteout name");
    std::string target = parent.empty() ? name : parent + "/" + name;
    struct stat st;
    if (::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return {};  // a repeated whiteout
        return fail_msg(cat("whiteout of ", q(target), " conflicts with an entry of the same layer"));
    }
    if (::mknodat(pfd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
        return fail_sys("create whiteout: mknod (overlay whiteouts need CAP_MKNOD)");
    if (opts_.preserve_owners && ::fchownat(pfd, name.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
        return fail_sys("chown whiteout");
    return {};
}

Result<int64_t> Unpacker::write_data(struct archive* a, int fd) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    int64_t end = 0;
    for (;;) {
        int r = archive_read_data_block(a, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) return fail_msg(cat("read entry data: ", archive_error_string(a)));
        const char* p = static_cast<const char*>(buf);
        // Sparse entries come as blocks at increasing offsets; holes stay holes.
        while (size > 0) {
            ssize_t n = ::pwrite(fd, p, size, offset);
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail_sys("write");
            }
            p += n;
            size -= static_cast<size_t>(n);
            offset += n;
        }
        end = offset;
    }
    return end;
}

Status Unpacker::write_regular(struct archive* a, struct archive_entry* e, int pfd, const std::string& base) {
    // Created with its final permission bits when the umask leaves them alone (special bits
    // always come from the chmod after chown, which would clear them).
    mode_t perm = archive_entry_perm(e) & 0777;
    int fd = ::openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
    if (fd < 0) return fail_sys("create");
    UniqueFd f(fd);
    auto end = HULL_TRY(write_data(a, f.get()));
    // A sparse file's trailing hole is not written: the size comes from the header.
    auto size = archive_entry_size(e);
    if (archive_entry_size_is_set(e) && size != end && ::ftruncate(f.get(), size) < 0) return fail_sys("truncate");
    std::optional<Created> created;
    if (umask_ && cached_fd_.get() == pfd) {
        gid_t gid = (cached_st_.st_mode & S_ISGID) ? cached_st_.st_gid : egid_;
        created = Created{euid_, gid, static_cast<mode_t>(perm & ~*umask_)};
    }
    return metadata(e, pfd, base, f.get(), S_IFREG, created);
}

Status Unpacker::metadata(struct archive_entry* e, int pfd, const std::string& base, int fd, mode_t type,
                          const std::optional<Created>& created) {
    bool is_link = type == S_IFLNK;
    auto uid = static_cast<uid_t>(archive_entry_uid(e)), gid = static_cast<gid_t>(archive_entry_gid(e));
    if (opts_.preserve_owners && !(created && created->uid == uid && created->gid == gid)) {
        int r = fd >= 0 ? ::fchown(fd, uid, gid) : ::fchownat(pfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
        if (r < 0) return fail_sys("chown");
    }
    if (opts_.preserve_xattrs) {
        const char* name;
        const void* value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
            // Overlay's own xattrs (opaque, redirect, metacopy) would let a layer change how
            // the stack is merged; only whiteout markers may set them.
            if (std::string_view(name).starts_with("trusted.overlay.")) continue;
            int r;
            if (fd >= 0) {
                r = ::fsetxattr(fd, name, value, size, 0);
            } else {
                std::string p = cat("/proc/self/fd/", pfd, "/", base);
                r = ::lsetxattr(p.c_str(), name, value, size, 0);
            }
            if (r < 0 && !unsupported_user_xattr(name)) return fail_sys(cat("set xattr ", q(name)));
        }
    }
    if (type == S_IFDIR) return {};  // mode and times once its children are written
    mode_t mode = archive_entry_perm(e) & 07777;
    if (!is_link && !(created && created->mode == mode)) {
        // After chown, which clears setuid/setgid.
        int r = fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(pfd, base.c_str(), mode, 0);
        if (r < 0) return fail_sys("chmod");
    }
    struct timespec ts[2];
    ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    ts[0] = archive_entry_atime_is_set(e) ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)} : ts[1];
    int r = fd >= 0 ? ::futimens(fd, ts) : ::utimensat(pfd, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    if (r < 0) return fail_sys("set times");
    return {};
}

mode_t entry_type(struct archive_entry* e) {
    if (archive_entry_hardlink(e)) return 0;
    return archive_entry_filetype(e);
}

Status Unpacker::create(struct archive* a, struct archive_entry* e, const std::string& path, int pfd, const std::string& base) {
    mode_t type = entry_type(e);
    if (type == 0) {
        auto target = clean_entry_path(archive_entry_hardlink(e));
        if (!target) return fail_msg(cat("hard link target ", q(archive_entry_hardlink(e)), ": ", target.error().what()));
        if (target->empty()) return fail_msg("hard link to the layer root");
        auto [tparent, tbase] = split_parent(*target);
        auto tfd = open_beneath(root_, tparent, O_PATH | O_DIRECTORY);
        if (!tfd) return fail_msg(cat("hard link target ", q(*target), ": ", tfd.error().code() == ENOENT ? "not in this layer" : tfd.error().message()));
        struct stat tst;
        if (::fstatat(tfd->get(), tbase.c_str(), &tst, AT_SYMLINK_NOFOLLOW) < 0)
            return fail_msg(cat("hard link target ", q(*target), ": not in this layer"));
        if (S_ISDIR(tst.st_mode)) return fail_msg(cat("hard link target ", q(*target), ": is a directory"));
        struct stat st;
        if (::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (st.st_ino == tst.st_ino && st.st_dev == tst.st_dev) return {};
            if ((st.st_mode & S_IFMT) != (tst.st_mode & S_IFMT) && !is_whiteout(st))
                return fail_msg("duplicate entry changes type");
            if (::unlinkat(pfd, base.c_str(), 0) < 0) return fail_sys("replace");
        }
        if (::linkat(tfd->get(), tbase.c_str(), pfd, base.c_str(), 0) < 0) return fail_sys("link");
        return {};
    }

    if (type == S_IFREG) {
        // The common case, a new file: one openat instead of a stat first.
        auto r = write_regular(a, e, pfd, base);
        if (r || r.error().code() != EEXIST) return r;
    }
    struct stat st;
    bool exists = ::fstatat(pfd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    // `.wh.x` then `x` in one layer: the whiteout hides the lower `x`, the entry is the new one.
    bool replaces_whiteout = exists && is_whiteout(st) && type != S_IFCHR;
    if (replaces_whiteout) {
        if (::unlinkat(pfd, base.c_str(), 0) < 0) return fail_sys("replace whiteout");
        exists = false;
    }
    if (exists && (st.st_mode & S_IFMT) != type) return fail_msg("duplicate entry changes type");
    if (exists && type != S_IFDIR && ::unlinkat(pfd, base.c_str(), 0) < 0) return fail_sys("replace");

    switch (type) {
    case S_IFREG:
        return write_regular(a, e, pfd, base);
    case S_IFDIR: {
        if (!exists && ::mkdirat(pfd, base.c_str(), 0700) < 0) return fail_sys("mkdir");
        implicit_.erase(path);
        auto d = HULL_TRY(open_beneath(root_, path, O_RDONLY | O_DIRECTORY));
        // What the whiteout hid must stay hidden under the new directory too.
        if (replaces_whiteout && ::fsetxattr(d.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
            return fail_sys("set trusted.overlay.opaque (opaque directories need CAP_SYS_ADMIN)");
        HULL_TRY(metadata(e, pfd, base, d.get(), type));
        DeferredDir dd{path, static_cast<mode_t>(archive_entry_perm(e) & 07777), {}};
        dd.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        dd.times[0] = archive_entry_atime_is_set(e) ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)} : dd.times[1];
        dirs_.push_back(std::move(dd));
        return {};
    }
    case S_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target || !*target) return fail_msg("symlink with an empty target");
        if (::symlinkat(target, pfd, base.c_str()) < 0) return fail_sys("symlink");
        return metadata(e, pfd, base, -1, type);
    }
    case S_IFCHR:
    case S_IFBLK:
        if (!opts_.allow_devices) return fail_msg("device nodes are not allowed in this layer");
        [[fallthrough]];
    case S_IFIFO: {
        dev_t dev = type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (::mknodat(pfd, base.c_str(), type | 0600, dev) < 0) return fail_sys("mknod");
        return metadata(e, pfd, base, -1, type);
    }
    default:
        return fail_msg(cat("unsupported entry type 0", std::to_string(type >> 12)));
    }
}

Status Unpacker::entry(struct archive* a, struct archive_entry* e) {
    const char* raw_name = archive_entry_pathname(e);
    if (!raw_name) raw_name = archive_entry_pathname_utf8(e);
    if (!raw_name) return fail_msg("layer entry with an unreadable name");
    auto ctx = [&] { return cat("layer entry ", q(raw_name)); };
    auto path = clean_entry_path(raw_name);
    if (!path) return fail(std::move(path.error()).context(ctx()));
    if (path->empty()) {
        // The root's own entry ("./"): its metadata is the layer root's, applied like a
        // directory's.
        if (entry_type(e) != S_IFDIR) return fail(Error::msg("the layer root must be a directory").context(ctx()));
        root_listed_ = true;
        HULL_TRY_CTX(metadata(e, root_, ".", root_, S_IFDIR), ctx());
        DeferredDir dd{"", static_cast<mode_t>(archive_entry_perm(e) & 07777), {}};
        dd.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        dd.times[0] = dd.times[1];
        dirs_.push_back(std::move(dd));
        return {};
    }
    auto [parent, base] = split_parent(*path);
    if (base.starts_with(".wh.")) {
        HULL_TRY_CTX(whiteout(parent, base.substr(4)), ctx());
        return {};
    }
    int pfd = HULL_TRY_CTX(parent_fd(parent), ctx());
    HULL_TRY_CTX(create(a, e, *path, pfd, base), ctx());
    return {};
}

Status Unpacker::finish() {
    // Deepest first, so setting a parent's mode never blocks a child's update.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
        auto d = HULL_TRY_CTX(open_beneath(root_, it->path, O_RDONLY | O_DIRECTORY), cat("layer entry ", q(it->path)));
        if (::fchmod(d.get(), it->mode) < 0 || ::futimens(d.get(), it->times) < 0)
            return fail(Error::sys("set directory mode and times").context(cat("layer entry ", q(it->path))));
    }
    return {};
}

Status check_digest(const char* what, const oci::Digest& want, const oci::Digest& got) {
    if (want == got) return {};
    return fail_msg(cat(what, " digest mismatch: expected ", want.str(), ", got ", got.str()));
}

}  // namespace

Compression detect_compression(std::span<const unsigned char> h) {
    if (h.size() >= 3 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8) return Compression::gzip;
    if (h.size() >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) return Compression::zstd;
    return Compression::none;
}

Result<UnpackStats> unpack_layer(FdRef archive, FdRef dest, const UnpackOptions& opts) {
    Stream s;
    s.fd = archive.get();
    s.max_bytes = opts.max_bytes;
    if (opts.expected_diff_id) s.tar_hash = Hasher(opts.expected_diff_id->algorithm);
    if (opts.expected_blob_digest) s.blob_hash = Hasher(opts.expected_blob_digest->algorithm);
    auto raw = HULL_TRY(open_raw(s));
    ArchivePtr tar(archive_read_new());
    if (!tar) return fail_msg("libarchive: out of memory");
    archive_read_support_format_tar(tar.get());
    if (archive_read_open(tar.get(), &s, nullptr, read_tar, nullptr) != ARCHIVE_OK)
        return fail(s.error ? *s.error : Error::msg(cat("read layer: ", archive_error_string(tar.get()))));

    Unpacker u(dest.get(), opts);
    UnpackStats stats;
    for (;;) {
        struct archive_entry* e;
        int r = archive_read_next_header(tar.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r == ARCHIVE_WARN) r = ARCHIVE_OK;  // e.g. an unknown pax keyword: the entry is usable
        if (r != ARCHIVE_OK)
            return fail(s.error ? *s.error : Error::msg(cat("read layer: ", archive_error_string(tar.get()))));
        if (++stats.entries > opts.max_entries)
            return fail_msg(cat("layer has more than ", opts.max_entries, " entries"));
        auto st = u.entry(tar.get(), e);
        // A limit or read failure inside the data callbacks is the real cause.
        if (s.error) return fail(*s.error);
        if (!st) return fail(std::move(st.error()));
    }
    HULL_TRY(u.finish());
    stats.implicit_dirs = u.implicit_dirs();
    HULL_TRY(drain(s));
    stats.tar_bytes = s.tar_bytes;
    stats.diff_id = s.tar_hash.finish();
    stats.blob_digest = s.blob_hash.finish();
    if (opts.expected_blob_digest) HULL_TRY(check_digest("layer blob", *opts.expected_blob_digest, stats.blob_digest));
    if (opts.expected_diff_id) HULL_TRY(check_digest("layer diff_id", *opts.expected_diff_id, stats.diff_id));
    return stats;
}

namespace {

// The topmost of `lowers` where `path` is a directory in their overlay merge, walking it one
// component at a time as overlay's lookup does: a whiteout or a non-directory hides the path
// in every layer below it, an opaque directory hides what is below it.
std::optional<size_t> merged_dir(const std::vector<UniqueFd>& lowers, const std::string& path) {
    std::vector<size_t> candidates;
    for (size_t i = 0; i < lowers.size(); ++i) candidates.push_back(i);
    if (path.empty()) return candidates.empty() ? std::nullopt : std::optional<size_t>(0);
    std::string sofar;
    for (const auto& comp : split(path, '/')) {
        sofar = sofar.empty() ? comp : sofar + "/" + comp;
        std::vector<size_t> next;
        for (size_t i : candidates) {
            auto d = open_beneath(lowers[i].get(), sofar, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (!d) {
                struct stat st;
                if (::fstatat(lowers[i].get(), sofar.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) break;  // whiteout, file
                continue;  // not in this layer
            }
            next.push_back(i);
            char v;
            if (::fgetxattr(d->get(), "trusted.overlay.opaque", &v, 1) == 1 && v == 'y') break;
        }
        if (next.empty()) return std::nullopt;
        candidates = std::move(next);
    }
    return candidates.front();
}

Status copy_xattrs(int from, int to) {
    std::vector<char> names(64 * 1024);
    ssize_t n = ::flistxattr(from, names.data(), names.size());
    if (n < 0) return errno == ENOTSUP ? Status{} : fail_sys("list xattrs");
    std::vector<char> value(64 * 1024);
    for (ssize_t i = 0; i < n;) {
        std::string name(&names[static_cast<size_t>(i)]);
        i += static_cast<ssize_t>(name.size()) + 1;
        if (name.starts_with("trusted.overlay.")) continue;  // the lower layer's own merge state
        ssize_t vn = ::fgetxattr(from, name.c_str(), value.data(), value.size());
        if (vn < 0) return fail_sys(cat("get xattr ", q(name)));
        if (::fsetxattr(to, name.c_str(), value.data(), static_cast<size_t>(vn), 0) < 0 &&
            !unsupported_user_xattr(name))
            return fail_sys(cat("set xattr ", q(name)));
    }
    return {};
}

}  // namespace

Status inherit_dir_metadata(FdRef layer, std::span<const std::string> paths, std::span<const std::string> lowers) {
    if (paths.empty() || lowers.empty()) return {};
    std::vector<UniqueFd> roots;
    for (const auto& l : lowers) roots.push_back(HULL_TRY(fs::open(l, O_PATH | O_DIRECTORY)));
    struct Times {
        UniqueFd fd;
        struct timespec ts[2];
    };
    std::vector<Times> times;
    for (const auto& path : paths) {
        auto ctx = cat("directory ", q(path.empty() ? "/" : path));
        auto src_layer = merged_dir(roots, path);
        if (!src_layer) continue;  // new here: keeps 0755 root:root
        auto src = HULL_TRY_CTX(open_beneath(roots[*src_layer].get(), path, O_RDONLY | O_DIRECTORY), ctx);
        auto dst = HULL_TRY_CTX(open_beneath(layer.get(), path, O_RDONLY | O_DIRECTORY), ctx);
        struct stat st;
        if (::fstat(src.get(), &st) < 0) return fail(Error::sys("stat").context(ctx));
        // chown first: it clears setgid, which chmod then puts back.
        if (::fchown(dst.get(), st.st_uid, st.st_gid) < 0 || ::fchmod(dst.get(), st.st_mode & 07777) < 0)
            return fail(Error::sys("copy owner and mode").context(ctx));
        HULL_TRY_CTX(copy_xattrs(src.get(), dst.get()), ctx);
        times.push_back({std::move(dst), {st.st_atim, st.st_mtim}});
    }
    // Times last, once nothing else changes these directories.
    for (auto it = times.rbegin(); it != times.rend(); ++it)
        if (::futimens(it->fd.get(), it->ts) < 0) return fail_sys("set directory times");
    return {};
}

Result<oci::Digest> uncompressed_digest(FdRef archive, uint64_t max_bytes) {
    Stream s;
    s.fd = archive.get();
    s.max_bytes = max_bytes;
    auto raw = HULL_TRY(open_raw(s));
    HULL_TRY(drain(s));
    return s.tar_hash.finish();
}

}  // namespace hull::images
