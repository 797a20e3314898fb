// `hull vm run`: hull's KVM VMM booting the freestanding test guest (tests/guest, in its PVH
// and Linux-64-bit-protocol builds) and Debian's vmlinux. The guest reports what it saw on the
// serial console (its command line, the disk pattern, the virtio interrupt); the tests check
// that against what they set up, and check the disk files on the host afterwards.
//
// Skips, with the reason: no /dev/kvm, or a hull without `vm run`. The vmlinux test also skips
// when Debian's kernel cannot be fetched (tests/vm/fetch-kernel.sh, or $HULL_VMLINUX).

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <tuple>

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <elf.h>

#include "harness.hpp"
#include "vm_support.hpp"

namespace hull::itest {
namespace {

constexpr size_t kSector = 512;
const std::string kPattern = "HULL-GUEST-DISK:";
const std::string kReply = "HULL-GUEST-REPLY:";
const std::string kTag = "hull-test-guest: ";

std::string built_guest(const std::string& build) {
    return build == "pvh" ? HULL_TEST_GUEST_PVH : HULL_TEST_GUEST_LINUX64;
}

// Why `hull vm run` cannot be tested here, or nullopt if it can. Checked once per process.
const std::optional<std::string>& vm_unavailable() {
    static const std::optional<std::string> reason = []() -> std::optional<std::string> {
        if (geteuid() != 0) return "needs root (for /dev/kvm and private mount namespaces)";
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) return std::string("no usable /dev/kvm: ") + strerror(errno);
        close(fd);
        ProcResult help = run_process({runtime_path(), "vm", "run", "--help"}, {.timeout = 30s});
        if (help.exit_code != 0)
            return "`" + runtime_path() + " vm run --help` fails (no VMM in this hull yet): " + help.describe();
        return std::nullopt;
    }();
    return reason;
}

// The lines of `text` that the guest printed, without its tag.
std::vector<std::string> guest_lines(const std::string& text) {
    std::vector<std::string> lines;
    for (const std::string& l : split_lines(text))
        if (l.starts_with(kTag)) lines.push_back(l.substr(kTag.size()));
    return lines;
}

bool has_line(const std::string& text, const std::string& needle) {
    for (const std::string& l : guest_lines(text))
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A refusal or a VM that ended badly: exactly one non-empty line on stderr.
void expect_one_line_error(const ProcResult& r) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    EXPECT_FALSE(err.empty()) << "no error message\n" << r.describe();
    EXPECT_EQ(err.find('\n'), std::string::npos) << "error is not one line\n" << r.describe();
}

std::string read_sector(const fs::path& p, size_t n) {
    std::string all = read_text(p);
    if (all.size() < (n + 1) * kSector) return {};
    return all.substr(n * kSector, kSector);
}

class VmTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (const auto& why = vm_unavailable()) GTEST_SKIP() << *why;
        char tmpl[] = "/tmp/hull-vmtest-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
        base_ = tmpl;
        // Copies inside base_, so that every hull started here names base_ on its command line.
        for (const char* build : {"pvh", "linux64"}) fs::copy_file(built_guest(build), guest_path(build));
    }

    void TearDown() override { end_vm_run_test(base_); }

    // `hull vm run args...`; a guest that hangs is ended by --timeout, the functional
    // timeout here only catches a VMM that ignores it.
    ProcResult vm(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 90s) const {
        std::vector<std::string> argv = {runtime_path(), "vm", "run"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_process(argv, {.timeout = timeout});
    }

    // `hull vm run --kernel <guest> --cmdline <cmdline> --timeout 30 extra...`.
    ProcResult guest(const std::string& build, const std::string& cmdline,
                     const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> args = {"--kernel", guest_path(build), "--cmdline", cmdline, "--timeout", "30"};
        args.insert(args.end(), extra.begin(), extra.end());
        return vm(args);
    }

    // A 64 KiB disk: sector 0 holds the pattern and `text`, sector 1 a filler the guest's
    // reply must replace, the rest zeros.
    fs::path make_disk(const std::string& name, const std::string& text) const {
        std::string data(64 * 1024, '\0');
        std::string head = kPattern + text + "\n";
        data.replace(0, head.size(), head);
        std::fill(data.begin() + kSector, data.begin() + 2 * kSector, '\xee');
        fs::path p = base_ / name;
        write_text(p, data);
        return p;
    }

    static std::string expected_reply(const std::string& text) {
        std::string s = kReply + text + "\n";
        s.resize(kSector, '\0');
        return s;
    }

    std::string guest_path(const std::string& build) const {
        return (base_ / ("hull-test-guest-" + build + ".elf")).string();
    }

    // A copy of the guest (PVH build) in base_, for tests that mangle it.
    fs::path copy_guest(const std::string& name) const {
        fs::path p = base_ / name;
        fs::copy_file(guest_path("pvh"), p);
        return p;
    }

    fs::path base_;
};

