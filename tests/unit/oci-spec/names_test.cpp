#include "oci-spec/spec.hpp"

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/capability.h>
#include <sys/resource.h>

namespace hull::oci {
namespace {

TEST(Names, Capabilities) {
    EXPECT_EQ(capability_from_name("CAP_CHOWN"), CAP_CHOWN);
    EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
    EXPECT_STREQ(capability_name(CAP_NET_RAW), "CAP_NET_RAW");
    EXPECT_STREQ(capability_name(-1), "");
    EXPECT_STREQ(capability_name(1000), "");
    // Only the canonical spelling: libcap's own parser would take these too.
    EXPECT_FALSE(capability_from_name("cap_chown"));
    EXPECT_FALSE(capability_from_name("0"));
    EXPECT_FALSE(capability_from_name("CAP_"));
    EXPECT_FALSE(capability_from_name(""));
    EXPECT_GE(last_capability(), 36);  // CAP_BLOCK_SUSPEND exists on every kernel hull supports
    for (int c = 0; c <= CAP_LAST_CAP; ++c) EXPECT_EQ(capability_from_name(capability_name(c)), c);
}

TEST(Names, Rlimits) {
    EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    EXPECT_EQ(rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    EXPECT_FALSE(rlimit_from_name("RLIMIT_nofile"));
    EXPECT_STREQ(rlimit_name(RLIMIT_AS), "RLIMIT_AS");
    for (int r = 0; r < RLIM_NLIMITS; ++r) EXPECT_EQ(rlimit_from_name(rlimit_name(r)), r) << r;
}

TEST(Names, Namespaces) {
    EXPECT_STREQ(to_string(NamespaceType::network), "network");
    EXPECT_STREQ(proc_ns_name(NamespaceType::network), "net");
    EXPECT_STREQ(proc_ns_name(NamespaceType::mount), "mnt");
    EXPECT_EQ(clone_flag(NamespaceType::mount), CLONE_NEWNS);
    EXPECT_EQ(clone_flag(NamespaceType::time), CLONE_NEWTIME);
    EXPECT_EQ(clone_flag(NamespaceType::cgroup), CLONE_NEWCGROUP);
}

TEST(Names, SeccompAndPropagation) {
    EXPECT_STREQ(to_string(SeccompAction::errno_), "SCMP_ACT_ERRNO");
    EXPECT_STREQ(to_string(SeccompAction::kill_thread), "SCMP_ACT_KILL_THREAD");
    EXPECT_STREQ(to_string(SeccompOp::masked_eq), "SCMP_CMP_MASKED_EQ");
    EXPECT_STREQ(to_string(Propagation::private_), "private");
    EXPECT_STREQ(to_string(Propagation::unset), "");
}

}  // namespace
}  // namespace hull::oci
