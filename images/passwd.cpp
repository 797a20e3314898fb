// /etc/passwd and /etc/group parsing, and user resolution.
#include "images/passwd.hpp"

#include "common/strings.hpp"

#include <algorithm>

namespace hull::images {
namespace {

// An id as the kernel takes it: a decimal below 2^32-1 (which means "no id" to setresuid).
std::optional<uint32_t> parse_id(std::string_view s) {
    if (s.empty() || s.size() > 10 || !std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    auto v = parse_int<uint64_t>(s);
    if (!v || *v >= 0xffffffffULL) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; });
}

// The file's lines, without comments and blank ones.
std::vector<std::vector<std::string>> records(std::string_view text) {
    std::vector<std::vector<std::string>> out;
    for (std::string& line : split(text, '\n')) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.front() == '#') continue;
        out.push_back(split(line, ':'));
    }
    return out;
}

}  // namespace

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
    std::vector<PasswdEntry> out;
    for (const auto& f : records(text)) {
        if (f.size() < 4 || f[0].empty()) continue;
        auto uid = parse_id(f[2]);
        auto gid = parse_id(f[3]);
        if (!uid || !gid) continue;
        out.push_back({f[0], *uid, *gid, f.size() > 5 ? f[5] : std::string()});
    }
    return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
    std::vector<GroupEntry> out;
    for (const auto& f : records(text)) {
        if (f.size() < 3 || f[0].empty()) continue;
        auto gid = parse_id(f[2]);
        if (!gid) continue;
        GroupEntry g{f[0], *gid, {}};
        if (f.size() > 3)
            for (std::string& m : split(f[3], ','))
                if (!m.empty()) g.members.push_back(std::move(m));
        out.push_back(std::move(g));
    }
    return out;
}

Result<ResolvedUser> resolve_user(std::string_view spec, const std::optional<std::string>& passwd,
                                  const std::optional<std::string>& group) {
    std::string_view user_part = spec, group_part;
    bool explicit_group = false;
    if (auto colon = spec.find(':'); colon != std::string_view::npos) {
        user_part = spec.substr(0, colon);
        group_part = spec.substr(colon + 1);
        explicit_group = true;
        if (group_part.empty()) return fail_msg(cat("user ", q(spec), ": empty group after `:`"));
    }
    if (user_part.empty()) {
        if (explicit_group) return fail_msg(cat("user ", q(spec), ": empty user before `:`"));
        user_part = "0";  // no user: root
    }

    const std::vector<PasswdEntry> users = passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>{};
    ResolvedUser r;
    const PasswdEntry* entry = nullptr;
    if (all_digits(user_part)) {
        auto uid = parse_id(user_part);
        if (!uid) return fail_msg(cat("user ", q(spec), ": uid ", q(user_part), " is out of range"));
        r.uid = *uid;
        auto it = std::ranges::find_if(users, [&](const PasswdEntry& e) { return e.uid == *uid; });
        if (it != users.end()) entry = &*it;
    } else {
        if (!passwd) return fail_msg(cat("user ", q(user_part), ": the image has no `/etc/passwd`"));
        auto it = std::ranges::find_if(users, [&](const PasswdEntry& e) { return e.name == user_part; });
        if (it == users.end()) return fail_msg(cat("user ", q(user_part), ": no such user in the image's `/etc/passwd`"));
        entry = &*it;
        r.uid = entry->uid;
    }
    if (entry) {
        r.gid = entry->gid;
        r.home = entry->home;
    }

    const std::vector<GroupEntry> groups = group ? parse_group(*group) : std::vector<GroupEntry>{};
    if (explicit_group) {
        if (all_digits(group_part)) {
            auto gid = parse_id(group_part);
            if (!gid) return fail_msg(cat("user ", q(spec), ": gid ", q(group_part), " is out of range"));
            r.gid = *gid;
        } else {
            if (!group) return fail_msg(cat("group ", q(group_part), ": the image has no `/etc/group`"));
            auto it = std::ranges::find_if(groups, [&](const GroupEntry& g) { return g.name == group_part; });
            if (it == groups.end())
                return fail_msg(cat("group ", q(group_part), ": no such group in the image's `/etc/group`"));
            r.gid = it->gid;
        }
    } else if (entry) {
        for (const GroupEntry& g : groups)
            if (std::ranges::find(g.members, entry->name) != g.members.end() &&
                std::ranges::find(r.additional_gids, g.gid) == r.additional_gids.end())
                r.additional_gids.push_back(g.gid);
    }
    return r;
}

}  // namespace hull::images
