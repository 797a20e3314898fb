#include "runtime/vm/guest_init/process_config.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <utility>

namespace hull::vm::guest {
namespace {

using json = nlohmann::json;
using Err = std::unexpected<std::string>;

Err bad(std::string_view path, std::string_view what) { return Err(std::string(path) + ": " + std::string(what)); }

// Every accessor checks the JSON type first: nlohmann's get<> would throw, and the guest init
// must turn any input into a message, never an abort.
std::expected<std::string, std::string> get_string(const json& j, std::string_view path) {
    if (!j.is_string()) return bad(path, "expected a string");
    return j.get<std::string>();
}

std::expected<std::uint64_t, std::string> get_u64(const json& j, std::string_view path,
                                                  std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    if (!j.is_number_unsigned()) return bad(path, "expected a non-negative integer");
    auto v = j.get<std::uint64_t>();
    if (v > max) return bad(path, "out of range");
    return v;
}

std::expected<bool, std::string> get_bool(const json& j, std::string_view path) {
    if (!j.is_boolean()) return bad(path, "expected true or false");
    return j.get<bool>();
}

std::expected<std::vector<std::string>, std::string> get_strings(const json& j, std::string_view path) {
    if (!j.is_array()) return bad(path, "expected an array of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
        auto s = get_string(j[i], std::string(path) + "[" + std::to_string(i) + "]");
        if (!s) return Err(s.error());
        out.push_back(std::move(*s));
    }
    return out;
}

}  // namespace

std::string to_json(const GuestProcess& p) {
    json j;
    j["version"] = kProcessConfigVersion;
    j["args"] = p.args;
    j["env"] = p.env;
    j["cwd"] = p.cwd;
    j["uid"] = p.uid;
    j["gid"] = p.gid;
    j["additionalGids"] = p.additional_gids;
    if (p.umask) j["umask"] = *p.umask;
    j["terminal"] = p.terminal;
    j["noNewPrivileges"] = p.no_new_privileges;
    j["rlimits"] = json::array();
    for (const auto& r : p.rlimits) j["rlimits"].push_back({{"resource", r.resource}, {"soft", r.soft}, {"hard", r.hard}});
    j["hostname"] = p.hostname;
    j["modules"] = p.modules;
    j["writableDisk"] = p.writable_disk;
    j["readonlyRoot"] = p.readonly_root;
    j["control"] = p.control;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::expected<GuestProcess, std::string> parse_guest_process(std::string_view text) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Err("invalid JSON");
    if (!j.is_object()) return Err("expected an object");
    // Every key is required: hull writes them all, so a missing one means a mismatched pair
    // of hull and guest init, which is worth saying rather than guessing around.
    for (const char* key : {"version", "args", "env", "cwd", "uid", "gid", "additionalGids", "terminal",
                            "noNewPrivileges", "rlimits", "hostname", "modules", "writableDisk", "readonlyRoot", "control"})
        if (!j.contains(key)) return bad(std::string(".") + key, "is required");
    auto version = get_u64(j["version"], ".version");
    if (!version) return Err(version.error());
    if (*version != static_cast<std::uint64_t>(kProcessConfigVersion))
        return bad(".version", "this guest init reads version " + std::to_string(kProcessConfigVersion) + ", got " +
                                   std::to_string(*version) + " (hull and hull-guest-init from different builds?)");

    GuestProcess p;
#define HULL_GET(dst, expr)                          \
    do {                                             \
        auto _v = (expr);                            \
        if (!_v) return Err(std::move(_v.error()));  \
        dst = std::move(*_v);                        \
    } while (0)
    HULL_GET(p.args, get_strings(j["args"], ".args"));
    if (p.args.empty()) return bad(".args", "must not be empty");
    if (p.args[0].empty()) return bad(".args[0]", "must not be empty");
    HULL_GET(p.env, get_strings(j["env"], ".env"));
    for (std::size_t i = 0; i < p.env.size(); ++i)
        if (p.env[i].find('=') == std::string::npos || p.env[i][0] == '=')
            return bad(".env[" + std::to_string(i) + "]", "expected NAME=value");
    HULL_GET(p.cwd, get_string(j["cwd"], ".cwd"));
    if (p.cwd.empty() || p.cwd[0] != '/') return bad(".cwd", "must be an absolute path");
    constexpr std::uint64_t kId = std::numeric_limits<std::uint32_t>::max();
    HULL_GET(p.uid, get_u64(j["uid"], ".uid", kId));
    HULL_GET(p.gid, get_u64(j["gid"], ".gid", kId));
    const json& gids = j["additionalGids"];
    if (!gids.is_array()) return bad(".additionalGids", "expected an array of integers");
    for (std::size_t i = 0; i < gids.size(); ++i) {
        std::uint32_t g = 0;
        HULL_GET(g, get_u64(gids[i], ".additionalGids[" + std::to_string(i) + "]", kId));
        p.additional_gids.push_back(g);
    }
    if (j.contains("umask")) {
        std::uint32_t m = 0;
        HULL_GET(m, get_u64(j["umask"], ".umask", 0777));
        p.umask = m;
    }
    HULL_GET(p.terminal, get_bool(j["terminal"], ".terminal"));
    HULL_GET(p.no_new_privileges, get_bool(j["noNewPrivileges"], ".noNewPrivileges"));
    const json& rl = j["rlimits"];
    if (!rl.is_array()) return bad(".rlimits", "expected an array");
    for (std::size_t i = 0; i < rl.size(); ++i) {
        std::string at = ".rlimits[" + std::to_string(i) + "]";
        if (!rl[i].is_object()) return bad(at, "expected an object");
        for (const char* key : {"resource", "soft", "hard"})
            if (!rl[i].contains(key)) return bad(at + "." + key, "is required");
        GuestRlimit r;
        HULL_GET(r.resource, get_u64(rl[i]["resource"], at + ".resource", 63));
        HULL_GET(r.soft, get_u64(rl[i]["soft"], at + ".soft"));
        HULL_GET(r.hard, get_u64(rl[i]["hard"], at + ".hard"));
        if (r.soft > r.hard) return bad(at, "soft limit above the hard limit");
        p.rlimits.push_back(r);
    }
    HULL_GET(p.hostname, get_string(j["hostname"], ".hostname"));
    if (p.hostname.size() > 64) return bad(".hostname", "longer than 64 bytes");
    HULL_GET(p.modules, get_strings(j["modules"], ".modules"));
    for (std::size_t i = 0; i < p.modules.size(); ++i) {
        const std::string& m = p.modules[i];
        if (m.empty() || m[0] == '/' || m.find("..") != std::string::npos)
            return bad(".modules[" + std::to_string(i) + "]", "expected a relative path without `..`");
    }
    HULL_GET(p.writable_disk, get_bool(j["writableDisk"], ".writableDisk"));
    HULL_GET(p.readonly_root, get_bool(j["readonlyRoot"], ".readonlyRoot"));
    HULL_GET(p.control, get_string(j["control"], ".control"));
    if (!p.control.empty() && p.control[0] != '/') return bad(".control", "must be empty or an absolute path");
#undef HULL_GET
    return p;
}

}  // namespace hull::vm::guest
