// Linux images under `org.hull.isolation=vm` with no org.hull.vm.kernel: hull boots the host
// kernel named in its configuration (HULL_CONFIG) with its own guest init (hull-guest-init).
//
// - GuestInitTest: hull-guest-init itself, in its test mode (HULL_GUEST_INIT_TEST=1), as PID 1
//   of an ordinary container, reading /hull/process.json from the rootfs: the probe reports the
//   args, env, cwd, uid/gid/groups, umask, hostname, rlimits and no_new_privs it got; exit
//   statuses (0, 7, 128+9, 127) and orphan reaping are checked from inside. The control channel
//   (runtime/vm/control_protocol.hpp) is a pty of the test's own bound at /dev/hvc1, as the
//   VMM's second virtio-console is in a guest: the init says kReady on it, and the probe
//   reports the signals and the window size the test's messages gave it.
// - LinuxVmTest: a real boot of Debian's kernel (tests/vm/fetch-kernel.sh). The console must show
//   `Linux version` and the command line hull passed. Where /dev/kvm can run a stock kernel the
//   guest init runs the process and its status (7) is hull's; on this project's nested-PVM
//   /dev/kvm the kernel dies in instruction emulation after its early console, which the test
//   detects and reports as a skip of the rest, with the reason.
// - Bad input: no configuration, a missing or wrong kernel, no guest init binary: one-line
//   errors, nothing left behind (no state dir, cgroup, process, cache temp files).

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "console.hpp"
#include "harness.hpp"
#include "vm_support.hpp"

namespace hull::itest {
namespace {

// hull-guest-init beside the hull binary under test (the build puts both in bin/).
fs::path guest_init_binary() {
    if (const char* env = getenv("HULL_GUEST_INIT"); env && *env) return env;
    return fs::path(runtime_path()).parent_path() / "hull-guest-init";
}

// A refusal: exactly one non-empty line on stderr, mentioning `needle`.
void expect_one_line_error(const ProcResult& r, const std::string& needle) {
    EXPECT_NE(r.exit_code, 0) << r.describe();
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    EXPECT_FALSE(err.empty()) << "no error message\n" << r.describe();
    EXPECT_EQ(err.find('\n'), std::string::npos) << "error is not one line\n" << r.describe();
    EXPECT_NE(err.find(needle), std::string::npos) << "error does not mention " << needle << "\n" << r.describe();
}

// What hull writes as /hull/process.json (runtime/vm/guest_init/process_config.hpp), with
// harmless defaults; tests change fields.
json base_process() {
    return {{"version", 2},         {"args", {"/probe", "report"}},
            {"env", {"PATH=/bin"}}, {"cwd", "/"},
            {"uid", 0},             {"gid", 0},
            {"additionalGids", json::array()},
            {"terminal", false},    {"noNewPrivileges", false},
            {"rlimits", json::array()},
            {"hostname", ""},       {"modules", json::array()},
            {"writableDisk", false}, {"readonlyRoot", false},
            {"control", ""}};
}

using Bytes = std::vector<std::uint8_t>;

// Reads `fd` (non-blocking or not) into `text` until `done(text)` or `timeout`; false on time-out
// or end of input first.
template <typename Done>
bool read_until(int fd, std::string& text, Done done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(text)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return false;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return done(text);
        text.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

// The stand-in for the VMM's control channel: a pty on the host whose slave the container sees
// at /dev/hvc1 (a tty, as the guest's hvc1 is) and whose master the test reads and writes.
class ControlPty {
public:
    ControlPty() {
        master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master_ < 0 || grantpt(master_) < 0 || unlockpt(master_) < 0) throw std::runtime_error("cannot make a pty");
        char name[128];
        if (ptsname_r(master_, name, sizeof name) != 0) throw std::runtime_error("ptsname");
        slave_ = name;
        struct stat st;
        if (stat(name, &st) < 0) throw std::runtime_error("stat the pty slave");
        rdev_ = st.st_rdev;
        // The slave stays open here until the container has it, so the master does not read
        // EIO (no slave) meanwhile; the master's own termios are raw already.
        slave_fd_ = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave_fd_ < 0) throw std::runtime_error("open the pty slave");
    }
    ~ControlPty() {
        close(master_);
        if (slave_fd_ >= 0) close(slave_fd_);
    }
    ControlPty(const ControlPty&) = delete;
    ControlPty& operator=(const ControlPty&) = delete;

