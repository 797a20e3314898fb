// OCI hooks: when they run, where, and the state they get on stdin.

#include <iostream>

#include "harness.hpp"

namespace hull::itest {
namespace {

class HookTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (HasFatalFailure() || IsSkipped()) return;
        hook_dir_ = base_ / "hooks";
        fs::create_directories(hook_dir_);
        fs::permissions(hook_dir_, fs::perms(0777));
        // Hooks that run in the container's mount namespace write through
        // this bind mount.
        spec_["mounts"].push_back({{"destination", "/hooks"},
                                   {"type", "bind"},
                                   {"source", hook_dir_.string()},
                                   {"options", {"bind", "rw"}}});
    }

    // A hook that saves its stdin (the state) and its view of the world.
    // `dir` is where it writes, as seen from where the hook runs.
    json hook(const std::string& name, const std::string& dir, const std::string& sh = "/bin/sh") const {
        const std::string out = dir + "/" + name;
        std::string script = "cat > " + out + ".json; echo \"$1 $#\" > " + out + ".args; env > " + out +
                             ".env; readlink /proc/self/ns/mnt > " + out + ".mntns";
        return {{"path", sh}, {"args", {"sh", "-c", script, "hookarg0", "first-arg"}}, {"env", {"HOOK_ENV=" + name}}};
    }

    json read_hook_state(const std::string& name) const {
        fs::path p = hook_dir_ / (name + ".json");
        if (!fs::exists(p)) return nullptr;
        return json::parse(read_text(p), nullptr, false);
    }

    fs::path hook_dir_;
};

