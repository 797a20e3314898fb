// Spec -> config.json. The typed fields are written over the document the spec was read from
// (Spec::raw), so whatever hull does not model (Windows, VM, zos sections, newer fields)
// survives a round trip.
#include "oci-spec/names.hpp"
#include "oci-spec/spec.hpp"

namespace hull::oci {

namespace {

using json = nlohmann::json;

// Writes `value` at `key`. An empty value (the model's "not set") removes the key, unless the
// document already spelled that same empty value, or null, there: then it is left as written.
void put(json& o, const std::string& key, json value, bool empty) {
    if (!empty) {
        o[key] = std::move(value);
        return;
    }
    auto it = o.find(key);
    if (it != o.end() && !it->is_null() && *it != value) o.erase(it);
}

template <class T>
void put(json& o, const std::string& key, const T& v) {
    put(o, key, json(v), v == T{});
}

template <class T>
void put(json& o, const std::string& key, const std::optional<T>& v) {
    if (v)
        o[key] = *v;
    else
        put(o, key, json(), true);
}

// The object at `key` to write into: the document's own when it had one.
json& sub(json& o, const std::string& key) {
    json& v = o[key];
    if (!v.is_object()) v = json::object();
    return v;
}

template <class T, class F>
void put_object(json& o, const std::string& key, const std::optional<T>& v, F write) {
    if (v)
        write(sub(o, key), *v);
    else
        put(o, key, json(), true);
}

// Elements keep the document's unknown members only while the list still lines up with it
// (same length); a list the caller reshaped is written fresh.
template <class T, class F>
void put_list(json& o, const std::string& key, const std::vector<T>& items, F write) {
    if (items.empty()) return put(o, key, json::array(), true);
    auto it = o.find(key);
    bool aligned = it != o.end() && it->is_array() && it->size() == items.size();
    json out = json::array();
    for (size_t i = 0; i < items.size(); ++i) {
        json e = aligned && (*it)[i].is_object() ? (*it)[i] : json::object();
        write(e, items[i]);
        out.push_back(std::move(e));
    }
    o[key] = std::move(out);
}

template <class T, class F>
void put_map(json& o, const std::string& key, const std::map<std::string, T>& items, F write) {
    if (items.empty()) return put(o, key, json::object(), true);
    json& out = sub(o, key);
    for (auto it = out.begin(); it != out.end();) it = items.contains(it.key()) ? std::next(it) : out.erase(it);
    for (const auto& [k, v] : items) write(sub(out, k), v);
}

void write_id_mapping(json& o, const IdMapping& m) {
    o["containerID"] = m.container_id;
    o["hostID"] = m.host_id;
    o["size"] = m.size;
}

void write_mount(json& o, const Mount& m) {
    o["destination"] = m.destination;
    put(o, "type", m.type);
    put(o, "source", m.source);
    put(o, "options", m.options);
    put_list(o, "uidMappings", m.uid_mappings, write_id_mapping);
    put_list(o, "gidMappings", m.gid_mappings, write_id_mapping);
}

void write_capabilities(json& o, const Capabilities& c) {
    auto set = [&](const char* key, const std::optional<std::vector<int>>& caps) {
        if (!caps) return put(o, key, json(), true);
        json names = json::array();
        for (int cap : *caps) names.push_back(capability_name(cap));
        o[key] = std::move(names);
    };
    set("bounding", c.bounding);
    set("effective", c.effective);
    set("inheritable", c.inheritable);
    set("permitted", c.permitted);
    set("ambient", c.ambient);
}

void write_rlimit(json& o, const Rlimit& r) {
    const char* name = rlimit_name(r.resource);
    o["type"] = *name ? std::string(name) : r.name;
    o["soft"] = r.soft;
    o["hard"] = r.hard;
}

void write_scheduler(json& o, const Scheduler& s) {
    o["policy"] = names::name_of(names::kSchedPolicies, s.policy);
    put(o, "nice", s.nice);
    put(o, "priority", s.priority);
    std::vector<std::string> flags;
    for (const auto& f : names::kSchedFlags)
        if (s.flags & f.value) flags.emplace_back(f.name);
    put(o, "flags", flags);
    put(o, "runtime", s.runtime);
    put(o, "deadline", s.deadline);
    put(o, "period", s.period);
}

void write_process(json& o, const Process& p) {
    put(o, "terminal", p.terminal);
    put_object(o, "consoleSize", p.console_size, [](json& c, const ConsoleSize& s) {
        c["height"] = s.height;
        c["width"] = s.width;
    });
    json& user = sub(o, "user");
    user["uid"] = p.user.uid;
    user["gid"] = p.user.gid;
    put(user, "umask", p.user.umask);
    put(user, "additionalGids", p.user.additional_gids);
    put(user, "username", p.user.username);
    o["cwd"] = p.cwd;
    put(o, "env", p.env);
    o["args"] = p.args;
    put_list(o, "rlimits", p.rlimits, write_rlimit);
    put(o, "apparmorProfile", p.apparmor_profile);
    put_object(o, "capabilities", p.capabilities, write_capabilities);
    put(o, "noNewPrivileges", p.no_new_privileges);
    put(o, "oomScoreAdj", p.oom_score_adj);
    put_object(o, "scheduler", p.scheduler, write_scheduler);
    put(o, "selinuxLabel", p.selinux_label);
    put_object(o, "ioPriority", p.io_priority, [](json& j, const IoPriority& io) {
        j["class"] = names::name_of(names::kIoPriorityClasses, io.klass);
        put(j, "priority", io.priority);
    });
    put_object(o, "execCPUAffinity", p.exec_cpu_affinity, [](json& j, const ExecCpuAffinity& a) {
        put(j, "initial", a.initial);
        put(j, "final", a.final_);
    });
}

void write_hook(json& o, const Hook& h) {
    o["path"] = h.path;
    put(o, "args", h.args);
    put(o, "env", h.env);
    put(o, "timeout", h.timeout);
}

void write_hooks(json& o, const Hooks& h) {
    put_list(o, "prestart", h.prestart, write_hook);
    put_list(o, "createRuntime", h.create_runtime, write_hook);
    put_list(o, "createContainer", h.create_container, write_hook);
    put_list(o, "startContainer", h.start_container, write_hook);
    put_list(o, "poststart", h.poststart, write_hook);
    put_list(o, "poststop", h.poststop, write_hook);
}

void write_major_minor(json& o, int64_t major, int64_t minor) {
    o["major"] = major;
    o["minor"] = minor;
}

void write_throttle(json& o, const ThrottleDevice& d) {
    write_major_minor(o, d.major, d.minor);
    o["rate"] = d.rate;
}

void write_resources(json& o, const Resources& r) {
    put_list(o, "devices", r.devices, [](json& j, const DeviceRule& d) {
        j["allow"] = d.allow;
        put(j, "type", std::string(1, d.type), d.type == 'a');
        put(j, "major", d.major);
        put(j, "minor", d.minor);
        put(j, "access", d.access);
    });
    put_object(o, "memory", r.memory, [](json& j, const Memory& m) {
        put(j, "limit", m.limit);
        put(j, "reservation", m.reservation);
        put(j, "swap", m.swap);
        put(j, "kernel", m.kernel);
        put(j, "kernelTCP", m.kernel_tcp);
        put(j, "swappiness", m.swappiness);
        put(j, "disableOOMKiller", m.disable_oom_killer);
        put(j, "useHierarchy", m.use_hierarchy);
        put(j, "checkBeforeUpdate", m.check_before_update);
    });
    put_object(o, "cpu", r.cpu, [](json& j, const Cpu& c) {
        put(j, "shares", c.shares);
        put(j, "quota", c.quota);
        put(j, "burst", c.burst);
        put(j, "period", c.period);
        put(j, "realtimeRuntime", c.realtime_runtime);
        put(j, "realtimePeriod", c.realtime_period);
        put(j, "cpus", c.cpus);
        put(j, "mems", c.mems);
        // The spec types idle as an integer.
        put(j, "idle", c.idle ? std::optional<int>(*c.idle ? 1 : 0) : std::nullopt);
    });
    put_object(o, "pids", r.pids, [](json& j, const Pids& p) { put(j, "limit", p.limit); });
    put_object(o, "blockIO", r.block_io, [](json& j, const BlockIo& b) {
        put(j, "weight", b.weight);
        put(j, "leafWeight", b.leaf_weight);
        put_list(j, "weightDevice", b.weight_device, [](json& e, const WeightDevice& d) {
            write_major_minor(e, d.major, d.minor);
            put(e, "weight", d.weight);
            put(e, "leafWeight", d.leaf_weight);
        });
        put_list(j, "throttleReadBpsDevice", b.throttle_read_bps, write_throttle);
        put_list(j, "throttleWriteBpsDevice", b.throttle_write_bps, write_throttle);
        put_list(j, "throttleReadIOPSDevice", b.throttle_read_iops, write_throttle);
        put_list(j, "throttleWriteIOPSDevice", b.throttle_write_iops, write_throttle);
    });
    put_list(o, "hugepageLimits", r.hugepage_limits, [](json& j, const HugepageLimit& h) {
        j["pageSize"] = h.page_size;
        j["limit"] = h.limit;
    });
    put_object(o, "network", r.network, [](json& j, const Network& n) {
        put(j, "classID", n.class_id);
        put_list(j, "priorities", n.priorities, [](json& e, const NetworkPriority& p) {
            e["name"] = p.name;
            e["priority"] = p.priority;
        });
    });
    put_map(o, "rdma", r.rdma, [](json& j, const Rdma& d) {
        put(j, "hcaHandles", d.hca_handles);
        put(j, "hcaObjects", d.hca_objects);
    });
    put(o, "unified", r.unified);
}

void write_seccomp(json& o, const Seccomp& s) {
    o["defaultAction"] = to_string(s.default_action);
    put(o, "defaultErrnoRet", s.default_errno_ret);
    put(o, "architectures", s.architectures);
    put(o, "flags", s.flags);
    put(o, "listenerPath", s.listener_path);
    put(o, "listenerMetadata", s.listener_metadata);
    put_list(o, "syscalls", s.syscalls, [](json& j, const SeccompRule& r) {
        j["names"] = r.names;
        j["action"] = to_string(r.action);
        put(j, "errnoRet", r.errno_ret);
        put_list(j, "args", r.args, [](json& a, const SeccompArg& arg) {
            a["index"] = arg.index;
            a["value"] = arg.value;
            put(a, "valueTwo", arg.value_two);
            a["op"] = to_string(arg.op);
        });
    });
}

void write_linux(json& o, const Linux& l) {
    put_list(o, "uidMappings", l.uid_mappings, write_id_mapping);
    put_list(o, "gidMappings", l.gid_mappings, write_id_mapping);
    put_map(o, "timeOffsets", l.time_offsets, [](json& j, const TimeOffset& t) {
        put(j, "secs", t.secs);
        put(j, "nanosecs", t.nanosecs);
    });
    put(o, "sysctl", l.sysctl);
    put_object(o, "resources", l.resources, write_resources);
    put(o, "cgroupsPath", l.cgroups_path);
    put_list(o, "namespaces", l.namespaces, [](json& j, const Namespace& ns) {
        j["type"] = to_string(ns.type);
        put(j, "path", ns.path);
    });
    put_list(o, "devices", l.devices, [](json& j, const Device& d) {
        j["type"] = std::string(1, d.type);
        j["path"] = d.path;
        if (d.type == 'p') {
            put(j, "major", d.major);
            put(j, "minor", d.minor);
        } else {
            write_major_minor(j, d.major, d.minor);
        }
        put(j, "fileMode", d.file_mode);
        put(j, "uid", d.uid);
        put(j, "gid", d.gid);
    });
    put_object(o, "seccomp", l.seccomp, write_seccomp);
    put(o, "rootfsPropagation", std::string(to_string(l.rootfs_propagation)));
    put(o, "maskedPaths", l.masked_paths);
    put(o, "readonlyPaths", l.readonly_paths);
    put(o, "mountLabel", l.mount_label);
    put_object(o, "intelRdt", l.intel_rdt, [](json& j, const IntelRdt& r) {
        put(j, "closID", r.clos_id);
        put(j, "l3CacheSchema", r.l3_cache_schema);
        put(j, "memBwSchema", r.mem_bw_schema);
        put(j, "enableCMT", r.enable_cmt);
        put(j, "enableMBM", r.enable_mbm);
    });
    put_object(o, "personality", l.personality, [](json& j, const Personality& p) {
        j["domain"] = p.domain;
        put(j, "flags", p.flags);
    });
}

}  // namespace

nlohmann::json to_json(const Spec& spec) {
    json o = spec.raw.is_object() ? spec.raw : json::object();
    o["ociVersion"] = spec.oci_version;
    json& root = sub(o, "root");
    root["path"] = spec.root.path;
    put(root, "readonly", spec.root.readonly);
    put_list(o, "mounts", spec.mounts, write_mount);
    put_object(o, "process", spec.process, write_process);
    put(o, "hostname", spec.hostname);
    put(o, "domainname", spec.domainname);
    put_object(o, "hooks", spec.hooks, write_hooks);
    put(o, "annotations", spec.annotations);
    put_object(o, "linux", spec.linux, write_linux);
    return o;
}

}  // namespace hull::oci
