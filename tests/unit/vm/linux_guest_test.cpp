// The host side of booting a Linux image (runtime/vm/linux_guest.hpp): the newc cpio writer,
// read back by a real cpio (GNU cpio, or busybox's); module resolution over a module tree's
// modules.dep and modules.builtin; the spec -> guest process mapping; finding the guest init.
#include "runtime/vm/linux_guest.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hull::vm {
namespace {

namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/hull-linux-guest-XXXXXX";
        const char* p = ::mkdtemp(tmpl);
        EXPECT_NE(p, nullptr);
        path_ = p ? p : "";
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

void write(const std::string& path, const std::string& data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << data;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// GNU cpio where installed, else busybox's applet; empty when neither is.
std::vector<std::string> cpio_command() {
    for (const char* p : {"/usr/bin/cpio", "/bin/cpio"})
        if (::access(p, X_OK) == 0) return {p};
    for (const char* p : {"/usr/bin/busybox", "/bin/busybox"})
        if (::access(p, X_OK) == 0) return {p, "cpio"};
    return {};
}

// Runs cpio with `args` in `cwd`, the archive on stdin; returns its stdout and exit status.
std::pair<std::string, int> run_cpio(const std::vector<std::string>& args, const std::string& archive, const std::string& cwd) {
    std::vector<std::string> cmd = cpio_command();
    cmd.insert(cmd.end(), args.begin(), args.end());
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        int in = ::open(archive.c_str(), O_RDONLY);
        ::dup2(in, 0);
        ::dup2(out[1], 1);
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 2);
        if (::chdir(cwd.c_str()) != 0) ::_exit(126);
        std::vector<char*> argv;
        for (auto& a : cmd) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    return {text, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1};
}

TEST(CpioWriter, ArchiveReadsBackWithCpio) {
    if (cpio_command().empty()) GTEST_SKIP() << "no cpio and no busybox to read the archive back";
    TempDir t;
    std::string binary(70001, '\0');
    for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
    CpioWriter w;
    w.add_directory("dev");
    w.add_char_device("dev/console", 5, 1, 0600);
    w.add_directory("hull", 0750);
    w.add_file("hull/process.json", "{\"args\":[\"x\"]}", 0600);
    w.add_file("init", binary, 0755);
    w.add_file("empty", "", 0644);
    w.add_file("odd", "abc", 0644);  // data lengths that need padding
    w.add_symlink("sbin", "hull");
    std::string archive = w.finish();
    EXPECT_EQ(archive.size() % 4, 0u);
    EXPECT_EQ(archive.rfind("070701", 0), 0u);
    EXPECT_NE(archive.find("TRAILER!!!"), std::string::npos);
    std::string file = t.path() + "/a.cpio";
    write(file, archive);

    auto [list, rc] = run_cpio({"-t"}, file, t.path());
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(list, "dev\ndev/console\nhull\nhull/process.json\ninit\nempty\nodd\nsbin\n");

    std::string out = t.path() + "/out";
    fs::create_directory(out);
    auto [ignored, rc2] = run_cpio({"-i", "-d"}, file, out);
    EXPECT_EQ(rc2, 0);
    EXPECT_EQ(slurp(out + "/init"), binary);
    EXPECT_EQ(slurp(out + "/hull/process.json"), "{\"args\":[\"x\"]}");
    EXPECT_EQ(slurp(out + "/odd"), "abc");
    EXPECT_TRUE(fs::is_regular_file(out + "/empty"));
    EXPECT_EQ(fs::file_size(out + "/empty"), 0u);
    EXPECT_EQ(fs::read_symlink(out + "/sbin"), "hull");
    struct stat st;
    ASSERT_EQ(::stat((out + "/init").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    ASSERT_EQ(::stat((out + "/hull").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    if (::geteuid() == 0) {  // mknod needs root
        ASSERT_EQ(::lstat((out + "/dev/console").c_str(), &st), 0);
        EXPECT_TRUE(S_ISCHR(st.st_mode));
        EXPECT_EQ(major(st.st_rdev), 5u);
        EXPECT_EQ(minor(st.st_rdev), 1u);
    }
}

TEST(CpioWriter, FinishResetsTheWriter) {
    CpioWriter w;
    w.add_file("a", "1");
    std::string first = w.finish();
    w.add_file("a", "1");
    EXPECT_EQ(w.finish(), first);
    // The trailer alone: one 110-byte header, "TRAILER!!!\0" padded to 4.
    EXPECT_EQ(w.finish().size(), 124u);
}

class Modules : public ::testing::Test {
protected:
    void SetUp() override {
        write(t.path() + "/modules.dep",
              "kernel/drivers/virtio/virtio_ring.ko:\n"
              "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
              "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
              "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
              "kernel/lib/libcrc32c.ko:\n"
              "kernel/fs/erofs/erofs.ko.xz: kernel/lib/libcrc32c.ko\n"
              "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko\n"
              "kernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/lib/crc16.ko:\n"
              "kernel/crypto/crc32c-generic.ko:\n"
              "kernel/bad/dangling.ko: kernel/bad/missing.ko\n");
        write(t.path() + "/modules.builtin", "kernel/fs/overlayfs/overlay.ko\n");
    }
    TempDir t;
};

TEST_F(Modules, DependenciesFirstEachOnceBuiltinsSkipped) {
    std::vector<std::string> wanted = {"virtio_mmio", "virtio_blk", "crc32c_generic", "erofs", "overlay", "ext4"};
    auto order = resolve_modules(t.path(), wanted);
    ASSERT_TRUE(order) << order.error().message();
    EXPECT_EQ(*order, (std::vector<std::string>{
                          "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
                          "kernel/drivers/virtio/virtio_mmio.ko", "kernel/drivers/block/virtio_blk.ko",
                          "kernel/crypto/crc32c-generic.ko", "kernel/lib/libcrc32c.ko", "kernel/fs/erofs/erofs.ko.xz",
                          "kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko", "kernel/fs/ext4/ext4.ko"}));
}

TEST_F(Modules, UnknownModulesAreErrorsUnlessOptional) {
    std::vector<std::string> wanted = {"virtio_blk", "nosuch"};
    auto r = resolve_modules(t.path(), wanted);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "vm.modules `" + t.path() + "`: no module `nosuch` in modules.dep or modules.builtin");
    std::vector<std::string> optional = {"nosuch"};
    auto ok = resolve_modules(t.path(), wanted, optional);
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->size(), 3u);

    std::vector<std::string> dangling = {"dangling"};
    auto d = resolve_modules(t.path(), dangling);
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message().find("`kernel/bad/missing.ko` is a dependency but not in modules.dep"), std::string::npos);
}

TEST_F(Modules, NoModulesDepSaysRunDepmod) {
    TempDir empty;
    std::vector<std::string> wanted = {"virtio_blk"};
    auto r = resolve_modules(empty.path(), wanted);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("(run depmod for it)"), std::string::npos) << r.error().message();
}

TEST(GuestProcessFor, TakesProcessHostnameAndRoot) {
    auto spec = oci::parse_config(R"({
        "ociVersion": "1.0.2",
        "process": {"args": ["/bin/app", "-v"], "env": ["A=1"], "cwd": "/srv", "terminal": true,
                    "noNewPrivileges": true,
                    "user": {"uid": 10, "gid": 20, "additionalGids": [30, 40], "umask": 18},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]},
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "vmhost",
        "linux": {"namespaces": [{"type": "uts"}, {"type": "mount"}]}})");
    ASSERT_TRUE(spec) << spec.error().message();
    guest::GuestProcess p = guest_process_for(*spec);
    EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/app", "-v"}));
    EXPECT_EQ(p.env, (std::vector<std::string>{"A=1"}));
    EXPECT_EQ(p.cwd, "/srv");
    EXPECT_TRUE(p.terminal);
    EXPECT_TRUE(p.no_new_privileges);
    EXPECT_EQ(p.uid, 10u);
    EXPECT_EQ(p.gid, 20u);
    EXPECT_EQ(p.additional_gids, (std::vector<std::uint32_t>{30, 40}));
    EXPECT_EQ(p.umask, 18u);
    ASSERT_EQ(p.rlimits.size(), 1u);
    EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(p.rlimits[0].soft, 100u);
    EXPECT_EQ(p.rlimits[0].hard, 200u);
    EXPECT_EQ(p.hostname, "vmhost");
    EXPECT_TRUE(p.readonly_root);
    // What the host writes, the guest init reads.
    auto back = guest::parse_guest_process(guest::to_json(p));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->args, p.args);
}

