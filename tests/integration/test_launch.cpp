// `hull launch`: containers from the embedded busybox image, all offline, with the image store
// and the state root in the test's temp dir. What the container sees is checked from inside
// (its own shell prints it); what is left behind is checked on the host.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.hpp"

namespace hull::itest {
namespace {

class LaunchTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        HULL_SKIP_FOR_RUNC_IF(true, "`launch` is hull's own command");
        store_ = base_ / "store";
    }

    void TearDown() override {
        // Containers launched without --name have ids the test never saw.
        if (!base_.empty() && fs::exists(root_)) {
            for (const auto& e : fs::directory_iterator(root_)) track_id(e.path().filename().string());
        }
        RuntimeTest::TearDown();
    }

    std::vector<std::string> launch_args(const std::vector<std::string>& args) const {
        std::vector<std::string> a = {"launch", "--store", store_.string()};
        a.insert(a.end(), args.begin(), args.end());
        return a;
    }
    ProcResult launch(const std::vector<std::string>& args, const RunOptions& opts = {}) const {
        return rt(launch_args(args), opts);
    }
    std::vector<std::string> full_argv(const std::vector<std::string>& args) const {
        std::vector<std::string> a = {runtime_, "--root", root_.string()};
        for (const auto& s : launch_args(args)) a.push_back(s);
        return a;
    }

    fs::path bundle_of(const std::string& id) const { return store_ / "containers" / id; }
    fs::path pins() const { return store_ / "pins"; }
    bool pinned(const std::string& id) const { return fs::exists(pins() / (id + ".json")); }

    static size_t entries(const fs::path& dir) {
        if (!fs::exists(dir)) return 0;
        return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
    }

    // Nothing of any launched container is left: no state, bundle, pin, mount or cgroup.
    void expect_clean(const std::string& id = "") const {
        EXPECT_EQ(entries(root_), 0u) << "container state left under " << root_;
        EXPECT_EQ(entries(store_ / "containers"), 0u) << "bundle dir left under " << store_ / "containers";
        EXPECT_EQ(entries(pins()), 0u) << "pin left under " << pins();
        auto mounts = host_mounts_mentioning(base_.string());
        EXPECT_TRUE(mounts.empty()) << "host mount left: " << mounts.front();
        if (!id.empty()) {
            auto cgroups = host_cgroups_mentioning(id);
            EXPECT_TRUE(cgroups.empty()) << "cgroup left: " << cgroups.front();
        }
    }

    // A failure: non-zero status and exactly one line on stderr.
    static void expect_one_line_error(const ProcResult& r, const std::string& needle) {
        EXPECT_NE(r.exit_code, 0) << r.describe();
        EXPECT_FALSE(r.timed_out) << r.describe();
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.describe();
        EXPECT_NE(r.err.find(needle), std::string::npos) << "want `" << needle << "` in: " << r.describe();
    }

    // `hull launch` in the background, stdout to a file; returns its pid.
    pid_t spawn_launch(const std::vector<std::string>& args, const fs::path& out) const {
        std::vector<std::string> argv = full_argv(args);
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || null < 0) throw std::runtime_error("spawn_launch: open");
        pid_t pid = fork();
        if (pid == 0) {
            dup2(null, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            execv(cargv[0], cargv.data());
            _exit(127);
        }
        close(fd);
        close(null);
        return pid;
    }

