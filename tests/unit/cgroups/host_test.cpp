#include "cgroups/manager.hpp"

#include <gtest/gtest.h>

namespace hull::cgroups {
namespace {

// This development host: systemd-style hybrid, cpu and cpuacct mounted separately.
constexpr std::string_view kHybrid =
    "22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// Debian 10 / CentOS 7 style: co-mounted controllers, systemd's extra super options.
constexpr std::string_view kLegacy =
    "25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup "
    "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
    "30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:12 - cgroup cgroup rw,net_cls,net_prio\n"
    "31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory\n"
    "32 25 0:29 / /sys/fs/cgroup/devices rw,nosuid shared:14 - cgroup cgroup rw,devices\n"
    "33 25 0:30 / /sys/fs/cgroup/cpuset rw,nosuid shared:15 - cgroup cgroup rw,cpuset,clone_children\n"
    "34 25 0:31 / /sys/fs/cgroup/pids rw,nosuid shared:16 - cgroup cgroup rw,pids\n";

constexpr std::string_view kUnified =
    "22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n"
    "26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(CgroupsHost, HybridFindsEveryV1HierarchyAndTheCgroup2Mount) {
    auto h = parse_host(kHybrid);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->layout, Layout::hybrid);
    EXPECT_EQ(h->unified_mount, "/sys/fs/cgroup/unified");
    std::vector<std::pair<std::string, std::string>> want = {
        {"cpu", "/sys/fs/cgroup/cpu"},         {"cpuacct", "/sys/fs/cgroup/cpuacct"}, {"cpuset", "/sys/fs/cgroup/cpuset"},
        {"memory", "/sys/fs/cgroup/memory"},   {"devices", "/sys/fs/cgroup/devices"}, {"freezer", "/sys/fs/cgroup/freezer"},
        {"blkio", "/sys/fs/cgroup/blkio"},     {"pids", "/sys/fs/cgroup/pids"},       {"name=systemd", "/sys/fs/cgroup/systemd"},
    };
    EXPECT_EQ(h->v1, want);
    EXPECT_FALSE(h->systemd_running);  // only detect_host() looks at /run/systemd/system
    EXPECT_EQ(h->mount_roots.at("/sys/fs/cgroup/unified"), "/");
    EXPECT_STREQ(to_string(h->layout), "hybrid");
}

TEST(CgroupsHost, LegacyKeepsCoMountedControllersTogetherAndDropsMountOptions) {
    auto h = parse_host(kLegacy);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->layout, Layout::legacy);
    EXPECT_TRUE(h->unified_mount.empty());
    ASSERT_EQ(h->v1.size(), 7u);
    EXPECT_EQ(h->v1[0], (std::pair<std::string, std::string>{"name=systemd", "/sys/fs/cgroup/systemd"}));
    EXPECT_EQ(h->v1[1], (std::pair<std::string, std::string>{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"}));
    EXPECT_EQ(h->v1[2].first, "net_cls,net_prio");
    EXPECT_EQ(h->v1[5].first, "cpuset");  // clone_children is an option, not a controller
}

TEST(CgroupsHost, Unified) {
    auto h = parse_host(kUnified);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->layout, Layout::unified);
    EXPECT_EQ(h->unified_mount, "/sys/fs/cgroup");
    EXPECT_TRUE(h->v1.empty());
}

TEST(CgroupsHost, NamedOnlyV1BesideCgroup2IsStillUnified) {
    std::string text(kUnified);
    text += "40 26 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n";
    auto h = parse_host(text);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->layout, Layout::unified);
}

TEST(CgroupsHost, DuplicateMountsPreferSysFsCgroup) {
    std::string text =
        "90 80 0:38 / /run/c/rootfs/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        "91 80 0:29 / /run/c/rootfs/sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
    text += kHybrid;
    auto h = parse_host(text);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->unified_mount, "/sys/fs/cgroup/unified");
    EXPECT_EQ(h->v1[0], (std::pair<std::string, std::string>{"cpu", "/sys/fs/cgroup/cpu"}));
    EXPECT_EQ(h->mount_roots.count("/run/c/rootfs/sys/fs/cgroup"), 0u);
}

TEST(CgroupsHost, MountRootAndEscapesAreDecoded) {
    auto h = parse_host("40 1 0:37 /docker/abc /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n");
    ASSERT_TRUE(h) << h.error().message();
    ASSERT_EQ(h->v1.size(), 1u);
    EXPECT_EQ(h->v1[0].second, "/sys/fs/cgroup/my pids");
    EXPECT_EQ(h->mount_roots.at("/sys/fs/cgroup/my pids"), "/docker/abc");
}

TEST(CgroupsHost, NoCgroupsAndMalformedLinesAreErrors) {
    auto none = parse_host("22 1 254:1 / / rw,relatime - ext4 /dev/vda rw\n");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message(), "no cgroup filesystem is mounted (none in /proc/self/mountinfo)");
    auto bad = parse_host("22 1 254:1 / / rw,relatime ext4 /dev/vda rw\n");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("mountinfo line 1: malformed"), std::string::npos);
}

TEST(CgroupsHost, DetectHostReadsThisMachine) {
    auto h = detect_host();
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_TRUE(!h->v1.empty() || !h->unified_mount.empty());
}

}  // namespace
}  // namespace hull::cgroups
