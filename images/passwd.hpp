// /etc/passwd and /etc/group of an image, and resolving a `user[:group]` spec against them
// the way docker and runc do.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

struct PasswdEntry {
    std::string name;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string home;
};

struct GroupEntry {
    std::string name;
    uint32_t gid = 0;
    std::vector<std::string> members;
};

// Lines that are blank, comments, too short or with ids that are not numbers are skipped, as
// libc's getpwnam(3) skips them.
std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

struct ResolvedUser {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::vector<uint32_t> additional_gids;  // from /etc/group membership, in file order
    std::optional<std::string> home;        // when the user has a passwd entry
};

// Resolves `spec` ("" for root, "name", "uid", "name:group", "uid:gid"...) against the image's
// files (nullopt: the image has no such file):
//   - a numeric uid or gid is taken as is (a uid need not exist in passwd);
//   - a name must exist in its file, or the result is an error naming it and the file;
//   - without an explicit group, the gid is the passwd entry's (0 when the uid has none), and
//     the additional gids are the groups listing the user's name as a member, as docker does;
//     with an explicit group there are none.
Result<ResolvedUser> resolve_user(std::string_view spec, const std::optional<std::string>& passwd,
                                  const std::optional<std::string>& group);

}  // namespace hull::images
