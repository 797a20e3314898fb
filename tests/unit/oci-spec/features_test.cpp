#include "oci-spec/spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace hull::oci {
namespace {

using json = nlohmann::json;

bool has(const json& list, const char* name) { return std::find(list.begin(), list.end(), name) != list.end(); }

TEST(Features, VersionsAndHooks) {
    json f = features();
    EXPECT_EQ(f["ociVersionMin"], "1.0.0");
    EXPECT_EQ(f["ociVersionMax"], "1.2.0");
    EXPECT_EQ(f["hooks"], json::array({"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}));
    EXPECT_EQ(f["annotations"]["io.github.hull.version"].get<std::string>().empty(), false);
}

TEST(Features, MountOptionsAreRuncsPlusIdmap) {
    json opts = features()["mountOptions"];
    EXPECT_EQ(opts.size(), 62u);
    for (const char* o : {"async", "bind", "rbind", "ro", "rro", "rrw", "nosymfollow", "tmpcopyup", "idmap", "ridmap",
                          "runbindable", "strictatime", "rnostrictatime", "silent", "loud"})
        EXPECT_TRUE(has(opts, o)) << o;
    // Sorted, as runc lists them, and without duplicates.
    EXPECT_TRUE(std::is_sorted(opts.begin(), opts.end()));
    EXPECT_EQ(std::adjacent_find(opts.begin(), opts.end()), opts.end());
}

TEST(Features, Linux) {
    json l = features()["linux"];
    EXPECT_EQ(l["namespaces"], json::array({"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}));
    EXPECT_GE(l["capabilities"].size(), 41u);
    EXPECT_EQ(l["capabilities"][0], "CAP_CHOWN");
    EXPECT_TRUE(has(l["capabilities"], "CAP_CHECKPOINT_RESTORE"));
    for (const auto& cap : l["capabilities"]) EXPECT_TRUE(capability_from_name(cap.get<std::string>())) << cap;
    EXPECT_EQ(l["cgroup"], (json{{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}}));
    json sc = l["seccomp"];
    EXPECT_EQ(sc["enabled"], true);
    EXPECT_EQ(sc["actions"].size(), 9u);
    EXPECT_TRUE(has(sc["actions"], "SCMP_ACT_KILL_PROCESS"));
    EXPECT_EQ(sc["operators"].size(), 7u);
    EXPECT_TRUE(has(sc["archs"], "SCMP_ARCH_X86_64"));
    EXPECT_TRUE(has(sc["archs"], "SCMP_ARCH_RISCV64"));
    EXPECT_EQ(sc["knownFlags"], json::array({"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                             "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}));
    EXPECT_EQ(sc["supportedFlags"], sc["knownFlags"]);
    EXPECT_EQ(l["apparmor"]["enabled"], false);
    EXPECT_EQ(l["selinux"]["enabled"], false);
    EXPECT_EQ(l["intelRdt"]["enabled"], false);
    EXPECT_EQ(l["mountExtensions"]["idmap"]["enabled"], true);
}

// What features() claims, the parser accepts.
TEST(Features, EveryListedNameParses) {
    json f = features();
    json doc = default_spec(false);
    doc["linux"]["namespaces"] = json::array();
    for (const auto& ns : f["linux"]["namespaces"]) doc["linux"]["namespaces"].push_back({{"type", ns}});
    doc["linux"]["uidMappings"] = doc["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 0}, {"size", 1}}});
    doc["process"]["capabilities"]["bounding"] = f["linux"]["capabilities"];
    doc["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", f["linux"]["seccomp"]["archs"]},
                               {"flags", f["linux"]["seccomp"]["knownFlags"]}, {"listenerPath", "/run/agent.sock"}};
    for (const auto& action : f["linux"]["seccomp"]["actions"])
        doc["linux"]["seccomp"]["syscalls"].push_back({{"names", {"read"}}, {"action", action}});
    for (const auto& op : f["linux"]["seccomp"]["operators"])
        doc["linux"]["seccomp"]["syscalls"].push_back(
            {{"names", {"kill"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {{{"index", 0}, {"value", 1}, {"op", op}}}}});
    for (const auto& hook : f["hooks"]) doc["hooks"][hook.get<std::string>()] = json::array({{{"path", "/bin/true"}}});
    auto r = parse_config(doc.dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->process->capabilities->bounding->size(), f["linux"]["capabilities"].size());
    EXPECT_EQ(r->linux->namespaces.size(), 8u);
}

}  // namespace
}  // namespace hull::oci
