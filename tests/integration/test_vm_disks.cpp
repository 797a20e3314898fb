// Disk locks between VMs: two `hull vm run` of the freestanding test guest (tests/guest, PVH
// build) sharing one disk file. A writable disk belongs to one VM at a time: a second VM, with
// the disk writable or read-only, is refused with one line and exit 1 while the first runs, and
// gets it once the first is gone. Read-only users share. And a VM container's VMM (hull
// create) holds the cached rootfs image read-locked and its writable disk write-locked for as
// long as it runs, which is what keeps a prune of the image cache away from them.
//
// Skips, with the reason: not root, no /dev/kvm, or a hull without `vm run` (or, for the
// container, no mkfs.erofs).

#include <algorithm>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"
#include "vm_support.hpp"

namespace hull::itest {
namespace {

const std::string kSpinning = "hull-test-guest: spinning with interrupts off";

std::optional<std::string> vm_run_unavailable() {
    if (runtime_is_runc()) return "runc has no vm";
    if (geteuid() != 0) return "needs root (for /dev/kvm)";
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::string("no usable /dev/kvm: ") + strerror(errno);
    close(fd);
    ProcResult help = run_process({runtime_path(), "vm", "run", "--help"}, {.timeout = 30s});
    if (help.exit_code != 0) return "`" + runtime_path() + " vm run --help` fails: " + help.describe();
    return std::nullopt;
}

// A `hull vm run` of the spinning guest in the background, killed and reaped on destruction.
class SpinningVm {
public:
    SpinningVm(const fs::path& base, const std::string& guest, const std::string& disk, const std::string& name)
        : out_(base / (name + ".out")), err_(base / (name + ".err")) {
        std::vector<std::string> argv = {runtime_path(), "vm", "run", "--kernel", guest, "--cmdline",
                                         "guest.mode=spin", "--disk", disk, "--timeout", "60"};
        std::vector<char*> cargv;
        for (std::string& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        int out_fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err_fd = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        EXPECT_GE(out_fd, 0);
        EXPECT_GE(err_fd, 0);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out_fd, 1);
            dup2(err_fd, 2);
            int null = open("/dev/null", O_RDONLY);
            dup2(null, 0);
            execv(cargv[0], cargv.data());
            _exit(127);
        }
        close(out_fd);
        close(err_fd);
    }
    ~SpinningVm() { stop(); }

    // True once the guest runs (it printed that it spins); false if hull ended first.
    bool wait_spinning() {
        bool up = poll_until([&] { return !running() || read_text(out_).find(kSpinning) != std::string::npos; }, 30s);
        return up && running();
    }
    bool running() {
        if (pid_ <= 0) return false;
        if (waitpid(pid_, &status_, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        if (!poll_until([&] { return waitpid(pid_, &status_, WNOHANG) == pid_; }, 10s)) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status_, 0);
        }
        pid_ = -1;
    }
    std::string describe() const { return "first vm stdout:\n" + read_text(out_) + "stderr:\n" + read_text(err_); }

private:
    fs::path out_, err_;
    pid_t pid_ = -1;
    int status_ = 0;
};

class VmDisks : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = vm_run_unavailable()) GTEST_SKIP() << *why;
        char tmpl[] = "/tmp/hull-vmdisks-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
        base_ = tmpl;
        guest_ = (base_ / "hull-test-guest-pvh.elf").string();
        fs::copy_file(HULL_TEST_GUEST_PVH, guest_);
        disk_ = (base_ / "shared.img").string();
        write_text(disk_, std::string(64 * 1024, '\0'));
    }
    void TearDown() override { end_vm_run_test(base_); }

    // A short VM that resets at once (status 0) with `disk` as its one disk.
    ProcResult quick_vm(const std::string& disk) const {
        return run_process({runtime_path(), "vm", "run", "--kernel", guest_, "--cmdline", "guest.mode=reset", "--disk",
                            disk, "--timeout", "30"},
                           {.timeout = 90s});
    }

    // Refused: exit 1 and exactly the lock error on one line, naming the disk.
    void expect_in_use(const ProcResult& r) const {
        EXPECT_EQ(r.exit_code, 1) << r.describe();
        EXPECT_EQ(r.err, "hull: vm: disk `" + disk_ + "` is in use by another VM\n") << r.describe();
        EXPECT_EQ(r.out.find("hull-test-guest"), std::string::npos) << "the refused guest ran\n" << r.describe();
    }

    fs::path base_;
    std::string guest_, disk_;
};

