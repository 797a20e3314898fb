// config.json -> Spec: every field read with its JSON type checked, each value validated where
// it is read, then the rules that span fields (namespaces against mappings, hostname against
// the uts namespace...). The first problem found is the error, naming its JSON path.
#include "oci-spec/json_node.hpp"
#include "oci-spec/names.hpp"
#include "oci-spec/spec.hpp"

#include "common/fs.hpp"

#include <algorithm>
#include <utility>

namespace hull::oci {

namespace {

using detail::get;
using detail::Node;
using detail::read;
using detail::read_list;
using detail::require;
using detail::show;

constexpr const char* kDoc = "config.json";

// --- small helpers ----------------------------------------------------------------------

hull::Status absolute(const Node& n, std::string_view path) {
    if (!path.starts_with('/')) return n.fail("must be an absolute path");
    return {};
}

hull::Status read_absolute(const Node& n, std::string& out) {
    if (!n) return {};
    HULL_TRY(get(n, out));
    return absolute(n, out);
}

hull::Status require_absolute(const Node& n, std::string& out) {
    HULL_TRY(require(n, out));
    return absolute(n, out);
}

// A REQUIRED string that must be one of a table's names.
template <class T, size_t N>
Result<T> named(const Node& n, const names::Named<T> (&table)[N], std::string_view what) {
    std::string s;
    HULL_TRY(require(n, s));
    if (auto v = names::lookup(table, s)) return *v;
    return n.fail(cat("unknown ", what, " ", show(s)));
}

template <size_t N>
hull::Status one_of(const Node& n, const std::string& s, const char* const (&list)[N], std::string_view what) {
    if (names::contains(list, s)) return {};
    return n.fail(cat("unknown ", what, " ", show(s)));
}

// Each entry "KEY=value" with a non-empty key (runc refuses anything else at exec time).
hull::Status check_env(const Node& n, const std::vector<std::string>& env) {
    for (size_t i = 0; i < env.size(); ++i) {
        auto eq = env[i].find('=');
        if (eq == std::string::npos || eq == 0) return n[i].fail(cat("must be `KEY=value`, got ", show(env[i])));
        if (env[i].find('\0') != std::string::npos) return n[i].fail("must not contain a NUL byte");
    }
    return {};
}

// --- top level and process --------------------------------------------------------------

Result<IdMapping> parse_id_mapping(const Node& n) {
    HULL_TRY(n.expect_object());
    IdMapping m;
    HULL_TRY(require(n["containerID"], m.container_id));
    HULL_TRY(require(n["hostID"], m.host_id));
    m.size = HULL_TRY(n["size"].integer<uint32_t>(1));
    return m;
}

Result<Mount> parse_mount(const Node& n) {
    HULL_TRY(n.expect_object());
    Mount m;
    Node dst = n["destination"];
    HULL_TRY(require(dst, m.destination));
    if (m.destination.empty()) return dst.fail("must not be empty");
    // runtime-spec 1.2 allows a relative destination on Linux, meaning relative to "/" (as
    // runc has always joined it); the typed model holds the absolute form.
    if (m.destination[0] != '/') m.destination.insert(0, "/");
    HULL_TRY(read(n["type"], m.type));
    HULL_TRY(read(n["source"], m.source));
    HULL_TRY(read(n["options"], m.options));
    HULL_TRY(read_list(n["uidMappings"], m.uid_mappings, parse_id_mapping));
    HULL_TRY(read_list(n["gidMappings"], m.gid_mappings, parse_id_mapping));
    // An id-mapped mount maps both users and groups.
    if (m.uid_mappings.empty() && !m.gid_mappings.empty()) return n["uidMappings"].fail("is required with `gidMappings`");
    if (m.gid_mappings.empty() && !m.uid_mappings.empty()) return n["gidMappings"].fail("is required with `uidMappings`");
    return m;
}

Result<std::vector<int>> parse_capability_set(const Node& n) {
    std::vector<int> caps;
    HULL_TRY(n.each([&](const Node& e) -> hull::Status {
        std::string name;
        HULL_TRY(get(e, name));
        auto cap = capability_from_name(name);
        if (!cap) return e.fail(cat("unknown capability ", show(name)));
        caps.push_back(*cap);
        return {};
    }));
    return caps;
}

Result<Capabilities> parse_capabilities(const Node& n) {
    HULL_TRY(n.expect_object());
    Capabilities c;
    auto set = [&](const char* key, std::optional<std::vector<int>>& out) -> hull::Status {
        if (Node s = n[key]) out = HULL_TRY(parse_capability_set(s));
        return {};
    };
    HULL_TRY(set("bounding", c.bounding));
    HULL_TRY(set("effective", c.effective));
    HULL_TRY(set("inheritable", c.inheritable));
    HULL_TRY(set("permitted", c.permitted));
    HULL_TRY(set("ambient", c.ambient));
    return c;
}

Result<Rlimit> parse_rlimit(const Node& n) {
    HULL_TRY(n.expect_object());
    Rlimit r;
    Node type = n["type"];
    HULL_TRY(require(type, r.name));
    auto resource = rlimit_from_name(r.name);
    if (!resource) return type.fail(cat("unknown rlimit ", show(r.name)));
    r.resource = *resource;
    HULL_TRY(require(n["soft"], r.soft));
    HULL_TRY(require(n["hard"], r.hard));
    if (r.soft > r.hard) return n["soft"].fail(cat(show(r.soft), " exceeds the hard limit ", show(r.hard)));
    return r;
}

Result<User> parse_user(const Node& n) {
    HULL_TRY(n.expect_object());
    User u;
    HULL_TRY(read(n["uid"], u.uid));
    HULL_TRY(read(n["gid"], u.gid));
    if (Node umask = n["umask"]) u.umask = HULL_TRY(umask.integer<uint32_t>(0, 07777));
    HULL_TRY(read(n["additionalGids"], u.additional_gids));
    HULL_TRY(read(n["username"], u.username));
    return u;
}

Result<Scheduler> parse_scheduler(const Node& n) {
    HULL_TRY(n.expect_object());
    Scheduler s;
    s.policy = HULL_TRY(named(n["policy"], names::kSchedPolicies, "scheduler policy"));
    if (Node nice = n["nice"]) s.nice = HULL_TRY(nice.integer<int>(-20, 19));
    HULL_TRY(read(n["priority"], s.priority));
    HULL_TRY(n["flags"].each([&](const Node& e) -> hull::Status {
        s.flags |= HULL_TRY(named(e, names::kSchedFlags, "scheduler flag"));
        return {};
    }));
    HULL_TRY(read(n["runtime"], s.runtime));
    HULL_TRY(read(n["deadline"], s.deadline));
    HULL_TRY(read(n["period"], s.period));
    // sched_setattr(2) only reads a static priority for the real-time policies and the
    // runtime/deadline/period triple for SCHED_DEADLINE; anything else is a mistake.
    if (s.priority != 0 && s.policy != names::kSchedFifo && s.policy != names::kSchedRr)
        return n["priority"].fail("is only valid with `SCHED_FIFO` or `SCHED_RR`");
    if (s.policy != names::kSchedDeadline) {
        for (const char* key : {"runtime", "deadline", "period"})
            if (Node v = n[key]; v && v.value() != 0) return v.fail("is only valid with `SCHED_DEADLINE`");
    }
    return s;
}

Result<IoPriority> parse_io_priority(const Node& n) {
    HULL_TRY(n.expect_object());
    IoPriority p;
    p.klass = HULL_TRY(named(n["class"], names::kIoPriorityClasses, "io priority class"));
    if (Node prio = n["priority"]) p.priority = HULL_TRY(prio.integer<int>(0, 7));
    return p;
}

hull::Status read_cpu_list(const Node& n, std::string& out) {
    HULL_TRY(read(n, out));
    if (out.find_first_not_of("0123456789, -") != std::string::npos) return n.fail(cat("invalid cpu list ", show(out)));
    return {};
}

Result<Process> parse_process(const Node& n) {
    HULL_TRY(n.expect_object());
    Process p;
    HULL_TRY(read(n["terminal"], p.terminal));
    if (Node c = n["consoleSize"]) {
        HULL_TRY(c.expect_object());
        ConsoleSize size;
        HULL_TRY(require(c["height"], size.height));
        HULL_TRY(require(c["width"], size.width));
        p.console_size = size;
    }
    if (Node u = n["user"]) p.user = HULL_TRY(parse_user(u));
    HULL_TRY(require_absolute(n["cwd"], p.cwd));
    HULL_TRY(read(n["env"], p.env));
    HULL_TRY(check_env(n["env"], p.env));
    Node args = n["args"];
    HULL_TRY(require(args, p.args));
    if (p.args.empty()) return args.fail("must not be empty");
    for (size_t i = 0; i < p.args.size(); ++i)
        if (p.args[i].find('\0') != std::string::npos) return args[i].fail("must not contain a NUL byte");
    if (Node c = n["capabilities"]) p.capabilities = HULL_TRY(parse_capabilities(c));
    Node rlimits = n["rlimits"];
    HULL_TRY(read_list(rlimits, p.rlimits, parse_rlimit));
    for (size_t i = 0; i < p.rlimits.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (p.rlimits[i].resource == p.rlimits[j].resource)
                return rlimits[i]["type"].fail(cat("duplicate rlimit ", show(p.rlimits[i].name)));
    HULL_TRY(read(n["apparmorProfile"], p.apparmor_profile));
    HULL_TRY(read(n["selinuxLabel"], p.selinux_label));
    HULL_TRY(read(n["noNewPrivileges"], p.no_new_privileges));
    if (Node oom = n["oomScoreAdj"]) p.oom_score_adj = HULL_TRY(oom.integer<int>(-1000, 1000));
    if (Node s = n["scheduler"]) p.scheduler = HULL_TRY(parse_scheduler(s));
    if (Node io = n["ioPriority"]) p.io_priority = HULL_TRY(parse_io_priority(io));
    if (Node a = n["execCPUAffinity"]) {
        HULL_TRY(a.expect_object());
        ExecCpuAffinity affinity;
        HULL_TRY(read_cpu_list(a["initial"], affinity.initial));
        HULL_TRY(read_cpu_list(a["final"], affinity.final_));
        p.exec_cpu_affinity = affinity;
    }
    return p;
}

Result<Hook> parse_hook(const Node& n) {
    HULL_TRY(n.expect_object());
    Hook h;
    HULL_TRY(require_absolute(n["path"], h.path));
    HULL_TRY(read(n["args"], h.args));
    HULL_TRY(read(n["env"], h.env));
    if (Node t = n["timeout"]) {
        int timeout = HULL_TRY(t.integer<int>());
        if (timeout <= 0) return t.fail(cat("must be greater than zero, got ", show(timeout)));
        h.timeout = timeout;
    }
    return h;
}

Result<Hooks> parse_hooks(const Node& n) {
    HULL_TRY(n.expect_object());
    Hooks h;
    HULL_TRY(read_list(n["prestart"], h.prestart, parse_hook));
    HULL_TRY(read_list(n["createRuntime"], h.create_runtime, parse_hook));
    HULL_TRY(read_list(n["createContainer"], h.create_container, parse_hook));
    HULL_TRY(read_list(n["startContainer"], h.start_container, parse_hook));
    HULL_TRY(read_list(n["poststart"], h.poststart, parse_hook));
    HULL_TRY(read_list(n["poststop"], h.poststop, parse_hook));
    return h;
}

// --- linux.resources --------------------------------------------------------------------

Result<DeviceRule> parse_device_rule(const Node& n) {
    HULL_TRY(n.expect_object());
    DeviceRule r;
    HULL_TRY(require(n["allow"], r.allow));
    if (Node type = n["type"]) {
        std::string t;
        HULL_TRY(get(type, t));
        if (t != "a" && t != "c" && t != "b") return type.fail(cat("unknown device type ", show(t), " (expected a, c or b)"));
        r.type = t[0];
    }
    // -1 is how Go callers spell the wildcard; runc reads it as "all" too.
    if (Node major = n["major"]) r.major = HULL_TRY(major.integer<int64_t>(-1));
    if (Node minor = n["minor"]) r.minor = HULL_TRY(minor.integer<int64_t>(-1));
    if (r.major == -1) r.major.reset();
    if (r.minor == -1) r.minor.reset();
    Node access = n["access"];
    HULL_TRY(read(access, r.access));
    if (r.access.find_first_not_of("rwm") != std::string::npos)
        return access.fail(cat("invalid access ", show(r.access), " (expected letters from `rwm`)"));
    return r;
}

// Memory amounts are bytes, or -1 for unlimited.
hull::Status read_memory_amount(const Node& n, std::optional<int64_t>& out) {
    if (n) out = HULL_TRY(n.integer<int64_t>(-1));
    return {};
}

Result<Memory> parse_memory(const Node& n) {
    HULL_TRY(n.expect_object());
    Memory m;
    HULL_TRY(read_memory_amount(n["limit"], m.limit));
    HULL_TRY(read_memory_amount(n["reservation"], m.reservation));
    HULL_TRY(read_memory_amount(n["swap"], m.swap));
    HULL_TRY(read_memory_amount(n["kernel"], m.kernel));
    HULL_TRY(read_memory_amount(n["kernelTCP"], m.kernel_tcp));
    if (Node s = n["swappiness"]) {
        uint64_t v = HULL_TRY(s.integer<uint64_t>());
        // Docker has long sent (uint64)-1 for "unset"; runc reads it as such, so hull does.
        if (v > 100 && v != UINT64_MAX) return s.fail(cat("must be between 0 and 100, got ", show(v)));
        m.swappiness = v;
    }
    HULL_TRY(read(n["disableOOMKiller"], m.disable_oom_killer));
    HULL_TRY(read(n["useHierarchy"], m.use_hierarchy));
    HULL_TRY(read(n["checkBeforeUpdate"], m.check_before_update));
    return m;
}

Result<Cpu> parse_cpu(const Node& n) {
    HULL_TRY(n.expect_object());
    Cpu c;
    HULL_TRY(read(n["shares"], c.shares));
    HULL_TRY(read(n["quota"], c.quota));
    if (Node burst = n["burst"]) c.burst = HULL_TRY(burst.integer<int64_t>(0));
    HULL_TRY(read(n["period"], c.period));
    HULL_TRY(read(n["realtimeRuntime"], c.realtime_runtime));
    HULL_TRY(read(n["realtimePeriod"], c.realtime_period));
    HULL_TRY(read(n["cpus"], c.cpus));
    HULL_TRY(read(n["mems"], c.mems));
    // The spec types idle as an integer; cpu.idle takes only 0 and 1.
    if (Node idle = n["idle"]) c.idle = HULL_TRY(idle.integer<int>(0, 1)) == 1;
    if (c.burst && c.quota && *c.quota > 0 && *c.burst > *c.quota)
        return n["burst"].fail(cat("must not exceed quota ", show(*c.quota), ", got ", show(*c.burst)));
    return c;
}

hull::Status read_major_minor(const Node& n, int64_t& major, int64_t& minor) {
    HULL_TRY(require(n["major"], major));
    return require(n["minor"], minor);
}

Result<WeightDevice> parse_weight_device(const Node& n) {
    HULL_TRY(n.expect_object());
    WeightDevice d;
    HULL_TRY(read_major_minor(n, d.major, d.minor));
    HULL_TRY(read(n["weight"], d.weight));
    HULL_TRY(read(n["leafWeight"], d.leaf_weight));
    if (!d.weight && !d.leaf_weight) return n.fail("must set `weight` or `leafWeight`");
    return d;
}

Result<ThrottleDevice> parse_throttle_device(const Node& n) {
    HULL_TRY(n.expect_object());
    ThrottleDevice d;
    HULL_TRY(read_major_minor(n, d.major, d.minor));
    HULL_TRY(require(n["rate"], d.rate));
    return d;
}

Result<BlockIo> parse_block_io(const Node& n) {
    HULL_TRY(n.expect_object());
    BlockIo b;
    HULL_TRY(read(n["weight"], b.weight));
    HULL_TRY(read(n["leafWeight"], b.leaf_weight));
    HULL_TRY(read_list(n["weightDevice"], b.weight_device, parse_weight_device));
    HULL_TRY(read_list(n["throttleReadBpsDevice"], b.throttle_read_bps, parse_throttle_device));
    HULL_TRY(read_list(n["throttleWriteBpsDevice"], b.throttle_write_bps, parse_throttle_device));
    HULL_TRY(read_list(n["throttleReadIOPSDevice"], b.throttle_read_iops, parse_throttle_device));
    HULL_TRY(read_list(n["throttleWriteIOPSDevice"], b.throttle_write_iops, parse_throttle_device));
    return b;
}

Result<HugepageLimit> parse_hugepage_limit(const Node& n) {
    HULL_TRY(n.expect_object());
    HugepageLimit h;
    Node size = n["pageSize"];
    HULL_TRY(require(size, h.page_size));
    // "<number><unit prefix>B": 64KB, 2MB, 1GB; it names the hugetlb.<size>.* files.
    std::string_view s = h.page_size;
    size_t digits = s.find_first_not_of("0123456789");
    std::string_view unit = digits == std::string_view::npos ? "" : s.substr(digits);
    if (digits == 0 || (unit != "B" && (unit.size() != 2 || unit[1] != 'B' || std::string_view("KMGTPE").find(unit[0]) == std::string_view::npos)))
        return size.fail(cat("invalid page size ", show(h.page_size), " (expected e.g. `2MB`)"));
    HULL_TRY(require(n["limit"], h.limit));
    return h;
}

Result<Network> parse_network(const Node& n) {
    HULL_TRY(n.expect_object());
    Network net;
    HULL_TRY(read(n["classID"], net.class_id));
    HULL_TRY(read_list(n["priorities"], net.priorities, [](const Node& e) -> Result<NetworkPriority> {
        HULL_TRY(e.expect_object());
        NetworkPriority p;
        HULL_TRY(require(e["name"], p.name));
        HULL_TRY(require(e["priority"], p.priority));
        return p;
    }));
    return net;
}

Result<Resources> parse_resources(const Node& n) {
    HULL_TRY(n.expect_object());
    Resources r;
    HULL_TRY(read_list(n["devices"], r.devices, parse_device_rule));
    if (Node m = n["memory"]) r.memory = HULL_TRY(parse_memory(m));
    if (Node c = n["cpu"]) r.cpu = HULL_TRY(parse_cpu(c));
    if (Node p = n["pids"]) {
        HULL_TRY(p.expect_object());
        Pids pids;
        HULL_TRY(read(p["limit"], pids.limit));
        r.pids = pids;
    }
    if (Node b = n["blockIO"]) r.block_io = HULL_TRY(parse_block_io(b));
    HULL_TRY(read_list(n["hugepageLimits"], r.hugepage_limits, parse_hugepage_limit));
    if (Node net = n["network"]) r.network = HULL_TRY(parse_network(net));
    HULL_TRY(n["rdma"].members([&](const std::string& device, const Node& e) -> hull::Status {
        HULL_TRY(e.expect_object());
        Rdma rdma;
        HULL_TRY(read(e["hcaHandles"], rdma.hca_handles));
        HULL_TRY(read(e["hcaObjects"], rdma.hca_objects));
        if (!rdma.hca_handles && !rdma.hca_objects) return e.fail("must set `hcaHandles` or `hcaObjects`");
        r.rdma[device] = rdma;
        return {};
    }));
    Node unified = n["unified"];
    HULL_TRY(read(unified, r.unified));
    // Each key names a file in the container's cgroup directory: nothing may lead out of it.
    for (const auto& [key, value] : r.unified)
        if (key.empty() || key == "." || key == ".." || key.find('/') != std::string::npos)
            return unified[key].fail("invalid cgroup file name");
    return r;
}

// --- linux ------------------------------------------------------------------------------

Result<Namespace> parse_namespace(const Node& n) {
    HULL_TRY(n.expect_object());
    Namespace ns;
    ns.type = HULL_TRY(named(n["type"], names::kNamespaces, "namespace type"));
    HULL_TRY(read_absolute(n["path"], ns.path));
    return ns;
}

Result<Device> parse_device(const Node& n) {
    HULL_TRY(n.expect_object());
    Device d;
    Node type = n["type"];
    std::string t;
    HULL_TRY(require(type, t));
    if (t != "c" && t != "b" && t != "u" && t != "p")
        return type.fail(cat("unknown device type ", show(t), " (expected c, b, u or p)"));
    d.type = t[0];
    HULL_TRY(require_absolute(n["path"], d.path));
    // A fifo has no device number; every other node needs both.
    if (d.type != 'p') {
        for (const char* key : {"major", "minor"})
            if (!n[key]) return n[key].fail(cat("is required for device type ", show(t)));
    }
    HULL_TRY(read(n["major"], d.major));
    HULL_TRY(read(n["minor"], d.minor));
    HULL_TRY(read(n["fileMode"], d.file_mode));
    HULL_TRY(read(n["uid"], d.uid));
    HULL_TRY(read(n["gid"], d.gid));
    return d;
}

// errnoRet only means something to the actions that make the syscall return.
hull::Status check_errno_ret(const Node& n, SeccompAction action) {
    if (n && action != SeccompAction::errno_ && action != SeccompAction::trace)
        return n.fail(cat("is not valid with action ", show(to_string(action))));
    return {};
}

Result<SeccompArg> parse_seccomp_arg(const Node& n) {
    HULL_TRY(n.expect_object());
    SeccompArg a;
    a.index = HULL_TRY(n["index"].integer<uint32_t>(0, 5));
    HULL_TRY(require(n["value"], a.value));
    HULL_TRY(read(n["valueTwo"], a.value_two));
    a.op = HULL_TRY(named(n["op"], names::kSeccompOps, "seccomp operator"));
    return a;
}

Result<SeccompRule> parse_seccomp_rule(const Node& n) {
    HULL_TRY(n.expect_object());
    SeccompRule r;
    Node syscalls = n["names"];
    HULL_TRY(require(syscalls, r.names));
    if (r.names.empty()) return syscalls.fail("must not be empty");
    r.action = HULL_TRY(named(n["action"], names::kSeccompActions, "seccomp action"));
    HULL_TRY(read(n["errnoRet"], r.errno_ret));
    HULL_TRY(check_errno_ret(n["errnoRet"], r.action));
    HULL_TRY(read_list(n["args"], r.args, parse_seccomp_arg));
    return r;
}

Result<Seccomp> parse_seccomp(const Node& n) {
    HULL_TRY(n.expect_object());
    Seccomp s;
    Node default_action = n["defaultAction"];
    s.default_action = HULL_TRY(named(default_action, names::kSeccompActions, "seccomp action"));
    // The notify listener only exists once the filter is installed; making it the default
    // would trap the runtime's own last syscalls before execve.
    if (s.default_action == SeccompAction::notify) return default_action.fail("`SCMP_ACT_NOTIFY` cannot be the default action");
    HULL_TRY(read(n["defaultErrnoRet"], s.default_errno_ret));
    HULL_TRY(check_errno_ret(n["defaultErrnoRet"], s.default_action));
    Node archs = n["architectures"];
    HULL_TRY(read(archs, s.architectures));
    for (size_t i = 0; i < s.architectures.size(); ++i)
        HULL_TRY(one_of(archs[i], s.architectures[i], names::kSeccompArchs, "seccomp architecture"));
    Node flags = n["flags"];
    HULL_TRY(read(flags, s.flags));
    for (size_t i = 0; i < s.flags.size(); ++i)
        HULL_TRY(one_of(flags[i], s.flags[i], names::kSeccompFlags, "seccomp flag"));
    HULL_TRY(read(n["listenerPath"], s.listener_path));
    HULL_TRY(read(n["listenerMetadata"], s.listener_metadata));
    HULL_TRY(read_list(n["syscalls"], s.syscalls, parse_seccomp_rule));
    bool notify = std::ranges::any_of(s.syscalls, [](const auto& r) { return r.action == SeccompAction::notify; });
    if (notify && s.listener_path.empty()) return n["listenerPath"].fail("is required when `SCMP_ACT_NOTIFY` is used");
    if (!s.listener_metadata.empty() && s.listener_path.empty())
        return n["listenerMetadata"].fail("is only valid with `listenerPath`");
    return s;
}

Result<IntelRdt> parse_intel_rdt(const Node& n) {
    HULL_TRY(n.expect_object());
    IntelRdt r;
    Node clos = n["closID"];
    HULL_TRY(read(clos, r.clos_id));
    // closID names a directory under /sys/fs/resctrl.
    if (r.clos_id == "." || r.clos_id == ".." || r.clos_id.find('/') != std::string::npos)
        return clos.fail(cat("invalid class of service ", show(r.clos_id)));
    HULL_TRY(read(n["l3CacheSchema"], r.l3_cache_schema));
    Node mb = n["memBwSchema"];
    HULL_TRY(read(mb, r.mem_bw_schema));
    if (!r.mem_bw_schema.empty() && (!r.mem_bw_schema.starts_with("MB:") || r.mem_bw_schema.find('\n') != std::string::npos))
        return mb.fail("must be one line starting with `MB:`");
    HULL_TRY(read(n["enableCMT"], r.enable_cmt));
    HULL_TRY(read(n["enableMBM"], r.enable_mbm));
    return r;
}

Result<Linux> parse_linux(const Node& n) {
    HULL_TRY(n.expect_object());
    Linux l;
    HULL_TRY(read_list(n["uidMappings"], l.uid_mappings, parse_id_mapping));
    HULL_TRY(read_list(n["gidMappings"], l.gid_mappings, parse_id_mapping));
    HULL_TRY(n["timeOffsets"].members([&](const std::string& clock, const Node& e) -> hull::Status {
        if (!names::contains(names::kTimeOffsetClocks, clock))
            return e.fail(cat("unknown clock ", show(clock), " (expected `monotonic` or `boottime`)"));
        HULL_TRY(e.expect_object());
        TimeOffset off;
        HULL_TRY(read(e["secs"], off.secs));
        if (Node ns = e["nanosecs"]) off.nanosecs = HULL_TRY(ns.integer<uint32_t>(0, 999'999'999));
        l.time_offsets[clock] = off;
        return {};
    }));
    Node sysctl = n["sysctl"];
    HULL_TRY(read(sysctl, l.sysctl));
    if (l.sysctl.contains("")) return sysctl[""].fail("must not be an empty key");
    if (Node r = n["resources"]) l.resources = HULL_TRY(parse_resources(r));
    HULL_TRY(read(n["cgroupsPath"], l.cgroups_path));
    Node namespaces = n["namespaces"];
    HULL_TRY(read_list(namespaces, l.namespaces, parse_namespace));
    for (size_t i = 0; i < l.namespaces.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (l.namespaces[i].type == l.namespaces[j].type)
                return namespaces[i]["type"].fail(cat("duplicate namespace type ", show(to_string(l.namespaces[i].type))));
    HULL_TRY(read_list(n["devices"], l.devices, parse_device));
    if (Node s = n["seccomp"]) l.seccomp = HULL_TRY(parse_seccomp(s));
    Node propagation = n["rootfsPropagation"];
    std::string prop;
    HULL_TRY(read(propagation, prop));
    if (!prop.empty()) l.rootfs_propagation = HULL_TRY(named(propagation, names::kPropagations, "propagation"));
    auto read_paths = [](const Node& paths, std::vector<std::string>& out) -> hull::Status {
        HULL_TRY(read(paths, out));
        for (size_t i = 0; i < out.size(); ++i) HULL_TRY(absolute(paths[i], out[i]));
        return {};
    };
    HULL_TRY(read_paths(n["maskedPaths"], l.masked_paths));
    HULL_TRY(read_paths(n["readonlyPaths"], l.readonly_paths));
    HULL_TRY(read(n["mountLabel"], l.mount_label));
    if (Node rdt = n["intelRdt"]) l.intel_rdt = HULL_TRY(parse_intel_rdt(rdt));
    if (Node p = n["personality"]) {
        HULL_TRY(p.expect_object());
        Personality pers;
        HULL_TRY(require(p["domain"], pers.domain));
        HULL_TRY(one_of(p["domain"], pers.domain, names::kPersonalityDomains, "personality domain"));
        HULL_TRY(read(p["flags"], pers.flags));
        l.personality = pers;
    }
    return l;
}

// --- rules that span fields -------------------------------------------------------------

hull::Status validate(const Node& doc, const Spec& spec) {
    static const Linux kNoLinux;
    const Linux& l = spec.linux ? *spec.linux : kNoLinux;
    Node linux_node = doc["linux"];

    // A new user namespace needs mappings; joining one (path) takes the mappings it has.
    const Namespace* userns = l.find_namespace(NamespaceType::user);
    const std::pair<const char*, bool> mappings[] = {{"uidMappings", l.uid_mappings.empty()},
                                                      {"gidMappings", l.gid_mappings.empty()}};
    for (auto [key, empty] : mappings) {
        if (userns && userns->path.empty() && empty) return linux_node[key].fail("is required with a new user namespace");
        if (!userns && !empty) return linux_node[key].fail("requires a user namespace");
    }
    if (!spec.hostname.empty() && !l.find_namespace(NamespaceType::uts))
        return doc["hostname"].fail("requires a uts namespace");
    if (!spec.domainname.empty() && !l.find_namespace(NamespaceType::uts))
        return doc["domainname"].fail("requires a uts namespace");
    if (!l.time_offsets.empty()) {
        const Namespace* timens = l.find_namespace(NamespaceType::time);
        if (!timens || !timens->path.empty()) return linux_node["timeOffsets"].fail("requires a new time namespace");
    }
    return {};
}

Result<Spec> parse_spec(std::string_view text) {
    Spec spec;
    spec.raw = HULL_TRY(detail::parse_document(kDoc, text));
    Node doc(kDoc, &spec.raw);
    HULL_TRY(doc.expect_object());

    Node version = doc["ociVersion"];
    HULL_TRY(require(version, spec.oci_version));
    // Like runc, accept any 1.x: the spec keeps compatibility within a major version.
    if (!spec.oci_version.starts_with("1."))
        return version.fail(cat("unsupported version ", show(spec.oci_version), " (hull implements runtime-spec 1.x)"));

    Node root = doc["root"];
    if (!root) return root.fail("is required");
    HULL_TRY(root.expect_object());
    HULL_TRY(require(root["path"], spec.root.path));
    if (spec.root.path.empty()) return root["path"].fail("must not be empty");
    HULL_TRY(read(root["readonly"], spec.root.readonly));

    HULL_TRY(read_list(doc["mounts"], spec.mounts, parse_mount));
    if (Node p = doc["process"]) spec.process = HULL_TRY(parse_process(p));
    HULL_TRY(read(doc["hostname"], spec.hostname));
    HULL_TRY(read(doc["domainname"], spec.domainname));
    if (Node h = doc["hooks"]) spec.hooks = HULL_TRY(parse_hooks(h));
    Node annotations = doc["annotations"];
    HULL_TRY(read(annotations, spec.annotations));
    if (spec.annotations.contains("")) return annotations[""].fail("must not be an empty key");
    if (Node l = doc["linux"]) spec.linux = HULL_TRY(parse_linux(l));

    HULL_TRY(validate(doc, spec));
    return spec;
}

}  // namespace

Result<Spec> parse_config(std::string_view text) {
    // The parser checks every type before reading it, so nothing below should throw; this is
    // the backstop that keeps a library bug from turning into an exception across the API.
    try {
        return parse_spec(text);
    } catch (const nlohmann::json::exception& e) {
        return fail_msg(cat(kDoc, ": ", e.what()));
    }
}

Result<Spec> load_config(const std::string& path) {
    // The read error already names the file: "open `/b/config.json`: no such file or directory".
    std::string text = HULL_TRY(fs::read_file(path));
    return parse_config(text);
}

}  // namespace hull::oci
