// Linux images under `org.hull.isolation=vm` with no org.hull.vm.kernel: hull boots the host
// kernel named in its configuration (HULL_CONFIG) with its own guest init (hull-guest-init).
//
// - GuestInitTest: hull-guest-init itself, in its test mode (HULL_GUEST_INIT_TEST=1), as PID 1
//   of an ordinary container, reading /hull/process.json from the rootfs: the probe reports the
//   args, env, cwd, uid/gid/groups, umask, hostname, rlimits and no_new_privs it got; exit
//   statuses (0, 7, 128+9, 127) and orphan reaping are checked from inside.
// - LinuxVmTest: a real boot of Debian's kernel (tests/vm/fetch-kernel.sh). The console must show
//   `Linux version` and the command line hull passed. Where /dev/kvm can run a stock kernel the
//   guest init runs the process and its status (7) is hull's; on this project's nested-PVM
//   /dev/kvm the kernel dies in instruction emulation after its early console, which the test
//   detects and reports as a skip of the rest, with the reason.
// - Bad input: no configuration, a missing or wrong kernel, no guest init binary: one-line
//   errors, nothing left behind (no state dir, cgroup, process, cache temp files).

#include <cstring>
#include <fstream>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

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
    return {{"version", 1},         {"args", {"/probe", "report"}},
            {"env", {"PATH=/bin"}}, {"cwd", "/"},
            {"uid", 0},             {"gid", 0},
            {"additionalGids", json::array()},
            {"terminal", false},    {"noNewPrivileges", false},
            {"rlimits", json::array()},
            {"hostname", ""},       {"modules", json::array()},
            {"writableDisk", false}, {"readonlyRoot", false}};
}

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
    expect_one_line_error(r, "vm isolation of a linux image needs hull's guest init: no `hull-guest-init` in `" + bin.string() + "`");
    expect_nothing_left(id, bundle_);
    expect_no_cache_temp_files();

    setenv("HULL_GUEST_INIT", (base_ / "nonexistent").c_str(), 1);
    std::string id2 = new_id();
    ProcResult r2 = rt({"run", "--bundle", bundle_.string(), id2});
    unsetenv("HULL_GUEST_INIT");
    expect_one_line_error(r2, "$HULL_GUEST_INIT `" + (base_ / "nonexistent").string() + "`: not an executable file");
    expect_nothing_left(id2, bundle_);
}

}  // namespace
}  // namespace hull::itest