TEST_F(VmDisks, WritableDiskBelongsToOneVm) {
    SpinningVm first(base_, guest_, disk_, "first");
    ASSERT_TRUE(first.wait_spinning()) << first.describe();

    SCOPED_TRACE("second vm, writable");
    expect_in_use(quick_vm(disk_));
    SCOPED_TRACE("second vm, read-only");
    expect_in_use(quick_vm(disk_ + ":ro"));
    EXPECT_TRUE(first.running()) << "the refusal disturbed the first vm\n" << first.describe();

    // The lock goes with the first VM.
    first.stop();
    ProcResult r = quick_vm(disk_);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
}

TEST_F(VmDisks, ReadOnlyUsersShareAndKeepWritersOut) {
    SpinningVm first(base_, guest_, disk_ + ":ro", "first");
    ASSERT_TRUE(first.wait_spinning()) << first.describe();

    ProcResult r = quick_vm(disk_ + ":ro");
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.out.find("hull-test-guest: i8042 reset"), std::string::npos) << r.describe();

    // A second read-only VM that stays up alongside the first.
    SpinningVm second(base_, guest_, disk_ + ":ro", "second");
    EXPECT_TRUE(second.wait_spinning()) << second.describe();
    EXPECT_TRUE(first.running()) << first.describe();

    SCOPED_TRACE("a writer while two read");
    expect_in_use(quick_vm(disk_));
}

// `hull vm prune` on a cache dir of its own ($HULL_VM_CACHE): an entry a running VM holds as
// its disk stays, an unheld one and a stale temporary file go, a foreign name is never touched,
// --dry-run removes nothing and --older-than keeps what was used recently.
TEST_F(VmDisks, PruneRemovesWhatNoVmHolds) {
    const fs::path cache = base_ / "cache";
    fs::create_directory(cache);
    const fs::path held = cache / "0123456789abcdef.erofs";
    const fs::path unheld = cache / "layers-fedcba9876543210.erofs";
    const fs::path stale = cache / "initramfs-1111222233334444.cpio.tmp.XyZ123";
    const fs::path foreign = cache / "notes.txt";
    for (const fs::path& p : {held, unheld, stale, foreign}) write_text(p, std::string(64 * 1024, 'x'));
    const std::vector<std::string> env = {"HULL_VM_CACHE=" + cache.string()};
    const auto prune = [&](std::vector<std::string> extra) {
        std::vector<std::string> argv = {runtime_path(), "vm", "prune"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return run_process(argv, {.timeout = 30s, .env = env});
    };

    SpinningVm vm(base_, guest_, held.string() + ":ro", "holder");
    ASSERT_TRUE(vm.wait_spinning()) << vm.describe();

    ProcResult dry = prune({"--dry-run"});
    EXPECT_EQ(dry.exit_code, 0) << dry.describe();
    EXPECT_NE(dry.out.find("would remove " + stale.string() + " (64.0KiB, stale temporary file)\n"), std::string::npos)
        << dry.describe();
    EXPECT_NE(dry.out.find("would remove " + unheld.string() + " (64.0KiB)\n"), std::string::npos) << dry.describe();
    EXPECT_EQ(dry.out.find(held.string()), std::string::npos) << dry.describe();
    EXPECT_NE(dry.out.find("Would free 128.0KiB (2 files; 1 in use and 0 recently used kept)"), std::string::npos)
        << dry.describe();
    for (const fs::path& p : {held, unheld, stale, foreign}) EXPECT_TRUE(fs::exists(p)) << p << " gone after --dry-run";

    // Everything was written just now: an age limit keeps the entries, not the stale temporary.
    ProcResult aged = prune({"--older-than", "1h"});
    EXPECT_EQ(aged.exit_code, 0) << aged.describe();
    EXPECT_FALSE(fs::exists(stale)) << aged.describe();
    EXPECT_TRUE(fs::exists(unheld)) << aged.describe();
    EXPECT_NE(aged.out.find("1 in use and 1 recently used kept"), std::string::npos) << aged.describe();

    ProcResult all = prune({});
    EXPECT_EQ(all.exit_code, 0) << all.describe();
    EXPECT_EQ(all.out, "removed " + unheld.string() + " (64.0KiB)\nFreed 64.0KiB (1 file; 1 in use and 0 recently used kept)\n")
        << all.describe();
    EXPECT_TRUE(fs::exists(held)) << "a prune removed the disk of a running VM";
    EXPECT_TRUE(vm.running()) << vm.describe();
    EXPECT_TRUE(fs::exists(foreign));

    vm.stop();
    ProcResult after = prune({});
    EXPECT_EQ(after.exit_code, 0) << after.describe();
    EXPECT_FALSE(fs::exists(held)) << after.describe();
    EXPECT_TRUE(fs::exists(foreign)) << "prune removed a name that is not the cache's";

    SCOPED_TRACE("bad input");
    for (const auto& [args, err] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"--older-than", "yesterday"}, "--older-than"},
             {{"extra"}, "\"vm prune\" takes no arguments, got `extra`"}}) {
        ProcResult bad = prune(args);
        EXPECT_EQ(bad.exit_code, 1) << bad.describe();
        EXPECT_NE(bad.err.find(err), std::string::npos) << bad.describe();
        EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.describe();
    }
}

