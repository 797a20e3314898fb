// The spec's "cgroup" mount. On a cgroup v2 host: cgroup2 itself (a bind of the host's when a
// user namespace without a cgroup namespace may not mount it). On a v1 or hybrid host, runc's
// layout: a tmpfs at the destination, and in it one directory per hierarchy, bound from the
// container's own cgroup in that hierarchy (or, in a cgroup namespace, a fresh mount of the
// hierarchy); merged hierarchies get a symlink per controller ("cpu" -> "cpu,cpuacct"). The
// hybrid host's "unified" cgroup2 hierarchy is included, as crun does.
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/linux/pathres.hpp"
#include "runtime/linux/rootfs_mountinfo.hpp"
#include "runtime/linux/rootfs_ops.hpp"
#include "runtime/linux/rootfs_plan.hpp"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

namespace hull::runtime::linux {

namespace {

constexpr unsigned long kCgroupFlags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

bool unified_host() {
    struct statfs sfs;
    return ::statfs(kCgroupRoot, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

// One line of /proc/self/cgroup: "hierarchy-id:controller,list:/path".
struct OwnCgroup {
    std::vector<std::string> controllers;  // empty for the cgroup2 line
    std::string path;
};

Result<std::vector<OwnCgroup>> own_cgroups() {
    auto text = HULL_TRY_CTX(fs::read_file("/proc/self/cgroup"), "read `/proc/self/cgroup`");
    std::vector<OwnCgroup> out;
    for (const auto& line : split(text, '\n')) {
        auto a = line.find(':');
        if (a == std::string::npos) continue;
        auto b = line.find(':', a + 1);
        if (b == std::string::npos) continue;
        OwnCgroup c;
        std::string ctrls = line.substr(a + 1, b - a - 1);
        if (!ctrls.empty()) c.controllers = split(ctrls, ',');
        c.path = line.substr(b + 1);
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<std::string> super_options(const MountInfo& m) {
    std::vector<std::string> out;
    for (auto& o : split(m.super_options, ','))
        if (!o.empty() && o != "rw" && o != "ro" && !starts_with(o, "release_agent=")) out.push_back(std::move(o));
    return out;
}

std::optional<std::string> own_path(const std::vector<OwnCgroup>& own, const MountInfo& m) {
    if (m.fstype == "cgroup2") {
        for (const auto& c : own)
            if (c.controllers.empty()) return c.path;
        return std::nullopt;
    }
    auto opts = super_options(m);
    for (const auto& c : own) {
        if (c.controllers.empty()) continue;
        bool all = std::all_of(c.controllers.begin(), c.controllers.end(),
                               [&](const std::string& x) { return std::find(opts.begin(), opts.end(), x) != opts.end(); });
        if (all) return c.path;
    }
    return std::nullopt;
}

bool path_under(std::string_view path, std::string_view dir) {
    if (dir == "/") return true;
    return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

std::string basename_of(const std::string& p) {
    auto s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

// The host directory of the container's cgroup in the hierarchy mounted at `m`.
Result<std::string> host_dir(const MountInfo& m, const std::string& own) {
    if (!path_under(own, m.root))
        return fail_msg(cat("the container's cgroup ", q(own), " is not under the root ", q(m.root), " of the ",
                            q(m.mount_point), " mount"));
    std::string rel = m.root == "/" ? own : own.substr(m.root.size());
    return fs::clean(fs::join(m.mount_point, rel));
}

Status make_mount_readonly(FdRef mnt) {
    if (ops::have_mount_setattr()) return ops::set_attrs(mnt, MOUNT_ATTR_RDONLY, 0, false);
    return ops::remount_fd(mnt, kCgroupFlags | MS_RDONLY);
}

Status mount_v2(MountPlan& plan, MountStep& step) {
    MountStep fresh;
    fresh.index = step.index;
    fresh.kind = MountKind::other;
    fresh.destination = step.destination;
    fresh.source = step.source;
    fresh.type = "cgroup2";
    fresh.opts = step.opts;
    auto r = mount_step(plan, fresh);
    if (r) return r;
    int e = r.error().code();
    if (e != EPERM && e != EBUSY) return r;

    // A user namespace without a cgroup namespace cannot mount cgroup2: bind the host's (the
    // container's own cgroup only, in a cgroup namespace), as runc does.
    MountStep bind;
    bind.index = step.index;
    bind.kind = MountKind::bind;
    bind.destination = step.destination;
    bind.source = kCgroupRoot;
    if (plan.facts.new_cgroup_ns) {
        auto own = HULL_TRY(own_cgroups());
        auto mounts = HULL_TRY_CTX(read_mountinfo(), "read `/proc/self/mountinfo`");
        for (const auto& m : mounts)
            if (m.fstype == "cgroup2" && m.mount_point == kCgroupRoot)
                if (auto p = own_path(own, m)) bind.source = HULL_TRY(host_dir(m, *p));
    }
    bind.opts = step.opts;
    bind.opts.flags |= MS_BIND;
    return mount_step(plan, bind);
}

Status mount_v1(MountPlan& plan, MountStep& step) {
    auto mounts = HULL_TRY_CTX(read_mountinfo(), "read `/proc/self/mountinfo`");
    auto own = HULL_TRY(own_cgroups());

    MountStep tmpfs;
    tmpfs.index = step.index;
    tmpfs.kind = MountKind::tmpfs;
    tmpfs.destination = step.destination;
    tmpfs.source = "tmpfs";
    tmpfs.type = "tmpfs";
    tmpfs.opts.flags = kCgroupFlags;
    tmpfs.opts.data = "mode=755";
    tmpfs.opts.propagation = step.opts.propagation;
    HULL_TRY(mount_step(plan, tmpfs));

    std::vector<std::string> done;
    for (const auto& m : mounts) {
        bool v1 = m.fstype == "cgroup";
        bool unified = m.fstype == "cgroup2" && path_under(m.mount_point, kCgroupRoot) && m.mount_point != kCgroupRoot;
        if (!v1 && !unified) continue;
        if (path_under(m.mount_point, plan.facts.rootfs)) continue;  // ours, not the host's
        std::string name = basename_of(m.mount_point);
        if (name.empty() || std::find(done.begin(), done.end(), name) != done.end()) continue;
        auto own_dir = own_path(own, m);
        if (!own_dir) continue;  // a hierarchy this process is not in
        done.push_back(name);
        std::string dest = fs::join(step.destination, name);

        if (plan.facts.new_cgroup_ns) {
            // Our cgroup is the namespace's root: a fresh mount of the hierarchy shows just it.
            std::string what = cat("mount ", q(unified ? "cgroup2" : name), " on ", q(dest));
            auto target = HULL_TRY_CTX(pathres::create_in_root(plan.root, dest, pathres::Kind::directory), what);
            unsigned long flags = kCgroupFlags | (step.opts.flags & MS_RDONLY);
            std::string data = unified ? std::string() : join(super_options(m), ",");
            HULL_TRY(ops::mount_on(unified ? "cgroup2" : "cgroup", target, unified ? "cgroup2" : "cgroup", flags,
                                   data.empty() ? nullptr : data.c_str(), what));
        } else {
            MountStep b;
            b.index = step.index;
            b.kind = MountKind::bind;
            b.destination = dest;
            b.source = HULL_TRY(host_dir(m, *own_dir));
            b.opts.flags = MS_BIND | MS_REC | step.opts.flags;
            b.opts.propagation = step.opts.propagation;
            HULL_TRY(mount_step(plan, b));
        }
    }

    auto dir = HULL_TRY(pathres::open_in_root(plan.root, step.destination));
    for (const auto& name : done) {
        if (name.find(',') == std::string::npos) continue;
        for (const auto& ctrl : split(name, ','))
            if (::symlinkat(name.c_str(), dir.get(), ctrl.c_str()) < 0 && errno != EEXIST)
                return fail_sys(cat("symlink ", q(fs::join(step.destination, ctrl)), " -> ", q(name)));
    }
    if (step.opts.flags & MS_RDONLY) HULL_TRY_CTX(make_mount_readonly(dir), "make it read-only");
    return {};
}

}  // namespace

Status mount_cgroup(MountPlan& plan, MountStep& step) {
    if (unified_host()) return mount_v2(plan, step);
    auto r = mount_v1(plan, step);
    if (!r) return fail(std::move(r.error()).context(describe(step)));
    return r;
}

}  // namespace hull::runtime::linux
