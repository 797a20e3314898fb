#include "runtime/linux/mounts.hpp"

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/linux/pathres.hpp"
#include "runtime/linux/rootfs_copy.hpp"
#include "runtime/linux/rootfs_mountinfo.hpp"
#include "runtime/linux/rootfs_ops.hpp"
#include "runtime/linux/rootfs_overlay.hpp"
#include "runtime/linux/rootfs_plan.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>

namespace hull::runtime::linux {

void MountPlanDeleter::operator()(MountPlan* p) const { delete p; }

namespace {

// --- plan ------------------------------------------------------------------------------------

// Files under /proc a container may have something mounted on (lxcfs and friends), as runc.
constexpr std::string_view kProcMountable[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",    "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

bool proc_mountable(std::string_view dest) {
    for (auto p : kProcMountable)
        if (dest == p) return true;
    return false;
}

bool under(std::string_view path, std::string_view dir) {
    return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

MountKind kind_of(const oci::Mount& m, const MountOptions& o) {
    if (o.bind()) return MountKind::bind;
    if (m.type == "proc") return MountKind::proc;
    if (m.type == "sysfs") return MountKind::sysfs;
    if (m.type == "devpts") return MountKind::devpts;
    if (m.type == "mqueue") return MountKind::mqueue;
    if (m.type == "tmpfs") return MountKind::tmpfs;
    if (m.type == "cgroup") return MountKind::cgroup;
    return MountKind::other;
}

Status check_mappings(const std::vector<oci::IdMapping>& maps, std::string_view where) {
    for (size_t i = 0; i < maps.size(); ++i) {
        const auto& m = maps[i];
        if (m.size == 0) return fail_msg(cat(where, "[", i, "].size: must not be 0"));
        if (uint64_t(m.container_id) + m.size - 1 > UINT32_MAX || uint64_t(m.host_id) + m.size - 1 > UINT32_MAX)
            return fail_msg(cat(where, "[", i, "]: the range overflows 32-bit ids"));
    }
    return {};
}

Result<MountStep> plan_mount(const oci::Mount& m, size_t i, const RootfsFacts& facts, const oci::Spec& spec) {
    auto at = [&](const char* field) { return cat(".mounts[", i, "]", field); };
    if (m.destination.empty()) return fail_msg(cat(at(".destination"), ": required"));

    MountStep s;
    s.index = i;
    // Relative destinations are deprecated but allowed, relative to "/" (runtime-spec 1.2, runc).
    s.destination = fs::clean(m.destination[0] == '/' ? m.destination : cat("/", m.destination));
    s.opts = HULL_TRY(parse_mount_options(m.options, m.type == "bind", at(".options")));
    s.kind = kind_of(m, s.opts);

    if (s.kind == MountKind::bind) {
        if (m.source.empty()) return fail_msg(cat(at(".source"), ": a bind mount needs a source"));
        // Bind sources are host paths; relative ones are relative to the bundle.
        s.source = m.source[0] == '/' ? fs::clean(m.source) : fs::clean(fs::join(facts.bundle, m.source));
    } else {
        if (m.type.empty())
            return fail_msg(cat(at(".type"), ": required for a mount that is not a bind mount"));
        s.type = m.type;
        s.source = m.source.empty() ? m.type : m.source;
    }

    if (s.opts.tmpcopyup && s.kind != MountKind::tmpfs)
        return fail_msg(cat(at(".options"), ": `tmpcopyup` applies only to tmpfs mounts"));

    // Nothing but a proc filesystem goes on /proc, and under it only the files lxcfs-style tools
    // replace (runc's rule); the resolved target is checked again at mount time.
    if (s.kind != MountKind::proc) {
        if (s.destination == "/proc" && s.kind != MountKind::bind)
            return fail_msg(cat(at(".destination"), ": only a proc filesystem may be mounted on `/proc`"));
        if (under(s.destination, "/proc") && s.destination != "/proc" && !proc_mountable(s.destination))
            return fail_msg(cat(at(".destination"), ": ", q(s.destination), " is inside `/proc`"));
    }

    bool has_maps = !m.uid_mappings.empty() || !m.gid_mappings.empty();
    if (has_maps) {
        if (m.uid_mappings.empty()) return fail_msg(cat(at(".uidMappings"), ": required with gidMappings"));
        if (m.gid_mappings.empty()) return fail_msg(cat(at(".gidMappings"), ": required with uidMappings"));
        HULL_TRY(check_mappings(m.uid_mappings, at(".uidMappings")));
        HULL_TRY(check_mappings(m.gid_mappings, at(".gidMappings")));
        // Mappings without "idmap"/"ridmap" still ask for an idmapped mount (runc does the same).
        if (s.opts.idmap == IdmapMode::none) s.opts.idmap = IdmapMode::top;
        s.uid_mappings = m.uid_mappings;
        s.gid_mappings = m.gid_mappings;
    }
    if (s.opts.idmap != IdmapMode::none) {
        if (s.kind != MountKind::bind)
            return fail_msg(cat(at(".options"), ": idmapped mounts (`idmap`, `ridmap`, uidMappings) are only "
                                                "supported for bind mounts"));
        bool container_maps =
            spec.linux && !spec.linux->uid_mappings.empty() && !spec.linux->gid_mappings.empty();
        if (!has_maps && !container_maps)
            return fail_msg(cat(at(".options"), ": an idmapped mount without uidMappings and gidMappings takes "
                                                "the container's, and it has none"));
    }
    return s;
}

Result<std::string> plan_path(const std::string& p, std::string_view where) {
    if (p.empty() || p[0] != '/') return fail_msg(cat(where, ": ", q(p), " is not an absolute path"));
    return fs::clean(p);
}

// --- init side helpers -----------------------------------------------------------------------

bool is_procfs(FdRef fd) {
    struct statfs sfs;
    return ::fstatfs(fd.get(), &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

// The resolved target must not be in a procfs (a symlink in the image could point a mount
// destination there) unless it is one of the files that may be replaced.
Status check_proc_target(FdRef target, const MountStep& step) {
    if (step.kind == MountKind::proc || !is_procfs(target)) return {};
    if (proc_mountable(step.destination)) return {};
    return fail(Error(EPERM, cat(q(step.destination), " resolves into a proc filesystem, where nothing but a "
                                                      "few lxcfs-style files may be mounted over")));
}

// Makes a bind mount's per-mount flags what its options ask for, the way runc does: exactly the
// requested flags (mount --bind -o ...), or with "remount", the source's plus the requested ones
// (mount --bind -o remount,...). Where the kernel refuses to clear a flag locked on a mount
// inherited into a user namespace, the source's lockable flags are kept -- unless the user
// explicitly cleared one of them or asked for a different atime, which cannot be honoured.
Status set_bind_flags(FdRef mnt, const MountOptions& o, bool use_setattr) {
    auto source_flags = [&]() -> Result<unsigned long> {
        struct statfs sfs;
        if (::fstatfs(mnt.get(), &sfs) < 0) return fail_sys("statfs the bind source");
        return statfs_mount_flags(sfs.f_flags);
    };
    auto apply = [&](unsigned long flags) -> Status {
        if (use_setattr) {
            auto a = exact_mount_attrs(flags);
            return ops::set_attrs(mnt, a.set, a.clear, false);
        }
        return ops::remount_fd(mnt, flags & kPerMountFlags);
    };

    unsigned long flags = o.flags & kPerMountFlags;
    if (o.flags & MS_REMOUNT) {
        unsigned long src = HULL_TRY(source_flags());
        if (flags & kAtimeFlags) src &= ~kAtimeFlags;
        flags |= src & kPerMountFlags & ~o.cleared;
    }
    auto r = apply(flags);
    if (r || r.error().code() != EPERM) return r;

    unsigned long src = HULL_TRY(source_flags());
    if (src & o.cleared & kLockableFlags) return r;
    if ((flags & kAtimeFlags) && (flags & kAtimeFlags) != (src & kAtimeFlags)) return r;
    return apply(flags | (src & kLockableFlags));
}

// A mount's root, or only a filesystem's directory? A fresh mount is always the former; this
// guards against looking up the mount point again and landing on something else.
Status check_new_mount(FdRef mnt, FdRef under) {
    struct stat a, b;
    if (::fstat(mnt.get(), &a) < 0 || ::fstat(under.get(), &b) < 0) return fail_sys("stat the new mount");
    if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return fail(Error(EIO, "the mount is not visible at its destination"));
    return {};
}

Status mount_bind(MountPlan& plan, MountStep& step) {
    const std::string ctx = describe(step);
    UniqueFd tree;
    if (step.opts.idmap != IdmapMode::none) {
        if (step.idmapped_tree) {
            tree = std::move(step.idmapped_tree);
        } else if (!plan.facts.user_ns) {
            const auto& uids = step.uid_mappings.empty() ? plan.container_uid_mappings : step.uid_mappings;
            const auto& gids = step.gid_mappings.empty() ? plan.container_gid_mappings : step.gid_mappings;
            tree = HULL_TRY_CTX(idmapped_tree(step, uids, gids), ctx);
        } else {
            return fail_msg(cat(ctx, ": an idmapped mount in a user namespace needs its source prepared by the "
                                     "runtime before the namespace is entered (prepare_idmapped_sources)"));
        }
    } else {
        tree = HULL_TRY_CTX(ops::clone_tree(step.source, step.opts.recursive()), ctx);
    }

    struct stat st;
    if (::fstat(tree.get(), &st) < 0) return fail_sys(cat(ctx, ": stat the source"));
    if (step.destination == "/proc" && !is_procfs(tree))
        return fail_msg(cat(ctx, ": only a proc filesystem may be mounted on `/proc`"));
    auto kind = S_ISDIR(st.st_mode) ? pathres::Kind::directory : pathres::Kind::file;
    auto target = HULL_TRY_CTX(pathres::create_in_root(plan.root, step.destination, kind), ctx);
    HULL_TRY_CTX(check_proc_target(target, step), ctx);

    // runc remounts only when some flag was asked for; otherwise the source's flags stay.
    const auto& o = step.opts;
    bool set_flags = (o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0 || o.cleared != 0;
    bool setattr = ops::have_mount_setattr();
    // With mount_setattr the flags are set on the detached tree: it is never visible without them.
    if (set_flags && setattr) HULL_TRY_CTX(set_bind_flags(tree, o, true), ctx);
    HULL_TRY_CTX(ops::attach(tree, target), ctx);
    // Attached, the tree's descriptor is the new mount's root.
    if (set_flags && !setattr) HULL_TRY_CTX(set_bind_flags(tree, o, false), ctx);
    for (auto p : o.propagation) HULL_TRY_CTX(ops::set_propagation(tree, p), ctx);
    if (o.has_rec_attrs()) HULL_TRY_CTX(ops::set_attrs(tree, o.rec_set, o.rec_clear, true), ctx);
    return {};
}

// The target of a proc or sysfs mount must be a plain directory, never a symlink (runc's rule;
// those are the filesystems a symlink-exchange attack wants to move).
Result<UniqueFd> plain_directory(FdRef root, const MountStep& step) {
    auto parent = HULL_TRY(pathres::open_parent_in_root(root, step.destination, true));
    for (int attempt = 0; attempt < 2; ++attempt) {
        UniqueFd fd(::openat(parent.dir.get(), parent.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            if (errno != ENOENT) return fail_sys(cat("open ", q(step.destination)));
            if (::mkdirat(parent.dir.get(), parent.name.c_str(), 0755) < 0 && errno != EEXIST)
                return fail_sys(cat("mkdir ", q(step.destination)));
            continue;
        }
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) return fail_sys(cat("stat ", q(step.destination)));
        if (!S_ISDIR(st.st_mode))
            return fail(Error(ENOTDIR, cat(q(step.type), " must be mounted on an ordinary directory, and ",
                                           q(step.destination), " is not one")));
        return fd;
    }
    return fail(Error(ENOENT, cat("create ", q(step.destination))));
}

// sysfs cannot be mounted in a user namespace that does not own the network namespace: bind
// the host's /sys instead, recursively, with the flags asked for (crun's and runc's fallback).
Status bind_host_sys(FdRef target, const MountStep& step) {
    auto tree = HULL_TRY(ops::clone_tree("/sys", true));
    unsigned long flags = step.opts.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    bool setattr = ops::have_mount_setattr();
    if (flags && setattr) HULL_TRY(ops::set_attrs(tree, exact_mount_attrs(flags).set, 0, true));
    HULL_TRY(ops::attach(tree, target));
    if (flags && !setattr) {
        struct statfs sfs;
        if (::fstatfs(tree.get(), &sfs) < 0) return fail_sys("statfs `/sys`");
        HULL_TRY(ops::remount_fd(tree, flags | (statfs_mount_flags(sfs.f_flags) & kLockableFlags)));
    }
    return {};
}

Status mount_fs(MountPlan& plan, MountStep& step) {
    const std::string ctx = describe(step);
    UniqueFd target;
    bool existed = false;
    if (step.kind == MountKind::proc || step.kind == MountKind::sysfs) {
        target = HULL_TRY_CTX(plain_directory(plan.root, step), ctx);
    } else if (auto r = pathres::open_in_root(plan.root, step.destination)) {
        target = std::move(*r);
        existed = true;
    } else if (r.error().code() == ENOENT) {
        target = HULL_TRY_CTX(pathres::create_in_root(plan.root, step.destination, pathres::Kind::directory), ctx);
    } else {
        return fail(std::move(r.error()).context(ctx));
    }
    HULL_TRY_CTX(check_proc_target(target, step), ctx);

    const auto& o = step.opts;
    std::string data = o.data;
    if (step.kind == MountKind::tmpfs && existed) {
        // Keep the directory's mode (runc does); a mode= option, later, still wins.
        struct stat st;
        if (::fstat(target.get(), &st) < 0) return fail_sys(cat(ctx, ": stat the destination"));
        char mode[16];
        std::snprintf(mode, sizeof mode, "mode=%04o", st.st_mode & 07777);
        data = data.empty() ? std::string(mode) : cat(mode, ",", data);
    }

    unsigned long flags = o.flags & ~(MS_BIND | MS_REC);
    uint64_t rec_set = o.rec_set;
    // A tmpfs may need chmod and tmpcopyup, and /dev needs its devices: make them read-only
    // last, in finalize_rootfs (as runc).
    if (step.kind == MountKind::tmpfs || step.destination == "/dev") {
        if (flags & MS_RDONLY) {
            step.defer_readonly = true;
            flags &= ~MS_RDONLY;
        }
        if (rec_set & MOUNT_ATTR_RDONLY) {
            step.defer_rec_readonly = true;
            rec_set &= ~static_cast<uint64_t>(MOUNT_ATTR_RDONLY);
        }
    }

    auto mounted = ops::mount_on(step.source.c_str(), target, step.type.c_str(), flags,
                                 data.empty() ? nullptr : data.c_str(), ctx);
    if (!mounted) {
        if (step.kind == MountKind::sysfs && mounted.error().code() == EPERM && plan.facts.user_ns)
            HULL_TRY_CTX(bind_host_sys(target, step), cat(ctx, ": bind the host's `/sys` instead"));
        else
            return mounted;
    }

    // The new mount's root: the destination looked up again now lands on it.
    auto mnt = HULL_TRY_CTX(pathres::open_in_root(plan.root, step.destination), ctx);
    if (!(flags & MS_REMOUNT)) HULL_TRY_CTX(check_new_mount(mnt, target), ctx);
    if (o.tmpcopyup) HULL_TRY_CTX(copy_tree(target, mnt), cat(ctx, ": tmpcopyup"));
    for (auto p : o.propagation) HULL_TRY_CTX(ops::set_propagation(mnt, p), ctx);
    if (rec_set || o.rec_clear) HULL_TRY_CTX(ops::set_attrs(mnt, rec_set, o.rec_clear, true), ctx);
    if (step.defer_readonly || step.defer_rec_readonly) step.mounted = std::move(mnt);
    return {};
}

Status make_parent_private(const std::string& rootfs) {
    auto mounts = HULL_TRY_CTX(read_mountinfo(), "read `/proc/self/mountinfo`");
    const MountInfo* parent = mount_containing(mounts, rootfs);
    if (!parent) return fail_msg(cat("no mount holds the rootfs ", q(rootfs)));
    // pivot_root refuses a new root whose parent mount is shared, and a shared parent would
    // carry the rootfs bind back into the host's namespace.
    if (parent->optional.find("shared:") == std::string::npos) return {};
    if (::mount(nullptr, parent->mount_point.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
        return fail_sys(cat("make ", q(parent->mount_point), " private"));
    return {};
}

// A private clone of the host's /dev/null, checked to be the null device, taken before
// pivot_root: masking binds from it, never from the container's /dev/null, which the image or
// a racing process could have replaced with a link to something sensitive (CVE-2025-31133).
Result<UniqueFd> checked_dev_null() {
    auto tree = HULL_TRY_CTX(ops::clone_tree("/dev/null", false), "clone the host's `/dev/null`");
    struct stat st;
    if (::fstat(tree.get(), &st) < 0) return fail_sys("stat the host's `/dev/null`");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        return fail_msg("the host's `/dev/null` is not the null device (char 1:3)");
    return tree;
}

Status make_readonly(FdRef mnt, bool recursive) {
    if (ops::have_mount_setattr()) return ops::set_attrs(mnt, MOUNT_ATTR_RDONLY, 0, recursive);
    struct statfs sfs;
    if (::fstatfs(mnt.get(), &sfs) < 0) return fail_sys("statfs");
    return ops::remount_fd(mnt, MS_RDONLY | (statfs_mount_flags(sfs.f_flags) & kPerMountFlags));
}

Status readonly_path(FdRef root, const std::string& path) {
    auto fd = pathres::open_in_root(root, path);
    if (!fd) {
        if (fd.error().code() == ENOENT) return {};
        return fail(std::move(fd.error()));
    }
    if (ops::have_mount_setattr()) {
        // Clone, make read-only (everything under it too), then attach: never writable there.
        auto tree = HULL_TRY(ops::clone_tree(*fd, "", true));
        HULL_TRY(ops::set_attrs(tree, MOUNT_ATTR_RDONLY, 0, true));
        return ops::attach(tree, *fd);
    }
    std::string p = pathres::proc_fd_path(fd->get());
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) return fail_sys("bind");
    auto mnt = HULL_TRY(pathres::open_in_root(root, path));
    return make_readonly(mnt, false);
}

Status mask_path(MountPlan& plan, const std::string& path) {
    auto fd = pathres::open_in_root(plan.root, path);
    if (!fd) {
        if (fd.error().code() == ENOENT) return {};
        return fail(std::move(fd.error()));
    }
    struct stat st;
    if (::fstat(fd->get(), &st) < 0) return fail_sys("stat");
    if (S_ISDIR(st.st_mode)) {
        auto tmpfs = HULL_TRY(ops::empty_readonly_tmpfs());
        return ops::attach(tmpfs, *fd);
    }
    if (!plan.dev_null)
        return fail_msg(plan.dev_null_error.empty() ? "no checked `/dev/null` to mask with (prepare_rootfs did not run)"
                                                    : plan.dev_null_error);
    if (!plan.dev_null_attached) {
        HULL_TRY(ops::attach(plan.dev_null, *fd));
        plan.dev_null_attached = true;
        return {};
    }
    // Attached, it is a mount of our namespace, which open_tree can clone again.
    auto copy = HULL_TRY(ops::clone_tree(plan.dev_null, "", false));
    return ops::attach(copy, *fd);
}

Status pivot(MountPlan& plan) {
    UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!old_root) return fail_sys("open `/`");
    if (::fchdir(plan.root.get()) < 0) return fail_sys(cat("chdir to the rootfs ", q(plan.facts.rootfs)));
    // pivot_root(".", ".") stacks the old root on the new one at "."; unmounting "." then drops
    // it, with no put_old directory in the rootfs (LXC's and runc's trick).
    if (sys::pivot_root(".", ".") < 0) return fail_sys(cat("pivot_root to ", q(plan.facts.rootfs)));
    if (::fchdir(old_root.get()) < 0) return fail_sys("chdir to the old root");
    // Slave first, so the unmounts below do not propagate to the host.
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) return fail_sys("make the old root rslave");
    if (::umount2(".", MNT_DETACH) < 0) return fail_sys("detach the old root");
    if (::chdir("/") < 0) return fail_sys("chdir to `/`");
    return {};
}

// --no-pivot: move the rootfs over "/" and chroot into it. The host's full proc and sysfs
// mounts stay reachable in this mount namespace, so drop (or cover) them first, as runc does:
// the kernel lets a namespace mount procfs only where a full one is already visible.
Status move_root(MountPlan& plan) {
    const std::string& rootfs = plan.facts.rootfs;
    auto mounts = HULL_TRY_CTX(read_mountinfo(), "read `/proc/self/mountinfo`");
    for (const auto& m : mounts) {
        if (m.root != "/" || (m.fstype != "proc" && m.fstype != "sysfs") || under(m.mount_point, rootfs)) continue;
        const char* mp = m.mount_point.c_str();
        if (::mount(nullptr, mp, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
            if (errno == ENOENT) continue;  // gone with a parent already
            return fail_sys(cat("make ", q(m.mount_point), " rslave"));
        }
        if (::umount2(mp, MNT_DETACH) < 0) {
            if (errno != EINVAL && errno != EPERM) return fail_sys(cat("unmount ", q(m.mount_point)));
            if (::mount("tmpfs", mp, "tmpfs", 0, nullptr) < 0) return fail_sys(cat("cover ", q(m.mount_point)));
        }
    }
    if (::fchdir(plan.root.get()) < 0) return fail_sys(cat("chdir to the rootfs ", q(rootfs)));
    if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) < 0) return fail_sys(cat("move ", q(rootfs), " to `/`"));
    if (::chroot(".") < 0) return fail_sys("chroot");
    if (::chdir("/") < 0) return fail_sys("chdir to `/`");
    return {};
}

Result<UniqueFd> open_root() {
    UniqueFd fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_sys("open `/`");
    return fd;
}

}  // namespace

std::string describe(const MountStep& step) {
    return cat("mount ", q(step.source.empty() ? step.type : step.source), " on ", q(step.destination));
}

Status mount_step(MountPlan& plan, MountStep& step) {
    switch (step.kind) {
    case MountKind::bind: return mount_bind(plan, step);
    case MountKind::cgroup: return mount_cgroup(plan, step);
    default: return mount_fs(plan, step);
    }
}

Result<MountPlanPtr> plan_rootfs(const oci::Spec& spec, const RootfsFacts& facts) {
    MountPlanPtr plan(new MountPlan);
    plan->facts = facts;
    if (facts.rootfs.empty() || facts.rootfs[0] != '/')
        return fail_msg(cat(".root.path: the rootfs must be an absolute path, not ", q(facts.rootfs)));

    if (auto overlay = HULL_TRY(parse_overlay_annotation(spec))) {
        const std::string ctx = cat("annotation ", q(kOverlayAnnotation));
        if (!facts.new_mount_ns)
            return fail_msg(cat(ctx, ": the overlay root needs a mount namespace (linux.namespaces has no `mount`)"));
        if (facts.user_ns)
            return fail_msg(cat(ctx, ": not supported with a user namespace (an overlay mounted there cannot read "
                                     "the layers' trusted.overlay.* xattrs)"));
        struct stat st;
        if (::stat(facts.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
            return fail_msg(cat(ctx, ": .root.path ", q(facts.rootfs), " must be a directory (the mount point)"));
        long page = ::sysconf(_SC_PAGESIZE);
        plan->overlay = HULL_TRY(plan_overlay(std::move(*overlay), facts.overlay_legacy,
                                              page > 0 ? static_cast<size_t>(page) : 4096));
    }

    const oci::Linux* lx = spec.linux ? &*spec.linux : nullptr;
    if (lx) {
        if (unsigned long p = propagation_flags(lx->rootfs_propagation)) {
            // An unbindable `/` would refuse the bind of the rootfs onto itself: stay private
            // until after the pivot, then apply it.
            plan->root_propagation = (p & MS_UNBINDABLE) ? (MS_PRIVATE | MS_REC) : p;
            // MS_PRIVATE needs nothing after the pivot: the parent was made private already.
            if (!(p & MS_PRIVATE)) plan->pivot_propagation = p;
        }
        plan->container_uid_mappings = lx->uid_mappings;
        plan->container_gid_mappings = lx->gid_mappings;
    }

    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        plan->mounts.push_back(HULL_TRY(plan_mount(spec.mounts[i], i, facts, spec)));
        const MountStep& s = plan->mounts.back();
        if (s.kind == MountKind::bind && s.destination == "/dev") plan->setup_dev = false;
    }
    if (lx) {
        for (size_t i = 0; i < lx->masked_paths.size(); ++i)
            plan->masked_paths.push_back(HULL_TRY(plan_path(lx->masked_paths[i], cat(".linux.maskedPaths[", i, "]"))));
        for (size_t i = 0; i < lx->readonly_paths.size(); ++i)
            plan->readonly_paths.push_back(
                HULL_TRY(plan_path(lx->readonly_paths[i], cat(".linux.readonlyPaths[", i, "]"))));
    }
    plan->devices = HULL_TRY(plan_devices(lx ? lx->devices : std::vector<oci::Device>{}));
    plan->readonly_root = spec.root.readonly;

    if (!facts.new_mount_ns) {
        // Sharing the runtime's mount namespace: nothing may be mounted or created, that would
        // land on the host. The init only chroots; what the spec asked of the filesystem is
        // left undone, and said so (runc and crun accept such configs the same way).
        bool asked = !spec.mounts.empty() || !plan->masked_paths.empty() || !plan->readonly_paths.empty() ||
                     (lx && !lx->devices.empty()) || plan->readonly_root ||
                     (lx && lx->rootfs_propagation != oci::Propagation::unset);
        if (asked)
            log::warn("no mount namespace in linux.namespaces: mounts, devices, masked and read-only paths are "
                      "not applied; the process is only chrooted into root.path");
        plan->mounts.clear();
        plan->masked_paths.clear();
        plan->readonly_paths.clear();
        plan->readonly_root = false;
        plan->root_propagation = plan->pivot_propagation = 0;
        plan->setup_dev = false;
        plan->devices.clear();
    }
    return plan;
}

Status prepare_idmapped_sources(MountPlan& plan) {
    for (auto& step : plan.mounts) {
        if (step.opts.idmap == IdmapMode::none || step.idmapped_tree) continue;
        const auto& uids = step.uid_mappings.empty() ? plan.container_uid_mappings : step.uid_mappings;
        const auto& gids = step.gid_mappings.empty() ? plan.container_gid_mappings : step.gid_mappings;
        step.idmapped_tree = HULL_TRY_CTX(idmapped_tree(step, uids, gids), describe(step));
    }
    return {};
}

Status prepare_rootfs(MountPlan& plan) {
    if (!plan.facts.new_mount_ns) return {};
    const std::string& rootfs = plan.facts.rootfs;

    // Before anything: host mount events may come in (rslave by default), ours never go out.
    if (::mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) < 0)
        return fail_sys("set the mount propagation of `/`");
    HULL_TRY(make_parent_private(rootfs));
    if (plan.overlay) {
        // The overlay is the mount point pivot_root needs; its root is where the spec's mounts go.
        plan.root = HULL_TRY_CTX(mount_overlay_root(*plan.overlay, rootfs),
                                 cat("mount the overlay root on ", q(rootfs), " (annotation ", q(kOverlayAnnotation), ")"));
    } else {
        // pivot_root needs the rootfs to be a mount point.
        if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            return fail_sys(cat("bind the rootfs ", q(rootfs), " onto itself"));
        // Opened after the bind, so lookups start on the new mount, where the spec's mounts go.
        plan.root.reset(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!plan.root) return fail_sys(cat("open the rootfs ", q(rootfs)));
    }

    for (auto& step : plan.mounts) HULL_TRY(mount_step(plan, step));

    if (plan.setup_dev) {
        HULL_TRY(create_devices(plan.root, plan.devices, plan.facts.user_ns));
        HULL_TRY(setup_ptmx(plan.root));
        HULL_TRY(create_dev_symlinks(plan.root));
    }
    if (!plan.masked_paths.empty() && !plan.dev_null) {
        // Only a masked file needs it: a host without a proper /dev/null fails then, not here.
        if (auto n = checked_dev_null()) plan.dev_null = std::move(*n);
        else plan.dev_null_error = n.error().message();
    }
    return {};
}

Status enter_rootfs(MountPlan& plan) {
    if (!plan.root) {
        plan.root.reset(::open(plan.facts.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!plan.root) return fail_sys(cat("open the rootfs ", q(plan.facts.rootfs)));
    }
    if (!plan.facts.new_mount_ns) {
        if (::fchdir(plan.root.get()) < 0) return fail_sys(cat("chdir to the rootfs ", q(plan.facts.rootfs)));
        if (::chroot(".") < 0) return fail_sys(cat("chroot to ", q(plan.facts.rootfs)));
        if (::chdir("/") < 0) return fail_sys("chdir to `/`");
    } else if (plan.facts.no_pivot) {
        HULL_TRY(move_root(plan));
    } else {
        HULL_TRY(pivot(plan));
    }
    plan.root = HULL_TRY(open_root());
    // After the pivot, not before: on the old root it would reach the host's mounts.
    if (plan.pivot_propagation && ::mount(nullptr, "/", nullptr, plan.pivot_propagation, nullptr) < 0)
        return fail_sys("apply rootfsPropagation to `/`");
    return {};
}

Status finalize_rootfs(MountPlan& plan) {
    if (!plan.facts.new_mount_ns) return {};
    if (!plan.root) plan.root = HULL_TRY(open_root());

    for (auto& step : plan.mounts) {
        if (!step.mounted) continue;
        if (step.defer_readonly)
            HULL_TRY_CTX(make_readonly(step.mounted, false), cat("make ", q(step.destination), " read-only"));
        if (step.defer_rec_readonly)
            HULL_TRY_CTX(make_readonly(step.mounted, true), cat("make ", q(step.destination), " read-only (rro)"));
        step.mounted.reset();
    }
    if (plan.readonly_root) HULL_TRY_CTX(make_readonly(plan.root, false), "make the rootfs read-only");
    for (const auto& p : plan.readonly_paths) HULL_TRY_CTX(readonly_path(plan.root, p), cat("make ", q(p), " read-only"));
    for (const auto& p : plan.masked_paths) HULL_TRY_CTX(mask_path(plan, p), cat("mask ", q(p)));
    plan.dev_null.reset();
    return {};
}

Status mount_console(const std::string& slave_path) {
    const std::string ctx = cat("bind the terminal ", q(slave_path), " over `/dev/console`");
    auto root = HULL_TRY_CTX(open_root(), ctx);
    auto slave = HULL_TRY_CTX(pathres::open_in_root(root, slave_path), ctx);
    struct stat st;
    if (::fstat(slave.get(), &st) < 0) return fail_sys(cat(ctx, ": stat"));
    if (!S_ISCHR(st.st_mode)) return fail_msg(cat(ctx, ": ", q(slave_path), " is not a terminal"));
    auto console = HULL_TRY_CTX(
        pathres::create_in_root(root, "/dev/console", pathres::Kind::file, 0755, 0600), ctx);
    auto tree = HULL_TRY_CTX(ops::clone_tree(slave, "", false), ctx);
    HULL_TRY_CTX(ops::attach(tree, console), ctx);
    return {};
}

}  // namespace hull::runtime::linux