// ---------------------------------------------------------------------------
// Both builds: the same behaviour through either boot protocol.

class VmGuestTest : public VmTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(VmGuestTest, ReadsThePatternWritesTheReplyAndTakesTheInterrupt) {
    const std::string build = GetParam();
    fs::path disk = make_disk("disk.img", "from-the-host-" + build);
    const std::string cmdline = "guest.status=42 hull.marker=" + build + "-xyz";
    ProcResult r = guest(build, cmdline, {"--memory", "64M", "--disk", disk.string()});

    EXPECT_EQ(r.exit_code, 42) << r.describe();
    EXPECT_TRUE(has_line(r.out, "boot protocol " + build)) << r.describe();
    // The guest prints its whole command line; hull adds the virtio-mmio declarations to ours.
    EXPECT_TRUE(has_line(r.out, "cmdline: ")) << r.describe();
    EXPECT_TRUE(has_line(r.out, cmdline)) << r.describe();
    EXPECT_TRUE(has_line(r.out, "virtio_mmio.device=")) << r.describe();
    EXPECT_TRUE(has_line(r.out, "virtio-mmio at 0xd0000000 irq 5: magic 0x74726976 version 2 device 2 (blk)"))
        << r.describe();
    EXPECT_TRUE(has_line(r.out, "blk0: sector 0 pattern: from-the-host-" + build)) << r.describe();
    EXPECT_TRUE(has_line(r.out, "blk0: interrupt on irq 5 arrived")) << r.describe();
    EXPECT_TRUE(has_line(r.out, "blk0: write sector 1: status 0 (OK)")) << r.describe();
    if (has_line(r.out, ", flush")) {
        EXPECT_TRUE(has_line(r.out, "blk0: flush: status 0 (OK)")) << r.describe();
    }
    // After the disks, the virtio-console: the guest's line through it reaches stdout.
    EXPECT_TRUE(has_line(r.out, "virtio-mmio at 0xd0001000 irq 6: magic 0x74726976 version 2 device 3 (console)"))
        << r.describe();
    EXPECT_TRUE(has_line(r.out, "hello through virtio-console")) << r.describe();
    EXPECT_TRUE(has_line(r.out, "console0: interrupt on irq 6 arrived")) << r.describe();
    EXPECT_FALSE(has_line(r.out, "FAIL")) << r.describe();
    EXPECT_TRUE(has_line(r.out, "exit status 42")) << r.describe();

    EXPECT_EQ(read_sector(disk, 1), expected_reply("from-the-host-" + build));
    EXPECT_EQ(read_sector(disk, 0).substr(0, kPattern.size()), kPattern) << "sector 0 was overwritten";
}

TEST_P(VmGuestTest, ExitStatusComesFromTheGuest) {
    for (int status : {0, 1, 77, 255}) {
        SCOPED_TRACE("guest.status=" + std::to_string(status));
        ProcResult r = guest(GetParam(), "guest.status=" + std::to_string(status));
        EXPECT_EQ(r.exit_code, status) << r.describe();
        EXPECT_TRUE(has_line(r.out, "no virtio-blk device")) << r.describe();
        EXPECT_TRUE(has_line(r.out, "exit status " + std::to_string(status))) << r.describe();
    }
}

