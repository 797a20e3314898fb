// Names that map to kernel numbers: namespaces, capabilities (through libcap), rlimits, and
// the seccomp and propagation enums' spellings.
#include "oci-spec/names.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <sched.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>

namespace hull::oci {

namespace {

constexpr names::Named<int> kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

// Capability names indexed by number, "CAP_*" spelled; empty where libcap has no name.
// Built once: the range covers both what this libcap was built with and what the running
// kernel reports, so a kernel newer than the headers still gets every name libcap knows.
const std::vector<std::string>& capability_table() {
    static const std::vector<std::string> table = [] {
        std::vector<std::string> t;
        int last = std::max(CAP_LAST_CAP, last_capability());
        for (int c = 0; c <= last; ++c) {
            std::string name;
            if (char* n = cap_to_name(static_cast<cap_value_t>(c))) {
                // libcap spells a capability it has no name for as its number.
                if (std::isalpha(static_cast<unsigned char>(n[0]))) {
                    name = n;
                    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                }
                cap_free(n);
            }
            t.push_back(std::move(name));
        }
        return t;
    }();
    return table;
}

}  // namespace

const char* to_string(NamespaceType t) { return names::name_of(names::kNamespaces, t); }

int clone_flag(NamespaceType t) {
    switch (t) {
        case NamespaceType::pid: return CLONE_NEWPID;
        case NamespaceType::network: return CLONE_NEWNET;
        case NamespaceType::mount: return CLONE_NEWNS;
        case NamespaceType::ipc: return CLONE_NEWIPC;
        case NamespaceType::uts: return CLONE_NEWUTS;
        case NamespaceType::user: return CLONE_NEWUSER;
        case NamespaceType::cgroup: return CLONE_NEWCGROUP;
        case NamespaceType::time: return CLONE_NEWTIME;
    }
    return 0;
}

const char* proc_ns_name(NamespaceType t) {
    switch (t) {
        case NamespaceType::pid: return "pid";
        case NamespaceType::network: return "net";
        case NamespaceType::mount: return "mnt";
        case NamespaceType::ipc: return "ipc";
        case NamespaceType::uts: return "uts";
        case NamespaceType::user: return "user";
        case NamespaceType::cgroup: return "cgroup";
        case NamespaceType::time: return "time";
    }
    return "";
}

const Namespace* Linux::find_namespace(NamespaceType t) const {
    for (const auto& ns : namespaces)
        if (ns.type == t) return &ns;
    return nullptr;
}

const char* to_string(SeccompAction a) { return names::name_of(names::kSeccompActions, a); }
const char* to_string(SeccompOp op) { return names::name_of(names::kSeccompOps, op); }
const char* to_string(Propagation p) { return names::name_of(names::kPropagations, p); }

std::optional<int> capability_from_name(std::string_view name) {
    const auto& table = capability_table();
    for (size_t c = 0; c < table.size(); ++c)
        if (!table[c].empty() && table[c] == name) return static_cast<int>(c);
    return std::nullopt;
}

const char* capability_name(int cap) {
    const auto& table = capability_table();
    if (cap < 0 || static_cast<size_t>(cap) >= table.size()) return "";
    return table[static_cast<size_t>(cap)].c_str();
}

int last_capability() {
    static const int last = [] {
        auto text = fs::read_file("/proc/sys/kernel/cap_last_cap");
        if (text) {
            std::string_view s = *text;
            while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
            if (auto v = parse_int<int>(s); v && *v >= 0 && *v < 64) return *v;
        }
        return static_cast<int>(CAP_LAST_CAP);
    }();
    return last;
}

std::optional<int> rlimit_from_name(std::string_view name) { return names::lookup(kRlimits, name); }
const char* rlimit_name(int resource) { return names::name_of(kRlimits, resource); }

std::vector<std::string> names::capability_names() {
    std::vector<std::string> out;
    for (const auto& n : capability_table())
        if (!n.empty()) out.push_back(n);
    return out;
}

}  // namespace hull::oci