    // The slave bound at `path` in the container, and the device cgroup letting it in.
    void add_to(json& spec, const std::string& path = "/dev/hvc1") const {
        spec["mounts"].push_back({{"destination", path}, {"type", "bind"}, {"source", slave_}, {"options", {"bind"}}});
        spec["linux"]["resources"]["devices"].push_back(
            {{"allow", true}, {"type", "c"}, {"major", major(rdev_)}, {"minor", minor(rdev_)}, {"access", "rw"}});
    }
    // The first bytes the guest init writes: kReady and nothing else.
    std::string read_ready(std::chrono::milliseconds timeout = 15s) {
        std::string got;
        read_until(master_, got, [](const std::string& t) { return t.size() >= 2; }, timeout);
        return got;
    }
    void send(const Bytes& bytes) const {
        ASSERT_EQ(write(master_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size())) << strerror(errno);
    }

private:
    int master_ = -1;
    int slave_fd_ = -1;
    std::string slave_;
    dev_t rdev_ = 0;
};

const std::string kReadyBytes = {3, 0};  // control::kReady, no payload

class GuestInitTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped()) return;
        if (runtime_is_runc()) GTEST_SKIP() << "runc has no guest init";
        fs::path init = guest_init_binary();
        ASSERT_EQ(access(init.c_str(), X_OK), 0) << "`" << init << "` is missing: build the hull-guest-init target";
        fs::copy_file(init, rootfs_ / "hull-guest-init");
        fs::permissions(rootfs_ / "hull-guest-init", fs::perms(0755));
        fs::create_directories(rootfs_ / "hull");
        fs::create_directories(rootfs_ / "work");
        fs::permissions(rootfs_ / "work", fs::perms(0777));
        spec_["process"]["args"] = {"/hull-guest-init"};
        spec_["process"]["env"] = {"HULL_GUEST_INIT_TEST=1", "PATH=/bin"};
        // What the guest init does as root in a VM: set the hostname (CAP_SYS_ADMIN in the
        // container's UTS namespace), change ids (CAP_SETUID/SETGID), kill the leftovers.
        json caps = {"CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE"};
        spec_["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
        spec_["process"]["noNewPrivileges"] = false;
    }

    // `hull run` of the init on a thread, the container's stdout to `out_`, so the test can talk
    // to the control channel while it runs.
    std::future<ProcResult> start_init(const json& process, std::string& id) {
        write_text(rootfs_ / "hull/process.json", process.dump());
        write_spec();
        id = new_id();
        out_ = base_ / ("out-" + id);
        RunOptions o;
        o.stdout_file = out_;
        o.timeout = 30s;
        return std::async(std::launch::async, [this, id, o] { return rt({"run", "--bundle", bundle_.string(), id}, o); });
    }
    // Waits until the probe in the container says it is ready for signals.
    bool probe_ready() const {
        return poll_until([&] {
            for (const json& j : json_lines(read_text(out_)))
                if (j.value("ready", false)) return true;
            return false;
        }, 15s);
    }
    // The probe's lines reporting a signal.
    static std::vector<json> signals_in(const std::string& out) {
        std::vector<json> sigs;
        for (const json& j : json_lines(out))
            if (j.contains("signal")) sigs.push_back(j);
        return sigs;
    }
    // Lines of `err` from the guest init about the control channel.
    static std::vector<std::string> control_lines(const std::string& err) {
        std::vector<std::string> lines;
        for (const std::string& l : split_lines(err))
            if (l.find("hull-guest-init: control channel") != std::string::npos) lines.push_back(l);
        return lines;
    }

    fs::path out_;

    ProcResult run_init(const json& process) {
        write_text(rootfs_ / "hull/process.json", process.dump());
        write_spec();
        std::string id = new_id();
        ProcResult r = rt({"run", "--bundle", bundle_.string(), id}, {.timeout = 30s});
        expect_nothing_left(id, bundle_);
        return r;
    }
};