TEST_P(VmGuestTest, ReadOnlyDiskRefusesTheWrite) {
    // Two disks, the writable one first: also checks that devices follow --disk order.
    fs::path rw = make_disk("rw.img", "writable");
    fs::path ro = make_disk("ro.img", "read-only");
    const std::string before = read_text(ro);
    ProcResult r = guest(GetParam(), "guest.status=3", {"--disk", rw.string(), "--disk", ro.string() + ":ro"});

    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_TRUE(has_line(r.out, "virtio-mmio at 0xd0001000 irq 6: magic 0x74726976 version 2 device 2 (blk)"))
        << r.describe();
    EXPECT_TRUE(has_line(r.out, "blk0: write sector 1: status 0 (OK)")) << r.describe();
    EXPECT_EQ(read_sector(rw, 1), expected_reply("writable"));

    EXPECT_TRUE(has_line(r.out, "blk1: sector 0 pattern: read-only")) << r.describe();
    EXPECT_TRUE(has_line(r.out, "read-only")) << "VIRTIO_BLK_F_RO not offered\n" << r.describe();
    EXPECT_TRUE(has_line(r.out, "blk1: write sector 1: status ")) << r.describe();
    EXPECT_FALSE(has_line(r.out, "blk1: write sector 1: status 0 (OK)")) << r.describe();
    EXPECT_TRUE(read_text(ro) == before) << "the read-only disk changed";
}

TEST_P(VmGuestTest, InitrdArrivesWhole) {
    // 100 KB, not a multiple of a page, with a recognisable first line; the guest hashes all of it.
    std::string data = "HULL-GUEST-INITRD:" + GetParam() + "\n";
    for (uint32_t x = 1; data.size() < 100003;) {
        x = x * 1103515245u + 12345u;
        data.push_back(static_cast<char>(x >> 16));
    }
    uint32_t fnv = 2166136261u;
    for (unsigned char c : data) fnv = (fnv ^ c) * 16777619u;
    fs::path initrd = base_ / "initrd.img";
    write_text(initrd, data);
    ProcResult r = guest(GetParam(), "guest.status=0", {"--initrd", initrd.string()});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    char hex[16];
    snprintf(hex, sizeof hex, "0x%x", fnv);
    EXPECT_TRUE(has_line(r.out, "initrd: " + std::to_string(data.size()) + " bytes at ")) << r.describe();
    EXPECT_TRUE(has_line(r.out, std::string(", fnv1a ") + hex + ": HULL-GUEST-INITRD:" + GetParam())) << r.describe();
}

TEST_P(VmGuestTest, TwoCpusStillBoot) {
    // The second vCPU waits for an INIT/SIPI that never comes; the first runs the guest.
    fs::path disk = make_disk("disk.img", "smp");
    ProcResult r = guest(GetParam(), "guest.status=5", {"--cpus", "2", "--disk", disk.string()});
    EXPECT_EQ(r.exit_code, 5) << r.describe();
    EXPECT_EQ(read_sector(disk, 1), expected_reply("smp"));
}

TEST_P(VmGuestTest, I8042ResetIsAPowerOff) {
    ProcResult r = guest(GetParam(), "guest.mode=reset guest.status=9");
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(has_line(r.out, "i8042 reset")) << r.describe();
    EXPECT_FALSE(has_line(r.out, "FAIL")) << r.describe();
}

TEST_P(VmGuestTest, TripleFaultIsAOneLineError) {
    ProcResult r = guest(GetParam(), "guest.mode=triple-fault guest.status=0");
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(has_line(r.out, "triple-faulting now")) << r.describe();
    EXPECT_FALSE(has_line(r.out, "FAIL")) << r.describe();
    expect_one_line_error(r);
    EXPECT_NE(lower(r.err).find("triple"), std::string::npos) << "the error does not say triple fault\n"
                                                              << r.describe();
}

TEST_P(VmGuestTest, AccessPastRamIsAOneLineError) {
    ProcResult r = guest(GetParam(), "guest.mode=oom guest.status=0", {"--memory", "32M"});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(has_line(r.out, "touching memory up to")) << r.describe();
    EXPECT_FALSE(has_line(r.out, "FAIL")) << "the VMM let a write past RAM through\n" << r.describe();
    expect_one_line_error(r);
    // The first write with no memory behind it is at the end of RAM the guest was given.
    std::string ram_end;
    for (const std::string& l : guest_lines(r.out))
        if (size_t at = l.find("RAM ends at "); at != std::string::npos) ram_end = l.substr(at + 12);
    ASSERT_FALSE(ram_end.empty()) << r.describe();
    EXPECT_NE(r.err.find(ram_end), std::string::npos) << "the error does not name " << ram_end << "\n"
                                                      << r.describe();
}