// The file `name` in a newc archive (the first one of that name), from its header's size field.
std::string cpio_member(const std::string& archive, const std::string& name) {
    std::size_t at = archive.find(name + '\0');
    if (at == std::string::npos || at < 110) return {};
    // magic, ino, mode, uid, gid, nlink, mtime: 6 + 6 * 8 characters, then filesize.
    std::size_t size = std::stoul(archive.substr(at - 110 + 54, 8), nullptr, 16);
    std::size_t data = (at + name.size() + 1 + 3) / 4 * 4;
    return archive.substr(data, size);
}

TEST(PlanLinuxGuest, InitrdNamesTheControlChannelAndLoadsVirtioConsoleAfterTheTransport) {
    TempDir t;
    const std::string mods = t.path() + "/modules";
    write(mods + "/modules.dep",
          "kernel/drivers/virtio/virtio_ring.ko:\n"
          "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
          "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
          "kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
          "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n");
    write(mods + "/modules.builtin", "kernel/fs/erofs/erofs.ko\nkernel/fs/overlayfs/overlay.ko\n");
    for (const char* m : {"virtio/virtio_ring", "virtio/virtio", "virtio/virtio_mmio", "char/virtio_console", "block/virtio_blk"})
        write(mods + "/kernel/drivers/" + m + ".ko", std::string("module ") + m);
    write(t.path() + "/vmlinux", "a kernel");
    write(t.path() + "/init", "an init");
    ::chmod((t.path() + "/init").c_str(), 0755);
    write(t.path() + "/config.json",
          "{\"vm\": {\"kernel\": \"" + t.path() + "/vmlinux\", \"modules\": \"" + mods + "\"}}");
    fs::create_directories(t.path() + "/state");
    ::setenv("HULL_CONFIG", (t.path() + "/config.json").c_str(), 1);
    ::setenv("HULL_VM_CACHE", (t.path() + "/cache").c_str(), 1);
    ::setenv("HULL_GUEST_INIT", (t.path() + "/init").c_str(), 1);
    auto spec = oci::parse_config(R"({"ociVersion": "1.0.2", "process": {"args": ["/bin/app"], "cwd": "/"},
                                      "root": {"path": "rootfs", "readonly": true}})");
    ASSERT_TRUE(spec) << spec.error().message();
    auto g = plan_linux_guest(*spec, t.path() + "/state", /*writable_disk=*/false);
    ::unsetenv("HULL_CONFIG");
    ::unsetenv("HULL_VM_CACHE");
    ::unsetenv("HULL_GUEST_INIT");
    ASSERT_TRUE(g) << g.error().message();

    std::string initrd = slurp(g->initrd);
    EXPECT_EQ(cpio_member(initrd, "lib/modules/kernel/drivers/char/virtio_console.ko"), "module char/virtio_console");
    auto p = guest::parse_guest_process(cpio_member(initrd, "hull/process.json"));
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->control, "/dev/hvc1");
    EXPECT_EQ(p->modules, (std::vector<std::string>{"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
                                                    "kernel/drivers/virtio/virtio_mmio.ko",
                                                    "kernel/drivers/char/virtio_console.ko",
                                                    "kernel/drivers/block/virtio_blk.ko"}));

    // A kernel without virtio-console still gets its initrd: the guest init says the channel is
    // missing and the VMM stops the VM on SIGTERM & co. itself.
    write(mods + "/modules.dep",
          "kernel/drivers/virtio/virtio_ring.ko:\n"
          "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
          "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
          "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n");
    fs::remove(g->initrd);
    ::setenv("HULL_CONFIG", (t.path() + "/config.json").c_str(), 1);
    ::setenv("HULL_VM_CACHE", (t.path() + "/cache").c_str(), 1);
    ::setenv("HULL_GUEST_INIT", (t.path() + "/init").c_str(), 1);
    auto without = plan_linux_guest(*spec, t.path() + "/state", false);
    ::unsetenv("HULL_CONFIG");
    ::unsetenv("HULL_VM_CACHE");
    ::unsetenv("HULL_GUEST_INIT");
    ASSERT_TRUE(without) << without.error().message();
    auto q = guest::parse_guest_process(cpio_member(slurp(without->initrd), "hull/process.json"));
    ASSERT_TRUE(q) << q.error();
    EXPECT_EQ(q->modules.size(), 4u);
    EXPECT_EQ(q->control, "/dev/hvc1");
}

TEST(FindGuestInit, EnvironmentThenBesideTheBinary) {
    TempDir t;
    std::string exe = t.path() + "/init";
    write(exe, "#!/bin/sh\n");
    ::chmod(exe.c_str(), 0644);
    ::setenv("HULL_GUEST_INIT", exe.c_str(), 1);
    auto r = find_guest_init();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "vm isolation of a linux image needs hull's guest init: $HULL_GUEST_INIT names `" + exe +
                                       "`, which is not an executable file");
    ::chmod(exe.c_str(), 0755);
    r = find_guest_init();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, exe);
    ::unsetenv("HULL_GUEST_INIT");

    // The build puts hull-guest-init in bin/, beside this test binary (and hull).
    std::string self = fs::read_symlink("/proc/self/exe").parent_path();
    r = find_guest_init();
    if (fs::exists(self + "/hull-guest-init")) {
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(*r, self + "/hull-guest-init");
    } else {
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message().find("needs hull's guest init"), std::string::npos);
    }
}

}  // namespace
}  // namespace hull::vm
