// Internal to oci-spec: the closed sets of names the runtime-spec uses (seccomp actions,
// scheduler policies, mount options...), each as one table read both ways, so the parser,
// the serializer and the features document cannot disagree.
#pragma once

#include "oci-spec/spec.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::oci::names {

template <class T>
struct Named {
    const char* name;
    T value;
};

template <class T, size_t N>
std::optional<T> lookup(const Named<T> (&table)[N], std::string_view name) {
    for (const auto& e : table)
        if (name == e.name) return e.value;
    return std::nullopt;
}

template <class T, size_t N>
const char* name_of(const Named<T> (&table)[N], T value) {
    for (const auto& e : table)
        if (e.value == value) return e.name;
    return "";
}

template <class T, size_t N>
std::vector<std::string> all(const Named<T> (&table)[N]) {
    std::vector<std::string> out;
    for (const auto& e : table) out.emplace_back(e.name);
    return out;
}

template <size_t N>
std::vector<std::string> all(const char* const (&list)[N]) {
    return {std::begin(list), std::end(list)};
}

template <size_t N>
bool contains(const char* const (&list)[N], std::string_view name) {
    for (const char* e : list)
        if (name == e) return true;
    return false;
}

inline constexpr Named<NamespaceType> kNamespaces[] = {
    {"pid", NamespaceType::pid},   {"network", NamespaceType::network}, {"mount", NamespaceType::mount},
    {"ipc", NamespaceType::ipc},   {"uts", NamespaceType::uts},         {"user", NamespaceType::user},
    {"cgroup", NamespaceType::cgroup}, {"time", NamespaceType::time},
};

inline constexpr Named<SeccompAction> kSeccompActions[] = {
    {"SCMP_ACT_KILL", SeccompAction::kill},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kill_process},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kill_thread},
    {"SCMP_ACT_TRAP", SeccompAction::trap},
    {"SCMP_ACT_ERRNO", SeccompAction::errno_},
    {"SCMP_ACT_TRACE", SeccompAction::trace},
    {"SCMP_ACT_ALLOW", SeccompAction::allow},
    {"SCMP_ACT_LOG", SeccompAction::log},
    {"SCMP_ACT_NOTIFY", SeccompAction::notify},
};

inline constexpr Named<SeccompOp> kSeccompOps[] = {
    {"SCMP_CMP_NE", SeccompOp::ne}, {"SCMP_CMP_LT", SeccompOp::lt}, {"SCMP_CMP_LE", SeccompOp::le},
    {"SCMP_CMP_EQ", SeccompOp::eq}, {"SCMP_CMP_GE", SeccompOp::ge}, {"SCMP_CMP_GT", SeccompOp::gt},
    {"SCMP_CMP_MASKED_EQ", SeccompOp::masked_eq},
};

// The architectures runtime-spec lists (libseccomp 2.5's set).
inline constexpr const char* kSeccompArchs[] = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",      "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64",    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64",    "SCMP_ARCH_RISCV64",
};

inline constexpr const char* kSeccompFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

// runc accepts the recursive spellings for the rootfs too, so hull does.
inline constexpr Named<Propagation> kPropagations[] = {
    {"shared", Propagation::shared},     {"slave", Propagation::slave},
    {"private", Propagation::private_},  {"unbindable", Propagation::unbindable},
    {"rshared", Propagation::rshared},   {"rslave", Propagation::rslave},
    {"rprivate", Propagation::rprivate}, {"runbindable", Propagation::runbindable},
};

// SCHED_* numbers from the kernel's uapi (glibc's <sched.h> lacks ISO and DEADLINE).
inline constexpr Named<int> kSchedPolicies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};
inline constexpr int kSchedFifo = 1, kSchedRr = 2, kSchedDeadline = 6;

inline constexpr Named<uint64_t> kSchedFlags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

inline constexpr Named<int> kIoPriorityClasses[] = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3},
};

inline constexpr const char* kPersonalityDomains[] = {"LINUX", "LINUX32"};

inline constexpr const char* kTimeOffsetClocks[] = {"monotonic", "boottime"};

inline constexpr const char* kHooks[] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

// Every option hull's mount code recognizes; anything else goes to mount(2) as data.
inline constexpr const char* kMountOptions[] = {
    "async",     "atime",       "bind",       "defaults",     "dev",         "diratime",
    "dirsync",   "exec",        "idmap",      "iversion",     "lazytime",    "loud",
    "mand",      "noatime",     "nodev",      "nodiratime",   "noexec",      "noiversion",
    "nolazytime", "nomand",     "norelatime", "nostrictatime", "nosuid",     "nosymfollow",
    "private",   "ratime",      "rbind",      "rdev",         "rdiratime",   "relatime",
    "remount",   "rexec",       "ridmap",     "rnoatime",     "rnodev",      "rnodiratime",
    "rnoexec",   "rnorelatime", "rnostrictatime", "rnosuid",  "rnosymfollow", "ro",
    "rprivate",  "rrelatime",   "rro",        "rrw",          "rshared",     "rslave",
    "rstrictatime", "rsuid",    "rsymfollow", "runbindable",  "rw",          "shared",
    "silent",    "slave",       "strictatime", "suid",        "symfollow",   "sync",
    "tmpcopyup", "unbindable",
};

// Every capability name this build knows (libcap's, up to the kernel's or CAP_LAST_CAP).
std::vector<std::string> capability_names();

}  // namespace hull::oci::names
