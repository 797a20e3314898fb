// `exec` into a running container.

#include <set>

#include "harness.hpp"

namespace hull::itest {
namespace {

class ExecTest : public RuntimeTest {
protected:
    // Start a container whose init prints its report and then sleeps; return
    // the init's report.
    json start_sleeper() {
        set_probe_args({"report", "+", "sleep", "60"});
        id_ = new_id();
        fs::path out = base_ / "init.out";
        ProcResult c = create(id_, out);
        if (!c.ok()) throw std::runtime_error("create failed: " + c.describe());
        ProcResult s = rt({"start", id_});
        if (!s.ok()) throw std::runtime_error("start failed: " + s.describe());
        auto lines = wait_json_lines(out, 1);
        if (lines.empty()) throw std::runtime_error("init printed nothing: " + read_text(out));
        return lines[0];
    }

    ProcResult exec(const std::vector<std::string>& args) {
        std::vector<std::string> a = {"exec"};
        a.insert(a.end(), args.begin(), args.end());
        return rt(a);
    }

    std::string id_;
};

TEST_F(ExecTest, SeesTheSameNamespacesAsInit) {
    json init = start_sleeper();
    ProcResult r = exec({id_, "/probe", "report"});
    ASSERT_TRUE(r.ok()) << r.describe();
    json rep = first_json(r.out);
    for (const char* ns : {"pid", "mnt", "uts", "ipc", "net", "user", "cgroup"})
        EXPECT_EQ(rep["namespaces"][ns], init["namespaces"][ns]) << ns;
    EXPECT_GT(rep["pid"].get<int>(), 1);
    EXPECT_EQ(rep["hostname"], init["hostname"]);
    EXPECT_EQ(rep["cgroup"], init["cgroup"]);
    // Nothing of the runtime's own descriptors reaches the exec'd process.
    std::vector<int> fds;
    for (const json& f : rep["fds"]) fds.push_back(f["fd"]);
    EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << rep["fds"].dump();
}

TEST_F(ExecTest, InheritsTheContainerSecurityProfile) {
    spec_["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"architectures", {"SCMP_ARCH_X86_64"}},
        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 28}}}}};
    spec_["mounts"].push_back({{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    json init = start_sleeper();
    ProcResult r = exec({id_, "/probe", "report", "+", "try-mkdir", "/scratch/d"});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["seccomp"], 2);
    EXPECT_EQ(lines[0]["no_new_privs"], 1);
    EXPECT_EQ(lines[0]["capabilities"], init["capabilities"]);
    EXPECT_EQ(lines[0]["rlimits"]["RLIMIT_NOFILE"], init["rlimits"]["RLIMIT_NOFILE"]);
    EXPECT_EQ(lines[1]["errno"], 28);
}

TEST_F(ExecTest, EnvCwdUser) {
    fs::create_directories(rootfs_ / "srv");
    start_sleeper();
    ProcResult r = exec({"--env", "HULL_EXEC=yes", "--env", "SECOND=2", "--cwd", "/srv", "--user", "1000:1001",
                         id_, "/probe", "report"});
    ASSERT_TRUE(r.ok()) << r.describe();
    json rep = first_json(r.out);
    EXPECT_EQ(rep["uid"], 1000);
    EXPECT_EQ(rep["gid"], 1001);
    EXPECT_EQ(rep["cwd"], "/srv");
    std::vector<std::string> env = rep["env"];
    for (const char* want : {"HULL_EXEC=yes", "SECOND=2"})
        EXPECT_NE(std::find(env.begin(), env.end(), want), env.end()) << want;
    // The config's environment is the base of exec's.
    EXPECT_NE(std::find_if(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("PATH="); }),
              env.end());
}

TEST_F(ExecTest, ProcessFile) {
    fs::create_directories(rootfs_ / "work");
    start_sleeper();
    json process = {{"terminal", false},
                    {"user", {{"uid", 1234}, {"gid", 4321}, {"additionalGids", {7, 8}}}},
                    {"args", {"/probe", "report", "from-process-json"}},
                    {"env", {"PATH=/bin", "FROM_FILE=1"}},
                    {"cwd", "/work"},
                    {"noNewPrivileges", true},
                    {"capabilities",
                     {{"bounding", {"CAP_KILL"}},
                      {"permitted", {"CAP_KILL"}},
                      {"effective", {"CAP_KILL"}},
                      {"inheritable", json::array()},
                      {"ambient", json::array()}}}};
    write_text(base_ / "process.json", process.dump());
    ProcResult r = exec({"--process", (base_ / "process.json").string(), id_});
    ASSERT_TRUE(r.ok()) << r.describe();
    json rep = first_json(r.out);
    EXPECT_EQ(rep["argv"], json::array({"/probe", "report", "from-process-json"}));
    EXPECT_EQ(rep["uid"], 1234);
    EXPECT_EQ(rep["gid"], 4321);
    std::vector<int> groups = rep["groups"];
    std::sort(groups.begin(), groups.end());
    EXPECT_EQ(groups, (std::vector<int>{7, 8}));
    EXPECT_EQ(rep["cwd"], "/work");
    std::vector<std::string> env = rep["env"];
    EXPECT_NE(std::find(env.begin(), env.end(), "FROM_FILE=1"), env.end());
    EXPECT_EQ(rep["capabilities"]["bounding"]["names"], json::array({"CAP_KILL"}));
    EXPECT_EQ(rep["capabilities"]["permitted"]["hex"], "0000000000000000");
}

TEST_F(ExecTest, ExitCodePropagates) {
    start_sleeper();
    ProcResult r = exec({id_, "/probe", "exit", "7"});
    EXPECT_EQ(r.exit_code, 7) << r.describe();
    EXPECT_EQ(status(id_), "running") << "exec's exit must not stop the container";
}

TEST_F(ExecTest, MissingBinaryFails) {
    start_sleeper();
    ProcResult r = exec({id_, "/no/such/binary"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(status(id_), "running");
}

TEST_F(ExecTest, IntoStoppedContainerFails) {
    set_probe_args({"exit", "0"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    ProcResult r = exec({id, "/probe", "report"});
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(json_lines(r.out).empty()) << "a process ran in a stopped container";
}

TEST_F(ExecTest, DetachedExec) {
    start_sleeper();
    fs::path out = base_ / "exec.out";
    RunOptions o;
    o.stdout_file = out;
    ProcResult r = rt({"exec", "--detach", id_, "/probe", "report"}, o);
    ASSERT_TRUE(r.ok()) << r.describe();
    auto lines = wait_json_lines(out, 1);
    ASSERT_EQ(lines.size(), 1u) << read_text(out);
    EXPECT_GT(lines[0]["pid"].get<int>(), 1);
}

TEST_F(ExecTest, PidFile) {
    start_sleeper();
    fs::path pid_file = base_ / "exec.pid";
    ProcResult r = rt({"exec", "--pid-file", pid_file.string(), id_, "/probe", "exit", "0"});
    ASSERT_TRUE(r.ok()) << r.describe();
    ASSERT_TRUE(fs::exists(pid_file));
    EXPECT_GT(std::stoi(read_text(pid_file)), 0);
}

}  // namespace
}  // namespace hull::itest
