// Namespaces: which to create, which to join (opened by path in the parent, before any fork),
// uid/gid maps written by the parent, and time namespace offsets.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

#include <vector>

namespace hull::runtime::linux {

struct JoinedNamespace {
    oci::NamespaceType type{};
    int clone_flag = 0;
    UniqueFd fd;
};

struct NamespacePlan {
    int new_flags = 0;                     // CLONE_NEW* to create
    std::vector<JoinedNamespace> join;     // joined by path; user first, mount last
    std::vector<oci::IdMapping> uid_map, gid_map;
    std::map<std::string, oci::TimeOffset> time_offsets;

    bool creates(int flag) const { return (new_flags & flag) != 0; }
    bool joins(int flag) const;
    bool has(int flag) const { return creates(flag) || joins(flag); }
    // A single clone3 cannot do it: joined namespaces must be entered before new ones are
    // made, and a new time namespace needs its offsets written before its first process.
    bool needs_two_stages() const;
};

// Opens every namespace path (checking it is a namespace of the right type) and orders them.
Result<NamespacePlan> plan_namespaces(const oci::Linux& linux);

// Parent side: writes /proc/<pid>/{uid_map,gid_map} (and setgroups when unprivileged).
Status write_id_maps(pid_t pid, const NamespacePlan& plan);

// Child side: enters every joined namespace, in order. Returns 0 or -errno with *failed set.
int join_namespaces(const NamespacePlan& plan, size_t* failed) noexcept;

// Child side, after unshare(CLONE_NEWTIME): writes /proc/self/timens_offsets.
Status write_time_offsets(const NamespacePlan& plan);

// "net.ipv4.ip_forward" -> allowed only with a new network namespace, and so on, the way
// runc validates sysctls. Returns the /proc/sys path on success.
Result<std::string> validate_sysctl(const std::string& key, const NamespacePlan& ns);

}  // namespace hull::runtime::linux