TEST_P(VmGuestTest, SpinningGuestEndsAtTimeout) {
    ProcResult r = vm({"--kernel", guest_path(GetParam()), "--cmdline", "guest.mode=spin", "--timeout", "2"});
    EXPECT_FALSE(r.timed_out) << "--timeout 2 did not end the VM\n" << r.describe();
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(has_line(r.out, "spinning with interrupts off")) << r.describe();
    expect_one_line_error(r);
    EXPECT_NE(lower(r.err).find("timeout"), std::string::npos) << "the error does not say timeout\n"
                                                               << r.describe();
}

INSTANTIATE_TEST_SUITE_P(Builds, VmGuestTest, ::testing::Values("pvh", "linux64"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------
// Signals to a running VMM: it dies (or exits) promptly and leaves nothing behind.

class VmSignalTest : public VmTest, public ::testing::WithParamInterface<int> {};

TEST_P(VmSignalTest, SpinningGuestDiesWithTheVmm) {
    const int sig = GetParam();
    fs::path out = base_ / "out";
    fs::path err = base_ / "err";
    const std::string hull = runtime_path();
    const std::string kernel = guest_path("pvh");
    std::vector<std::string> argv = {hull, "vm", "run", "--kernel", kernel, "--cmdline", "guest.mode=spin",
                                     // The disk names base_, so a survivor is found by TearDown.
                                     "--disk", make_disk("disk.img", "signal").string()};
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(out_fd, 0);
    ASSERT_GE(err_fd, 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(cargv[0], cargv.data());
        _exit(127);
    }
    close(out_fd);
    close(err_fd);

    int status = 0;
    bool ended = false;
    bool spinning = poll_until(
        [&] {
            ended = waitpid(pid, &status, WNOHANG) == pid;
            return ended || has_line(read_text(out), "spinning with interrupts off");
        },
        30s);
    spinning = spinning && !ended;
    ASSERT_FALSE(ended) << "hull vm run ended before the signal (status " << status << ")\n"
                        << read_text(out) << read_text(err);
    kill(pid, spinning ? sig : SIGKILL);
    ended = poll_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 10s);
    if (!ended) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ASSERT_TRUE(spinning) << "the guest never started spinning\n" << read_text(out) << read_text(err);
    EXPECT_TRUE(ended) << "hull vm run survived signal " << sig << " for 10 s";
    if (sig == SIGKILL) {
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    } else if (WIFEXITED(status)) {
        // hull handles SIGTERM: then it fails, with the shell's 128 + signal (as a process
        // killed by it would show) or with another status and one line saying why.
        EXPECT_NE(WEXITSTATUS(status), 0);
        if (WEXITSTATUS(status) != 128 + SIGTERM) {
            ProcResult r{.exit_code = WEXITSTATUS(status), .out = read_text(out), .err = read_text(err)};
            expect_one_line_error(r);
        }
    } else {
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
    }
}

INSTANTIATE_TEST_SUITE_P(Signals, VmSignalTest, ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& info) { return std::string(info.param == SIGKILL ? "Kill" : "Term"); });

// ---------------------------------------------------------------------------
// Signals into the guest: the test guest's guest.mode=signal says kReady on the control channel
// (the last virtio-console) and waits for a kSignal message; it prints what it got and exits
// with 128 + that signal itself. A guest that never says kReady is stopped by SIGTERM as before.

class VmForwardTest : public VmTest {
protected:
    struct Background {
        pid_t pid = -1;
        fs::path out, err;
    };