TEST_F(GuestInitTest, ProcessGetsArgsEnvCwdUserHostnameRlimits) {
    json p = base_process();
    p["args"] = {"probe", "report", "two words"};  // found through the process's PATH
    p["env"] = {"PATH=/bin:/", "GREETING=hello world", "HOME=/work"};
    p["cwd"] = "/work";
    p["uid"] = 1000;
    p["gid"] = 1001;
    p["additionalGids"] = {10, 20};
    p["umask"] = 027;
    p["hostname"] = "hull-guest";
    p["noNewPrivileges"] = true;
    p["rlimits"] = {{{"resource", 7}, {"soft", 123}, {"hard", 456}}};  // RLIMIT_NOFILE
    ProcResult r = run_init(p);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("hull-guest-init: exit status 0\n"), std::string::npos) << r.describe();
    json rep = first_json(r.out);
    EXPECT_EQ(rep["argv"], json({"probe", "report", "two words"}));
    EXPECT_EQ(rep["env"], json({"PATH=/bin:/", "GREETING=hello world", "HOME=/work"}));
    EXPECT_EQ(rep["cwd"], "/work");
    EXPECT_EQ(rep["uid"], 1000);
    EXPECT_EQ(rep["euid"], 1000);
    EXPECT_EQ(rep["gid"], 1001);
    EXPECT_EQ(rep["egid"], 1001);
    EXPECT_EQ(rep["groups"], json({10, 20}));
    EXPECT_EQ(rep["umask"], 027);
    EXPECT_EQ(rep["hostname"], "hull-guest");
    EXPECT_EQ(rep["no_new_privs"], 1);
    EXPECT_EQ(rep["rlimits"]["RLIMIT_NOFILE"]["soft"], 123);
    EXPECT_EQ(rep["rlimits"]["RLIMIT_NOFILE"]["hard"], 456);
    // The process is the guest init's child, not PID 1.
    EXPECT_EQ(rep["ppid"], 1);
    EXPECT_NE(rep["pid"], 1);
}

TEST_F(GuestInitTest, HomeFromPasswdWhenTheEnvHasNone) {
    json p = base_process();
    p["env"] = {"PATH=/bin"};
    ProcResult r = run_init(p);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_EQ(first_json(r.out)["env"], json({"PATH=/bin", "HOME=/root"}));
}

TEST_F(GuestInitTest, ExitStatusIsTheProcesssOr128PlusSignal) {
    struct Case {
        json args;
        int status;
        std::string stderr_has;
    };
    const std::vector<Case> cases = {
        {{"/probe", "exit", "0"}, 0, ""},
        {{"/probe", "exit", "7"}, 7, ""},
        {{"/bin/sh", "-c", "kill -9 $$"}, 128 + 9, ""},
        {{"nosuch"}, 127, "hull-guest-init: exec `nosuch`: not found in $PATH `/bin`"},
        {{"/hull"}, 126, "hull-guest-init: exec `/hull`: permission denied"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.args.dump());
        json p = base_process();
        p["args"] = c.args;
        ProcResult r = run_init(p);
        EXPECT_EQ(r.exit_code, c.status) << r.describe();
        EXPECT_NE(r.out.find("hull-guest-init: exit status " + std::to_string(c.status) + "\n"), std::string::npos)
            << r.describe();
        if (!c.stderr_has.empty()) {
            EXPECT_NE(r.err.find(c.stderr_has), std::string::npos) << r.describe();
        }
    }
}

