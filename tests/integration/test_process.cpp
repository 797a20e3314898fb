// The container process itself: exit status, identity, working directory,
// environment, descriptors and terminal.

#include <map>

#include <fcntl.h>
#include <unistd.h>

#include "console.hpp"
#include "harness.hpp"

namespace hull::itest {
namespace {

using ProcessTest = RuntimeTest;

TEST_F(ProcessTest, RunPropagatesExitCode) {
    for (int code : {0, 1, 42, 255}) {
        set_probe_args({"exit", std::to_string(code)});
        ProcResult r = run_bundle();
        EXPECT_FALSE(r.timed_out);
        EXPECT_EQ(r.exit_code, code) << r.describe();
    }
}

TEST_F(ProcessTest, InitIsPidOneInNewPidNamespace) {
    json host_ns = first_json(run_process({probe_path(), "report"}).out)["namespaces"];
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["pid"], 1);
    EXPECT_EQ(rep["ppid"], 0);
    for (const char* ns : {"pid", "mnt", "uts", "ipc", "net"})
        EXPECT_NE(rep["namespaces"][ns], host_ns[ns]) << ns << " namespace was not unshared";
    EXPECT_EQ(rep["argv"], json::array({"/probe", "report"}));
    EXPECT_EQ(rep["exe"], "/probe");
}

TEST_F(ProcessTest, HostnameAndDomainname) {
    spec_["hostname"] = "hull-host";
    spec_["domainname"] = "hull.example";
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["hostname"], "hull-host");
    // `domainname` arrived in runtime-spec 1.1 / runc 1.2; Debian's runc 1.1
    // ignores it.
    HULL_SKIP_FOR_RUNC_IF(rep["domainname"] != "hull.example",
                          "runc 1.1 does not implement the `domainname` field (added in runc 1.2)");
    EXPECT_EQ(rep["domainname"], "hull.example");
}

TEST_F(ProcessTest, UserGroupsAndUmask) {
    spec_["process"]["user"] = {{"uid", 1234}, {"gid", 2345}, {"additionalGids", {10, 20, 30}}, {"umask", 027}};
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["uid"], 1234);
    EXPECT_EQ(rep["euid"], 1234);
    EXPECT_EQ(rep["gid"], 2345);
    EXPECT_EQ(rep["egid"], 2345);
    std::vector<int> groups = rep["groups"].get<std::vector<int>>();
    std::sort(groups.begin(), groups.end());
    EXPECT_EQ(groups, (std::vector<int>{10, 20, 30}));
    EXPECT_EQ(rep["umask"], 027);
}

TEST_F(ProcessTest, RootUserHasNoSupplementaryGroupsByDefault) {
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["uid"], 0);
    EXPECT_EQ(rep["gid"], 0);
    EXPECT_EQ(rep["groups"], json::array());
}

TEST_F(ProcessTest, Cwd) {
    fs::create_directories(rootfs_ / "srv/work");
    spec_["process"]["cwd"] = "/srv/work";
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["cwd"], "/srv/work");
    EXPECT_TRUE(rep["cwd_reaches_root"].get<bool>());
}

TEST_F(ProcessTest, MissingCwdIsCreatedInsideTheRootfs) {
    spec_["process"]["cwd"] = "/does/not/exist";
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["cwd"], "/does/not/exist");
    EXPECT_TRUE(fs::is_directory(rootfs_ / "does/not/exist"));
}

TEST_F(ProcessTest, Environment) {
    spec_["process"]["env"] = {"PATH=/bin", "HULL_A=1", "HULL_B=with spaces=and equals", "HOME=/root"};
    json rep = run_probe({"report"});
    std::vector<std::string> env = rep["env"].get<std::vector<std::string>>();
    for (const char* want : {"PATH=/bin", "HULL_A=1", "HULL_B=with spaces=and equals", "HOME=/root"})
        EXPECT_NE(std::find(env.begin(), env.end(), want), env.end()) << "missing " << want;
    for (const std::string& e : env)
        EXPECT_FALSE(e.starts_with("HULL_RUNTIME=") || e.starts_with("_LIBCONTAINER"))
            << "host/runtime variable leaked into the container: " << e;
}

