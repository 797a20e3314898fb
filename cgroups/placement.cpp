#include "cgroups/placement.hpp"

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

#include <algorithm>

namespace hull::cgroups {

namespace {

constexpr std::string_view kSliceSuffix = ".slice";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status check_container_id(std::string_view id) {
    if (id.empty() || id == "." || id == ".." || id.find('/') != std::string_view::npos ||
        id.find('\0') != std::string_view::npos)
        return fail_msg(cat("container id ", q(id), ": not usable as a cgroup name"));
    return {};
}

// Maps a path from /proc/self/cgroup (relative to the hierarchy's root) onto the part of the
// hierarchy mounted at the mount point, whose own root mountinfo reports.
Result<std::string> below_mount_root(std::string_view own, std::string_view root, std::string_view what) {
    if (root.empty() || root == "/") return std::string(own);
    if (own == root) return std::string("/");
    if (starts_with(own, root) && own.size() > root.size() && own[root.size()] == '/')
        return std::string(own.substr(root.size()));
    return fail_msg(cat("own ", what, " cgroup ", q(own), " is outside the part of the hierarchy that is mounted (",
                        q(root), ")"));
}

}  // namespace

Result<std::string> clean_cgroups_path(std::string_view path) {
    if (path.find('\0') != std::string_view::npos)
        return fail_msg(cat("linux.cgroupsPath ", q(path), ": contains a NUL byte"));
    bool absolute = !path.empty() && path[0] == '/';
    std::vector<std::string> parts;
    for (auto& c : split(path, '/')) {
        if (c.empty() || c == ".") continue;
        if (c == "..") return fail_msg(cat("linux.cgroupsPath ", q(path), ": `..` components are not allowed"));
        parts.push_back(c);
    }
    if (parts.empty())
        return fail_msg(cat("linux.cgroupsPath ", q(path), ": names ",
                            absolute ? "the root cgroup" : "the runtime's own cgroup", ", not one for the container"));
    return cat(absolute ? "/" : "", join(parts, "/"));
}

Result<std::string> expand_slice(std::string_view slice) {
    auto bad = [&] { return fail_msg(cat("systemd slice ", q(slice), ": not a valid slice name")); };
    if (slice.size() <= kSliceSuffix.size() || !ends_with(slice, kSliceSuffix) || slice.find('/') != std::string_view::npos)
        return bad();
    std::string_view name = slice.substr(0, slice.size() - kSliceSuffix.size());
    if (name == "-") return std::string("/");
    // "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice; "a--b" and "-a" are invalid.
    std::string path, prefix;
    for (auto& part : split(name, '-')) {
        if (part.empty()) return bad();
        path += cat("/", prefix, part, kSliceSuffix);
        prefix += cat(part, "-");
    }
    return path;
}

Result<std::string> systemd_cgroup_path(std::string_view cgroups_path, std::string_view container_id) {
    std::string slice = "system.slice", prefix = "hull", name(container_id);
    if (!cgroups_path.empty()) {
        auto parts = split(cgroups_path, ':');
        if (parts.size() != 3)
            return fail_msg(cat("linux.cgroupsPath ", q(cgroups_path),
                                ": expected \"slice:prefix:name\" with --systemd-cgroup"));
        if (!parts[0].empty()) slice = parts[0];
        prefix = parts[1];
        name = parts[2];
    }
    for (auto& part : {prefix, name})
        if (part.find('/') != std::string::npos || part == "." || part == ".." || part.find('\0') != std::string::npos)
            return fail_msg(cat("linux.cgroupsPath ", q(cgroups_path), ": ", q(part), " is not a valid unit name part"));
    if (name.empty()) return fail_msg(cat("linux.cgroupsPath ", q(cgroups_path), ": the unit name is empty"));
    std::string dir = HULL_TRY_CTX(expand_slice(slice), cat("linux.cgroupsPath ", q(cgroups_path)));
    // Like runc: a name ending in .slice is used as is; anything else becomes a scope.
    std::string unit = ends_with(name, kSliceSuffix) ? name : prefix.empty() ? cat(name, ".scope") : cat(prefix, "-", name, ".scope");
    return fs::join(dir, unit);
}

std::string canonical_controllers(std::string_view list) {
    auto parts = split(list, ',');
    std::erase(parts, std::string());
    std::sort(parts.begin(), parts.end());
    return join(parts, ",");
}

Result<std::map<std::string, std::string>> parse_proc_cgroup(std::string_view text) {
    std::map<std::string, std::string> out;
    size_t line_no = 0;
    for (auto& line : split(text, '\n')) {
        ++line_no;
        if (line.empty()) continue;
        // "hierarchy-id:controller-list:path"; the path itself may contain ':'.
        auto a = line.find(':');
        auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos || b + 1 >= line.size() || line[b + 1] != '/')
            return fail_msg(cat("line ", line_no, ": malformed: ", q(line)));
        out[canonical_controllers(std::string_view(line).substr(a + 1, b - a - 1))] = line.substr(b + 1);
    }
    return out;
}

