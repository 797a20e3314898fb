// create / start / state / kill / delete / list / ps, and --pid-file.

#include <map>

#include <signal.h>
#include <unistd.h>

#include "harness.hpp"

namespace hull::itest {
namespace {

using LifecycleTest = RuntimeTest;

// Alive and not a zombie: a killed init may wait a while for whoever
// inherited it to reap it, which is not the runtime's business.
bool process_alive(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

TEST_F(LifecycleTest, CreateStartStateStopDelete) {
    // The probe waits for a file that the test creates through a bind
    // mount, so the test decides when the container exits.
    fs::path gate = base_ / "gate";
    fs::create_directories(gate);
    spec_["mounts"].push_back({{"destination", "/gate"}, {"type", "bind"}, {"source", gate.string()},
                               {"options", {"bind"}}});
    set_probe_args({"report", "+", "wait-file", "/gate/go", "20000", "+", "exit", "0"});
    std::string id = new_id();
    fs::path out = base_ / "out";

    ProcResult c = create(id, out);
    ASSERT_TRUE(c.ok()) << c.describe();
    json st = state(id);
    EXPECT_EQ(st["status"], "created");
    EXPECT_EQ(st["id"], id);
    EXPECT_EQ(fs::path(st["bundle"].get<std::string>()), bundle_);
    EXPECT_TRUE(st.contains("ociVersion"));
    int pid = st["pid"];
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(process_alive(pid));
    // Before start the user process has not run.
    EXPECT_TRUE(json_lines(read_text(out)).empty()) << read_text(out);

    ProcResult s = rt({"start", id});
    ASSERT_TRUE(s.ok()) << s.describe();
    auto lines = wait_json_lines(out, 1);
    ASSERT_GE(lines.size(), 1u) << "the container never ran: " << read_text(out);
    EXPECT_EQ(lines[0]["pid"], 1);
    st = state(id);
    EXPECT_EQ(st["status"], "running");
    EXPECT_EQ(st["pid"], pid);

    write_text(gate / "go", "");
    EXPECT_TRUE(wait_status(id, "stopped")) << "container did not reach `stopped` on its own";
    EXPECT_TRUE(host_processes_mentioning(bundle_.string()).empty()) << "container process still running";

    ProcResult d = rt({"delete", id});
    EXPECT_TRUE(d.ok()) << d.describe();
    EXPECT_FALSE(status(id).has_value()) << "state still answers after delete";
    expect_nothing_left(id, bundle_);
}

TEST_F(LifecycleTest, StartTwiceFails) {
    set_probe_args({"sleep", "30"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ProcResult s1 = rt({"start", id});
    ASSERT_TRUE(s1.ok()) << s1.describe();
    ProcResult s2 = rt({"start", id});
    EXPECT_NE(s2.exit_code, 0) << "second start succeeded: " << s2.describe();
    EXPECT_EQ(status(id), "running");
}

TEST_F(LifecycleTest, StartAfterExitFails) {
    set_probe_args({"exit", "0"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    EXPECT_NE(rt({"start", id}).exit_code, 0);
}

TEST_F(LifecycleTest, DeleteRunningNeedsForce) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    int pid = state(id)["pid"];
    ProcResult d = rt({"delete", id});
    EXPECT_NE(d.exit_code, 0) << "delete of a running container succeeded without --force";
    EXPECT_EQ(status(id), "running");
    ProcResult f = rt({"delete", "--force", id});
    EXPECT_TRUE(f.ok()) << f.describe();
    EXPECT_FALSE(status(id).has_value());
    EXPECT_TRUE(poll_until([&] { return !process_alive(pid); }, 5s)) << "init survived delete --force";
    expect_nothing_left(id, bundle_);
}

TEST_F(LifecycleTest, DeleteCreatedContainer) {
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    int pid = state(id)["pid"];
    // runtime-spec: deleting a container that is not stopped "MUST have no effect on the
    // container and MUST generate an error" (runc 1.1 deletes it anyway; the OCI suite's
    // `delete` test fails runc for that). --force removes it.
    ProcResult d = rt({"delete", id});
    if (runtime_is_runc()) {
        EXPECT_TRUE(d.ok()) << d.describe();
    } else {
        EXPECT_FALSE(d.ok()) << "delete of a created container must fail without --force";
        EXPECT_EQ(state(id)["status"], "created");
        EXPECT_TRUE(process_alive(pid));
        ProcResult f = rt({"delete", "--force", id});
        EXPECT_TRUE(f.ok()) << f.describe();
    }
    EXPECT_TRUE(poll_until([&] { return !process_alive(pid); }, 5s));
    EXPECT_TRUE(json_lines(read_text(base_ / "out")).empty()) << "the process ran although never started";
    expect_nothing_left(id, bundle_);
}

TEST_F(LifecycleTest, KillBySignalNameAndNumber) {
    set_probe_args({"signal-wait", "3"});
    std::string id = new_id();
    fs::path out = base_ / "out";
    ASSERT_TRUE(create(id, out).ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_EQ(wait_json_lines(out, 1).size(), 1u) << "probe never became ready: " << read_text(out);
    size_t n = 1;
    for (const char* sig : {"TERM", "SIGTERM", "15"}) {
        ProcResult k = rt({"kill", id, sig});
        ASSERT_TRUE(k.ok()) << "kill " << sig << ": " << k.describe();
        auto lines = wait_json_lines(out, ++n);
        ASSERT_EQ(lines.size(), n) << "signal " << sig << " never arrived: " << read_text(out);
        EXPECT_EQ(lines.back()["name"], "SIGTERM") << sig;
    }
    EXPECT_TRUE(wait_status(id, "stopped"));
}

TEST_F(LifecycleTest, KillOtherSignals) {
    set_probe_args({"signal-wait", "2"});
    std::string id = new_id();
    fs::path out = base_ / "out";
    ASSERT_TRUE(create(id, out).ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_EQ(wait_json_lines(out, 1).size(), 1u);
    ASSERT_TRUE(rt({"kill", id, "USR1"}).ok());
    ASSERT_EQ(wait_json_lines(out, 2).back()["name"], "SIGUSR1");
    ASSERT_TRUE(rt({"kill", id, "SIGHUP"}).ok());
    ASSERT_EQ(wait_json_lines(out, 3).back()["name"], "SIGHUP");
    EXPECT_TRUE(wait_status(id, "stopped"));
}

TEST_F(LifecycleTest, KillDefaultIsSigterm) {
    set_probe_args({"signal-wait", "1"});
    std::string id = new_id();
    fs::path out = base_ / "out";
    ASSERT_TRUE(create(id, out).ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_EQ(wait_json_lines(out, 1).size(), 1u);
    ASSERT_TRUE(rt({"kill", id}).ok());
    EXPECT_EQ(wait_json_lines(out, 2).back()["name"], "SIGTERM");
}

TEST_F(LifecycleTest, KillWithSigkillStopsContainer) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(rt({"kill", id, "KILL"}).ok());
    EXPECT_TRUE(wait_status(id, "stopped"));
}

TEST_F(LifecycleTest, KillStoppedContainerFails) {
    set_probe_args({"exit", "0"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(wait_status(id, "stopped"));
    ProcResult k = rt({"kill", id, "TERM"});
    EXPECT_NE(k.exit_code, 0) << "kill of a stopped container succeeded";
}

TEST_F(LifecycleTest, KillUnknownSignalFails) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    EXPECT_NE(rt({"kill", id, "NOTASIGNAL"}).exit_code, 0);
    EXPECT_EQ(status(id), "created");
}

TEST_F(LifecycleTest, CommandsOnUnknownContainerFail) {
    std::string id = new_id();
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"state", id}, {"start", id}, {"kill", id, "TERM"}, {"delete", id}, {"ps", id}}) {
        ProcResult r = rt(args);
        EXPECT_NE(r.exit_code, 0) << args[0] << " of an unknown container succeeded";
    }
}

TEST_F(LifecycleTest, ListJsonAndQuiet) {
    set_probe_args({"sleep", "60"});
    std::string a = new_id();
    std::string b = new_id();
    ASSERT_TRUE(create(a, base_ / "out-a").ok());
    ASSERT_TRUE(create(b, base_ / "out-b").ok());
    ASSERT_TRUE(rt({"start", b}).ok());

    ProcResult l = rt({"list", "--format", "json"});
    ASSERT_TRUE(l.ok()) << l.describe();
    json list = json::parse(l.out);
    ASSERT_TRUE(list.is_array()) << l.out;
    std::map<std::string, json> by_id;
    for (const json& c : list) by_id[c["id"]] = c;
    ASSERT_EQ(by_id.size(), 2u) << l.out;
    EXPECT_EQ(by_id[a]["status"], "created");
    EXPECT_EQ(by_id[b]["status"], "running");
    EXPECT_EQ(by_id[a]["pid"], state(a)["pid"]);
    EXPECT_EQ(fs::path(by_id[b]["bundle"].get<std::string>()), bundle_);

    ProcResult q = rt({"list", "--quiet"});
    ASSERT_TRUE(q.ok()) << q.describe();
    std::vector<std::string> ids = split_lines(q.out);
    std::sort(ids.begin(), ids.end());
    std::vector<std::string> want = {a, b};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(ids, want);
}

TEST_F(LifecycleTest, ListEmptyRoot) {
    ProcResult l = rt({"list", "--format", "json"});
    ASSERT_TRUE(l.ok()) << l.describe();
    json list = json::parse(l.out.empty() ? "null" : l.out);
    EXPECT_TRUE(list.is_null() || (list.is_array() && list.empty())) << l.out;
    ProcResult q = rt({"list", "-q"});
    ASSERT_TRUE(q.ok());
    EXPECT_TRUE(split_lines(q.out).empty()) << q.out;
}

TEST_F(LifecycleTest, PsJson) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    int pid = state(id)["pid"];
    ProcResult p = rt({"ps", "--format", "json", id});
    ASSERT_TRUE(p.ok()) << p.describe();
    json pids = json::parse(p.out);
    ASSERT_TRUE(pids.is_array()) << p.out;
    EXPECT_NE(std::find(pids.begin(), pids.end(), json(pid)), pids.end()) << p.out;
    // Only the container's processes: the runtime and the test are not there.
    EXPECT_EQ(std::find(pids.begin(), pids.end(), json(getpid())), pids.end());
}

TEST_F(LifecycleTest, PidFile) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    fs::path pid_file = base_ / "container.pid";
    ProcResult c = create(id, base_ / "out", {"--pid-file", pid_file.string()});
    ASSERT_TRUE(c.ok()) << c.describe();
    ASSERT_TRUE(fs::exists(pid_file));
    int pid = std::stoi(read_text(pid_file));
    EXPECT_EQ(pid, state(id)["pid"]);
    EXPECT_TRUE(process_alive(pid));
    // The process behind the pid lives in the bundle's rootfs... once it
    // runs, it is the probe.
    ASSERT_TRUE(rt({"start", id}).ok());
    EXPECT_TRUE(poll_until([&] {
        return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe").filename() == "probe";
    }));
}

TEST_F(LifecycleTest, RunDetachedWithPidFile) {
    set_probe_args({"sleep", "60"});
    write_spec();
    std::string id = new_id();
    fs::path pid_file = base_ / "run.pid";
    RunOptions o;
    o.stdout_file = base_ / "out";
    ProcResult r = rt({"run", "--detach", "--pid-file", pid_file.string(), "--bundle", bundle_.string(), id}, o);
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(status(id), "running");
    EXPECT_EQ(std::stoi(read_text(pid_file)), state(id)["pid"]);
}

}  // namespace
}  // namespace hull::itest