TEST_F(GuestInitTest, OrphansAreReaped) {
    json p = base_process();
    // A subshell starts a sleeper and exits: the sleeper is reparented to PID 1 (the guest
    // init), says so, and ends. A PID 1 that does not reap leaves it a zombie.
    p["args"] = {"/bin/sh", "-c",
                 "(sleep 0.3 & echo $! > /tmp/orphan); sleep 0.1; "
                 "o=$(cat /tmp/orphan); read -r pid comm state ppid rest < /proc/$o/stat; echo \"orphan ppid: $ppid\"; sleep 1.5; "
                 "z=0; for s in /proc/[0-9]*/stat; do case \"$(cat $s)\" in *') Z '*) z=$((z+1));; esac; done; "
                 "echo \"zombies: $z\"; test -e /proc/$o && echo \"orphan still there\"; exit 0"};
    spec_["root"]["readonly"] = false;
    ProcResult r = run_init(p);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("orphan ppid: 1\n"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("zombies: 0\n"), std::string::npos) << r.describe();
    EXPECT_EQ(r.out.find("orphan still there"), std::string::npos) << r.describe();
}

TEST_F(GuestInitTest, LeftoverProcessesDieWithTheProcess) {
    json p = base_process();
    // The process leaves a sleeper behind and exits 3: the init kills it and reports 3 at once.
    p["args"] = {"/bin/sh", "-c", "sleep 30 & exit 3"};
    auto start = std::chrono::steady_clock::now();
    ProcResult r = run_init(p);
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s) << "the leftover sleeper held the container";
}