TEST_F(HookTest, AllHooksRunWithStateOnStdin) {
    const std::string host_dir = hook_dir_.string();
    // createContainer runs in the container's namespaces but before
    // pivot_root, its path resolving in the runtime's namespace; only
    // startContainer runs in the container's final root (through /hooks).
    spec_["hooks"] = {
        {"prestart", {hook("prestart", host_dir)}},
        {"createRuntime", {hook("createRuntime", host_dir)}},
        {"createContainer", {hook("createContainer", host_dir)}},
        {"startContainer", {hook("startContainer", "/hooks")}},
        {"poststart", {hook("poststart", host_dir)}},
        {"poststop", {hook("poststop", host_dir)}},
    };
    set_probe_args({"sleep", "30"});
    std::string id = new_id();
    ProcResult c = create(id, base_ / "out");
    ASSERT_TRUE(c.ok()) << c.describe();
    int pid = state(id)["pid"];

    for (const char* name : {"prestart", "createRuntime", "createContainer"}) {
        json st = read_hook_state(name);
        ASSERT_TRUE(st.is_object()) << name << " hook did not run or got no state";
        EXPECT_EQ(st["id"], id) << name;
        // The spec asks for the pid as seen from the runtime's namespace.
        // runc 1.1 gives createContainer the pid as seen from inside the new
        // pid namespace (1); that quirk is accepted for runc only.
        if (std::string(name) == "createContainer" && runtime_is_runc() && st["pid"] == 1) {
            std::cerr << "note: runc passes pid 1 to createContainer hooks\n";
        } else {
            EXPECT_EQ(st["pid"], pid) << name;
        }
        EXPECT_EQ(fs::path(st["bundle"].get<std::string>()), bundle_) << name;
        // prestart hooks see "created" (runtime-spec 1.0 ran them after `start`; the OCI
        // suite's hooks_stdin checks it); the others run while the container is made.
        EXPECT_EQ(st["status"], std::string(name) == "prestart" && !runtime_is_runc() ? "created" : "creating") << name;
        EXPECT_TRUE(st.contains("ociVersion")) << name;
    }
    EXPECT_FALSE(fs::exists(hook_dir_ / "startContainer.json")) << "startContainer ran before start";
    // runc before 1.2 runs poststart hooks during `create`; for runc the
    // poststart checks are skipped (and the test reported as skipped).
    const bool runc_early_poststart = runtime_is_runc() && fs::exists(hook_dir_ / "poststart.json");
    if (!runc_early_poststart) {
        EXPECT_FALSE(fs::exists(hook_dir_ / "poststart.json")) << "poststart ran before start";
    }

    ASSERT_TRUE(rt({"start", id}).ok());
    EXPECT_TRUE(poll_until([&] { return read_hook_state("poststart").is_object(); }));
    json ss = read_hook_state("startContainer");
    ASSERT_TRUE(ss.is_object()) << "startContainer hook did not run";
    EXPECT_EQ(ss["id"], id);
    json ps = read_hook_state("poststart");
    ASSERT_TRUE(ps.is_object());
    EXPECT_EQ(ps["id"], id);
    EXPECT_EQ(ps["pid"], pid);
    if (!runc_early_poststart) {
        EXPECT_EQ(ps["status"], "running");
    }
    EXPECT_FALSE(fs::exists(hook_dir_ / "poststop.json")) << "poststop ran before delete";

    ASSERT_TRUE(rt({"kill", id, "KILL"}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    ASSERT_TRUE(rt({"delete", id}).ok());
    json post = read_hook_state("poststop");
    ASSERT_TRUE(post.is_object()) << "poststop hook did not run on delete";
    EXPECT_EQ(post["id"], id);
    EXPECT_EQ(post["status"], "stopped");

    // Arguments and environment are passed as configured.
    EXPECT_EQ(read_text(hook_dir_ / "prestart.args"), "first-arg 1\n");
    std::string env = read_text(hook_dir_ / "prestart.env");
    EXPECT_NE(env.find("HOOK_ENV=prestart"), std::string::npos) << env;
    EXPECT_NE(read_text(hook_dir_ / "createContainer.env").find("HOOK_ENV=createContainer"), std::string::npos);
    if (runc_early_poststart)
        GTEST_SKIP() << "runc 1.1 runs poststart hooks during `create` instead of after `start` (fixed in runc "
                        "1.2); everything else in this test was checked";
}

TEST_F(HookTest, HooksRunInTheRightMountNamespace) {
    write_text(rootfs_ / "rootfs-only", "rootfs");
    const std::string host_dir = hook_dir_.string();
    json sc = hook("startContainer", "/hooks");
    sc["args"][2] = sc["args"][2].get<std::string>() + "; cat /rootfs-only > /hooks/startContainer.where";
    spec_["hooks"] = {{"createRuntime", {hook("createRuntime", host_dir)}},
                      {"createContainer", {hook("createContainer", host_dir)}},
                      {"startContainer", {sc}},
                      {"poststart", {hook("poststart", host_dir)}}};
    set_probe_args({"sleep", "30"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(poll_until([&] { return fs::exists(hook_dir_ / "poststart.mntns"); }));
    int pid = state(id)["pid"];
    std::string host_ns = fs::read_symlink("/proc/self/ns/mnt").string() + "\n";
    std::string ctr_ns = fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/mnt").string() + "\n";
    ASSERT_NE(host_ns, ctr_ns);
    EXPECT_EQ(read_text(hook_dir_ / "createRuntime.mntns"), host_ns);
    EXPECT_EQ(read_text(hook_dir_ / "createContainer.mntns"), ctr_ns);
    EXPECT_EQ(read_text(hook_dir_ / "startContainer.mntns"), ctr_ns);
    EXPECT_EQ(read_text(hook_dir_ / "poststart.mntns"), host_ns);
    EXPECT_EQ(read_text(hook_dir_ / "startContainer.where"), "rootfs")
        << "startContainer must run in the container's root";
}

TEST_F(HookTest, FailingPrestartHookFailsCreateAndCleansUp) {
    spec_["hooks"] = {{"prestart", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "cat >/dev/null; exit 3"}}}}}};
    set_probe_args({"report"});
    std::string id = new_id();
    fs::path out = base_ / "out";
    ProcResult c = create(id, out);
    EXPECT_NE(c.exit_code, 0) << c.describe();
    EXPECT_TRUE(json_lines(read_text(out)).empty()) << "the process ran despite the failed hook";
    rt({"delete", "--force", id});
    expect_nothing_left(id, bundle_);
}

TEST_F(HookTest, HookTimeoutIsEnforced) {
    spec_["hooks"] = {
        {"createRuntime", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "exec sleep 30"}}, {"timeout", 1}}}}};
    std::string id = new_id();
    auto start = std::chrono::steady_clock::now();
    ProcResult c = create(id, base_ / "out");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_NE(c.exit_code, 0) << c.describe();
    EXPECT_LT(took, 20s) << "the hook's timeout was not enforced";
    rt({"delete", "--force", id});
    expect_nothing_left(id, bundle_);
}

}  // namespace
}  // namespace hull::itest
