#include "runtime/linux/devices.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/linux/pathres.hpp"
#include "runtime/linux/rootfs_ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace hull::runtime::linux {

namespace {

// Linux's dev_t: 12-bit majors and 20-bit minors (MAJORBITS/MINORBITS in the kernel's kdev_t).
constexpr int64_t kMaxMajor = (1 << 12) - 1;
constexpr int64_t kMaxMinor = (1 << 20) - 1;

DeviceNode char_device(const char* path, unsigned major, unsigned minor) {
    DeviceNode d;
    d.path = path;
    d.type = S_IFCHR;
    d.rdev = makedev(major, minor);
    d.mode = 0666;
    d.is_default = true;
    return d;
}

const char* type_name(mode_t type) {
    switch (type) {
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFIFO: return "fifo";
    }
    return "file";
}

// Sets the umask for a scope; devices get exactly the mode the spec asks for.
class UmaskGuard {
public:
    explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
    ~UmaskGuard() { ::umask(old_); }
    UmaskGuard(const UmaskGuard&) = delete;
    UmaskGuard& operator=(const UmaskGuard&) = delete;

private:
    mode_t old_;
};

bool matches(const struct stat& st, const DeviceNode& d) {
    if ((st.st_mode & S_IFMT) != d.type) return false;
    return d.type == S_IFIFO || st.st_rdev == d.rdev;
}

// Bind-mounts the host's node at the same path over an empty file (user namespaces may not
// mknod; runc and crun do the same).
Status bind_device(const pathres::Parent& parent, const DeviceNode& d) {
    int f = ::openat(parent.dir.get(), parent.name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 && errno != EEXIST) return fail_sys("create the mount point");
    if (f >= 0) ::close(f);
    UniqueFd target(::openat(parent.dir.get(), parent.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target) return fail_sys("open the mount point");
    struct stat st;
    if (::fstat(target.get(), &st) < 0) return fail_sys("stat the mount point");
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
        return fail(Error(EEXIST, "the path exists and is not a file to mount the device on"));
    auto tree = HULL_TRY_CTX(ops::clone_tree(d.path, false), cat("bind the host's ", q(d.path)));
    struct stat src;
    if (::fstat(tree.get(), &src) < 0) return fail_sys(cat("stat the host's ", q(d.path)));
    if (!matches(src, d))
        return fail(Error(ENODEV, cat("the host's ", q(d.path), " is not the ", type_name(d.type), " ",
                                      major(d.rdev), ":", minor(d.rdev), " asked for")));
    HULL_TRY_CTX(ops::attach(tree, target), cat("bind the host's ", q(d.path)));
    return {};
}

Status create_device(FdRef root, const DeviceNode& d, bool bind) {
    auto parent = HULL_TRY(pathres::open_parent_in_root(root, d.path, true));
    if (bind) return bind_device(parent, d);

    const int dir = parent.dir.get();
    const char* name = parent.name.c_str();
    for (int attempt = 0;; ++attempt) {
        if (::mknodat(dir, name, d.type | d.mode, d.rdev) == 0) break;
        if (errno == EPERM) return bind_device(parent, d);
        if (errno != EEXIST || attempt > 0) return fail_sys("mknod");
        struct stat st;
        if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail_sys("stat the existing file");
        if (matches(st, d)) return {};  // the image already has it, as runc keeps it
        if (!d.is_default)
            return fail(Error(EEXIST, cat("the path exists and is not the ", type_name(d.type), " asked for")));
        // A default device the image got wrong (a regular file at /dev/null, a symlink): replace it.
        if (S_ISDIR(st.st_mode)) return fail(Error(EISDIR, "the path is a directory"));
        if (::unlinkat(dir, name, 0) < 0) return fail_sys("remove the existing file");
    }
    if (::fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0) return fail_sys("chown");
    return {};
}

Status make_symlink(FdRef root, const char* target, const char* path) {
    auto parent = HULL_TRY(pathres::open_parent_in_root(root, path, true));
    if (::symlinkat(target, parent.dir.get(), parent.name.c_str()) < 0 && errno != EEXIST)
        return fail_sys(cat("symlink ", q(path), " -> ", q(target)));
    return {};
}

}  // namespace

std::vector<DeviceNode> default_devices() {
    return {
        char_device("/dev/null", 1, 3),    char_device("/dev/zero", 1, 5),    char_device("/dev/full", 1, 7),
        char_device("/dev/random", 1, 8),  char_device("/dev/urandom", 1, 9), char_device("/dev/tty", 5, 0),
    };
}

Result<std::vector<DeviceNode>> plan_devices(const std::vector<oci::Device>& devices) {
    std::vector<DeviceNode> out;
    for (size_t i = 0; i < devices.size(); ++i) {
        const oci::Device& d = devices[i];
        auto where = [&](const char* field) { return cat(".linux.devices[", i, "].", field, ": "); };
        if (d.path.empty()) return fail_msg(cat(where("path"), "required"));
        if (d.path[0] != '/') return fail_msg(cat(where("path"), q(d.path), " is not an absolute path"));
        DeviceNode n;
        n.path = fs::clean(d.path);
        if (n.path == "/") return fail_msg(cat(where("path"), q(d.path), " is not a path to a device"));
        switch (d.type) {
        case 'c':
        case 'u': n.type = S_IFCHR; break;
        case 'b': n.type = S_IFBLK; break;
        case 'p': n.type = S_IFIFO; break;
        default: return fail_msg(cat(where("type"), "unknown device type ", q(std::string(1, d.type))));
        }
        if (n.type != S_IFIFO) {
            if (d.major < 0 || d.major > kMaxMajor)
                return fail_msg(cat(where("major"), d.major, " is out of range (0-", kMaxMajor, ")"));
            if (d.minor < 0 || d.minor > kMaxMinor)
                return fail_msg(cat(where("minor"), d.minor, " is out of range (0-", kMaxMinor, ")"));
            n.rdev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
        }
        if (d.file_mode) {
            if (*d.file_mode & ~07777U)
                return fail_msg(cat(where("fileMode"), *d.file_mode, " has bits beyond the permission bits"));
            n.mode = static_cast<mode_t>(*d.file_mode);
        }
        n.uid = d.uid.value_or(0);
        n.gid = d.gid.value_or(0);
        // /dev/ptmx is the devpts instance's, through the symlink setup_ptmx makes (as runc).
        if (n.path == "/dev/ptmx") continue;
        bool dup = false;
        for (auto& prev : out)
            if (prev.path == n.path) {
                prev = n;  // the later entry wins
                dup = true;
            }
        if (!dup) out.push_back(std::move(n));
    }
    for (auto& def : default_devices()) {
        bool listed = false;
        for (const auto& n : out) listed = listed || n.path == def.path;
        if (!listed) out.push_back(std::move(def));
    }
    return out;
}

Status create_devices(FdRef root, const std::vector<DeviceNode>& devices, bool bind) {
    UmaskGuard umask0(0);
    for (const auto& d : devices) HULL_TRY_CTX(create_device(root, d, bind), cat("create device ", q(d.path)));
    return {};
}

Status create_dev_symlinks(FdRef root) {
    static constexpr const char* kLinks[][2] = {
        {"/proc/self/fd", "/dev/fd"},
        {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"},
        {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (const auto& l : kLinks) HULL_TRY(make_symlink(root, l[0], l[1]));
    // kcore depends on CONFIG_PROC_KCORE; this runs before pivot_root, so /proc is the host's.
    if (::access("/proc/kcore", F_OK) == 0) HULL_TRY(make_symlink(root, "/proc/kcore", "/dev/core"));
    return {};
}

Status setup_ptmx(FdRef root) {
    auto parent = HULL_TRY_CTX(pathres::open_parent_in_root(root, "/dev/ptmx", true), "set up `/dev/ptmx`");
    if (::unlinkat(parent.dir.get(), parent.name.c_str(), 0) < 0 && errno != ENOENT)
        return fail_sys("remove `/dev/ptmx`");
    if (::symlinkat("pts/ptmx", parent.dir.get(), parent.name.c_str()) < 0)
        return fail_sys("symlink `/dev/ptmx` -> `pts/ptmx`");
    return {};
}

}  // namespace hull::runtime::linux
