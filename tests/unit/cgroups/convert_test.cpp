#include "cgroups/convert.hpp"
#include "cgroups/manager.hpp"
#include "cgroups/v1/controllers.hpp"
#include "cgroups/v2/controllers.hpp"

#include <gtest/gtest.h>

namespace hull::cgroups {
namespace {

using W = std::vector<Write>;

TEST(CgroupsConvert, PidsMax) {
    EXPECT_EQ(pids_max(0), std::nullopt);
    EXPECT_EQ(pids_max(-1), "max");
    EXPECT_EQ(pids_max(-5), "max");
    EXPECT_EQ(pids_max(100), "100");
}

TEST(CgroupsConvert, SharesToWeightIsRuncsLinearMap) {
    EXPECT_EQ(cpu_weight_from_shares(0), 0u);
    EXPECT_EQ(cpu_weight_from_shares(2), 1u);
    EXPECT_EQ(cpu_weight_from_shares(1024), 39u);
    EXPECT_EQ(cpu_weight_from_shares(262144), 10000u);
    // Clamped to the v1 range first, as the v1 kernel would: no unsigned wrap-around at 1.
    EXPECT_EQ(cpu_weight_from_shares(1), 1u);
    EXPECT_EQ(cpu_weight_from_shares(1000000), 10000u);
}

TEST(CgroupsConvert, SwapToV2SubtractsTheMemoryLimit) {
    EXPECT_EQ(*swap_to_v2(0, -1), -1);      // unlimited memory, swap unset: swap unlimited too
    EXPECT_EQ(*swap_to_v2(-1, 100), -1);
    EXPECT_EQ(*swap_to_v2(0, 100), 0);      // not set
    EXPECT_EQ(*swap_to_v2(300, 100), 200);
    EXPECT_EQ(*swap_to_v2(100, 100), 0);    // no swap at all
    auto below = swap_to_v2(50, 100);
    ASSERT_FALSE(below);
    EXPECT_EQ(below.error().message(),
              "linux.resources.memory.swap: 50 is below the memory limit 100 (it counts memory plus swap)");
    EXPECT_FALSE(swap_to_v2(100, 0));
    EXPECT_FALSE(swap_to_v2(100, -1));
}

TEST(CgroupsConvert, CpuMax) {
    EXPECT_EQ(cpu_max(0, 0), std::nullopt);
    EXPECT_EQ(cpu_max(50000, 100000), "50000 100000");
    EXPECT_EQ(cpu_max(-1, 100000), "max 100000");
    EXPECT_EQ(cpu_max(50000, 0), "50000");
    EXPECT_EQ(cpu_max(0, 250000), "max 250000");
}

TEST(CgroupsConvert, V2Limit) {
    EXPECT_EQ(v2_limit(0), std::nullopt);
    EXPECT_EQ(v2_limit(-1), "max");
    EXPECT_EQ(v2_limit(4096), "4096");
}

oci::DeviceRule rule(bool allow, char type, std::optional<int64_t> major, std::optional<int64_t> minor, std::string access) {
    return oci::DeviceRule{.allow = allow, .type = type, .major = major, .minor = minor, .access = std::move(access)};
}

TEST(CgroupsConvert, DeviceRuleLines) {
    using L = std::vector<std::string>;
    EXPECT_EQ(device_rule_lines(rule(true, 'c', 1, 3, "rwm")), L{"c 1:3 rwm"});
    EXPECT_EQ(device_rule_lines(rule(true, 'c', 136, std::nullopt, "rwm")), L{"c 136:* rwm"});
    EXPECT_EQ(device_rule_lines(rule(true, 'b', std::nullopt, std::nullopt, "m")), L{"b *:* m"});
    EXPECT_EQ(device_rule_lines(rule(false, 'a', std::nullopt, std::nullopt, "rwm")), L{"a"});
    EXPECT_EQ(device_rule_lines(rule(false, 'a', std::nullopt, std::nullopt, "")), L{"a"});
    EXPECT_EQ(device_rule_lines(rule(false, 'a', std::nullopt, std::nullopt, "mrw")), L{"a"});
    // The kernel would read "a ..." as every device and every access; spell narrower ones out.
    EXPECT_EQ(device_rule_lines(rule(false, 'a', std::nullopt, std::nullopt, "m")), (L{"c *:* m", "b *:* m"}));
    EXPECT_EQ(device_rule_lines(rule(true, 'a', 1, 3, "rwm")), (L{"c 1:3 rwm", "b 1:3 rwm"}));
}

TEST(CgroupsConvert, V1DeviceWritesDenyAllThenReplayInOrder) {
    // runc spec's default: deny everything, then runc's appended allow list.
    std::vector<oci::DeviceRule> rules{rule(false, 'a', std::nullopt, std::nullopt, "rwm")};
    for (auto& r : default_device_rules({})) rules.push_back(r);
    rules.push_back(rule(false, 'c', 10, 200, "rwm"));  // a later deny wins over the tun allow
    W want{{"devices.deny", "a"},          {"devices.allow", "c *:* m"},   {"devices.allow", "b *:* m"},
           {"devices.allow", "c 1:3 rwm"}, {"devices.allow", "c 1:8 rwm"}, {"devices.allow", "c 1:7 rwm"},
           {"devices.allow", "c 5:0 rwm"}, {"devices.allow", "c 1:5 rwm"}, {"devices.allow", "c 1:9 rwm"},
           {"devices.allow", "c 136:* rwm"}, {"devices.allow", "c 5:2 rwm"}, {"devices.allow", "c 10:200 rwm"},
           {"devices.deny", "c 10:200 rwm"}};
    EXPECT_EQ(v1::device_writes(rules), want);
    // Without a leading deny-all rule, the deny-all default is still written first.
    EXPECT_EQ(v1::device_writes({rule(true, 'c', 1, 3, "r")}), (W{{"devices.deny", "a"}, {"devices.allow", "c 1:3 r"}}));
    // A privileged container: allow everything.
    EXPECT_EQ(v1::device_writes({rule(true, 'a', std::nullopt, std::nullopt, "rwm")}),
              (W{{"devices.deny", "a"}, {"devices.allow", "a"}}));
}

TEST(CgroupsConvert, DefaultDeviceRulesDropThoseTheSpecCreates) {
    auto all = default_device_rules({});
    EXPECT_EQ(all.size(), 11u);
    oci::Device null_dev;
    null_dev.path = "/dev/null";
    auto fewer = default_device_rules({null_dev});
    ASSERT_EQ(fewer.size(), 10u);
    for (auto& r : fewer) EXPECT_FALSE(r.major == 1 && r.minor == 3);
    for (auto& r : all) EXPECT_TRUE(r.allow);
}

TEST(CgroupsConvert, V1MemoryOrderKeepsMemswAboveTheLimit) {
    oci::Memory m;
    m.limit = 200;
    m.swap = 400;
    // Raising above the current limit: memsw first.
    EXPECT_EQ(*v1::memory_writes(m, 100, true),
              (W{{"memory.memsw.limit_in_bytes", "400"}, {"memory.limit_in_bytes", "200"}}));
    // Lowering below the current limit: the limit first.
    EXPECT_EQ(*v1::memory_writes(m, 1000, true),
              (W{{"memory.limit_in_bytes", "200"}, {"memory.memsw.limit_in_bytes", "400"}}));
    // Unlimited memory with swap unset lifts memsw too.
    oci::Memory unlimited;
    unlimited.limit = -1;
    EXPECT_EQ(*v1::memory_writes(unlimited, 100, true),
              (W{{"memory.memsw.limit_in_bytes", "-1"}, {"memory.limit_in_bytes", "-1"}}));
    EXPECT_EQ(*v1::memory_writes(unlimited, 100, false), (W{{"memory.limit_in_bytes", "-1"}}));
    // Swap asked for on a kernel without swap accounting.
    auto no_memsw = v1::memory_writes(m, 100, false);
    ASSERT_FALSE(no_memsw);
    EXPECT_NE(no_memsw.error().message().find("no swap accounting"), std::string::npos);
}

TEST(CgroupsConvert, V1MemoryOtherFields) {
    oci::Memory m;
    m.reservation = 64;
    m.disable_oom_killer = true;
    m.swappiness = 10;
    EXPECT_EQ(*v1::memory_writes(m, 0, true), (W{{"memory.soft_limit_in_bytes", "64"}, {"memory.oom_control", "1"},
                                                 {"memory.swappiness", "10"}}));
    m.swappiness = 101;
    auto bad = v1::memory_writes(m, 0, true);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "linux.resources.memory.swappiness: 101 is out of range (0-100)");
}

TEST(CgroupsConvert, V2MemoryWrites) {
    oci::Memory m;
    m.limit = 100;
    m.swap = 300;
    m.reservation = 50;
    EXPECT_EQ(*v2::memory_writes(m), (W{{"memory.swap.max", "200"}, {"memory.max", "100"}, {"memory.low", "50"}}));
    m.swap = 100;  // memory+swap == memory: no swap
    EXPECT_EQ(*v2::memory_writes(m), (W{{"memory.swap.max", "0"}, {"memory.max", "100"}, {"memory.low", "50"}}));
    oci::Memory unlimited;
    unlimited.limit = -1;
    EXPECT_EQ(*v2::memory_writes(unlimited), (W{{"memory.swap.max", "max"}, {"memory.max", "max"}}));
    oci::Memory swap_only;
    swap_only.swap = 100;
    EXPECT_FALSE(v2::memory_writes(swap_only));
}

}  // namespace
}  // namespace hull::cgroups
