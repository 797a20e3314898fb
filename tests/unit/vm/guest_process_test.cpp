// The guest init's process config (runtime/vm/guest_init/process_config.hpp): what hull writes
// reads back the same, and every malformed field is refused with its path.
#include "runtime/vm/guest_init/process_config.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hull::vm::guest {
namespace {

using json = nlohmann::json;

GuestProcess sample() {
    GuestProcess p;
    p.args = {"/bin/sh", "-c", "echo \"hi\"\n"};
    p.env = {"PATH=/bin", "EMPTY=", "X=a=b"};
    p.cwd = "/work";
    p.uid = 1000;
    p.gid = 100;
    p.additional_gids = {5, 4294967295u};
    p.umask = 027;
    p.terminal = true;
    p.no_new_privileges = true;
    p.rlimits = {{7, 1024, 4096}, {4, 0, ~0ull}};
    p.hostname = "guest";
    p.modules = {"kernel/drivers/virtio/virtio.ko", "kernel/fs/erofs/erofs.ko.xz"};
    p.writable_disk = true;
    p.readonly_root = false;
    p.control = "/dev/hvc1";
    return p;
}

TEST(GuestProcess, RoundTrips) {
    GuestProcess p = sample();
    std::string text = to_json(p);
    EXPECT_EQ(text.find('\n'), std::string::npos);
    auto back = parse_guest_process(text);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->args, p.args);
    EXPECT_EQ(back->env, p.env);
    EXPECT_EQ(back->cwd, p.cwd);
    EXPECT_EQ(back->uid, p.uid);
    EXPECT_EQ(back->gid, p.gid);
    EXPECT_EQ(back->additional_gids, p.additional_gids);
    EXPECT_EQ(back->umask, p.umask);
    EXPECT_EQ(back->terminal, p.terminal);
    EXPECT_EQ(back->no_new_privileges, p.no_new_privileges);
    ASSERT_EQ(back->rlimits.size(), 2u);
    EXPECT_EQ(back->rlimits[0].resource, 7);
    EXPECT_EQ(back->rlimits[0].soft, 1024u);
    EXPECT_EQ(back->rlimits[0].hard, 4096u);
    EXPECT_EQ(back->rlimits[1].hard, ~0ull);
    EXPECT_EQ(back->hostname, p.hostname);
    EXPECT_EQ(back->modules, p.modules);
    EXPECT_TRUE(back->writable_disk);
    EXPECT_FALSE(back->readonly_root);
    EXPECT_EQ(back->control, "/dev/hvc1");
}

TEST(GuestProcess, NoControlChannelStaysEmpty) {
    GuestProcess p = sample();
    p.control.clear();
    auto back = parse_guest_process(to_json(p));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->control, "");
}

TEST(GuestProcess, NoUmaskStaysUnset) {
    GuestProcess p = sample();
    p.umask.reset();
    auto back = parse_guest_process(to_json(p));
    ASSERT_TRUE(back) << back.error();
    EXPECT_FALSE(back->umask);
}

TEST(GuestProcess, MalformedFieldsAreRefusedByPath) {
    const json good = json::parse(to_json(sample()));
    struct Case {
        std::string name;
        std::function<void(json&)> edit;
        std::string error;
    };
    const std::vector<Case> cases = {
        {"not json", nullptr, "invalid JSON"},
        {"array", [](json& j) { j = json::array(); }, "expected an object"},
        {"missing args", [](json& j) { j.erase("args"); }, ".args: is required"},
        {"missing readonlyRoot", [](json& j) { j.erase("readonlyRoot"); }, ".readonlyRoot: is required"},
        {"version", [](json& j) { j["version"] = 1; }, ".version: this guest init reads version 2, got 1"},
        {"args empty", [](json& j) { j["args"] = json::array(); }, ".args: must not be empty"},
        {"args[0] empty", [](json& j) { j["args"] = {""}; }, ".args[0]: must not be empty"},
        {"args type", [](json& j) { j["args"] = {"a", 1}; }, ".args[1]: expected a string"},
        {"env without =", [](json& j) { j["env"] = {"PATH"}; }, ".env[0]: expected NAME=value"},
        {"env empty name", [](json& j) { j["env"] = {"=x"}; }, ".env[0]: expected NAME=value"},
        {"cwd relative", [](json& j) { j["cwd"] = "work"; }, ".cwd: must be an absolute path"},
        {"uid negative", [](json& j) { j["uid"] = -1; }, ".uid: expected a non-negative integer"},
        {"uid too big", [](json& j) { j["uid"] = 4294967296ull; }, ".uid: out of range"},
        {"gid string", [](json& j) { j["gid"] = "0"; }, ".gid: expected a non-negative integer"},
        {"additionalGids", [](json& j) { j["additionalGids"] = {1, "x"}; }, ".additionalGids[1]: expected a non-negative integer"},
        {"umask", [](json& j) { j["umask"] = 01000; }, ".umask: out of range"},
        {"terminal", [](json& j) { j["terminal"] = 1; }, ".terminal: expected true or false"},
        {"rlimits type", [](json& j) { j["rlimits"] = {1}; }, ".rlimits[0]: expected an object"},
        {"rlimit missing", [](json& j) { j["rlimits"] = {{{"resource", 7}, {"soft", 1}}}; }, ".rlimits[0].hard: is required"},
        {"rlimit soft > hard", [](json& j) { j["rlimits"] = {{{"resource", 7}, {"soft", 2}, {"hard", 1}}}; },
         ".rlimits[0]: soft limit above the hard limit"},
        {"rlimit resource", [](json& j) { j["rlimits"] = {{{"resource", 64}, {"soft", 1}, {"hard", 1}}}; },
         ".rlimits[0].resource: out of range"},
        {"hostname long", [](json& j) { j["hostname"] = std::string(65, 'h'); }, ".hostname: longer than 64 bytes"},
        {"module absolute", [](json& j) { j["modules"] = {"/x.ko"}; }, ".modules[0]: expected a relative path without `..`"},
        {"module dotdot", [](json& j) { j["modules"] = {"a/../../x.ko"}; }, ".modules[0]: expected a relative path without `..`"},
        {"writableDisk", [](json& j) { j["writableDisk"] = "yes"; }, ".writableDisk: expected true or false"},
        {"missing control", [](json& j) { j.erase("control"); }, ".control: is required"},
        {"control type", [](json& j) { j["control"] = false; }, ".control: expected a string"},
        {"control relative", [](json& j) { j["control"] = "dev/hvc1"; }, ".control: must be empty or an absolute path"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string text = "{\"args\": [";
        if (c.edit) {
            json j = good;
            c.edit(j);
            text = j.dump();
        }
        auto r = parse_guest_process(text);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().rfind(c.error, 0), 0u) << r.error();
    }
}

}  // namespace
}  // namespace hull::vm::guest
