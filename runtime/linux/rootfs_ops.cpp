#include "runtime/linux/rootfs_ops.hpp"

#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/linux/pathres.hpp"

#include <fcntl.h>
#include <sys/mount.h>

namespace hull::runtime::linux::ops {

Result<UniqueFd> clone_tree(FdRef dir, const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    if (recursive) flags |= AT_RECURSIVE;
    if (path.empty()) flags |= AT_EMPTY_PATH;
    int fd = sys::open_tree(dir.get(), path.c_str(), flags);
    if (fd < 0) return fail_sys("open_tree");
    return UniqueFd(fd);
}

Status attach(FdRef tree, FdRef target) {
    if (sys::move_mount(tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return fail_sys("move_mount");
    return {};
}

namespace {
// -1 unknown, 0 no, 1 yes. The init is single-threaded, so a plain static is enough.
int g_have_setattr = -1;
}  // namespace

bool have_mount_setattr() {
    if (g_have_setattr < 0) {
        // An invalid call (flags ~0) fails with EINVAL where the syscall exists.
        struct mount_attr attr = {};
        int r = sys::mount_setattr(-1, "", ~0U, &attr, sizeof attr);
        g_have_setattr = (r < 0 && errno == ENOSYS) ? 0 : 1;
    }
    return g_have_setattr == 1;
}

Status set_attrs(FdRef mnt, uint64_t set, uint64_t clear, bool recursive) {
    struct mount_attr attr = {};
    attr.attr_set = set;
    attr.attr_clr = clear;
    unsigned flags = AT_EMPTY_PATH;
    if (recursive) flags |= AT_RECURSIVE;
    if (sys::mount_setattr(mnt.get(), "", flags, &attr, sizeof attr) == 0) return {};
    if (errno == ENOSYS) g_have_setattr = 0;
    // Linux 5.12 and 5.13 have mount_setattr but not MOUNT_ATTR_NOSYMFOLLOW: a request only to
    // clear it (which the "exact flags" of a bind always carries) can do without.
    if (errno == EINVAL && (clear & MOUNT_ATTR_NOSYMFOLLOW) && !(set & MOUNT_ATTR_NOSYMFOLLOW)) {
        attr.attr_clr &= ~static_cast<uint64_t>(MOUNT_ATTR_NOSYMFOLLOW);
        if (sys::mount_setattr(mnt.get(), "", flags, &attr, sizeof attr) == 0) return {};
    }
    return fail_sys("mount_setattr");
}

Status remount_fd(FdRef mnt, unsigned long flags) {
    std::string p = pathres::proc_fd_path(mnt.get());
    if (::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | flags, nullptr) < 0)
        return fail_sys("remount");
    return {};
}

Status set_propagation(FdRef mnt, unsigned long flags) {
    std::string p = pathres::proc_fd_path(mnt.get());
    if (::mount(nullptr, p.c_str(), nullptr, flags, nullptr) < 0) {
        const char* what = (flags & MS_SHARED)       ? "make shared"
                           : (flags & MS_SLAVE)      ? "make slave"
                           : (flags & MS_UNBINDABLE) ? "make unbindable"
                                                     : "make private";
        return fail_sys(cat(what, (flags & MS_REC) ? " (recursive)" : ""));
    }
    return {};
}

Status mount_on(const char* source, FdRef target, const char* type, unsigned long flags, const char* data,
                std::string what) {
    std::string p = pathres::proc_fd_path(target.get());
    if (::mount(source, p.c_str(), type, flags, data) < 0) return fail_sys(std::move(what));
    return {};
}

Result<UniqueFd> empty_readonly_tmpfs() {
    UniqueFd fsfd(sys::fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!fsfd) return fail_sys("fsopen tmpfs");
    // The source mountinfo shows, as for runc's mount("tmpfs", ...).
    if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0) return fail_sys("configure tmpfs");
    if (sys::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return fail_sys("create tmpfs");
    int m = sys::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
    if (m < 0) return fail_sys("fsmount tmpfs");
    return UniqueFd(m);
}

}  // namespace hull::runtime::linux::ops
