// OCI containers with `org.hull.isolation=vm`: hull's VMM takes the init's place and boots the
// freestanding test guest (tests/guest) from the container's rootfs. The guest reports on its
// console (the container's stdout) what it saw: its command line, its memory map, the rootfs
// image's erofs magic on disk 0; the tests check that, the lifecycle (create/state/start/kill/
// delete/list) and the VMM's confinement from the host side (/proc/<pid>/status, its cgroup).
//
// Skips, with the reason: not root, no usable /dev/kvm, no mkfs.erofs, or the runtime is runc.

#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console.hpp"
#include "harness.hpp"
#include "vm_support.hpp"

namespace hull::itest {
namespace {

const std::string kTag = "hull-test-guest: ";

const std::optional<std::string>& vm_oci_unavailable() {
    static const std::optional<std::string> reason = vm_unavailable_reason(false);
    return reason;
}

#define SKIP_WITHOUT_VM()                                                      \
    do {                                                                       \
        if (const auto& why = vm_oci_unavailable()) GTEST_SKIP() << *why;      \
    } while (0)

std::string status_field(pid_t pid, const std::string& key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(key + ":")) {
            std::string v = line.substr(key.size() + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    return {};
}

// The VMM's own threads: /proc/<pid>/task without KVM's kernel workers (kvm-nx-lpage-recovery),
// which the kernel attaches to the process that created the VM.
unsigned vmm_threads(pid_t pid) {
    unsigned n = 0;
    std::error_code ec;
    for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec))
        if (!read_text(t.path() / "comm").starts_with("kvm")) ++n;
    return n;
}

bool alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

// The memory limit of `pid`'s cgroup, from the v1 memory hierarchy or cgroup v2.
std::string memory_limit_of(pid_t pid) {
    std::string v1, v2;
    for (const std::string& line : split_lines(read_text("/proc/" + std::to_string(pid) + "/cgroup"))) {
        if (line.starts_with("0::")) v2 = line.substr(3);
        auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
        if (c1 != std::string::npos && c2 != std::string::npos && line.substr(c1 + 1, c2 - c1 - 1) == "memory")
            v1 = line.substr(c2 + 1);
    }
    std::string text;
    if (!v1.empty() && v1 != "/") text = read_text("/sys/fs/cgroup/memory" + v1 + "/memory.limit_in_bytes");
    else if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) text = read_text("/sys/fs/cgroup" + v2 + "/memory.max");
    else text = read_text("/sys/fs/cgroup/unified" + v2 + "/memory.max");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
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

class VmOciTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (vm_oci_unavailable()) return;
        // The image cache goes to this test's temp dir, removed with it.
        setenv("HULL_VM_CACHE", (base_ / "vm-cache").c_str(), 1);
        // No host kernel is configured: a bundle without org.hull.vm.kernel must say so, whatever
        // this machine's /etc/hull/config.json holds.
        setenv("HULL_CONFIG", (base_ / "no-hull-config.json").c_str(), 1);
        fs::create_directories(rootfs_ / "boot");
        fs::copy_file(HULL_TEST_GUEST_PVH, rootfs_ / "boot/guest.elf", fs::copy_options::overwrite_existing);
        spec_["process"]["terminal"] = false;
        spec_["root"]["readonly"] = false;
        spec_["annotations"] = {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot/guest.elf"}};
    }
    void TearDown() override {
        unsetenv("HULL_VM_CACHE");
        unsetenv("HULL_CONFIG");
        RuntimeTest::TearDown();
    }
    void set_cmdline(const std::string& extra) { spec_["annotations"]["org.hull.vm.cmdline"] = extra; }

    ProcResult run_vm(const std::string& id) {
        write_spec();
        return rt({"run", "--bundle", bundle_.string(), id}, {.timeout = 60s});
    }

    // What the VM image cache holds: every file in it.
    std::vector<fs::path> cached_images() const {
        std::vector<fs::path> images;
        for (const auto& e : fs::directory_iterator(base_ / "vm-cache")) images.push_back(e.path());
        return images;
    }
    // `dump.erofs --ls` of the image's root: a line per entry, ending " <name>\n".
    static std::string erofs_root_listing(const fs::path& image) {
        ProcResult ls = run_process({"/usr/bin/dump.erofs", "--ls", "--path=/", image.string()});
        EXPECT_TRUE(ls.ok()) << ls.describe();
        return ls.out;
    }
};