    // `hull vm run --kernel <guest> --cmdline <cmdline> --timeout 60` in the background, output
    // to files in base_, stdin from `in_fd` (or /dev/null).
    Background start(const std::string& build, const std::string& cmdline, int in_fd = -1) {
        Background b{-1, base_ / "vm.out", base_ / "vm.err"};
        std::vector<std::string> argv = {runtime_path(), "vm", "run", "--kernel", guest_path(build),
                                         "--cmdline", cmdline, "--timeout", "60"};
        std::vector<char*> cargv;
        for (std::string& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        const int out_fd = open(b.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const int err_fd = open(b.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        EXPECT_GE(out_fd, 0);
        EXPECT_GE(err_fd, 0);
        b.pid = fork();
        if (b.pid == 0) {
            dup2(in_fd >= 0 ? in_fd : null_fd, 0);
            dup2(out_fd, 1);
            dup2(err_fd, 2);
            execv(cargv[0], cargv.data());
            _exit(127);
        }
        close(out_fd);
        close(err_fd);
        close(null_fd);
        return b;
    }

    // Waits until the guest printed `line`; false (the VMM ended, or 30 s passed) otherwise.
    static bool wait_for_line(const Background& b, const std::string& line) {
        int status;
        return poll_until([&] { return has_line(read_text(b.out), line) || waitpid(b.pid, &status, WNOHANG) == b.pid; },
                          30s) &&
               has_line(read_text(b.out), line);
    }

    // The exit code, or -1 (after SIGKILL) when hull is still running after `timeout`, or
    // 1000 + signal when a signal killed it.
    static int wait_exit(const Background& b, std::chrono::milliseconds timeout = 15s) {
        int status = 0;
        if (!poll_until([&] { return waitpid(b.pid, &status, WNOHANG) == b.pid; }, timeout)) {
            kill(b.pid, SIGKILL);
            waitpid(b.pid, &status, 0);
            return -1;
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
    }

    static std::string describe(const Background& b) {
        return "stdout:\n" + read_text(b.out) + "stderr:\n" + read_text(b.err);
    }
};

class VmForwardSignalTest : public VmForwardTest, public ::testing::WithParamInterface<std::tuple<std::string, int>> {};

TEST_P(VmForwardSignalTest, ListeningGuestGetsTheSignalAndEndsItself) {
    const auto [build, sig] = GetParam();
    Background b = start(build, "guest.mode=signal");
    ASSERT_TRUE(wait_for_line(b, "waiting for a signal")) << describe(b);
    kill(b.pid, sig);
    const int code = wait_exit(b);
    EXPECT_EQ(code, 128 + sig) << describe(b);
    // The guest's own lines: it heard the signal and chose the status; hull did not stop it.
    EXPECT_TRUE(has_line(read_text(b.out), "got signal " + std::to_string(sig))) << describe(b);
    EXPECT_TRUE(has_line(read_text(b.out), "exit status " + std::to_string(128 + sig))) << describe(b);
    EXPECT_FALSE(has_line(read_text(b.out), "FAIL")) << describe(b);
    EXPECT_EQ(read_text(b.err), "");
}

INSTANTIATE_TEST_SUITE_P(Signals, VmForwardSignalTest,
                         ::testing::Values(std::make_tuple("pvh", SIGTERM), std::make_tuple("pvh", SIGUSR1),
                                           std::make_tuple("linux64", SIGTERM), std::make_tuple("pvh", SIGHUP)),
                         [](const auto& info) {
                             return std::get<0>(info.param) + "_" + std::string(sigabbrev_np(std::get<1>(info.param)));
                         });

TEST_F(VmForwardTest, GuestThatNeverListensStopsOnSigtermAndIgnoresSigusr1) {
    Background b = start("pvh", "guest.mode=spin");
    ASSERT_TRUE(wait_for_line(b, "spinning with interrupts off")) << describe(b);
    kill(b.pid, SIGUSR1);
    kill(b.pid, SIGWINCH);
    usleep(300 * 1000);
    int status;
    ASSERT_EQ(waitpid(b.pid, &status, WNOHANG), 0) << "SIGUSR1 ended a VM whose guest never listened\n" << describe(b);
    kill(b.pid, SIGTERM);
    EXPECT_EQ(wait_exit(b), 128 + SIGTERM) << describe(b);
    EXPECT_FALSE(has_line(read_text(b.out), "got signal")) << describe(b);
}

// With a terminal on stdin, the guest hears its size when it says kReady and again with SIGWINCH.
TEST_F(VmForwardTest, WindowSizeComesWithReadyAndSigwinch) {
    const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0) << strerror(errno);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    const int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave, 0) << strerror(errno);
    winsize ws{};
    ws.ws_row = 33;
    ws.ws_col = 101;
    ASSERT_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);
    Background b = start("pvh", "guest.mode=signal", slave);
    ASSERT_TRUE(wait_for_line(b, "waiting for a signal")) << describe(b);
    EXPECT_TRUE(poll_until([&] { return has_line(read_text(b.out), "control: window size 33 rows, 101 columns"); }, 5s))
        << describe(b);
    ws.ws_row = 50;
    ws.ws_col = 160;
    ASSERT_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);
    kill(b.pid, SIGWINCH);
    EXPECT_EQ(wait_exit(b), 128 + SIGWINCH) << describe(b);
    const std::string out = read_text(b.out);
    EXPECT_TRUE(has_line(out, "control: window size 50 rows, 160 columns")) << describe(b);
    EXPECT_TRUE(has_line(out, "got signal " + std::to_string(SIGWINCH))) << describe(b);
    // The new size came before the signal, so a process that asks on SIGWINCH finds it.
    EXPECT_LT(out.find("window size 50 rows"), out.find("got signal")) << describe(b);
    close(slave);
    close(master);
}