Result<Placement> resolve_placement(const Host& host, const Config& config, std::string_view proc_self_cgroup) {
    std::string inner;
    if (config.systemd) {
        if (!host.systemd_running) return fail_msg("--systemd-cgroup: systemd is not running on this host");
        inner = HULL_TRY(systemd_cgroup_path(config.cgroups_path, config.container_id));
        log::debug(cat("--systemd-cgroup: hull has no systemd integration yet; creating ", q(inner),
                       " directly, without a transient unit"));
    } else if (config.cgroups_path.empty()) {
        // runc 1.1 (specconv) leaves Path empty and sets Name to the container id, which its
        // cgroupfs driver places under the caller's own cgroup, like a relative path.
        HULL_TRY(check_container_id(config.container_id));
        inner = config.container_id;
    } else {
        inner = HULL_TRY(clean_cgroups_path(config.cgroups_path));
    }
    bool relative = inner[0] != '/';

    std::map<std::string, std::string> own;
    if (relative) own = HULL_TRY_CTX(parse_proc_cgroup(proc_self_cgroup), "parse `/proc/self/cgroup`");

    auto root_of = [&](const std::string& mount) {
        auto it = host.mount_roots.find(mount);
        return it == host.mount_roots.end() ? std::string("/") : it->second;
    };
    // `parent_of_own`: on a pure v2 host the caller's own cgroup usually holds processes, and
    // the "no internal processes" rule then forbids controllers in a child of it, so (like
    // runc) a relative path goes under its parent instead.
    auto place = [&](const std::string& controllers, const std::string& mount, bool parent_of_own) -> Result<Dir> {
        Dir d{controllers, mount, inner};
        if (relative) {
            std::string what = controllers.empty() ? std::string("cgroup2") : controllers;
            auto it = own.find(canonical_controllers(controllers));
            if (it == own.end())
                return fail_msg(cat("`/proc/self/cgroup` has no line for the ", q(what), " hierarchy"));
            std::string base = HULL_TRY(below_mount_root(it->second, root_of(mount), what));
            if (parent_of_own) base = fs::dirname(base);
            d.rel = fs::clean(fs::join(base, inner));
        }
        if (auto ok = check_rel(d.rel); !ok) return fail(std::move(ok.error()));
        return d;
    };

    Placement p;
    p.layout = host.layout;
    if (host.layout != Layout::unified)
        for (auto& [controllers, mount] : host.v1) p.v1.push_back(HULL_TRY(place(controllers, mount, false)));
    if (host.layout != Layout::legacy) {
        if (host.unified_mount.empty()) return fail_msg(cat("the ", to_string(host.layout), " host has no cgroup2 mount"));
        p.v2 = HULL_TRY(place("", host.unified_mount, host.layout == Layout::unified));
    }
    if (p.v1.empty() && !p.v2) return fail_msg("no cgroup hierarchy to place the container in");

    // What /proc/<pid>/cgroup will show: the cgroup2 line where there is one, else the pids
    // hierarchy's (or the first one's).
    const Dir* shown = p.v2 ? &*p.v2 : &p.v1.front();
    if (!p.v2)
        for (auto& d : p.v1)
            if (d.has("pids")) shown = &d;
    p.cgroup_path = fs::clean(fs::join(root_of(shown->mount), shown->rel));
    return p;
}

}  // namespace hull::cgroups