TEST_F(VmOciTest, RunExitsWithTheGuestsStatusAndShowsTheRootfsImage) {
    SKIP_WITHOUT_VM();
    for (int status : {0, 3, 255}) {
        SCOPED_TRACE("guest.status=" + std::to_string(status));
        set_cmdline("guest.status=" + std::to_string(status));
        std::string id = new_id();
        ProcResult r = run_vm(id);
        EXPECT_EQ(r.exit_code, status) << r.describe();
        EXPECT_NE(r.out.find(kTag + "cmdline: console=ttyS0 guest.status=" + std::to_string(status)), std::string::npos)
            << r.describe();
        // Disk 0 is the rootfs image, disk 1 the writable disk (root.readonly is false).
        EXPECT_NE(r.out.find(kTag + "blk0: erofs superblock magic 0xe0f5e1e2 at byte 1024"), std::string::npos)
            << r.describe();
        EXPECT_NE(r.out.find(kTag + "blk0: capacity"), std::string::npos) << r.describe();
        EXPECT_NE(r.out.find("read-only"), std::string::npos) << r.describe();
        EXPECT_NE(r.out.find(kTag + "blk1: capacity 2097152 sectors, flush"), std::string::npos) << r.describe();
        EXPECT_NE(r.out.find(kTag + "exit status " + std::to_string(status)), std::string::npos) << r.describe();
        expect_nothing_left(id, bundle_);
    }
}