TEST_F(GuestInitTest, BadProcessConfigIsOneLineAndStatus125) {
    json p = base_process();
    p["cwd"] = "relative";
    ProcResult r = run_init(p);
    EXPECT_EQ(r.exit_code, 125) << r.describe();
    EXPECT_NE(r.err.find("hull-guest-init: `/hull/process.json`: .cwd: must be an absolute path"), std::string::npos)
        << r.describe();

    fs::remove(rootfs_ / "hull/process.json");
    write_spec();
    std::string id = new_id();
    ProcResult missing = rt({"run", "--bundle", bundle_.string(), id}, {.timeout = 30s});
    EXPECT_EQ(missing.exit_code, 125) << missing.describe();
    EXPECT_NE(missing.err.find("hull-guest-init: open `/hull/process.json`: no such file or directory"), std::string::npos)
        << missing.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(GuestInitTest, OutsideAGuestItRefusesToRun) {
    ProcResult r = run_process({guest_init_binary().string()});
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_NE(r.err.find("runs as PID 1 of a hull vm guest"), std::string::npos) << r.describe();
}

// ---- the control channel -----------------------------------------------------------------------

TEST_F(GuestInitTest, SignalFromTheHostReachesTheProcess) {
    ControlPty pty;
    pty.add_to(spec_);
    json p = base_process();
    p["control"] = "/dev/hvc1";
    p["args"] = {"/probe", "signal-wait", "1"};
    std::string id;
    auto run = start_init(p, id);
    EXPECT_EQ(pty.read_ready(), kReadyBytes) << "no kReady from the guest init on the control channel";
    bool ready = probe_ready();
    EXPECT_TRUE(ready) << read_text(out_);
    if (ready) pty.send({1, 1, 15});  // kSignal SIGTERM
    else rt({"kill", id, "KILL"});
    ProcResult r = run.get();
    expect_nothing_left(id, bundle_);
    // The probe got SIGTERM from the init (PID 1 in the container), ended by itself, and the
    // init reported its status.
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto sigs = signals_in(r.out);
    ASSERT_EQ(sigs.size(), 1u) << r.describe();
    EXPECT_EQ(sigs[0]["signal"], 15);
    EXPECT_EQ(sigs[0]["name"], "SIGTERM");
    EXPECT_EQ(sigs[0]["sender_pid"], 1);
    EXPECT_NE(r.out.find("hull-guest-init: exit status 0\n"), std::string::npos) << r.describe();
    EXPECT_TRUE(control_lines(r.err).empty()) << r.describe();
}

TEST_F(GuestInitTest, SplitMessagesAndUnknownTypes) {
    ControlPty pty;
    pty.add_to(spec_);
    json p = base_process();
    p["control"] = "/dev/hvc1";
    p["args"] = {"/probe", "signal-wait", "2"};
    std::string id;
    auto run = start_init(p, id);
    EXPECT_EQ(pty.read_ready(), kReadyBytes);
    bool ready = probe_ready();
    EXPECT_TRUE(ready) << read_text(out_);
    if (ready) {
        // An unknown type (200) with three payload bytes cut across three writes, the first one
        // starting a kSignal of a real-time signal (34) that the next write finishes, then
        // SIGUSR1 (10) glued to another unknown type without payload. The pauses let the init
        // read each piece on its own. A payload byte of 15 inside the unknown message must not
        // be taken for a signal.
        pty.send({200, 3, 15});
        std::this_thread::sleep_for(200ms);
        pty.send({15, 15, 1});
        std::this_thread::sleep_for(200ms);
        pty.send({1, 34});
        std::this_thread::sleep_for(200ms);
        pty.send({77, 0, 1, 1, 10});
    } else {
        rt({"kill", id, "KILL"});
    }
    ProcResult r = run.get();
    expect_nothing_left(id, bundle_);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto sigs = signals_in(r.out);
    ASSERT_EQ(sigs.size(), 2u) << r.describe();
    EXPECT_EQ(sigs[0]["signal"], 34);
    EXPECT_EQ(sigs[1]["signal"], 10);
    EXPECT_EQ(sigs[1]["sender_pid"], 1);
    // Unknown types are skipped quietly: a newer host may send what this init predates.
    EXPECT_TRUE(control_lines(r.err).empty()) << r.describe();
}

TEST_F(GuestInitTest, BadSignalNumberIsIgnoredWithOneLine) {
    ControlPty pty;
    pty.add_to(spec_);
    json p = base_process();
    p["control"] = "/dev/hvc1";
    p["args"] = {"/probe", "signal-wait", "1"};
    std::string id;
    auto run = start_init(p, id);
    EXPECT_EQ(pty.read_ready(), kReadyBytes);
    bool ready = probe_ready();
    EXPECT_TRUE(ready) << read_text(out_);
    if (ready) {
        pty.send({1, 1, 65});  // no such signal
        pty.send({1, 1, 0});   // not a signal
        pty.send({1, 1, 2});   // SIGINT: the channel still works after them
    } else {
        rt({"kill", id, "KILL"});
    }
    ProcResult r = run.get();
    expect_nothing_left(id, bundle_);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto sigs = signals_in(r.out);
    ASSERT_EQ(sigs.size(), 1u) << r.describe();
    EXPECT_EQ(sigs[0]["signal"], 2);
    EXPECT_EQ(control_lines(r.err),
              (std::vector<std::string>{"hull-guest-init: control channel `/dev/hvc1`: signal 65 is not 1..64, ignored",
                                        "hull-guest-init: control channel `/dev/hvc1`: signal 0 is not 1..64, ignored"}))
        << r.describe();
}

TEST_F(GuestInitTest, WindowSizeReachesTheProcesssTerminal) {
    ControlPty pty;
    pty.add_to(spec_);
    spec_["process"]["terminal"] = true;
    json p = base_process();
    p["control"] = "/dev/hvc1";
    p["terminal"] = true;
    // The size before, a wait for SIGWINCH, the size after.
    p["args"] = {"/probe", "winsize", "+", "signal-wait", "1", "+", "winsize"};
    write_text(rootfs_ / "hull/process.json", p.dump());
    write_spec();
    ConsoleSocket sock(base_ / "console.sock");
    std::string id = new_id();
    ProcResult c = rt({"create", "--bundle", bundle_.string(), "--console-socket", sock.path().string(), id});
    ASSERT_TRUE(c.ok()) << c.describe();
    int master = sock.receive_master(10s);
    ASSERT_GE(master, 0) << "no pty master received on the console socket";
    ProcResult s = rt({"start", id});
    ASSERT_TRUE(s.ok()) << s.describe();
    EXPECT_EQ(pty.read_ready(), kReadyBytes);
    std::string console;
    bool ready = read_until(master, console, [](const std::string& t) { return t.find("\"ready\":true") != std::string::npos; }, 15s);
    EXPECT_TRUE(ready) << console;
    if (ready) pty.send({2, 4, 33, 0, 0x2d, 0x01});  // kWindowSize 33 rows, 301 columns
    else rt({"kill", id, "KILL"});
    console += sock.read_until_closed(20s);
    EXPECT_TRUE(wait_status(id, "stopped")) << console;

    std::vector<json> sizes;
    for (const json& j : json_lines(console))
        if (j.value("probe", "") == "winsize") sizes.push_back(j);
    ASSERT_EQ(sizes.size(), 2u) << console;
    EXPECT_EQ(sizes[0]["controlling"], true) << "the process's stdin is not its controlling terminal: " << console;
    EXPECT_NE(sizes[0]["cols"], 301) << console;
    EXPECT_EQ(sizes[1]["rows"], 33) << console;
    EXPECT_EQ(sizes[1]["cols"], 301) << console;
    // SIGWINCH came from the terminal (the kernel, sender 0), not from the init forwarding one.
    auto sigs = signals_in(console);
    ASSERT_EQ(sigs.size(), 1u) << console;
    EXPECT_EQ(sigs[0]["name"], "SIGWINCH");
    EXPECT_EQ(sigs[0]["sender_pid"], 0);
    EXPECT_NE(console.find("hull-guest-init: exit status 0"), std::string::npos) << console;
    EXPECT_EQ(console.find("hull-guest-init: control channel"), std::string::npos) << console;
}

TEST_F(GuestInitTest, AMissingOrBrokenControlChannelIsOneLineAndTheProcessRunsOn) {
    struct Case {
        std::string name, control, line;
        json args;
    };
    const std::vector<Case> cases = {
        // Not a tty: refused at once.
        {"not a tty", "/dev/null",
         "hull-guest-init: control channel `/dev/null`: make it raw: inappropriate ioctl for device; signals "
         "from the host stop the VM instead",
         {"/probe", "sleep", "0.5", "+", "exit", "3"}},
        // Never there: given up after the wait, while the process runs.
        {"missing", "/dev/hvc1",
         "hull-guest-init: control channel `/dev/hvc1`: not there after 5 s (open: no such file or directory); signals "
         "from the host stop the VM instead",
         {"/probe", "sleep", "6", "+", "exit", "3"}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        json p = base_process();
        p["control"] = c.control;
        p["args"] = c.args;
        ProcResult r = run_init(p);
        EXPECT_EQ(r.exit_code, 3) << r.describe();
        EXPECT_NE(r.out.find("hull-guest-init: exit status 3\n"), std::string::npos) << r.describe();
        EXPECT_EQ(control_lines(r.err), std::vector<std::string>{c.line}) << r.describe();
    }
}

TEST_F(GuestInitTest, SignalsTheInitGetsStillReachTheProcess) {
    // Without a control channel: `hull kill` SIGUSR1 to the container's init (the guest init)
    // goes on to the process, as in a guest where the init gets it from the kernel.
    json p = base_process();
    p["args"] = {"/probe", "signal-wait", "1"};
    std::string id;
    auto run = start_init(p, id);
    bool ready = probe_ready();
    EXPECT_TRUE(ready) << read_text(out_);
    ProcResult k = rt({"kill", id, ready ? "USR1" : "KILL"});
    EXPECT_TRUE(k.ok()) << k.describe();
    ProcResult r = run.get();
    expect_nothing_left(id, bundle_);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto sigs = signals_in(r.out);
    ASSERT_EQ(sigs.size(), 1u) << r.describe();
    EXPECT_EQ(sigs[0]["name"], "SIGUSR1");
    EXPECT_EQ(sigs[0]["sender_pid"], 1);
}

// ---- the real boot -----------------------------------------------------------------------------

std::optional<std::string> fetch_kernel(const char* what, std::string& why) {
    // The kernel cache is fetch-kernel.sh's own ($HULL_VM_CACHE means hull's image cache here).
    ProcResult r = run_process({"/usr/bin/env", "-u", "HULL_VM_CACHE", std::string(HULL_SOURCE_DIR) + "/tests/vm/fetch-kernel.sh", what},
                               {.timeout = 300s});
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    if (!r.ok() || out.empty()) {
        why = "cannot fetch Debian's kernel (tests/vm/fetch-kernel.sh " + std::string(what) + "): " + r.err;
        return std::nullopt;
    }
    return out;
}

const std::optional<std::string>& linux_vm_unavailable() {
    static const std::optional<std::string> reason = vm_unavailable_reason(true);
    return reason;
}

class LinuxVmTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped()) return;
        if (const auto& why = linux_vm_unavailable()) GTEST_SKIP() << *why;
        setenv("HULL_VM_CACHE", (base_ / "vm-cache").c_str(), 1);
        config_ = base_ / "hull-config.json";
        setenv("HULL_CONFIG", config_.c_str(), 1);
        spec_["root"]["readonly"] = false;
        spec_["annotations"] = {{"org.hull.isolation", "vm"}};
        set_probe_args({"exit", "7"});
    }
    void TearDown() override {
        unsetenv("HULL_VM_CACHE");
        unsetenv("HULL_CONFIG");
        RuntimeTest::TearDown();
    }
    // No half-written image or initramfs is left in the cache.
    void expect_no_cache_temp_files() const {
        std::error_code ec;
        for (const auto& e : fs::recursive_directory_iterator(base_ / "vm-cache", ec))
            EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "cache temp file left: " << e.path();
    }
    fs::path config_;
};

