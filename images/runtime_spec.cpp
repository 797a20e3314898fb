// Image config + launch options -> config.json. Everything is checked and computed first; the
// container's own files are written last, and removed again if a later step fails.
#include "images/runtime_spec.hpp"

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "images/layer_files.hpp"
#include "images/passwd.hpp"
#include "oci-spec/default_seccomp.hpp"
#include "oci-spec/spec.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

namespace hull::images {
namespace {

using json = nlohmann::json;

constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// /etc/passwd and /etc/group of real images are a few KiB; this bounds what a hostile layer
// can make hull read.
constexpr size_t kMaxUserFile = 4 << 20;
constexpr uint64_t kNofileWanted = 1048576;
constexpr int64_t kCpuPeriod = 100000;
constexpr int64_t kMinCpuQuota = 1000;  // the kernel refuses a quota below 1 ms

// podman's default capabilities (containers.conf).
constexpr std::string_view kDefaultCaps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",  "CAP_KILL",       "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP", "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
};

// What a container must not read (kernel memory, keys, timing side channels, firmware) or
// write (/proc/sys and friends), as podman and runc hide them.
constexpr std::string_view kMaskedPaths[] = {
    "/proc/acpi",       "/proc/kcore",       "/proc/keys",    "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",    "/sys/devices/virtual/powercap",
};
constexpr std::string_view kReadonlyPaths[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

// Annotations hull itself acts on (isolation=vm and its kernel, initrd, command line): an
// image label must not choose them for the user.
constexpr std::string_view kReservedAnnotationPrefix = "org.hull.";

std::string env_key(std::string_view entry) { return std::string(entry.substr(0, entry.find('='))); }

// Sets or replaces KEY=... keeping the first position of KEY.
void env_set(std::vector<std::string>& env, std::string entry) {
    const std::string key = env_key(entry);
    auto it = std::ranges::find_if(env, [&](const std::string& e) { return env_key(e) == key; });
    if (it != env.end())
        *it = std::move(entry);
    else
        env.push_back(std::move(entry));
}

bool env_has(const std::vector<std::string>& env, std::string_view key) {
    return std::ranges::any_of(env, [&](const std::string& e) { return env_key(e) == key; });
}

Result<std::vector<std::string>> make_args(const oci::ImageConfig& image, const SpecOptions& o) {
    std::vector<std::string> args;
    if (o.entrypoint) {
        // As docker: --entrypoint replaces the image's and drops its Cmd.
        if (!o.entrypoint->empty()) args.push_back(*o.entrypoint);
    } else if (image.config.entrypoint) {
        args = *image.config.entrypoint;
    }
    if (!o.cmd.empty())
        args.insert(args.end(), o.cmd.begin(), o.cmd.end());
    else if (!o.entrypoint && image.config.cmd)
        args.insert(args.end(), image.config.cmd->begin(), image.config.cmd->end());
    if (args.empty()) return fail_msg("no command: the image has no Entrypoint or Cmd and none was given");
    return args;
}

Result<std::string> make_cwd(const oci::ImageConfig& image, const SpecOptions& o) {
    if (!o.workdir.empty()) {
        if (o.workdir.front() != '/') return fail_msg(cat("-w ", q(o.workdir), ": must be an absolute path"));
        return fs::clean(o.workdir);
    }
    const std::string& wd = image.config.working_dir;
    if (wd.empty()) return std::string("/");
    if (wd.front() != '/') return fail_msg(cat("image WorkingDir ", q(wd), ": must be an absolute path"));
    return fs::clean(wd);
}

Result<std::vector<std::string>> make_env(const oci::ImageConfig& image, const SpecOptions& o,
                                          const std::string& hostname, const ResolvedUser& user) {
    std::vector<std::string> env;
    for (const std::string& e : image.config.env) {
        if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos)
            return fail_msg(cat("image Env entry ", q(e), ": not KEY=VALUE"));
        env_set(env, e);
    }
    // Defaults only fill gaps: an image's own values stay (conversion.md).
    if (!env_has(env, "PATH")) env.emplace_back(kDefaultPath);
    if (!env_has(env, "HOSTNAME")) env.push_back(cat("HOSTNAME=", hostname));
    if (o.terminal && !env_has(env, "TERM")) env.emplace_back("TERM=xterm");
    if (!env_has(env, "HOME")) env.push_back(cat("HOME=", user.home && !user.home->empty() ? *user.home : "/"));
    for (const std::string& e : o.env) {
        const size_t eq = e.find('=');
        const std::string key = e.substr(0, eq);
        if (key.empty()) return fail_msg(cat("-e ", q(e), ": empty variable name"));
        if (key.find('\0') != std::string::npos) return fail_msg(cat("-e ", q(key), ": NUL in the name"));
        if (eq != std::string::npos) {
            env_set(env, e);
        } else if (const char* v = std::getenv(key.c_str())) {
            env_set(env, cat(key, "=", v));
        }  // a bare name hull itself lacks is left out, as docker does
    }
    return env;
}

Result<std::string> make_hostname(const SpecOptions& o) {
    const std::string& h = o.hostname.empty() ? o.id : o.hostname;
    const char* what = o.hostname.empty() ? "container id" : "hostname";
    if (h.empty()) return fail_msg("container id: must not be empty");
    if (h.size() > 64) return fail_msg(cat(what, " ", q(h), ": longer than 64 characters (the kernel's hostname limit)"));
    for (char c : h)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
            return fail_msg(cat(what, " ", q(h), ": only letters, digits, `-`, `.` and `_` make a hostname"));
    return h;
}

// A cleaned absolute container path, or an error naming the option.
Result<std::string> container_path(std::string_view opt, std::string_view whole, std::string_view path) {
    if (path.empty() || path.front() != '/')
        return fail_msg(cat(opt, " ", q(whole), ": ", q(path), " is not an absolute container path"));
    std::string c = fs::clean(path);
    if (c == "/") return fail_msg(cat(opt, " ", q(whole), ": cannot mount over the container's `/`"));
    return c;
}

struct Bind {
    std::string source, destination;
    bool readonly = false;
};

Result<std::vector<Bind>> parse_volumes(const SpecOptions& o) {
    std::vector<Bind> out;
    std::set<std::string> seen;
    for (const std::string& v : o.volumes) {
        std::vector<std::string> parts = split(v, ':');
        if (parts.size() < 2 || parts.size() > 3)
            return fail_msg(cat("-v ", q(v), ": expected SRC:DST or SRC:DST:ro|rw"));
        Bind b;
        if (parts[0].empty() || parts[0].front() != '/')
            return fail_msg(cat("-v ", q(v), ": source ", q(parts[0]), " must be an absolute host path"));
        b.source = fs::clean(parts[0]);
        struct stat st {};
        if (::stat(b.source.c_str(), &st) < 0)
            return fail(Error::sys(cat("-v ", q(v), ": source ", q(b.source))));
        b.destination = HULL_TRY(container_path("-v", v, parts[1]));
        if (parts.size() == 3) {
            if (parts[2] == "ro")
                b.readonly = true;
            else if (parts[2] != "rw")
                return fail_msg(cat("-v ", q(v), ": unknown mode ", q(parts[2]), " (expected `ro` or `rw`)"));
        }
        if (!seen.insert(b.destination).second)
            return fail_msg(cat("-v ", q(v), ": ", q(b.destination), " is already a mount destination"));
        out.push_back(std::move(b));
    }
    return out;
}

struct DeviceSpec {
    std::string container_path;
    char type = 'c';
    int64_t major = 0, minor = 0;
    uint32_t mode = 0, uid = 0, gid = 0;
    std::string access;
};

bool is_access(std::string_view s) {
    if (s.empty() || s.size() > 3) return false;
    std::set<char> seen;
    for (char c : s)
        if ((c != 'r' && c != 'w' && c != 'm') || !seen.insert(c).second) return false;
    return true;
}

Result<std::vector<DeviceSpec>> parse_devices(const SpecOptions& o) {
    std::vector<DeviceSpec> out;
    std::set<std::string> seen;
    for (const std::string& d : o.devices) {
        std::vector<std::string> parts = split(d, ':');
        if (parts.empty() || parts.size() > 3) return fail_msg(cat("--device ", q(d), ": expected HOST[:CONTAINER][:rwm]"));
        std::string host = parts[0], inside = parts[0], access = "rwm";
        if (parts.size() == 2) {
            // HOST:rwm or HOST:CONTAINER, told apart as docker does.
            if (is_access(parts[1]))
                access = parts[1];
            else
                inside = parts[1];
        } else if (parts.size() == 3) {
            inside = parts[1];
            access = parts[2];
        }
        if (!is_access(access))
            return fail_msg(cat("--device ", q(d), ": access ", q(access), " is not a combination of `r`, `w` and `m`"));
        if (host.empty() || host.front() != '/')
            return fail_msg(cat("--device ", q(d), ": ", q(host), " is not an absolute host path"));
        DeviceSpec s;
        s.container_path = HULL_TRY(container_path("--device", d, inside));
        struct stat st {};
        if (::stat(host.c_str(), &st) < 0) return fail(Error::sys(cat("--device ", q(d), ": ", q(host))));
        if (S_ISCHR(st.st_mode))
            s.type = 'c';
        else if (S_ISBLK(st.st_mode))
            s.type = 'b';
        else
            return fail_msg(cat("--device ", q(d), ": ", q(host), " is not a device node"));
        s.major = major(st.st_rdev);
        s.minor = minor(st.st_rdev);
        s.mode = st.st_mode & 07777;
        s.uid = st.st_uid;
        s.gid = st.st_gid;
        s.access = access;
        if (!seen.insert(s.container_path).second)
            return fail_msg(cat("--device ", q(d), ": ", q(s.container_path), " is given twice"));
        out.push_back(std::move(s));
    }
    return out;
}

// "/var/lib/data" -> "var%2Flib%2Fdata": one directory name per path, never two paths to one.
std::string escape_volume(std::string_view path) {
    std::string out;
    for (char c : path.substr(1)) {
        if (c == '/')
            out += "%2F";
        else if (c == '%')
            out += "%25";
        else
            out += c;
    }
    return out;
}

json bind_mount(const std::string& source, const std::string& destination, bool readonly) {
    return {{"destination", destination}, {"type", "bind"}, {"source", source},
            {"options", {"rbind", readonly ? "ro" : "rw"}}};
}

json standard_mounts() {
    const json nosuid_noexec_nodev = {"nosuid", "noexec", "nodev"};
    return json::array({
        {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", nosuid_noexec_nodev}},
        {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", nosuid_noexec_nodev}},
        {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
    });
}

json annotations(const oci::ImageConfig& image) {
    json a = json::object();
    auto put = [&](const char* key, const std::string& v) {
        if (!v.empty()) a[key] = v;
    };
    put("org.opencontainers.image.os", image.os);
    put("org.opencontainers.image.architecture", image.architecture);
    put("org.opencontainers.image.variant", image.variant);
    put("org.opencontainers.image.os.version", image.os_version);
    put("org.opencontainers.image.author", image.author);
    put("org.opencontainers.image.created", image.created);
    put("org.opencontainers.image.stopSignal", image.config.stop_signal);
    put("org.opencontainers.image.exposedPorts", join(image.config.exposed_ports, ","));
    // Labels win over the implicit annotations above (conversion.md).
    for (const auto& [k, v] : image.config.labels) {
        if (starts_with(k, kReservedAnnotationPrefix)) {
            log::warn(cat("image label ", q(k), " not converted to an annotation: `org.hull.*` annotations are hull's own"));
            continue;
        }
        a[k] = v;
    }
    return a;
}

json nofile_rlimit() {
    // As podman: 1048576 when the host lets hull go that high, else its own hard limit.
    uint64_t n = kNofileWanted;
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) n = std::min<uint64_t>(n, rl.rlim_max);
    return json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", n}, {"soft", n}}});
}

std::string hosts_file(const std::string& hostname, const SpecOptions& o) {
    std::string out = cat("127.0.0.1\tlocalhost\n", "::1\tlocalhost ip6-localhost ip6-loopback\n",
                          "127.0.1.1\t", hostname, "\n");
    if (o.network == "host") {
        // Sharing the host's network, the container also resolves the names the host lists,
        // as podman's --network=host does.
        if (auto host = fs::read_file(o.host_hosts)) {
            std::string extra;
            for (const std::string& line : split(*host, '\n')) {
                size_t p = line.find_first_not_of(" \t");
                if (p == std::string::npos || line[p] == '#') continue;
                extra += line;
                extra += '\n';
            }
            if (!extra.empty()) out += cat("# from the host's ", o.host_hosts, "\n", extra);
        }
    }
    return out;
}

// Removes what make_runtime_spec created unless it finished.
class CreatedFiles {
public:
    CreatedFiles() = default;
    CreatedFiles(const CreatedFiles&) = delete;
    CreatedFiles& operator=(const CreatedFiles&) = delete;
    ~CreatedFiles() {
        if (committed_) return;
        for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) {
            if (it->second)
                (void)fs::remove_tree(it->first);
            else
                ::unlink(it->first.c_str());
        }
    }
    void add_dir(std::string p) { paths_.emplace_back(std::move(p), true); }
    void add_file(std::string p) { paths_.emplace_back(std::move(p), false); }
    void commit() { committed_ = true; }

private:
    std::vector<std::pair<std::string, bool>> paths_;
    bool committed_ = false;
};

// mkdir that records a directory it created (and only one it created); true when it did.
Result<bool> make_dir(const std::string& path, CreatedFiles& created) {
    if (::mkdir(path.c_str(), 0755) == 0) {
        created.add_dir(path);
        return true;
    }
    if (errno != EEXIST) return fail_sys(cat("create ", q(path)));
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return fail_msg(cat(q(path), " exists and is not a directory"));
    return false;
}

Status write_own_file(const std::string& path, std::string_view data, CreatedFiles& created) {
    const bool existed = fs::exists(path);
    HULL_TRY(fs::write_file(path, data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644));
    if (!existed) created.add_file(path);
    return {};
}

}  // namespace

Result<nlohmann::json> make_runtime_spec(const oci::ImageConfig& image, const SpecOptions& opts) {
    // --- check and compute; nothing is written yet ---
    if (opts.container_dir.empty() || opts.container_dir.front() != '/')
        return fail_msg(cat("container directory ", q(opts.container_dir), ": must be an absolute path"));
    struct stat cst {};
    if (::stat(opts.container_dir.c_str(), &cst) < 0) return fail_sys(cat("container directory ", q(opts.container_dir)));
    if (!S_ISDIR(cst.st_mode)) return fail_msg(cat("container directory ", q(opts.container_dir), ": not a directory"));
    if (opts.network != "host" && opts.network != "none")
        return fail_msg(cat("network ", q(opts.network), ": must be `host` or `none`"));

    const std::string hostname = HULL_TRY(make_hostname(opts));
    const std::vector<std::string> args = HULL_TRY(make_args(image, opts));
    const std::string cwd = HULL_TRY(make_cwd(image, opts));

    const std::string& user_spec = opts.user.empty() ? image.config.user : opts.user;
    const char* user_from = opts.user.empty() ? "image User" : "-u";
    std::optional<std::string> passwd, group;
    if (!opts.layers.empty()) {
        passwd = HULL_TRY_CTX(read_layer_file(opts.layers, "/etc/passwd", kMaxUserFile), "read the image's `/etc/passwd`");
        group = HULL_TRY_CTX(read_layer_file(opts.layers, "/etc/group", kMaxUserFile), "read the image's `/etc/group`");
    }
    const ResolvedUser user = HULL_TRY_CTX(resolve_user(user_spec, passwd, group), user_from);
    const std::vector<std::string> env = HULL_TRY(make_env(image, opts, hostname, user));

    const std::vector<Bind> binds = HULL_TRY(parse_volumes(opts));
    const std::vector<DeviceSpec> devices = HULL_TRY(parse_devices(opts));
    auto bound = [&](const std::string& dst) {
        return std::ranges::any_of(binds, [&](const Bind& b) { return b.destination == dst; });
    };

    std::vector<std::string> image_volumes;  // cleaned destinations, each once
    for (const std::string& v : image.config.volumes) {
        if (v.empty() || v.front() != '/') return fail_msg(cat("image volume ", q(v), ": not an absolute path"));
        std::string dst = fs::clean(v);
        if (dst == "/") return fail_msg(cat("image volume ", q(v), ": cannot mount over the container's `/`"));
        if (bound(dst) || std::ranges::find(image_volumes, dst) != image_volumes.end()) continue;
        image_volumes.push_back(std::move(dst));
    }
    // A new volume gets the owner and mode of the image's directory there, as docker gives
    // it, so a non-root user the image prepared it for can still write to it.
    std::vector<std::optional<struct stat>> volume_modes;
    for (const std::string& v : image_volumes) {
        std::optional<struct stat> st;
        if (!opts.layers.empty()) st = HULL_TRY_CTX(stat_layer_path(opts.layers, v), cat("image volume ", q(v)));
        if (st && !S_ISDIR(st->st_mode)) st.reset();
        volume_modes.push_back(st);
    }

    json resources = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
    if (opts.memory) {
        if (*opts.memory <= 0) return fail_msg(cat("--memory ", *opts.memory, ": must be a positive number of bytes"));
        resources["memory"] = {{"limit", *opts.memory}};
    }
    if (opts.cpus) {
        const double c = *opts.cpus;
        if (!std::isfinite(c) || c <= 0) return fail_msg("--cpus: must be a positive number");
        const double quota = std::round(c * kCpuPeriod);
        if (quota < kMinCpuQuota) return fail_msg(cat("--cpus: below the kernel's minimum of 0.01"));
        if (quota > 1e15) return fail_msg("--cpus: too large");
        resources["cpu"] = {{"quota", static_cast<int64_t>(quota)}, {"period", kCpuPeriod}};
    }
    if (opts.pids_limit && *opts.pids_limit != -1) {
        if (*opts.pids_limit <= 0)
            return fail_msg(cat("--pids-limit ", *opts.pids_limit, ": must be positive (or -1 for no limit)"));
        resources["pids"] = {{"limit", *opts.pids_limit}};
    }

    json linux_devices = json::array();
    for (const DeviceSpec& d : devices) {
        linux_devices.push_back({{"path", d.container_path}, {"type", std::string(1, d.type)}, {"major", d.major},
                                 {"minor", d.minor}, {"fileMode", d.mode}, {"uid", d.uid}, {"gid", d.gid}});
        resources["devices"].push_back({{"allow", true}, {"type", std::string(1, d.type)}, {"major", d.major},
                                        {"minor", d.minor}, {"access", d.access}});
    }

    // podman's sets: the full default for root; for another user only the bounding set,
    // so nothing is gained by exec'ing a program as that user.
    json caps = json::array();
    std::vector<std::string> cap_names;
    for (std::string_view c : kDefaultCaps) {
        caps.push_back(c);
        cap_names.emplace_back(c);
    }
    const json none = json::array();
    const bool root = user.uid == 0;
    json capabilities = {{"bounding", caps},           {"effective", root ? caps : none},
                         {"permitted", root ? caps : none}, {"inheritable", none},
                         {"ambient", none}};

    json process = {
        {"terminal", opts.terminal},
        {"user", {{"uid", user.uid}, {"gid", user.gid}}},
        {"args", args},
        {"env", env},
        {"cwd", cwd},
        {"capabilities", std::move(capabilities)},
        {"rlimits", nofile_rlimit()},
        {"noNewPrivileges", false},
    };
    if (!user.additional_gids.empty()) process["user"]["additionalGids"] = user.additional_gids;

    json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                                   {{"type", "mount"}}, {{"type", "cgroup"}}});
    if (opts.network == "none") namespaces.push_back({{"type", "network"}});

    const std::string etc_dir = fs::join(opts.container_dir, "etc");
    const std::string volumes_dir = fs::join(opts.container_dir, "volumes");
    json mounts = standard_mounts();
    for (const char* f : {"hosts", "hostname", "resolv.conf"}) {
        const std::string dst = cat("/etc/", f);
        if (!bound(dst)) mounts.push_back(bind_mount(fs::join(etc_dir, f), dst, false));
    }
    for (const std::string& v : image_volumes)
        mounts.push_back(bind_mount(fs::join(volumes_dir, escape_volume(v)), v, false));
    for (const Bind& b : binds) mounts.push_back(bind_mount(b.source, b.destination, b.readonly));

    json masked = json::array(), readonly = json::array();
    for (std::string_view p : kMaskedPaths) masked.push_back(p);
    for (std::string_view p : kReadonlyPaths) readonly.push_back(p);

    json spec = {
        {"ociVersion", oci::kSpecVersion},
        {"process", std::move(process)},
        {"root", {{"path", "rootfs"}, {"readonly", opts.read_only}}},
        {"hostname", hostname},
        {"mounts", std::move(mounts)},
        {"annotations", annotations(image)},
        {"linux",
         {
             {"namespaces", std::move(namespaces)},
             {"devices", std::move(linux_devices)},
             {"resources", std::move(resources)},
             {"seccomp", oci::default_seccomp_profile(cap_names)},
             {"maskedPaths", std::move(masked)},
             {"readonlyPaths", std::move(readonly)},
         }},
    };
    // A bug here must not reach `hull run` as a confusing error: the runtime's own check.
    HULL_TRY_CTX(oci::parse_config(spec.dump()), "generated config.json");

    // --- write the container's own files ---
    std::string resolv;
    if (fs::exists(opts.host_resolv_conf))
        resolv = HULL_TRY_CTX(fs::read_file(opts.host_resolv_conf), "copy the host's resolv.conf");
    CreatedFiles created;
    (void)HULL_TRY(make_dir(etc_dir, created));
    HULL_TRY(write_own_file(fs::join(etc_dir, "hostname"), cat(hostname, "\n"), created));
    HULL_TRY(write_own_file(fs::join(etc_dir, "hosts"), hosts_file(hostname, opts), created));
    HULL_TRY(write_own_file(fs::join(etc_dir, "resolv.conf"), resolv, created));
    if (!image_volumes.empty()) {
        (void)HULL_TRY(make_dir(volumes_dir, created));
        for (size_t i = 0; i < image_volumes.size(); ++i) {
            const std::string dir = fs::join(volumes_dir, escape_volume(image_volumes[i]));
            const bool made = HULL_TRY(make_dir(dir, created));
            if (!made || !volume_modes[i]) continue;
            const struct stat& st = *volume_modes[i];
            if (::lchown(dir.c_str(), st.st_uid, st.st_gid) < 0) return fail_sys(cat("chown ", q(dir)));
            if (::chmod(dir.c_str(), st.st_mode & 07777) < 0) return fail_sys(cat("chmod ", q(dir)));
        }
    }
    created.commit();
    return spec;
}

}  // namespace hull::images