TEST_F(VmOciTest, ReadOnlyRootHasNoWritableDisk) {
    SKIP_WITHOUT_VM();
    spec_["root"]["readonly"] = true;
    std::string id = new_id();
    ProcResult r = run_vm(id);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find(kTag + "blk0: erofs superblock magic"), std::string::npos) << r.describe();
    EXPECT_EQ(r.out.find(kTag + "blk1:"), std::string::npos) << r.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(VmOciTest, LifecycleAndConfinement) {
    SKIP_WITHOUT_VM();
    set_cmdline("guest.mode=spin");
    spec_["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
    spec_["linux"]["resources"]["cpu"] = {{"quota", 150000}, {"period", 100000}};
    std::string id = new_id();
    fs::path out = base_ / "vm.out";
    ProcResult c = create(id, out);
    ASSERT_TRUE(c.ok()) << c.describe();
    json st = state(id);
    EXPECT_EQ(st["status"], "created");
    pid_t pid = st["pid"].get<pid_t>();
    ASSERT_TRUE(alive(pid)) << "state.pid " << pid << " is not a live process";

    // Confinement holds from `create` on; seccomp comes at `start`.
    EXPECT_EQ(status_field(pid, "CapEff"), "0000000000000000");
    EXPECT_EQ(status_field(pid, "CapPrm"), "0000000000000000");
    EXPECT_EQ(status_field(pid, "CapBnd"), "0000000000000000");
    EXPECT_EQ(status_field(pid, "NoNewPrivs"), "1");
    EXPECT_EQ(memory_limit_of(pid), std::to_string(64 << 20));
    // Its root holds only /dev/kvm, the kernel and the disks.
    std::set<std::string> root;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/root")) root.insert(e.path().filename());
    EXPECT_EQ(root, (std::set<std::string>{"dev", "kernel", "disk0", "disk1"}));
    std::set<std::string> dev;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/root/dev")) dev.insert(e.path().filename());
    EXPECT_EQ(dev, (std::set<std::string>{"kvm"}));

    ProcResult list = rt({"list"});
    EXPECT_NE(list.out.find(id), std::string::npos) << list.describe();

    ProcResult s = rt({"start", id});
    ASSERT_TRUE(s.ok()) << s.describe();
    EXPECT_EQ(state(id)["status"], "running");
    EXPECT_EQ(status_field(pid, "Seccomp"), "2");
    // 1.5 CPUs of quota round up to 2 vCPUs (capped at the host's): each vCPU a thread, plus
    // the control thread.
    unsigned host = std::thread::hardware_concurrency();
    unsigned vcpus = std::min(2u, std::max(host, 1u));
    EXPECT_TRUE(poll_until([&] { return vmm_threads(pid) == vcpus + 1; }, 5s)) << "threads: " << vmm_threads(pid);
    // Guest memory = limit - the VMM's 16 MiB allowance: 48 MiB of RAM, ending at 0x3000000.
    EXPECT_TRUE(poll_until([&] { return read_text(out).find("RAM ends at 0x3000000") != std::string::npos; }, 10s))
        << read_text(out);
    // Other signals do not stop the VM.
    ProcResult usr = rt({"kill", id, "USR1"});
    EXPECT_TRUE(usr.ok()) << usr.describe();
    usleep(200 * 1000);
    EXPECT_EQ(state(id)["status"], "running");

    ProcResult k = rt({"kill", id, "TERM"});
    ASSERT_TRUE(k.ok()) << k.describe();
    EXPECT_TRUE(wait_status(id, "stopped", 10s));
    EXPECT_TRUE(poll_until([&] { return !alive(pid) || status_field(pid, "State").starts_with("Z"); }, 5s));
    ProcResult d = rt({"delete", id});
    EXPECT_TRUE(d.ok()) << d.describe();
    expect_nothing_left(id, bundle_);
}

TEST_F(VmOciTest, SigkillLeavesNothingAfterDelete) {
    SKIP_WITHOUT_VM();
    set_cmdline("guest.mode=spin");
    std::string id = new_id();
    ProcResult c = create(id, base_ / "vm.out");
    ASSERT_TRUE(c.ok()) << c.describe();
    ASSERT_TRUE(rt({"start", id}).ok());
    ASSERT_TRUE(rt({"kill", id, "KILL"}).ok());
    EXPECT_TRUE(wait_status(id, "stopped", 10s));
    EXPECT_TRUE(rt({"delete", id}).ok());
    expect_nothing_left(id, bundle_);
}

TEST_F(VmOciTest, RunStoppedBySigtermExits143) {
    SKIP_WITHOUT_VM();
    set_cmdline("guest.mode=spin");
    std::string id = new_id();
    write_spec();
    fs::path out = base_ / "run.out";
    pid_t runner = fork();
    ASSERT_GE(runner, 0);
    if (runner == 0) {
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(runtime_.c_str(), runtime_.c_str(), "--root", root_.c_str(), "run", "--bundle", bundle_.c_str(),
              id.c_str(), nullptr);
        _exit(127);
    }
    ASSERT_TRUE(poll_until([&] { return status(id) == std::optional<std::string>("running"); }, 20s))
        << read_text(out);
    ASSERT_TRUE(rt({"kill", id, "TERM"}).ok());
    int ws = 0;
    ASSERT_EQ(waitpid(runner, &ws, 0), runner);
    EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 143) << "wait status " << ws << ": " << read_text(out);
    expect_nothing_left(id, bundle_);
}

// The test guest's guest.mode=signal says kReady on the control channel and waits: `hull kill`
// reaches it through `hull run`'s VMM, and the guest itself ends with 128 + the signal.
TEST_F(VmOciTest, KillReachesAListeningGuest) {
    SKIP_WITHOUT_VM();
    set_cmdline("guest.mode=signal");
    for (const auto& [name, sig] : {std::pair<std::string, int>{"TERM", SIGTERM}, {"USR1", SIGUSR1}}) {
        SCOPED_TRACE(name);
        std::string id = new_id();
        write_spec();
        fs::path out = base_ / ("run-" + name + ".out");  // a fresh file: no earlier round's lines
        pid_t runner = fork();
        ASSERT_GE(runner, 0);
        if (runner == 0) {
            int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            execl(runtime_.c_str(), runtime_.c_str(), "--root", root_.c_str(), "run", "--bundle", bundle_.c_str(),
                  id.c_str(), nullptr);
            _exit(127);
        }
        const bool waiting =
            poll_until([&] { return read_text(out).find(kTag + "waiting for a signal") != std::string::npos; }, 20s);
        if (!waiting) kill(runner, SIGKILL);
        ASSERT_TRUE(waiting) << read_text(out);
        ProcResult k = rt({"kill", id, name});
        EXPECT_TRUE(k.ok()) << k.describe();
        int ws = 0;
        const bool ended = poll_until([&] { return waitpid(runner, &ws, WNOHANG) == runner; }, 15s);
        if (!ended) {
            rt({"kill", id, "KILL"});
            waitpid(runner, &ws, 0);
        }
        EXPECT_TRUE(ended) << "hull run still running 15 s after kill " << name << ": " << read_text(out);
        EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 128 + sig) << "wait status " << ws << ": " << read_text(out);
        const std::string text = read_text(out);
        EXPECT_NE(text.find(kTag + "got signal " + std::to_string(sig)), std::string::npos) << text;
        EXPECT_NE(text.find(kTag + "exit status " + std::to_string(128 + sig)), std::string::npos) << text;
        expect_nothing_left(id, bundle_);
    }
}

