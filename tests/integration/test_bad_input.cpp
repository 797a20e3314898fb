// Bad input must be refused, and a refused create must leave nothing behind:
// no state under --root, no mount mentioning the bundle, no process.

#include "harness.hpp"

namespace hull::itest {
namespace {

using BadInputTest = RuntimeTest;

TEST_F(BadInputTest, MalformedConfigJson) {
    std::string id = new_id();
    write_text(bundle_ / "config.json", "{\"ociVersion\": \"1.0.2\", \"process\": {");
    ProcResult c = rt({"create", "--bundle", bundle_.string(), id});
    EXPECT_NE(c.exit_code, 0) << c.describe();
    EXPECT_FALSE(c.err.empty()) << "no error message for a malformed config";
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, MissingConfigJson) {
    std::string id = new_id();
    fs::remove(bundle_ / "config.json");
    ProcResult c = rt({"create", "--bundle", bundle_.string(), id});
    EXPECT_NE(c.exit_code, 0) << c.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, WrongTypesInConfig) {
    spec_["process"]["args"] = "not-an-array";
    std::string id = new_id();
    ProcResult c = create(id, base_ / "out");
    EXPECT_NE(c.exit_code, 0) << c.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, UnknownNamespaceType) {
    spec_["linux"]["namespaces"].push_back({{"type", "bogus"}});
    std::string id = new_id();
    ProcResult c = create(id, base_ / "out");
    EXPECT_NE(c.exit_code, 0) << c.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, MissingRootfs) {
    spec_["root"]["path"] = "no-such-rootfs";
    std::string id = new_id();
    ProcResult c = create(id, base_ / "out");
    EXPECT_NE(c.exit_code, 0) << c.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, MissingExecutable) {
    spec_["process"]["args"] = {"/no/such/binary"};
    std::string id = new_id();
    write_spec();
    ProcResult r = rt({"run", "--bundle", bundle_.string(), id});
    EXPECT_NE(r.exit_code, 0) << r.describe();
    rt({"delete", "--force", id});
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, FailingMountCleansUp) {
    // The second mount cannot succeed (its source does not exist), after the
    // first one was made.
    spec_["mounts"].push_back({{"destination", "/mnt/ok"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    spec_["mounts"].push_back({{"destination", "/mnt/bad"},
                               {"type", "bind"},
                               {"source", (base_ / "does-not-exist").string()},
                               {"options", {"bind"}}});
    std::string id = new_id();
    ProcResult c = create(id, base_ / "out");
    EXPECT_NE(c.exit_code, 0) << c.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(BadInputTest, IdAlreadyInUse) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    int pid = state(id)["pid"];
    fs::path other = make_bundle("other");
    json spec = spec_;
    write_spec(other, spec);
    ProcResult c2 = rt({"create", "--bundle", other.string(), id});
    EXPECT_NE(c2.exit_code, 0) << "a second container took an id in use: " << c2.describe();
    // The first container is untouched.
    json st = state(id);
    EXPECT_EQ(st["status"], "created");
    EXPECT_EQ(st["pid"], pid);
    EXPECT_EQ(fs::path(st["bundle"].get<std::string>()), bundle_);
    EXPECT_TRUE(host_processes_mentioning(other.string()).empty());
    EXPECT_TRUE(host_mounts_mentioning(other.string()).empty());
}

TEST_F(BadInputTest, HostileIdsAreRejected) {
    // Everything here runs in a private mount namespace where the host's `/`
    // is read-only and only this test's temp dir is writable, so a runtime
    // that joins the id into a path cannot touch host files (`/etc`).
    write_spec();
    RunOptions sandbox;
    sandbox.sandbox_writable = base_;
    sandbox.timeout = 30s;

    // The sandbox itself must let a well-formed container through, or the
    // rejections below would prove nothing.
    {
        std::string ok = new_id();
        set_probe_args({"exit", "0"});
        write_spec();
        ProcResult r = rt({"run", "--bundle", bundle_.string(), ok}, sandbox);
        ASSERT_TRUE(r.ok()) << "a valid container fails in the sandbox: " << r.describe();
    }

    const std::vector<std::string> hostile = {"../x", "/etc", "..", ".", "a/b", "../../../../../../../../etc",
                                              "x\ny", "", "with space", "id\\with\\backslash",
                                              std::string(1024, 'a')};
    for (const std::string& id : hostile) {
        SCOPED_TRACE("id `" + id + "`");
        ProcResult c = rt({"create", "--bundle", bundle_.string(), id}, sandbox);
        EXPECT_NE(c.exit_code, 0) << c.describe();
        EXPECT_FALSE(c.timed_out);
        // Lookups of such ids fail too, without side effects.
        for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
                 {"state", id}, {"kill", id, "KILL"}, {"delete", id}, {"delete", "--force", id}}) {
            ProcResult r = rt(args, sandbox);
            EXPECT_NE(r.exit_code, 0) << args[0] << ": " << r.describe();
        }
    }
    // Nothing was created anywhere: not in --root, not next to it.
    std::vector<std::string> entries;
    for (const auto& e : fs::directory_iterator(root_)) entries.push_back(e.path().filename().string());
    EXPECT_TRUE(entries.empty()) << "left in --root: " << testing::PrintToString(entries);
    for (const auto& e : fs::directory_iterator(base_)) {
        const std::string n = e.path().filename().string();
        EXPECT_TRUE(n == "state" || n == "bundle") << "unexpected " << e.path();
    }
    EXPECT_TRUE(host_mounts_mentioning(bundle_.string()).empty());
    EXPECT_TRUE(host_processes_mentioning(bundle_.string()).empty());
    EXPECT_TRUE(fs::exists("/etc/passwd"));
}

TEST_F(BadInputTest, NonexistentBundle) {
    std::string id = new_id();
    ProcResult c = rt({"create", "--bundle", (base_ / "nope").string(), id});
    EXPECT_NE(c.exit_code, 0);
    expect_nothing_left(id, base_ / "nope");
}

TEST_F(BadInputTest, UnknownCommandAndFlag) {
    EXPECT_NE(rt({"no-such-command"}).exit_code, 0);
    EXPECT_NE(rt({"list", "--no-such-flag"}).exit_code, 0);
}

}  // namespace
}  // namespace hull::itest