TEST_F(LinuxVmTest, BootsTheConfiguredKernelWithTheGuestInit) {
    std::string why;
    auto vmlinux = fetch_kernel("--vmlinux", why);
    if (!vmlinux) GTEST_SKIP() << why;
    auto modules = fetch_kernel("--modules", why);
    if (!modules) GTEST_SKIP() << why;
    write_text(config_, json{{"vm", {{"kernel", *vmlinux}, {"modules", *modules}, {"memory", "256M"}}}}.dump());
    spec_["annotations"]["org.hull.vm.cmdline"] = "hull.test=1";
    write_spec();
    std::string id = new_id();
    // Under a nested or software hypervisor the kernel's early boot takes seconds to minutes.
    ProcResult r = rt({"run", "--bundle", bundle_.string(), id}, {.timeout = 280s});
    expect_nothing_left(id, bundle_);
    expect_no_cache_temp_files();
    ASSERT_FALSE(r.timed_out) << r.describe();
    EXPECT_NE(r.out.find("Linux version "), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("Command line: console=ttyS0 earlyprintk=serial panic=-1 rdinit=/init hull.test=1 virtio_mmio.device="),
              std::string::npos)
        << r.describe();
    if (r.exit_code == 1 && (r.err.find("emulation failed") != std::string::npos || r.err.find("emulation error") != std::string::npos))
        GTEST_SKIP() << "the kernel printed its early console with hull's command line, then this /dev/kvm failed to "
                        "emulate one of its instructions (a nested PVM hypervisor cannot run a stock kernel), so the "
                        "guest init cannot run here: "
                     << r.err;
    EXPECT_EQ(r.exit_code, 7) << r.describe();
}