// With a terminal the VMM's stdio is a pty: the guest hears its size at kReady and on SIGWINCH
// (TIOCGWINSZ, under the VMM's seccomp filter).
TEST_F(VmOciTest, WindowSizeReachesAListeningGuest) {
    SKIP_WITHOUT_VM();
    spec_["process"]["terminal"] = true;
    set_cmdline("guest.mode=signal");
    write_spec();
    ConsoleSocket sock(base_ / "console.sock");
    std::string id = new_id();
    ProcResult c = rt({"create", "--bundle", bundle_.string(), "--console-socket", sock.path().string(), id});
    ASSERT_TRUE(c.ok()) << c.describe();
    int master = sock.receive_master(10s);
    ASSERT_GE(master, 0) << "no pty master received on the console socket";
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 90;
    ASSERT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);
    ASSERT_TRUE(rt({"start", id}).ok());
    std::string text;
    // Reads the master until `needle` shows up; false after 20 s.
    auto read_until = [&](const std::string& needle) {
        return poll_until(
            [&] {
                struct pollfd p = {master, POLLIN, 0};
                char buf[4096];
                if (poll(&p, 1, 50) > 0) {
                    ssize_t n = read(master, buf, sizeof buf);
                    if (n > 0) text.append(buf, static_cast<size_t>(n));
                }
                return text.find(needle) != std::string::npos;
            },
            20s);
    };
    ASSERT_TRUE(read_until(kTag + "waiting for a signal")) << text;
    EXPECT_TRUE(read_until(kTag + "control: window size 24 rows, 90 columns")) << text;
    size.ws_row = 40;
    size.ws_col = 132;
    ASSERT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);
    ASSERT_TRUE(rt({"kill", id, "WINCH"}).ok());
    EXPECT_TRUE(read_until(kTag + "exit status " + std::to_string(128 + SIGWINCH))) << text;
    EXPECT_NE(text.find(kTag + "control: window size 40 rows, 132 columns"), std::string::npos) << text;
    EXPECT_NE(text.find(kTag + "got signal " + std::to_string(SIGWINCH)), std::string::npos) << text;
    EXPECT_TRUE(wait_status(id, "stopped"));
    EXPECT_TRUE(rt({"delete", id}).ok());
    expect_nothing_left(id, bundle_);
}

TEST_F(VmOciTest, TerminalGoesToTheConsoleSocket) {
    SKIP_WITHOUT_VM();
    spec_["process"]["terminal"] = true;
    set_cmdline("guest.status=5");
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
    EXPECT_NE(out.find(kTag + "cmdline: console=ttyS0 guest.status=5"), std::string::npos) << out;
    EXPECT_NE(out.find(kTag + "exit status 5"), std::string::npos) << out;
    EXPECT_TRUE(wait_status(id, "stopped"));
    EXPECT_TRUE(rt({"delete", id}).ok());
    expect_nothing_left(id, bundle_);
}