// ---------------------------------------------------------------------------
// Bad input: refused before the guest runs, one line on stderr, non-zero exit.

using VmBadInputTest = VmTest;

// Refused for the right reason: the message names one of `about` (a path, or a word such as
// "kvm"), compared without case, so a VMM failing early for some other reason does not pass.
void expect_refused(const ProcResult& r, const std::vector<std::string>& about) {
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_FALSE(r.timed_out) << r.describe();
    EXPECT_TRUE(guest_lines(r.out).empty()) << "the guest ran\n" << r.describe();
    expect_one_line_error(r);
    bool named = std::any_of(about.begin(), about.end(),
                             [&](const std::string& a) { return lower(r.err).find(lower(a)) != std::string::npos; });
    std::string list;
    for (const std::string& a : about) list += " `" + a + "`";
    EXPECT_TRUE(named) << "the error names none of" << list << "\n" << r.describe();
}

TEST_F(VmBadInputTest, TextFileIsNotAKernel) {
    fs::path k = base_ / "notes.txt";
    write_text(k, "this is not a kernel\n");
    expect_refused(vm({"--kernel", k.string(), "--timeout", "10"}), {k.string()});
}

TEST_F(VmBadInputTest, EmptyFileIsNotAKernel) {
    fs::path k = base_ / "empty";
    write_text(k, "");
    expect_refused(vm({"--kernel", k.string(), "--timeout", "10"}), {k.string()});
}

