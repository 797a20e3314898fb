// /etc/passwd and /etc/group parsing and user resolution as docker does it.
#include "images/passwd.hpp"

#include <gtest/gtest.h>

namespace hull::images {
namespace {

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "\n"
    "daemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
    "broken line\n"
    "bad:x:notanumber:1::/:/bin/sh\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\r\n"
    "bob:x:1001:100::/home/bob:/bin/sh\n";
const std::string kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,alice\n"
    "users:x:100:\n"
    "alice:x:1000:\n"
    "audio:x:29:alice,bob\n"
    "video:x:44:bob,alice,alice\n";

TEST(Passwd, ParsesAndSkipsBrokenLines) {
    auto users = parse_passwd(kPasswd);
    ASSERT_EQ(users.size(), 4u);
    EXPECT_EQ(users[2].name, "alice");
    EXPECT_EQ(users[2].uid, 1000u);
    EXPECT_EQ(users[2].gid, 1000u);
    EXPECT_EQ(users[2].home, "/home/alice");
    auto groups = parse_group(kGroup);
    ASSERT_EQ(groups.size(), 6u);
    EXPECT_EQ(groups[1].members, (std::vector<std::string>{"root", "alice"}));
    EXPECT_TRUE(groups[2].members.empty());
}

TEST(Passwd, EmptyIsRootWithItsGroups) {
    auto u = resolve_user("", kPasswd, kGroup);
    ASSERT_TRUE(u) << u.error().message();
    EXPECT_EQ(u->uid, 0u);
    EXPECT_EQ(u->gid, 0u);
    EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10}));
    EXPECT_EQ(u->home, "/root");
    // An image without the files still runs as root.
    auto bare = resolve_user("", std::nullopt, std::nullopt);
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->uid, 0u);
    EXPECT_FALSE(bare->home);
}

TEST(Passwd, NameGetsPrimaryAndSupplementaryGroups) {
    auto u = resolve_user("alice", kPasswd, kGroup);
    ASSERT_TRUE(u) << u.error().message();
    EXPECT_EQ(u->uid, 1000u);
    EXPECT_EQ(u->gid, 1000u);
    EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{10, 29, 44}));
    EXPECT_EQ(u->home, "/home/alice");
}

TEST(Passwd, NumericUidFoundInPasswdBehavesLikeItsName) {
    auto u = resolve_user("1001", kPasswd, kGroup);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->uid, 1001u);
    EXPECT_EQ(u->gid, 100u);
    EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{29, 44}));
}

TEST(Passwd, NumericUidUnknownIsTakenAsIs) {
    auto u = resolve_user("4242", kPasswd, kGroup);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->uid, 4242u);
    EXPECT_EQ(u->gid, 0u);
    EXPECT_TRUE(u->additional_gids.empty());
    auto none = resolve_user("4242:4343", std::nullopt, std::nullopt);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->uid, 4242u);
    EXPECT_EQ(none->gid, 4343u);
}

TEST(Passwd, ExplicitGroupReplacesPrimaryAndDropsSupplementary) {
    auto u = resolve_user("alice:users", kPasswd, kGroup);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->uid, 1000u);
    EXPECT_EQ(u->gid, 100u);
    EXPECT_TRUE(u->additional_gids.empty());
    auto n = resolve_user("alice:7", kPasswd, kGroup);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->gid, 7u);
}

void expect_error(std::string_view spec, const std::optional<std::string>& passwd,
                  const std::optional<std::string>& group, std::string_view want) {
    auto u = resolve_user(spec, passwd, group);
    ASSERT_FALSE(u) << spec;
    EXPECT_EQ(u.error().message(), want) << spec;
}

TEST(Passwd, Errors) {
    expect_error("carol", kPasswd, kGroup, "user `carol`: no such user in the image's `/etc/passwd`");
    expect_error("carol", std::nullopt, kGroup, "user `carol`: the image has no `/etc/passwd`");
    expect_error("alice:staff", kPasswd, kGroup, "group `staff`: no such group in the image's `/etc/group`");
    expect_error("alice:staff", kPasswd, std::nullopt, "group `staff`: the image has no `/etc/group`");
    expect_error("4294967295", kPasswd, kGroup, "user `4294967295`: uid `4294967295` is out of range");
    expect_error("99999999999", kPasswd, kGroup, "user `99999999999`: uid `99999999999` is out of range");
    expect_error("0:4294967295", kPasswd, kGroup, "user `0:4294967295`: gid `4294967295` is out of range");
    expect_error("alice:", kPasswd, kGroup, "user `alice:`: empty group after `:`");
    expect_error(":users", kPasswd, kGroup, "user `:users`: empty user before `:`");
    // A broken line never matches.
    expect_error("bad", kPasswd, kGroup, "user `bad`: no such user in the image's `/etc/passwd`");
}

}  // namespace
}  // namespace hull::images