// The VMM's error paths (reading registers, formatting, writing stderr) live under its seccomp
// filter: a guest failure must end as a one-line error and exit 1, never SIGSYS (159).
TEST_F(VmOciTest, GuestFailuresAreOneLineErrorsUnderSeccomp) {
    SKIP_WITHOUT_VM();
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"triple-fault", "guest triple-faulted"},
        {"oom", "which is neither RAM nor a device"},
    };
    for (const auto& [mode, needle] : cases) {
        SCOPED_TRACE(mode);
        set_cmdline("guest.mode=" + mode);
        std::string id = new_id();
        ProcResult r = run_vm(id);
        EXPECT_EQ(r.exit_code, 1) << r.describe();
        expect_one_line_error(r, needle);
        expect_nothing_left(id, bundle_);
    }
}

TEST_F(VmOciTest, BadInputIsOneLineAndLeavesNothing) {
    SKIP_WITHOUT_VM();
    fs::create_symlink("../../../.." + std::string(HULL_TEST_GUEST_PVH), rootfs_ / "boot/escape");
    fs::create_symlink(HULL_TEST_GUEST_PVH, rootfs_ / "boot/absolute");
    write_text(rootfs_ / "boot/text", "this is not a kernel\n");
    struct Case {
        std::string name;
        json annotations;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {"no kernel annotation", {{"org.hull.isolation", "vm"}}, "vm isolation of a linux image needs a host kernel: set vm.kernel in"},
        {"unknown isolation", {{"org.hull.isolation", "vmm"}, {"org.hull.vm.kernel", "/boot/guest.elf"}},
         "unknown isolation `vmm`"},
        {"dot-dot", {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot/../../" + std::string(HULL_TEST_GUEST_PVH)}},
         "`..` may not appear"},
        {"relative symlink out", {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot/escape"}},
         "no such file or directory"},
        {"absolute symlink out", {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot/absolute"}},
         "no such file or directory"},
        {"a directory", {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot"}}, "not a regular file"},
        {"not a kernel", {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot/text"}}, "kernel"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        spec_["annotations"] = c.annotations;
        std::string id = new_id();
        ProcResult r = run_vm(id);
        expect_one_line_error(r, c.needle);
        expect_nothing_left(id, bundle_);
    }

    SCOPED_TRACE("memory limit below the VMM's allowance");
    spec_["annotations"] = {{"org.hull.isolation", "vm"}, {"org.hull.vm.kernel", "/boot/guest.elf"}};
    spec_["linux"]["resources"]["memory"] = {{"limit", 8 << 20}};
    std::string id = new_id();
    ProcResult r = run_vm(id);
    expect_one_line_error(r, "linux.resources.memory.limit");
    expect_nothing_left(id, bundle_);
}

// An overlay root (org.hull.rootfs.overlay): the VM's disk 0 is the erofs image of the layers'
// merged view (a whiteout hides a lower file, the top layer's copy wins), the kernel comes from
// the layer that holds it, and the image is built once per layer set.
TEST_F(VmOciTest, OverlayRootBecomesOneImageOfTheMergedLayers) {
    SKIP_WITHOUT_VM();
    if (access("/usr/bin/dump.erofs", X_OK) != 0) GTEST_SKIP() << "no dump.erofs (Debian package erofs-utils) to read the image";
    fs::path top = base_ / "layers/top", bottom = base_ / "layers/bottom";
    fs::create_directories(top);
    fs::create_directories(bottom / "boot");
    fs::copy_file(HULL_TEST_GUEST_PVH, bottom / "boot/guest.elf");
    write_text(bottom / "kept", "kept\n");
    write_text(bottom / "gone", "gone\n");
    write_text(bottom / "both", "bottom's\n");
    write_text(top / "both", "top\n");
    ASSERT_EQ(mknod((top / "gone").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0) << strerror(errno);  // a whiteout
    fs::path mnt = base_ / "empty-root";
    fs::create_directories(mnt);
    spec_["root"]["path"] = mnt.string();
    spec_["root"]["readonly"] = true;
    spec_["annotations"]["org.hull.rootfs.overlay"] = json{{"lower", {top.string(), bottom.string()}}}.dump();
    set_cmdline("guest.status=6");
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        std::string id = new_id();
        ProcResult r = run_vm(id);
        EXPECT_EQ(r.exit_code, 6) << r.describe();
        EXPECT_NE(r.out.find(kTag + "blk0: erofs superblock magic 0xe0f5e1e2 at byte 1024"), std::string::npos) << r.describe();
        expect_nothing_left(id, bundle_);
    }
    std::vector<fs::path> images = cached_images();
    ASSERT_EQ(images.size(), 1u) << "one image for one layer set, no temp files";
    EXPECT_TRUE(images[0].filename().string().starts_with("layers-")) << images[0];
    const std::string ls = erofs_root_listing(images[0]);
    EXPECT_NE(ls.find(" kept\n"), std::string::npos) << ls;
    EXPECT_NE(ls.find(" boot\n"), std::string::npos) << ls;
    EXPECT_EQ(ls.find(" gone\n"), std::string::npos) << ls;
    ProcResult both = run_process({"/usr/bin/dump.erofs", "--path=/both", images[0].string()});
    EXPECT_NE(both.out.find("Size: 4 "), std::string::npos) << "the top layer's `both` (4 bytes) wins\n" << both.out;

    SCOPED_TRACE("an upper directory is refused");
    fs::create_directories(base_ / "upper");
    fs::create_directories(base_ / "work");
    spec_["annotations"]["org.hull.rootfs.overlay"] =
        json{{"lower", {top.string(), bottom.string()}}, {"upper", (base_ / "upper").string()}, {"work", (base_ / "work").string()}}.dump();
    std::string id = new_id();
    ProcResult r = run_vm(id);
    expect_one_line_error(r, "vm isolation keeps a container's changes on its own disk");
    expect_nothing_left(id, bundle_);
}

// Many layers, named so mount(2)'s option string cannot hold them even relative to their shared
// parent: the image builder mounts them as a container's init would (one `lowerdir+` each on
// Linux >= 6.8; with HULL_OVERLAY_LEGACY=1, as before 6.8, nested groups of read-only
// overlays), and the image shows the top layer's, a middle layer's and the bottom layer's files.
TEST_F(VmOciTest, OverlayRootOfManyLayersPastAPage) {
    SKIP_WITHOUT_VM();
    if (access("/usr/bin/dump.erofs", X_OK) != 0) GTEST_SKIP() << "no dump.erofs (Debian package erofs-utils) to read the image";
    constexpr int kLayers = 300;
    std::vector<std::string> lowers;
    for (int i = 0; i < kLayers; ++i) {
        char name[64];
        snprintf(name, sizeof name, "layer-%03d-with-a-name-long-enough", i);
        fs::path dir = base_ / "many" / name;
        fs::create_directories(dir);
        write_text(dir / ("f" + std::to_string(i)), std::to_string(i) + "\n");
        lowers.push_back(dir.string());
    }
    fs::create_directories(fs::path(lowers.back()) / "boot");
    fs::copy_file(HULL_TEST_GUEST_PVH, fs::path(lowers.back()) / "boot/guest.elf");
    fs::path mnt = base_ / "empty-root";
    fs::create_directories(mnt);
    spec_["root"]["path"] = mnt.string();
    spec_["root"]["readonly"] = true;
    spec_["annotations"]["org.hull.rootfs.overlay"] = json{{"lower", lowers}}.dump();
    set_cmdline("guest.status=9");
    write_spec();
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2), nested groups" : "as this kernel mounts it");
        fs::remove_all(base_ / "vm-cache");
        std::string id = new_id();
        RunOptions o{.timeout = 120s};
        if (legacy) o.env.push_back("HULL_OVERLAY_LEGACY=1");
        ProcResult r = rt({"run", "--bundle", bundle_.string(), id}, o);
        EXPECT_EQ(r.exit_code, 9) << r.describe();
        expect_nothing_left(id, bundle_);
        std::vector<fs::path> images = cached_images();
        ASSERT_EQ(images.size(), 1u);
        const std::string ls = erofs_root_listing(images[0]);
        for (int i : {0, 150, kLayers - 1})
            EXPECT_NE(ls.find(" f" + std::to_string(i) + "\n"), std::string::npos) << "no f" << i << " in\n" << ls;
        EXPECT_NE(ls.find(" boot\n"), std::string::npos) << ls;
    }
}

// Writes an OCI layout holding the test guest as an image for os `none`: one layer with
// /boot/guest.elf, the label org.hull.vm.kernel naming it. Prints the layer's diff ID.
static const char kGuestLayout[] = R"PY(
import hashlib, io, json, os, sys, tarfile
out, guest = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "blobs", "sha256"))
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(out, "blobs", "sha256", h), "wb").write(data)
    return {"digest": "sha256:" + h, "size": len(data)}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
    d = tarfile.TarInfo("boot"); d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1700000000
    tf.addfile(d)
    data = open(guest, "rb").read()
    f = tarfile.TarInfo("boot/guest.elf"); f.size, f.mode, f.mtime = len(data), 0o644, 1700000000
    tf.addfile(f, io.BytesIO(data))
layer = buf.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
config = {"architecture": "amd64", "os": "none",
          "config": {"Labels": {"org.hull.vm.kernel": "/boot/guest.elf"}, "Cmd": ["/boot/guest.elf"]},
          "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(put(json.dumps(config).encode()), mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(put(layer), mediaType="application/vnd.oci.image.layer.v1.tar")]}
index = {"schemaVersion": 2, "manifests": [dict(put(json.dumps(manifest).encode()),
         mediaType="application/vnd.oci.image.manifest.v1+json")]}
json.dump(index, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
print(diff_id.split(":")[1])
)PY";

// tests/guest packaged as an image for another os: imported into a store, run through `hull run`
// with a bundle whose root is the overlay of the image's layer (the status chosen on its
// command line comes back), and through `hull launch`, which picks the kernel from the label.
TEST_F(VmOciTest, NonLinuxImageRunsFromTheStore) {
    SKIP_WITHOUT_VM();
    fs::path layout = base_ / "guest-layout", store = base_ / "store";
    ProcResult gen = run_process({"/usr/bin/python3", "-c", kGuestLayout, layout.string(), HULL_TEST_GUEST_PVH});
    ASSERT_TRUE(gen.ok()) << gen.describe();
    std::string diff_id = gen.out.substr(0, gen.out.find('\n'));
    ProcResult imp = rt({"import", "--store", store.string(), layout.string(), "localhost/test-guest:latest"});
    ASSERT_TRUE(imp.ok()) << imp.describe();
    // One layer: its chain ID is its diff ID.
    fs::path layer = store / "layers" / diff_id / "diff";
    ASSERT_TRUE(fs::exists(layer / "boot/guest.elf")) << layer;

    fs::path mnt = base_ / "empty-root";
    fs::create_directories(mnt);
    spec_["root"]["path"] = mnt.string();
    spec_["root"]["readonly"] = true;
    spec_["annotations"]["org.hull.rootfs.overlay"] = json{{"lower", {layer.string()}}}.dump();
    set_cmdline("guest.status=42");
    std::string id = new_id();
    ProcResult r = run_vm(id);
    EXPECT_EQ(r.exit_code, 42) << r.describe();
    EXPECT_NE(r.out.find(kTag + "cmdline: console=ttyS0 guest.status=42"), std::string::npos) << r.describe();
    EXPECT_NE(r.out.find(kTag + "blk0: erofs superblock magic"), std::string::npos) << r.describe();
    expect_nothing_left(id, bundle_);

    if (!fs::exists(HULL_SOURCE_DIR "/cli/launch.cpp")) return;  // `hull launch` is not in this tree
    ProcResult l = rt({"launch", "--store", store.string(), "--rm", "--name", "guest-launch", "localhost/test-guest"},
                      {.timeout = 60s});
    EXPECT_EQ(l.exit_code, 0) << l.describe();
    EXPECT_NE(l.out.find(kTag + "blk0: erofs superblock magic"), std::string::npos) << l.describe();
    EXPECT_NE(l.out.find(kTag + "exit status 0"), std::string::npos) << l.describe();
    std::error_code ec;
    EXPECT_EQ(std::distance(fs::directory_iterator(root_, ec), fs::directory_iterator()), 0) << "state left under " << root_;
    EXPECT_TRUE(host_cgroups_mentioning("guest-launch").empty());
}

}  // namespace
}  // namespace hull::itest