TEST_F(ProcessTest, OnlyStdioIsOpen) {
    // Open some host descriptors without CLOEXEC in the runtime's caller:
    // none of them may reach the container.
    write_spec();
    int dir = open(base_.c_str(), O_RDONLY | O_DIRECTORY);
    int file = open((bundle_ / "config.json").c_str(), O_RDONLY);
    ASSERT_GE(dir, 0);
    ASSERT_GE(file, 0);
    write_spec();
    RunOptions o;
    o.extra_fds = {{dir, 3}, {file, 4}, {dir, 7}};
    std::string id = new_id();
    ProcResult r = rt({"run", "--bundle", bundle_.string(), id}, o);
    close(dir);
    close(file);
    ASSERT_TRUE(r.ok()) << r.describe();
    json rep = first_json(r.out);
    std::vector<int> fds;
    for (const json& f : rep["fds"]) fds.push_back(f["fd"]);
    EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << rep["fds"].dump();
}

TEST_F(ProcessTest, PreserveFds) {
    write_text(base_ / "preserved-a", "A");
    write_text(base_ / "preserved-b", "B");
    int a = open((base_ / "preserved-a").c_str(), O_RDONLY);
    int b = open((base_ / "preserved-b").c_str(), O_RDONLY);
    int extra = open((base_ / "preserved-b").c_str(), O_RDONLY);
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    write_spec();
    RunOptions o;
    // fd 5 is beyond --preserve-fds=2 and must not reach the container.
    o.extra_fds = {{a, 3}, {b, 4}, {extra, 5}};
    std::string id = new_id();
    ProcResult r = rt({"run", "--preserve-fds", "2", "--bundle", bundle_.string(), id}, o);
    close(a);
    close(b);
    close(extra);
    ASSERT_TRUE(r.ok()) << r.describe();
    json rep = first_json(r.out);
    std::map<int, std::string> fds;
    for (const json& f : rep["fds"]) fds[f["fd"]] = f["target"].is_string() ? f["target"].get<std::string>() : "";
    EXPECT_EQ(fds.size(), 5u) << rep["fds"].dump();
    EXPECT_TRUE(fds.count(3) && fds[3].ends_with("preserved-a")) << rep["fds"].dump();
    EXPECT_TRUE(fds.count(4) && fds[4].ends_with("preserved-b")) << rep["fds"].dump();
    EXPECT_FALSE(fds.count(5)) << rep["fds"].dump();
}

TEST_F(ProcessTest, ConsoleSocketReceivesPtyMaster) {
    spec_["process"]["terminal"] = true;
    set_probe_args({"report"});
    write_spec();
    ConsoleSocket sock(base_ / "console.sock");
    std::string id = new_id();
    ProcResult c = rt({"create", "--bundle", bundle_.string(), "--console-socket", sock.path().string(), id});
    ASSERT_TRUE(c.ok()) << c.describe();
    int master = sock.receive_master(10s);
    ASSERT_GE(master, 0) << "no pty master received on the console socket";
    ProcResult s = rt({"start", id});
    ASSERT_TRUE(s.ok()) << s.describe();
    std::string out = sock.read_until_closed(20s);
    json rep = first_json(out);
    EXPECT_EQ(rep["tty"], json::array({true, true, true})) << "stdio of the container is not the pty";
    EXPECT_EQ(rep["pid"], 1);
    // The terminal must be a pty from the container's own devpts instance.
    bool found_pts = false;
    for (const json& f : rep["fds"])
        if (f["fd"] == 0) found_pts = f["target"].get<std::string>().starts_with("/dev/pts/");
    EXPECT_TRUE(found_pts) << rep["fds"].dump();
    EXPECT_TRUE(wait_status(id, "stopped"));
}

}  // namespace
}  // namespace hull::itest