TEST_F(LinuxVmTest, BadInputIsOneLineAndLeavesNothing) {
    // No configuration file at all.
    write_spec();
    std::string id = new_id();
    ProcResult none = rt({"run", "--bundle", bundle_.string(), id});
    expect_one_line_error(none, "vm isolation of a linux image needs a host kernel: set vm.kernel in `" + config_.string() + "`");
    expect_nothing_left(id, bundle_);

    // A configuration without a vm section, a bad one, a kernel that is not there, not a file,
    // not a kernel.
    write_text(base_ / "not-a-kernel", "this is not a kernel\n");
    struct Case {
        std::string name, config, needle;
    };
    const std::vector<Case> cases = {
        {"no vm section", R"({"other": 1})", "needs a host kernel: set vm.kernel in"},
        {"bad config", R"({"vm": {"kernel": "relative"}})", ".vm.kernel: must be an absolute path"},
        {"missing kernel", R"({"vm": {"kernel": "/nonexistent/vmlinux"}})",
         "vm.kernel in `" + config_.string() + "`: open `/nonexistent/vmlinux`: no such file or directory"},
        {"directory", json{{"vm", {{"kernel", base_.string()}}}}.dump(), "is not a regular file"},
        {"not a kernel", json{{"vm", {{"kernel", (base_ / "not-a-kernel").string()}}}}.dump(), "(vm.kernel in `"},
        {"missing modules", json{{"vm", {{"kernel", (base_ / "not-a-kernel").string()}, {"modules", "/nonexistent"}}}}.dump(),
         "vm.modules `/nonexistent` (run depmod for it)"},
        {"initrd annotation", json{{"vm", {{"kernel", (base_ / "not-a-kernel").string()}}}}.dump(), "needs org.hull.vm.kernel"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        write_text(config_, c.config);
        json spec = spec_;
        if (c.name == "initrd annotation") spec["annotations"]["org.hull.vm.initrd"] = "/boot/initrd";
        write_spec(bundle_, spec);
        std::string cid = new_id();
        ProcResult r = rt({"run", "--bundle", bundle_.string(), cid});
        expect_one_line_error(r, c.needle);
        expect_nothing_left(cid, bundle_);
    }
    expect_no_cache_temp_files();
}

TEST_F(LinuxVmTest, NoGuestInitBesideHullIsOneLineAndLeavesNothing) {
    // A copy of hull in a directory without hull-guest-init (and no ../libexec/hull).
    fs::path bin = base_ / "lonely/bin";
    fs::create_directories(bin);
    fs::copy_file(runtime_, bin / "hull");
    fs::permissions(bin / "hull", fs::perms(0755));
    write_text(base_ / "not-a-kernel", "this is not a kernel\n");
    write_text(config_, json{{"vm", {{"kernel", (base_ / "not-a-kernel").string()}}}}.dump());
    write_spec();
    std::string id = new_id();
    unsetenv("HULL_GUEST_INIT");
    ProcResult r = run_process({(bin / "hull").string(), "--root", root_.string(), "run", "--bundle", bundle_.string(), id});
    expect_one_line_error(r, "vm isolation of a linux image needs hull's guest init: cannot find the hull-guest-init helper: "
                             "looked at `" + (bin / "hull-guest-init").string() + "`");
    expect_nothing_left(id, bundle_);
    expect_no_cache_temp_files();

    setenv("HULL_GUEST_INIT", (base_ / "nonexistent").c_str(), 1);
    std::string id2 = new_id();
    ProcResult r2 = rt({"run", "--bundle", bundle_.string(), id2});
    unsetenv("HULL_GUEST_INIT");
    expect_one_line_error(r2, "$HULL_GUEST_INIT names `" + (base_ / "nonexistent").string() + "`, which is not an executable file");
    expect_nothing_left(id2, bundle_);
}

}  // namespace
}  // namespace hull::itest