TEST_F(VmBadInputTest, TruncatedElf) {
    // Cut inside the ELF header, inside the program headers, and inside the loaded segment
    // (the file goes on with symbols and debug info, so its size says nothing about where).
    const std::string whole = read_text(guest_path("pvh"));
    ASSERT_GE(whole.size(), sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh{};
    memcpy(&eh, whole.data(), sizeof eh);
    size_t inside_segment = 0;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        ASSERT_LE(eh.e_phoff + (i + 1) * sizeof ph, whole.size());
        memcpy(&ph, whole.data() + eh.e_phoff + i * eh.e_phentsize, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_filesz > 0) {
            inside_segment = ph.p_offset + ph.p_filesz / 2;
            break;
        }
    }
    ASSERT_NE(inside_segment, 0u) << "no loadable segment in the guest";
    for (size_t len : {size_t{40}, size_t{100}, inside_segment}) {
        SCOPED_TRACE("first " + std::to_string(len) + " bytes");
        fs::path k = base_ / ("truncated-" + std::to_string(len));
        write_text(k, whole.substr(0, len));
        expect_refused(vm({"--kernel", k.string(), "--timeout", "10"}), {k.string()});
    }
    // The untruncated copy boots, so what was refused was the truncation.
    fs::path k = base_ / "whole";
    write_text(k, whole);
    ProcResult r = vm({"--kernel", k.string(), "--cmdline", "guest.status=0", "--timeout", "30"});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(VmBadInputTest, KernelLargerThanMemory) {
    // The guest with its loadable segment grown to 64 MiB (a sparse file), against 16 MiB.
    fs::path k = copy_guest("huge.elf");
    std::fstream f(k, std::ios::in | std::ios::out | std::ios::binary);
    Elf64_Ehdr eh{};
    f.read(reinterpret_cast<char*>(&eh), sizeof eh);  // SAFETY: Elf64_Ehdr is a POD read from an ELF64 file.
    ASSERT_EQ(eh.e_ident[EI_CLASS], ELFCLASS64);
    bool patched = false;
    for (unsigned i = 0; i < eh.e_phnum && !patched; ++i) {
        Elf64_Phdr ph{};
        std::streamoff at = static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize);
        f.seekg(at);
        f.read(reinterpret_cast<char*>(&ph), sizeof ph);  // SAFETY: as above, for a program header.
        if (ph.p_type != PT_LOAD || ph.p_filesz == 0) continue;
        ph.p_filesz = ph.p_memsz = 64ull << 20;
        f.seekp(at);
        f.write(reinterpret_cast<const char*>(&ph), sizeof ph);
        f.close();
        fs::resize_file(k, ph.p_offset + ph.p_filesz);
        patched = true;
    }
    ASSERT_TRUE(patched) << "no loadable segment in the guest";
    expect_refused(vm({"--kernel", k.string(), "--memory", "16M", "--timeout", "10"}), {k.string(), "memory"});
}

TEST_F(VmBadInputTest, OverlongCmdline) {
    expect_refused(vm({"--kernel", guest_path("pvh"), "--cmdline", std::string(100000, 'x'), "--timeout", "10"}),
                   {"cmdline", "command line"});
}

TEST_F(VmBadInputTest, MissingFiles) {
    const std::string missing = (base_ / "no-such-file").string();
    {
        SCOPED_TRACE("--kernel");
        expect_refused(vm({"--kernel", missing, "--timeout", "10"}), {missing});
    }
    {
        SCOPED_TRACE("--disk");
        expect_refused(vm({"--kernel", guest_path("pvh"), "--disk", missing, "--timeout", "10"}), {missing});
    }
    {
        SCOPED_TRACE("--initrd");
        expect_refused(vm({"--kernel", guest_path("pvh"), "--initrd", missing, "--timeout", "10"}), {missing});
    }
}

TEST_F(VmBadInputTest, NoKvm) {
    // /dev/kvm replaced, in a private mount namespace only, by something that is not KVM: an
    // empty regular file, and /dev/null (a character device that knows no KVM ioctl).
    fs::path empty = base_ / "empty";
    write_text(empty, "");
    const std::vector<std::string> hull = {runtime_path(), "vm", "run", "--kernel", guest_path("pvh"),
                                           "--cmdline", "guest.status=0", "--timeout", "30"};
    for (const std::string& fake : {empty.string(), std::string("/dev/null")}) {
        SCOPED_TRACE("/dev/kvm replaced by " + fake);
        std::vector<std::string> argv = {"unshare", "-m", "--propagation", "private", "sh", "-c",
                                         "mount --bind \"$0\" /dev/kvm && exec \"$@\"", fake};
        argv.insert(argv.end(), hull.begin(), hull.end());
        expect_refused(run_process(argv, {.timeout = 60s}), {"kvm"});
    }
    // The same command with the real /dev/kvm boots, so the refusals were about /dev/kvm.
    ProcResult r = run_process(hull, {.timeout = 60s});
    EXPECT_EQ(r.exit_code, 0) << r.describe();
}

// ---------------------------------------------------------------------------
// Debian's vmlinux: the early console shows hull's command line.

