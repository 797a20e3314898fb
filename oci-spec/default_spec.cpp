// The config.json `hull spec` writes: the same document as `runc spec` (and `runc spec
// --rootless`), declaring runtime-spec 1.2.0.
#include "oci-spec/spec.hpp"

namespace hull::oci {

nlohmann::json default_spec(bool rootless, uint32_t uid, uint32_t gid) {
    using json = nlohmann::json;
    const json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    const json nosuid_noexec_nodev = {"nosuid", "noexec", "nodev"};

    json devpts_options = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
    // gid 5 (tty) only exists for a container whose ids are not remapped to a single user.
    if (!rootless) devpts_options.push_back("gid=5");

    // Without a network namespace of its own a rootless container cannot mount sysfs, so it
    // gets the host's /sys bind-mounted read-only instead.
    json sys = rootless
        ? json{{"destination", "/sys"}, {"type", "none"}, {"source", "/sys"},
               {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}}
        : json{{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
               {"options", {"nosuid", "noexec", "nodev", "ro"}}};

    json spec = {
        {"ociVersion", kSpecVersion},
        {"process",
         {
             {"terminal", true},
             {"user", {{"uid", 0}, {"gid", 0}}},
             {"args", {"sh"}},
             {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
             {"cwd", "/"},
             {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
             {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
             {"noNewPrivileges", true},
         }},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "runc"},
        {"mounts",
         json::array({
             {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
             {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
              {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
             {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"}, {"options", devpts_options}},
             {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
              {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
             {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", nosuid_noexec_nodev}},
             sys,
             {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
              {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
         })},
        {"linux",
         {
             {"maskedPaths",
              {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
               "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
             {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
         }},
    };

    json& lx = spec["linux"];
    if (rootless) {
        // A rootless runtime cannot write device cgroup rules, and maps only the caller's ids.
        lx["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", uid}, {"size", 1}}});
        lx["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", gid}, {"size", 1}}});
        lx["namespaces"] = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                                           {{"type", "mount"}}, {{"type", "user"}}});
    } else {
        lx["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
        lx["namespaces"] = json::array({{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}},
                                           {{"type", "uts"}}, {{"type", "mount"}}});
    }
    return spec;
}

}  // namespace hull::oci
