#include "runtime/linux/namespaces.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

namespace hull::runtime::linux {

bool NamespacePlan::joins(int flag) const {
    return std::any_of(join.begin(), join.end(), [&](const JoinedNamespace& j) { return j.clone_flag == flag; });
}

bool NamespacePlan::needs_two_stages() const { return !join.empty() || creates(CLONE_NEWTIME); }

static int join_order(int flag) {
    // The user namespace first (it grants the capabilities to join the others), the mount
    // namespace last (after it, host paths are gone).
    if (flag == CLONE_NEWUSER) return 0;
    if (flag == CLONE_NEWNS) return 2;
    return 1;
}

Result<NamespacePlan> plan_namespaces(const oci::Linux& lx) {
    NamespacePlan plan;
    for (size_t i = 0; i < lx.namespaces.size(); ++i) {
        const auto& ns = lx.namespaces[i];
        int flag = oci::clone_flag(ns.type);
        if (ns.path.empty()) {
            plan.new_flags |= flag;
            continue;
        }
        int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail_sys(cat("linux.namespaces[", i, "]: open ", oci::to_string(ns.type), " namespace ", q(ns.path)));
        UniqueFd owned(fd);
        int type = ::ioctl(fd, NS_GET_NSTYPE);
        if (type < 0)
            return fail(Error(EINVAL, cat("linux.namespaces[", i, "]: ", q(ns.path), " is not a namespace")));
        if (type != flag)
            return fail_msg(cat("linux.namespaces[", i, "]: ", q(ns.path), " is not a ", oci::to_string(ns.type),
                                " namespace"));
        plan.join.push_back({ns.type, flag, std::move(owned)});
    }
    std::stable_sort(plan.join.begin(), plan.join.end(), [](const JoinedNamespace& a, const JoinedNamespace& b) {
        return join_order(a.clone_flag) < join_order(b.clone_flag);
    });
    if (plan.creates(CLONE_NEWUSER)) {
        plan.uid_map = lx.uid_mappings;
        plan.gid_map = lx.gid_mappings;
        if (plan.uid_map.empty() || plan.gid_map.empty())
            return fail_msg("linux.uidMappings and linux.gidMappings are required with a new user namespace");
    } else if (!lx.uid_mappings.empty() || !lx.gid_mappings.empty()) {
        if (!plan.joins(CLONE_NEWUSER))
            return fail_msg("linux.uidMappings: mappings need a user namespace in linux.namespaces");
    }
    if (!lx.time_offsets.empty() && !plan.creates(CLONE_NEWTIME))
        return fail_msg("linux.timeOffsets: offsets need a new time namespace");
    plan.time_offsets = lx.time_offsets;
    return plan;
}

static std::string map_text(const std::vector<oci::IdMapping>& m) {
    std::string s;
    for (const auto& e : m) s += cat(e.container_id, " ", e.host_id, " ", e.size, "\n");
    return s;
}

Status write_id_maps(pid_t pid, const NamespacePlan& plan) {
    std::string base = cat("/proc/", pid, "/");
    if (::geteuid() != 0) {
        // Without CAP_SETGID in the parent namespace the kernel only takes a gid_map once
        // setgroups is denied.
        (void)fs::write_file(base + "setgroups", "deny");
    }
    HULL_TRY_CTX(fs::write_file(base + "uid_map", map_text(plan.uid_map)), "write uid mappings");
    HULL_TRY_CTX(fs::write_file(base + "gid_map", map_text(plan.gid_map)), "write gid mappings");
    return {};
}

int join_namespaces(const NamespacePlan& plan, size_t* failed) noexcept {
    for (size_t i = 0; i < plan.join.size(); ++i) {
        if (::setns(plan.join[i].fd.get(), plan.join[i].clone_flag) < 0) {
            *failed = i;
            return -errno;
        }
    }
    return 0;
}

Status write_time_offsets(const NamespacePlan& plan) {
    std::string text;
    for (const auto& [clock, off] : plan.time_offsets) text += cat(clock, " ", off.secs, " ", off.nanosecs, "\n");
    if (text.empty()) return {};
    HULL_TRY_CTX(fs::write_file("/proc/self/timens_offsets", text), "write time namespace offsets");
    return {};
}

Result<std::string> validate_sysctl(const std::string& key, const NamespacePlan& ns) {
    if (key.empty() || key.find("..") != std::string::npos || key.front() == '.' || key.front() == '/')
        return fail_msg(cat("linux.sysctl: invalid key ", q(key)));
    std::string path = "/proc/sys/";
    for (char c : key) path += (c == '.') ? '/' : c;
    static const char* const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                                           "kernel.shm_rmid_forced"};
    for (const char* k : ipc_keys)
        if (key == k) {
            if (!ns.has(CLONE_NEWIPC))
                return fail_msg(cat("linux.sysctl: ", q(key), " needs a private IPC namespace"));
            return path;
        }
    if (starts_with(key, "fs.mqueue.")) {
        if (!ns.has(CLONE_NEWIPC)) return fail_msg(cat("linux.sysctl: ", q(key), " needs a private IPC namespace"));
        return path;
    }
    if (starts_with(key, "net.")) {
        if (!ns.has(CLONE_NEWNET)) return fail_msg(cat("linux.sysctl: ", q(key), " needs a private network namespace"));
        return path;
    }
    if (key == "kernel.hostname" || key == "kernel.domainname") {
        if (!ns.has(CLONE_NEWUTS)) return fail_msg(cat("linux.sysctl: ", q(key), " needs a private UTS namespace"));
        return path;
    }
    return fail_msg(cat("linux.sysctl: ", q(key), " is not namespaced: it would change the host"));
}

}  // namespace hull::runtime::linux