// The path of Debian's PVH-bootable vmlinux, or the reason there is none.
std::pair<std::string, std::string> find_vmlinux() {
    if (const char* env = getenv("HULL_VMLINUX"); env && *env) {
        if (fs::exists(env)) return {env, ""};
        return {"", std::string("$HULL_VMLINUX `") + env + "` does not exist"};
    }
    const std::string fetch = std::string(HULL_SOURCE_DIR) + "/tests/vm/fetch-kernel.sh";
    if (!fs::exists(fetch)) return {"", "`" + fetch + "` is not there"};
    ProcResult r = run_process({"sh", fetch, "--vmlinux"}, {.timeout = 600s});
    std::string path = r.out;
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    if (!r.ok() || path.empty() || !fs::exists(path)) return {"", "fetch-kernel.sh --vmlinux failed: " + r.describe()};
    return {path, ""};
}

bool host_has_hardware_virt() {
    std::string cpuinfo = read_text("/proc/cpuinfo");
    return cpuinfo.find(" vmx") != std::string::npos || cpuinfo.find(" svm") != std::string::npos;
}

// "[   NOTE   ] the instruction there: ..." for the `rip 0x...` in hull's error, disassembled
// from `vmlinux` with objdump; empty when either is missing.
std::string instruction_at(const std::string& vmlinux, const std::string& err) {
    size_t at = err.find("rip 0x");
    if (at == std::string::npos) return {};
    uint64_t rip = std::strtoull(err.c_str() + at + 4, nullptr, 16);
    ProcResult d = run_process({"objdump", "-d", "--start-address=" + std::to_string(rip),
                                "--stop-address=" + std::to_string(rip + 16), vmlinux},
                               {.timeout = 60s});
    if (!d.ok()) return {};
    // The first instruction line, `<address>:\t<bytes>\t<mnemonic>`, not the `<symbol>:` header.
    for (const std::string& l : split_lines(d.out))
        if (l.find(":\t") != std::string::npos) return "[   NOTE   ] the instruction there: " + l + "\n";
    return {};
}

using VmLinuxTest = VmTest;

TEST_F(VmLinuxTest, EarlyConsoleShowsVersionAndCmdline) {
    // ctest gives each test 300 s, fetching the kernel included. On the nested-PVM /dev/kvm
    // every first touch of a guest page is slow: with the machine busy, Linux took 43 s to its
    // first console line and 100 s to the instruction it cannot run, so hull gets what is left.
    const auto start = std::chrono::steady_clock::now();
    auto [vmlinux, why] = find_vmlinux();
    if (vmlinux.empty()) GTEST_SKIP() << why;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(280s - (std::chrono::steady_clock::now() - start));
    if (left < 60s) GTEST_SKIP() << "fetching the kernel left only " << left.count() << " s to boot it";
    const std::string cmdline = "console=ttyS0 earlyprintk=serial hull.test=xyz panic=-1";
    fs::create_symlink(vmlinux, base_ / "vmlinux");  // So the leftover check finds this hull.
    ProcResult r = vm({"--kernel", (base_ / "vmlinux").string(), "--memory", "256M", "--cmdline", cmdline, "--timeout",
                       std::to_string(left.count() - 10)},
                      left);
    EXPECT_FALSE(r.timed_out) << "--timeout did not end the VM\n" << r.describe();
    EXPECT_NE(r.out.find("Linux version"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find("Command line: " + cmdline), std::string::npos) << r.describe();
    if (r.exit_code != 0) {
        // Not a failure here: on a nested-PVM /dev/kvm the kernel gets past its early console
        // and then executes something the hypervisor cannot emulate.
        expect_one_line_error(r);
        std::cout << "[   NOTE   ] vmlinux stopped early (exit " << r.exit_code << "): " << r.err
                  << instruction_at(vmlinux, r.err)
                  << (host_has_hardware_virt() ? "" : "[   NOTE   ] no vmx/svm in /proc/cpuinfo: /dev/kvm is "
                                                      "nested (PVM), where Linux dies in emulation after its "
                                                      "early console\n");
    }
}

TEST_F(VmLinuxTest, BootsToGuestInit) {
    if (!host_has_hardware_virt())
        GTEST_SKIP() << "no vmx/svm in /proc/cpuinfo: this /dev/kvm is nested (PVM), where Debian's kernel dies "
                        "in emulation after its early console, so it cannot reach an init";
    GTEST_SKIP() << "hull's guest init (running an OCI process in the VM) does not exist yet; this test boots "
                    "vmlinux to it and checks the exit status once it does";
}

}  // namespace
}  // namespace hull::itest
