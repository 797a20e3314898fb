// Idmapped bind mounts: a user namespace holding the mount's mappings, and a detached clone of
// the source with MOUNT_ATTR_IDMAP set from it.
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/linux/rootfs_ops.hpp"
#include "runtime/linux/rootfs_plan.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hull::runtime::linux {

namespace {

std::string map_text(const std::vector<oci::IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps) out += cat(m.container_id, " ", m.host_id, " ", m.size, "\n");
    return out;
}

// A child parked in a new user namespace until released; killed and reaped on every path.
class Holder {
public:
    Holder() = default;
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;
    ~Holder() {
        release_.reset();
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    }

    Status start() {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) < 0) return fail_sys("pipe");
        UniqueFd rd(p[0]);
        release_.reset(p[1]);
        // A raw clone with fork semantics (no stack given): the child only blocks on a read and
        // exits, which is safe in a fork of any process.
        long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
        if (pid < 0) return fail_sys("clone a user namespace for the mapping");
        if (pid == 0) {
            char c;
            while (::read(rd.get(), &c, 1) < 0 && errno == EINTR) {
            }
            ::_exit(0);
        }
        pid_ = static_cast<pid_t>(pid);
        return {};
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    UniqueFd release_;
};

Result<UniqueFd> mapped_userns(const std::vector<oci::IdMapping>& uids, const std::vector<oci::IdMapping>& gids) {
    Holder h;
    HULL_TRY(h.start());
    std::string base = cat("/proc/", h.pid(), "/");
    HULL_TRY_CTX(fs::write_file(base + "uid_map", map_text(uids)), "write the mount's uid mappings");
    HULL_TRY_CTX(fs::write_file(base + "gid_map", map_text(gids)), "write the mount's gid mappings");
    return HULL_TRY(fs::open(base + "ns/user", O_RDONLY));
}

}  // namespace

Result<UniqueFd> idmapped_tree(const MountStep& step, const std::vector<oci::IdMapping>& uids,
                               const std::vector<oci::IdMapping>& gids) {
    if (uids.empty() || gids.empty()) return fail_msg("an idmapped mount needs uid and gid mappings");
    auto userns = HULL_TRY(mapped_userns(uids, gids));
    auto tree = HULL_TRY(ops::clone_tree(step.source, step.opts.recursive()));
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns.get());
    unsigned flags = AT_EMPTY_PATH;
    if (step.opts.idmap == IdmapMode::recursive) flags |= AT_RECURSIVE;
    if (sys::mount_setattr(tree.get(), "", flags, &attr, sizeof attr) < 0) {
        if (errno == ENOSYS) return fail(Error(ENOSYS, "idmapped mounts need Linux 5.12 or later"));
        if (errno == EINVAL)
            return fail(Error(EINVAL, "idmap the mount (does its filesystem support idmapped mounts?)"));
        return fail_sys("idmap the mount");
    }
    return tree;
}

}  // namespace hull::runtime::linux
