#include "oci-spec/spec.hpp"
#include "full_config.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <string>

namespace hull::oci {
namespace {

using json = nlohmann::json;

Spec parse_ok(std::string_view text) {
    auto r = parse_config(text);
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : Spec{};
}

TEST(Config, FullConfigParsesIntoTypedFields) {
    Spec s = parse_ok(kFullConfig);
    EXPECT_EQ(s.oci_version, "1.2.0");
    EXPECT_EQ(s.root.path, "rootfs");
    EXPECT_TRUE(s.root.readonly);
    ASSERT_EQ(s.mounts.size(), 2u);
    EXPECT_EQ(s.mounts[1].options, (std::vector<std::string>{"rbind", "ro", "idmap"}));
    EXPECT_EQ(s.mounts[1].uid_mappings.at(0).host_id, 100000u);

    ASSERT_TRUE(s.process);
    const Process& p = *s.process;
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.umask, 18u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
    ASSERT_EQ(p.rlimits.size(), 2u);
    EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
    ASSERT_TRUE(p.capabilities && p.capabilities->bounding);
    EXPECT_EQ(*p.capabilities->bounding, (std::vector<int>{0, 5, 10, 40}));
    EXPECT_EQ(p.capabilities->inheritable, std::vector<int>{});
    EXPECT_EQ(p.oom_score_adj, -500);
    ASSERT_TRUE(p.scheduler);
    EXPECT_EQ(p.scheduler->policy, 6);
    EXPECT_EQ(p.scheduler->flags, 0x3u);
    ASSERT_TRUE(p.io_priority);
    EXPECT_EQ(p.io_priority->klass, 2);
    EXPECT_EQ(p.exec_cpu_affinity->final_, "2,3");

    ASSERT_TRUE(s.hooks);
    EXPECT_EQ(s.hooks->prestart.at(0).timeout, 5);
    EXPECT_EQ(s.annotations.at("org.example.key"), "value");

    ASSERT_TRUE(s.linux);
    const Linux& l = *s.linux;
    EXPECT_EQ(l.time_offsets.at("monotonic").secs, -10);
    EXPECT_EQ(l.namespaces.size(), 8u);
    EXPECT_EQ(l.find_namespace(NamespaceType::network)->path, "/var/run/netns/box");
    EXPECT_EQ(l.find_namespace(NamespaceType::time)->type, NamespaceType::time);
    EXPECT_EQ(l.devices.at(1).type, 'p');
    ASSERT_TRUE(l.resources);
    EXPECT_EQ(l.resources->memory->swap, -1);
    EXPECT_EQ(l.resources->cpu->idle, true);
    EXPECT_EQ(l.resources->devices.at(0).type, 'a');
    EXPECT_FALSE(l.resources->devices.at(0).major);
    EXPECT_EQ(l.resources->rdma.at("mlx4_0").hca_objects, 1000u);
    ASSERT_TRUE(l.seccomp);
    EXPECT_EQ(l.seccomp->default_action, SeccompAction::errno_);
    EXPECT_EQ(l.seccomp->syscalls.at(1).args.at(1).op, SeccompOp::masked_eq);
    EXPECT_EQ(l.seccomp->syscalls.at(3).errno_ret, 38u);
    EXPECT_EQ(l.rootfs_propagation, Propagation::rslave);
    EXPECT_EQ(l.personality->domain, "LINUX32");
}

TEST(Config, FullConfigRoundTripsExactly) {
    Spec s = parse_ok(kFullConfig);
    EXPECT_EQ(to_json(s), json::parse(kFullConfig));
    // And what is written parses back to the same document.
    Spec again = parse_ok(to_json(s).dump());
    EXPECT_EQ(to_json(again), json::parse(kFullConfig));
}

TEST(Config, UnknownFieldsSurviveEditsOfKnownOnes) {
    Spec s = parse_ok(kFullConfig);
    s.hostname = "renamed";
    s.process->args = {"/bin/true"};
    s.process->terminal = false;
    s.linux->seccomp.reset();
    s.mounts.push_back(Mount{.destination = "/tmp", .type = "tmpfs", .source = "tmpfs"});
    json out = to_json(s);
    EXPECT_EQ(out["hostname"], "renamed");
    EXPECT_EQ(out["process"]["args"], json::array({"/bin/true"}));
    EXPECT_FALSE(out["process"].contains("terminal"));
    EXPECT_FALSE(out["linux"].contains("seccomp"));
    EXPECT_EQ(out["mounts"].size(), 3u);
    EXPECT_EQ(out["mounts"][2], (json{{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}));
    // Unknown members at every level are still there.
    EXPECT_EQ(out["vm"]["kernel"]["path"], "/boot/vmlinuz");
    EXPECT_EQ(out["windows"]["layerFolders"][0], "C:\\layers");
    EXPECT_EQ(out["x-vendor"], json::array({1, 2, 3}));
    EXPECT_EQ(out["process"]["commandLine"], "kept for windows");
    EXPECT_EQ(out["linux"]["netDevices"]["eth1"]["name"], "eth0");
}

TEST(Config, SpecBuiltInCodeSerializes) {
    Spec s;
    s.oci_version = kSpecVersion;
    s.root.path = "rootfs";
    s.process = Process{.cwd = "/", .args = {"sh"}};
    s.linux = Linux{};
    s.linux->namespaces = {{NamespaceType::pid, ""}, {NamespaceType::uts, ""}};
    s.hostname = "h";
    json out = to_json(s);
    EXPECT_EQ(out["process"]["user"], (json{{"uid", 0}, {"gid", 0}}));
    EXPECT_EQ(out["linux"]["namespaces"][1]["type"], "uts");
    Spec back = parse_ok(out.dump());
    EXPECT_EQ(to_json(back), out);
}

TEST(Config, RelativeMountDestinationIsTakenFromRoot) {
    json doc = default_spec(false);
    doc["mounts"][0]["destination"] = "proc";
    Spec s = parse_ok(doc.dump());
    EXPECT_EQ(s.mounts[0].destination, "/proc");
}

TEST(Config, NullMeansAbsent) {
    json doc = default_spec(false);
    doc["hooks"] = nullptr;
    doc["process"]["env"] = nullptr;
    doc["linux"]["seccomp"] = nullptr;
    Spec s = parse_ok(doc.dump());
    EXPECT_FALSE(s.hooks);
    EXPECT_TRUE(s.process->env.empty());
    EXPECT_FALSE(s.linux->seccomp);
    EXPECT_EQ(to_json(s), doc);
}

TEST(Config, LenientWhereRuncIs) {
    json doc = default_spec(false);
    doc["ociVersion"] = "1.0.2-dev";
    doc["linux"]["rootfsPropagation"] = "";
    doc["linux"]["resources"]["devices"][0]["major"] = -1;
    doc["linux"]["resources"]["memory"] = {{"swappiness", UINT64_MAX}};
    doc["process"]["args"] = {"sh"};
    Spec s = parse_ok(doc.dump());
    EXPECT_EQ(s.linux->rootfs_propagation, Propagation::unset);
    EXPECT_FALSE(s.linux->resources->devices[0].major);
    // A process is optional (create without one is refused later, by the runtime).
    doc.erase("process");
    EXPECT_FALSE(parse_ok(doc.dump()).process);
}

TEST(Config, LoadConfigReportsTheFile) {
    auto r = load_config("/nonexistent/config.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "open `/nonexistent/config.json`: no such file or directory");
}

// Every strict prefix of a valid document is invalid JSON: each must fail cleanly, with one
// line naming the position, and never throw.
TEST(Config, TruncatedAtEveryByteFailsCleanly) {
    const std::string full = kFullConfig;
    for (size_t n = 0; n < full.size(); ++n) {
        auto r = parse_config(std::string_view(full).substr(0, n));
        ASSERT_FALSE(r) << "prefix of " << n << " bytes parsed";
        const std::string msg = r.error().message();
        ASSERT_TRUE(msg.starts_with("config.json: invalid JSON")) << n << ": " << msg;
        ASSERT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

// A byte replaced anywhere (each position gets one of a few troublesome bytes, in turn):
// either a valid config or one clean error line, and never an exception.
TEST(Config, CorruptedBytesNeverThrow) {
    const std::string full = kFullConfig;
    constexpr char kBytes[] = {'"', '1', '-', '}', ']', '\0', '\xff', 'x', ' '};
    size_t accepted = 0;
    for (size_t i = 0; i < full.size(); ++i) {
        std::string text = full;
        text[i] = kBytes[i % sizeof kBytes];
        Result<Spec> r = fail_msg("not run");
        ASSERT_NO_THROW(r = parse_config(text));
        if (r) {
            ++accepted;
            ASSERT_NO_THROW((void)to_json(*r).dump());
            continue;
        }
        const std::string msg = r.error().message();
        ASSERT_TRUE(msg.starts_with("config.json: ")) << msg;
        ASSERT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    EXPECT_GT(accepted, 0u);  // e.g. a space in place of a space, or a digit changed in a number
}

}  // namespace
}  // namespace hull::oci