// ---------------------------------------------------------------------------
// The OCI VMM's locks, checked from outside with the same OFD locks a prune takes.

// Whether a write lock on `path` could be taken now (nobody holds any lock on it).
bool unlocked(const fs::path& path) {
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl{};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    bool free = fcntl(fd, F_OFD_SETLK, &fl) == 0;
    close(fd);
    return free;
}

// Whether a read lock on `path` could be taken now (nobody holds a write lock on it).
bool readable(const fs::path& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl{};
    fl.l_type = F_RDLCK;
    fl.l_whence = SEEK_SET;
    bool free = fcntl(fd, F_OFD_SETLK, &fl) == 0;
    close(fd);
    return free;
}

class VmContainerDisks : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (auto why = vm_unavailable_reason(false)) GTEST_SKIP() << *why;
        setenv("HULL_VM_CACHE", (base_ / "vm-cache").c_str(), 1);
        fs::create_directories(rootfs_ / "boot");
        fs::copy_file(HULL_TEST_GUEST_PVH, rootfs_ / "boot/guest.elf", fs::copy_options::overwrite_existing);
        spec_["process"]["terminal"] = false;
        spec_["root"]["readonly"] = false;
        spec_["annotations"] = {{"org.hull.isolation", "vm"},
                                {"org.hull.vm.kernel", "/boot/guest.elf"},
                                {"org.hull.vm.cmdline", "guest.mode=spin"}};
    }
    void TearDown() override {
        unsetenv("HULL_VM_CACHE");
        RuntimeTest::TearDown();
    }
};

TEST_F(VmContainerDisks, TheVmmHoldsItsImageAndDiskUntilDeleted) {
    std::string id = new_id();
    ProcResult c = create(id, base_ / "vm.out");
    ASSERT_TRUE(c.ok()) << c.describe();
    // `create` has returned: what holds the locks now is the VMM alone.
    std::vector<fs::path> images;
    for (const auto& e : fs::directory_iterator(base_ / "vm-cache")) images.push_back(e.path());
    ASSERT_EQ(images.size(), 1u) << "want one cached image";
    EXPECT_TRUE(images[0].filename().string().ends_with(".erofs")) << images[0];
    std::vector<fs::path> disks;
    for (const auto& e : fs::recursive_directory_iterator(root_))
        if (e.path().filename() == "vm-disk1.img") disks.push_back(e.path());
    ASSERT_EQ(disks.size(), 1u) << "want one writable disk under " << root_;

    EXPECT_FALSE(unlocked(images[0])) << "the VMM does not hold its rootfs image: a prune would remove it";
    EXPECT_TRUE(readable(images[0])) << "the rootfs image is write-locked: other VMs could not share it";
    EXPECT_FALSE(readable(disks[0])) << "the VMM does not hold its writable disk exclusively";

    ProcResult s = rt({"start", id});
    ASSERT_TRUE(s.ok()) << s.describe();
    EXPECT_FALSE(unlocked(images[0])) << "lost the image lock at start";
    ProcResult k = rt({"kill", id, "KILL"});
    EXPECT_TRUE(k.ok()) << k.describe();
    ASSERT_TRUE(wait_status(id, "stopped")) << status(id).value_or("unknown");
    // "stopped" can come while the VMM's other threads are still exiting: its descriptors (and
    // so the locks) go with the last of them.
    EXPECT_TRUE(poll_until([&] { return unlocked(images[0]); }, 10s)) << "the image stays locked after the VMM died";
    ProcResult d = rt({"delete", id});
    EXPECT_TRUE(d.ok()) << d.describe();
}

}  // namespace
}  // namespace hull::itest
