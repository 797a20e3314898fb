// Typed model of the OCI runtime-spec 1.2 config.json (Linux parts) and state.json.
//
// Strings that name kernel things (namespace types, capabilities, rlimits, seccomp actions)
// become enums or numbers here, once, at parse time. Unknown fields are kept in `raw` so a
// round trip loses nothing (the spec allows extensions).
#pragma once

#include "common/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hull::oci {

inline constexpr const char* kSpecVersion = "1.2.0";

struct Root {
    std::string path;
    bool readonly = false;
};

struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct Mount {
    std::string destination;
    std::string type;       // empty when absent
    std::string source;     // empty when absent
    std::vector<std::string> options;
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
};

struct Rlimit {
    int resource = 0;       // RLIMIT_* number
    std::string name;       // as written, e.g. "RLIMIT_NOFILE"
    uint64_t soft = 0;
    uint64_t hard = 0;
};

// Capability sets as lists of CAP_* numbers, in the order written.
struct Capabilities {
    std::optional<std::vector<int>> bounding, effective, inheritable, permitted, ambient;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
    std::string username;
};

struct ConsoleSize {
    uint32_t height = 0;
    uint32_t width = 0;
};

struct IoPriority {
    int klass = 0;          // IOPRIO_CLASS_* (RT=1, BE=2, IDLE=3)
    int priority = 0;
};

struct Scheduler {
    int policy = 0;         // SCHED_* number
    int nice = 0;
    int priority = 0;
    uint64_t flags = 0;     // SCHED_FLAG_* bits
    uint64_t runtime = 0, deadline = 0, period = 0;
};

struct ExecCpuAffinity {
    std::string initial;
    std::string final_;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    std::string cwd;
    std::vector<std::string> env;
    std::vector<std::string> args;
    std::vector<Rlimit> rlimits;
    std::string apparmor_profile;
    std::optional<Capabilities> capabilities;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    std::optional<Scheduler> scheduler;
    std::string selinux_label;
    std::optional<IoPriority> io_priority;
    std::optional<ExecCpuAffinity> exec_cpu_affinity;
    User user;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };
const char* to_string(NamespaceType t);
int clone_flag(NamespaceType t);          // CLONE_NEW*
const char* proc_ns_name(NamespaceType t);  // name under /proc/<pid>/ns/

struct Namespace {
    NamespaceType type{};
    std::string path;       // empty: create a new one
};

struct Device {
    char type = 'c';        // c, b, u, p
    std::string path;
    int64_t major = 0, minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid, gid;
};

// --- linux.resources (applied by the quotas issue; parsed and validated here) -------------

struct DeviceRule {
    bool allow = false;
    char type = 'a';        // a, c, b
    std::optional<int64_t> major, minor;  // absent: wildcard
    std::string access;     // subset of "rwm"; empty means "rwm"
};

struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota, burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<bool> idle;
};

struct Pids {
    std::optional<int64_t> limit;
};

struct WeightDevice {
    int64_t major = 0, minor = 0;
    std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};

struct BlockIo {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops, throttle_write_iops;
};

struct HugepageLimit {
    std::string page_size;  // e.g. "2MB"
    uint64_t limit = 0;
};

struct NetworkPriority {
    std::string name;
    uint32_t priority = 0;
};

struct Network {
    std::optional<uint32_t> class_id;
    std::vector<NetworkPriority> priorities;
};

struct Rdma {
    std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<Memory> memory;
    std::optional<Cpu> cpu;
    std::optional<Pids> pids;
    std::optional<BlockIo> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::optional<Network> network;
    std::map<std::string, Rdma> rdma;
    std::map<std::string, std::string> unified;
};

// --- seccomp ---------------------------------------------------------------------------

enum class SeccompAction { kill, kill_process, kill_thread, trap, errno_, trace, allow, log, notify };
const char* to_string(SeccompAction a);

enum class SeccompOp { ne, lt, le, eq, ge, gt, masked_eq };
const char* to_string(SeccompOp op);

struct SeccompArg {
    uint32_t index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    SeccompOp op = SeccompOp::eq;
};

struct SeccompRule {
    std::vector<std::string> names;
    SeccompAction action = SeccompAction::allow;
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    SeccompAction default_action = SeccompAction::allow;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;  // SCMP_ARCH_* as written
    std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_* as written
    std::string listener_path;
    std::string listener_metadata;
    std::vector<SeccompRule> syscalls;
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

struct Personality {
    std::string domain;     // LINUX or LINUX32
    std::vector<std::string> flags;
};

struct IntelRdt {
    std::string clos_id, l3_cache_schema, mem_bw_schema;
    bool enable_cmt = false, enable_mbm = false;
};

enum class Propagation { unset, shared, slave, private_, unbindable, rshared, rslave, rprivate, runbindable };
const char* to_string(Propagation p);  // "" for unset

struct Linux {
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
    std::map<std::string, std::string> sysctl;
    std::optional<Resources> resources;
    std::string cgroups_path;
    std::vector<Namespace> namespaces;
    std::vector<Device> devices;
    std::optional<Seccomp> seccomp;
    Propagation rootfs_propagation = Propagation::unset;
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string mount_label;
    std::optional<IntelRdt> intel_rdt;
    std::optional<Personality> personality;

    const Namespace* find_namespace(NamespaceType t) const;
};

struct Spec {
    std::string oci_version;
    Root root;
    std::vector<Mount> mounts;
    std::optional<Process> process;
    std::string hostname;
    std::string domainname;
    std::optional<Hooks> hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;

    nlohmann::json raw;     // the document as read, unknown fields included
};

// Parses and validates config.json text. Errors are one line naming the JSON path:
//   config.json: .process.capabilities.bounding[3]: unknown capability `CAP_TEST`
Result<Spec> parse_config(std::string_view text);
Result<Spec> load_config(const std::string& path);
// Serializes back to JSON (raw unknown fields preserved).
nlohmann::json to_json(const Spec& spec);

// The default config.json that `hull spec` writes (as `runc spec`); rootless variant with a
// user namespace mapping the caller's ids.
nlohmann::json default_spec(bool rootless, uint32_t uid = 0, uint32_t gid = 0);

// --- state.json (runtime-spec "state") -------------------------------------------------

enum class Status { creating, created, running, stopped, paused };
const char* to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

struct State {
    std::string oci_version = kSpecVersion;
    std::string id;
    Status status = Status::creating;
    int pid = 0;            // 0 when there is none (stopped)
    std::string bundle;     // absolute
    std::map<std::string, std::string> annotations;
};

nlohmann::json to_json(const State& state);
Result<State> parse_state(std::string_view text);

// The runtime-spec features document (`hull features`).
nlohmann::json features();

// Capability name <-> number; names are "CAP_*". Unknown: nullopt, or "" for a name.
std::optional<int> capability_from_name(std::string_view name);
const char* capability_name(int cap);
// The running kernel's last capability (/proc/sys/kernel/cap_last_cap), else CAP_LAST_CAP.
int last_capability();
// RLIMIT_* name <-> number. Unknown: nullopt, or "" for a name.
std::optional<int> rlimit_from_name(std::string_view name);
const char* rlimit_name(int resource);

}  // namespace hull::oci
