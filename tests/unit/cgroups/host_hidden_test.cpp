#include "cgroups/manager.hpp"

#include <gtest/gtest.h>

namespace hull::cgroups {
namespace {

// A tmpfs mounted over the cgroup2 mount (how crun is made to run on a hybrid host, in a
// private mount namespace) hides it: the host then counts as legacy.
TEST(CgroupHost, MountHiddenByALaterMountDoesNotCount) {
    const char* text =
        "25 20 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "90 26 0:50 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n";
    auto host = parse_host(text);
    ASSERT_TRUE(host) << host.error().message();
    EXPECT_EQ(host->layout, Layout::legacy);
    EXPECT_TRUE(host->unified_mount.empty());
    ASSERT_EQ(host->v1.size(), 1u);
}

TEST(CgroupHost, MountsUnderAHiddenTreeDoNotCount) {
    const char* text =
        "26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "90 25 0:50 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    auto host = parse_host(text);
    ASSERT_TRUE(host) << host.error().message();
    EXPECT_EQ(host->layout, Layout::unified);
    EXPECT_EQ(host->unified_mount, "/sys/fs/cgroup");
    EXPECT_TRUE(host->v1.empty());
}

}  // namespace
}  // namespace hull::cgroups
