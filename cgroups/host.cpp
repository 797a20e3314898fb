// Host detection: which cgroup hierarchies are mounted where, read from mountinfo.
#include "cgroups/manager.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <algorithm>

namespace hull::cgroups {

const char* to_string(Layout l) {
    switch (l) {
    case Layout::unified: return "unified";
    case Layout::hybrid: return "hybrid";
    case Layout::legacy: return "legacy";
    }
    return "unknown";
}

namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo octal.
std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            auto v = parse_int<unsigned>(s.substr(i + 1, 3), 8);
            if (v && *v < 256) {
                out.push_back(static_cast<char>(*v));
                i += 3;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

// Super options of a v1 cgroup mount that are not controllers.
bool is_controller_option(std::string_view opt) {
    static constexpr std::string_view kNotControllers[] = {
        "rw", "ro", "none", "all", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods",
    };
    if (opt.empty()) return false;
    for (auto n : kNotControllers)
        if (opt == n) return false;
    return !starts_with(opt, "release_agent=");
}

// Duplicate mounts of one hierarchy (bind mounts, propagated container mounts): the one under
// /sys/fs/cgroup wins, otherwise the first.
bool preferred(std::string_view mount) { return mount == "/sys/fs/cgroup" || starts_with(mount, "/sys/fs/cgroup/"); }

}  // namespace

Result<Host> parse_host(std::string_view text) {
    Host host;
    bool v1_controllers = false;
    size_t line_no = 0;
    auto lines = split(text, '\n');
    // A mount is hidden when a later one sits on the same point or above it (a tmpfs over
    // /sys/fs/cgroup/unified, as tools masking cgroup2 in a private namespace do); hidden
    // cgroup mounts cannot be used, so they do not count.
    auto hidden = [&](size_t index, const std::string& mount) {
        for (size_t j = index + 1; j < lines.size(); ++j) {
            auto f = split(lines[j], ' ');
            if (f.size() < 5) continue;
            std::string other = unescape(f[4]);
            if (other == mount || (starts_with(mount, other) && (other == "/" || mount[other.size()] == '/')))
                return true;
        }
        return false;
    };
    for (size_t index = 0; index < lines.size(); ++index) {
        const std::string& line = lines[index];
        ++line_no;
        if (line.empty()) continue;
        // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
        auto fields = split(line, ' ');
        auto sep = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 5 || sep == fields.end() || sep < fields.begin() + 5 || fields.end() - sep < 4)
            return fail_msg(cat("mountinfo line ", line_no, ": malformed: ", q(line)));
        const std::string& fstype = sep[1];
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        std::string root = unescape(fields[3]);
        std::string mount = unescape(fields[4]);
        if (hidden(index, mount)) continue;

        if (fstype == "cgroup2") {
            if (host.unified_mount.empty() || (!preferred(host.unified_mount) && preferred(mount))) {
                host.mount_roots.erase(host.unified_mount);
                host.unified_mount = mount;
                host.mount_roots[mount] = root;
            }
            continue;
        }

        std::vector<std::string> controllers;
        for (auto& opt : split(sep[3], ','))
            if (is_controller_option(opt)) controllers.push_back(opt);
        if (controllers.empty()) continue;
        std::string list = join(controllers, ",");
        auto same = std::find_if(host.v1.begin(), host.v1.end(), [&](auto& e) { return e.first == list; });
        if (same != host.v1.end()) {
            if (preferred(same->second) || !preferred(mount)) continue;
            host.mount_roots.erase(same->second);
            same->second = mount;
        } else {
            host.v1.emplace_back(list, mount);
        }
        host.mount_roots[mount] = root;
        if (!starts_with(list, "name=") || list.find(',') != std::string::npos) v1_controllers = true;
    }

    if (!host.unified_mount.empty())
        // A cgroup2 mount beside v1 hierarchies that hold controllers is systemd's "hybrid"
        // layout. Named-only v1 hierarchies (a legacy name=systemd beside a real cgroup2 tree)
        // do not make a host hybrid: all controllers live in cgroup2.
        host.layout = v1_controllers ? Layout::hybrid : Layout::unified;
    else if (!host.v1.empty())
        host.layout = Layout::legacy;
    else
        return fail_msg("no cgroup filesystem is mounted (none in /proc/self/mountinfo)");
    return host;
}

Result<Host> detect_host() {
    auto text = HULL_TRY(fs::read_file("/proc/self/mountinfo"));
    auto host = HULL_TRY_CTX(parse_host(text), "detect cgroup layout");
    host.systemd_running = fs::exists("/run/systemd/system");
    return host;
}

}  // namespace hull::cgroups