    // Waits for `pid`; its exit status, or -1 on time-out (then it is killed).
    static int wait_for(pid_t pid, std::chrono::milliseconds timeout = 30s) {
        int status = 0;
        bool done = poll_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    fs::path store_;
};

TEST_F(LaunchTest, EchoHi) {
    ProcResult r = launch({"busybox", "echo", "hi"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "hi\n");
    // The embedded image was imported once, under its localhost name.
    EXPECT_TRUE(fs::exists(store_ / "images" / "localhost%2Fbusybox%3Alatest.json")) << "no image record";
    // A container without --name or --rm stays, stopped, until deleted.
    ProcResult l = rt({"list", "-q"});
    ASSERT_TRUE(l.ok()) << l.describe();
    auto ids = split_lines(l.out);
    ASSERT_EQ(ids.size(), 1u) << l.out;
    EXPECT_EQ(ids[0].size(), 12u) << "generated id: " << ids[0];
    EXPECT_EQ(state(ids[0])["status"], "stopped");
    ProcResult d = rt({"delete", ids[0]});
    EXPECT_TRUE(d.ok()) << d.describe();
    expect_clean(ids[0]);
}

TEST_F(LaunchTest, ImageDefaultsAndOptionsAfterImageBelongToTheCommand) {
    // No command: the image's Cmd (sh) reads the script from stdin with -i.
    ProcResult r = launch({"--rm", "-i", "busybox"}, {.stdin_data = "echo from-sh; echo $PATH\n"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "from-sh\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    // `-e` after the image is the command's argument, not hull's option.
    r = launch({"--rm", "busybox", "echo", "-e", "--name"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "--name\n");
    expect_clean();
}

TEST_F(LaunchTest, ExitStatusPassesThrough) {
    ProcResult r = launch({"--rm", "busybox", "sh", "-c", "exit 7"});
    EXPECT_EQ(r.exit_code, 7) << r.describe();

    // Killed by SIGKILL from outside (pid 1 cannot be SIGKILLed from inside): 128 + 9.
    fs::path out = base_ / "killed.out";
    pid_t pid = spawn_launch({"--rm", "--name", "killme", "busybox", "sh", "-c", "echo ready; exec sleep 60"}, out);
    track_id("killme");
    ASSERT_TRUE(poll_until([&] { return read_text(out).find("ready") != std::string::npos; }, 20s))
        << read_text(out);
    ProcResult k = rt({"kill", "killme", "KILL"});
    EXPECT_TRUE(k.ok()) << k.describe();
    EXPECT_EQ(wait_for(pid), 137) << read_text(out);
    expect_clean("killme");
}

TEST_F(LaunchTest, EnvWorkdirUserHostnameFromInside) {
    ProcResult r = launch({"--rm", "-e", "FOO=bar baz", "-e", "TWO=2", "-w", "/tmp", "-u", "nobody", "--hostname",
                           "boxy", "busybox", "sh", "-c", "echo \"$FOO|$TWO\"; pwd; id -u; id -g; hostname"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "bar baz|2\n/tmp\n65534\n65534\nboxy\n");
    // By default the hostname is the container's id.
    r = launch({"--rm", "--name", "named-host", "busybox", "hostname"});
    EXPECT_EQ(r.out, "named-host\n") << r.describe();
    expect_clean();
}

TEST_F(LaunchTest, VolumesReadWriteAndReadOnly) {
    fs::path rw = base_ / "vol-rw", ro = base_ / "vol-ro";
    fs::create_directories(rw);
    fs::create_directories(ro);
    write_text(ro / "given", "from-host\n");
    ProcResult r = launch({"--rm", "-v", rw.string() + ":/data", "-v", ro.string() + ":/ro:ro", "busybox", "sh", "-c",
                           "echo written > /data/f && cat /ro/given && if echo x > /ro/new; then echo RO-WRITABLE; "
                           "fi"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "from-host\n") << r.describe();
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.describe();
    EXPECT_EQ(read_text(rw / "f"), "written\n");
    EXPECT_FALSE(fs::exists(ro / "new"));
    expect_clean();
}

TEST_F(LaunchTest, ReadOnlyRoot) {
    ProcResult r = launch({"--rm", "--read-only", "busybox", "sh", "-c", "touch /x || echo refused"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "refused\n") << r.describe();
    EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.describe();
    expect_clean();
}

TEST_F(LaunchTest, DefaultWritableLayerIsFreshEachTime) {
    ProcResult w = launch({"--rm", "busybox", "sh", "-c", "echo one > /etc/marker && cat /etc/marker"});
    EXPECT_EQ(w.exit_code, 0) << w.describe();
    EXPECT_EQ(w.out, "one\n");
    ProcResult r = launch({"--rm", "busybox", "sh", "-c", "cat /etc/marker 2>/dev/null || echo absent"});
    EXPECT_EQ(r.out, "absent\n") << r.describe();
    // Nothing was written into the store's layers either.
    ProcResult layers = run_process({"sh", "-c", "find '" + store_.string() + "/layers' -name marker"});
    EXPECT_EQ(layers.out, "") << "a container's write reached a layer";
    expect_clean();
}

TEST_F(LaunchTest, NamedContainerKeepsItsChangesUntilDeleted) {
    const std::string id = "keeper";
    track_id(id);
    ProcResult r = launch({"--name", id, "busybox", "sh", "-c", "echo kept > /root/note; rm /etc/group"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(state(id)["status"], "stopped");
    fs::path bundle = bundle_of(id);
    EXPECT_EQ(read_text(bundle / "upper" / "root" / "note"), "kept\n");
    // The deletion is a whiteout in the container's upper dir, not a change to the image.
    EXPECT_TRUE(fs::exists(fs::symlink_status(bundle / "upper" / "etc" / "group")));
    EXPECT_TRUE(pinned(id));

    ProcResult again = launch({"--name", id, "busybox", "true"});
    expect_one_line_error(again, "already in use");
    EXPECT_EQ(read_text(bundle / "upper" / "root" / "note"), "kept\n") << "the failed launch touched the first";

    ProcResult d = rt({"delete", id});
    EXPECT_TRUE(d.ok()) << d.describe();
    EXPECT_FALSE(fs::exists(bundle));
    EXPECT_FALSE(pinned(id));
    expect_clean(id);

    // The name is free again, and the new container starts from the image.
    r = launch({"--rm", "--name", id, "busybox", "sh", "-c", "cat /root/note 2>/dev/null || echo fresh"});
    EXPECT_EQ(r.out, "fresh\n") << r.describe();
}

TEST_F(LaunchTest, RmLeavesNothing) {
    const std::string id = "gone";
    track_id(id);
    ProcResult r = launch({"--rm", "--name", id, "busybox", "sh", "-c", "echo x > /tmp/y; cat /proc/self/cgroup"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_FALSE(status(id).has_value());
    expect_clean(id);
    // A failing container is removed too.
    r = launch({"--rm", "--name", id, "busybox", "false"});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    expect_clean(id);
}

TEST_F(LaunchTest, DetachThenKillAndDelete) {
    const std::string id = "bg";
    track_id(id);
    ProcResult r = launch({"-d", "--name", id, "busybox", "sh", "-c", "echo logged; exec sleep 60"}, {.timeout = 20s});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, id + "\n");
    EXPECT_EQ(state(id)["status"], "running");
    EXPECT_TRUE(poll_until([&] { return read_text(bundle_of(id) / "output.log") == "logged\n"; }));
    EXPECT_TRUE(rt({"kill", id, "KILL"}).ok());
    EXPECT_TRUE(wait_status(id, "stopped"));
    ProcResult d = rt({"delete", id});
    EXPECT_TRUE(d.ok()) << d.describe();
    expect_clean(id);
}

TEST_F(LaunchTest, LimitsInTheContainersCgroup) {
    // cgroup v2 files, or v1's where the host has v1 controllers.
    const std::string script =
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
        "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max";
    ProcResult r = launch({"--rm", "--memory", "64m", "--pids-limit", "42", "busybox", "sh", "-c", script});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, std::to_string(64 << 20) + "\n42\n") << r.describe();
    // The pids limit holds: the 43rd process cannot be made.
    r = launch({"--rm", "--pids-limit", "5", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; echo done"});
    EXPECT_NE(r.err.find("fork"), std::string::npos) << r.describe();
    expect_clean();
}

TEST_F(LaunchTest, TerminalWithPty) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    std::string slave_name = ptsname(master);
    std::vector<std::string> argv =
        full_argv({"--rm", "-t", "busybox", "sh", "-c", "test -t 0 && test -t 1 && echo IS-A-TTY; stty size"});
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    struct winsize ws {};
    ws.ws_row = 33;
    ws.ws_col = 111;
    ioctl(master, TIOCSWINSZ, &ws);
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        int slave = open(slave_name.c_str(), O_RDWR);
        if (slave < 0) _exit(126);
        ioctl(slave, TIOCSCTTY, 0);
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        execv(cargv[0], cargv.data());
        _exit(127);
    }
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    int status = 0;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
        struct pollfd p = {master, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            char buf[4096];
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0) out.append(buf, static_cast<size_t>(n));
            else if (exited) break;
        } else if (exited) {
            break;
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    close(master);
    ASSERT_TRUE(exited) << "hull launch -t did not finish: " << out;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    EXPECT_NE(out.find("IS-A-TTY"), std::string::npos) << out;
    EXPECT_NE(out.find("33 111"), std::string::npos) << "window size not passed on: " << out;
    expect_clean();
}

TEST_F(LaunchTest, StdinOnlyWithInteractive) {
    ProcResult r = launch({"--rm", "-i", "busybox", "cat"}, {.stdin_data = "x\npiped\n"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "x\npiped\n");
    // Without -i the container reads /dev/null, even when hull's stdin has data.
    r = launch({"--rm", "busybox", "sh", "-c", "cat; echo end"}, {.stdin_data = "not for you\n"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.out, "end\n");
    expect_clean();
}

TEST_F(LaunchTest, SigintReachesTheContainer) {
    fs::path out = base_ / "int.out";
    pid_t pid = spawn_launch({"--rm", "--name", "intr", "busybox", "sh", "-c",
                              "trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.1; done"},
                             out);
    track_id("intr");
    ASSERT_TRUE(poll_until([&] { return read_text(out).find("ready") != std::string::npos; }, 20s))
        << read_text(out);
    kill(pid, SIGINT);
    EXPECT_EQ(wait_for(pid), 42) << read_text(out);
    EXPECT_NE(read_text(out).find("got-int"), std::string::npos) << read_text(out);
    expect_clean("intr");
}

TEST_F(LaunchTest, BadInputsFailInOneLineAndLeaveNothing) {
    struct Case {
        std::vector<std::string> args;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {{"--tls-verify=false", "127.0.0.1:1/none"}, "127.0.0.1:1/none"},
        {{"--name", "../x", "busybox", "true"}, "invalid container id"},
        {{"--name", "/etc", "busybox", "true"}, "invalid container id"},
        {{"--memory", "lots", "busybox", "true"}, "--memory"},
        {{"-v", "not-absolute:/x", "busybox", "true"}, "not-absolute"},
        {{"-v", (base_ / "no-such-dir").string() + ":/x", "busybox", "true"}, "no-such-dir"},
        {{"-v", "/tmp", "busybox", "true"}, "/tmp"},
        {{"--network", "bridge", "busybox", "true"}, "bridge"},
        {{"-d", "-t", "busybox", "true"}, "-t"},
        {{"Not-An-Image!"}, "Not-An-Image!"},
        {{}, "launch"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::PrintToString(c.args));
        ProcResult r = launch(c.args, {.timeout = 60s});
        expect_one_line_error(r, c.needle);
        expect_clean("n1");
    }
}

TEST_F(LaunchTest, MissingProgramFailsAndLeavesNothing) {
    ProcResult r = launch({"--name", "n1", "busybox", "/no/such/program"});
    EXPECT_EQ(r.exit_code, 125) << r.describe();
    // One line: the init hands its failure to the parent, which says it once, with context.
    auto lines = split_lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.describe();
    EXPECT_NE(lines.back().find("exec `/no/such/program`"), std::string::npos) << r.describe();
    expect_clean("n1");
}

// Rewrites the embedded busybox image unpacked in a layout dir: its config's os, its
// org.hull.vm.kernel label (when not empty) and one more Env entry (when not empty).
static const char kRelabel[] = R"PY(
import hashlib, json, os, sys
d, os_name, kernel, env = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def path(h): return os.path.join(d, "blobs", "sha256", h)
def put(doc):
    data = json.dumps(doc).encode()
    h = hashlib.sha256(data).hexdigest()
    open(path(h), "wb").write(data)
    return "sha256:" + h, len(data)
index = json.load(open(os.path.join(d, "index.json")))
desc = index["manifests"][0]
manifest = json.load(open(path(desc["digest"].split(":")[1])))
config = json.load(open(path(manifest["config"]["digest"].split(":")[1])))
config["os"] = os_name
if kernel:
    config["config"].setdefault("Labels", {})["org.hull.vm.kernel"] = kernel
if env:
    config["config"]["Env"].append(env)
manifest["config"]["digest"], manifest["config"]["size"] = put(config)
desc["digest"], desc["size"] = put(manifest)
desc.pop("platform", None)
desc.pop("annotations", None)
json.dump(index, open(os.path.join(d, "index.json"), "w"))
)PY";

class LaunchImagesTest : public LaunchTest {
protected:
    // Imports a rewritten copy of the embedded busybox image (see kRelabel) as `name`.
    void import_variant(const std::string& name, const std::string& os, const std::string& kernel,
                        const std::string& env) {
        fs::path embedded = fs::path(runtime_).parent_path() / ".." / "share" / "hull" / "images" / "busybox.oci.tar";
        ASSERT_TRUE(fs::exists(embedded)) << embedded;
        fs::path dir = base_ / ("layout-" + std::to_string(++layouts_));
        fs::create_directories(dir);
        ProcResult x = run_process({"tar", "-C", dir.string(), "-xf", embedded.string()});
        ASSERT_TRUE(x.ok()) << x.describe();
        ProcResult py = run_process({"python3", "-c", kRelabel, dir.string(), os, kernel, env});
        ASSERT_TRUE(py.ok()) << py.describe();
        ProcResult imp = rt({"import", "--store", store_.string(), dir.string(), name});
        ASSERT_TRUE(imp.ok()) << imp.describe();
    }
    int layouts_ = 0;
};

TEST_F(LaunchImagesTest, ShortNamesPreferLocalhostThenDockerHubThenEmbedded) {
    import_variant("docker.io/library/busybox:latest", "linux", "", "FROM=docker-hub");
    ProcResult r = launch({"--rm", "busybox", "sh", "-c", "echo $FROM"});
    EXPECT_EQ(r.out, "docker-hub\n") << r.describe();
    EXPECT_FALSE(fs::exists(store_ / "images" / "localhost%2Fbusybox%3Alatest.json"))
        << "the embedded image was imported although the store had the image";
    import_variant("localhost/busybox:latest", "linux", "", "FROM=localhost");
    r = launch({"--rm", "busybox", "sh", "-c", "echo $FROM"});
    EXPECT_EQ(r.out, "localhost\n") << r.describe();
    // A registry-qualified name is not a short name.
    r = launch({"--rm", "docker.io/library/busybox", "sh", "-c", "echo $FROM"});
    EXPECT_EQ(r.out, "docker-hub\n") << r.describe();
    // Another tag is neither in the store nor embedded (embedded images are `latest` only), and
    // no registry is reachable at 127.0.0.1:1.
    r = launch({"--rm", "--tls-verify=false", "127.0.0.1:1/busybox:1.0", "true"});
    expect_one_line_error(r, "127.0.0.1:1/busybox:1.0");
    expect_clean();
}

TEST_F(LaunchImagesTest, ImagesForAnotherOsNeedTheirKernelLabel) {
    import_variant("localhost/nolabel:latest", "plan9", "", "");
    import_variant("localhost/labelled:latest", "plan9", "/boot/no-such-kernel", "");

    ProcResult r = launch({"--rm", "nolabel", "true"});
    expect_one_line_error(r, "org.hull.vm.kernel");
    expect_clean();
    // With the label the container goes to the VM, which is told to boot that kernel; it is not
    // in the image, so the VM cannot start, and nothing is left either.
    r = launch({"--rm", "--name", "vm1", "labelled", "true"});
    EXPECT_EQ(r.exit_code, 125) << r.describe();
    EXPECT_NE(r.err.find("/boot/no-such-kernel"), std::string::npos) << r.describe();
    expect_clean("vm1");
}

TEST_F(LaunchTest, VmFlagRunsInTheMicroVmOrFailsCleanly) {
    ProcResult r = launch({"--rm", "--vm", "--name", "vm2", "busybox", "sh", "-c", "echo in-vm; cat /proc/1/comm"});
    if (r.exit_code == 0) {
        EXPECT_EQ(r.out.substr(0, 6), "in-vm\n") << r.describe();
    } else {
        // No KVM or no guest kernel configured here: then it must say so about the VM.
        expect_one_line_error(r, "vm");
    }
    expect_clean("vm2");
}

TEST_F(LaunchTest, RmiRefusedWhileALaunchedContainerPinsTheImage) {
    const std::string id = "pinner";
    track_id(id);
    ProcResult r = launch({"--name", id, "busybox", "true"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    ProcResult rmi = rt({"rmi", "--store", store_.string(), "localhost/busybox:latest"});
    EXPECT_NE(rmi.exit_code, 0) << rmi.describe();
    EXPECT_NE(rmi.err.find(id), std::string::npos) << "the refusal should name the container: " << rmi.describe();
    EXPECT_TRUE(fs::exists(store_ / "images" / "localhost%2Fbusybox%3Alatest.json"));
    // The container still starts from its layers... and once it is deleted, rmi works.
    ASSERT_TRUE(rt({"delete", id}).ok());
    rmi = rt({"rmi", "--store", store_.string(), "localhost/busybox:latest"});
    EXPECT_EQ(rmi.exit_code, 0) << rmi.describe();
    expect_clean(id);
}

}  // namespace
}  // namespace hull::itest
