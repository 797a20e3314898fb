// plan_rootfs (options, validation, JSON-path errors) without privileges, and, as root, the
// whole init-side sequence (prepare_rootfs, enter_rootfs, finalize_rootfs) run in a forked child
// inside a mount namespace of its own, checked from inside the container it built. Nothing is
// ever mounted in the test's own mount namespace.
#include "runtime/linux/mounts.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/linux/rootfs_mountinfo.hpp"
#include "runtime/linux/rootfs_plan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>

namespace hull::runtime::linux {
namespace {

constexpr long kMqueueMagic = 0x19800202;  // ipc/mqueue.c; not in <linux/magic.h>

// --- building specs --------------------------------------------------------------------------

oci::Mount mnt(std::string dest, std::string type, std::string source, std::vector<std::string> options = {}) {
    oci::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(options);
    return m;
}

oci::Spec spec_with(std::vector<oci::Mount> mounts) {
    oci::Spec s;
    s.root.path = "rootfs";
    s.mounts = std::move(mounts);
    s.linux.emplace();
    return s;
}

RootfsFacts facts(std::string rootfs = "/run/bundle/rootfs") {
    RootfsFacts f;
    f.rootfs = std::move(rootfs);
    f.bundle = "/run/bundle";
    return f;
}

std::string plan_error(const oci::Spec& spec, const RootfsFacts& f = facts()) {
    auto r = plan_rootfs(spec, f);
    EXPECT_FALSE(r);
    return r ? "" : r.error().message();
}

MountPlanPtr plan_ok(const oci::Spec& spec, const RootfsFacts& f = facts()) {
    auto r = plan_rootfs(spec, f);
    EXPECT_TRUE(r) << r.error().message();
    return r ? std::move(*r) : nullptr;
}

// --- plan --------------------------------------------------------------------------------------

TEST(PlanRootfs, KindsDestinationsAndSources) {
    auto p = plan_ok(spec_with({
        mnt("/proc", "proc", "proc"),
        mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mnt("/dev/pts", "devpts", "devpts", {"newinstance", "ptmxmode=0666"}),
        mnt("/dev/mqueue", "mqueue", "mqueue"),
        mnt("/sys", "sysfs", "sysfs", {"ro"}),
        mnt("/sys/fs/cgroup", "cgroup", "cgroup", {"ro"}),
        mnt("data//x/../y/", "bind", "volumes/v1", {"rbind", "ro"}),
        mnt("/etc/hosts", "", "/host/hosts", {"bind"}),
        mnt("/mnt", "overlay", "", {"lowerdir=/a"}),
    }));
    ASSERT_TRUE(p);
    ASSERT_EQ(p->mounts.size(), 9u);
    const MountKind kinds[] = {MountKind::proc,   MountKind::tmpfs, MountKind::devpts,
                               MountKind::mqueue, MountKind::sysfs, MountKind::cgroup,
                               MountKind::bind,   MountKind::bind,  MountKind::other};
    for (size_t i = 0; i < 9; ++i) {
        EXPECT_EQ(p->mounts[i].kind, kinds[i]) << i;
        EXPECT_EQ(p->mounts[i].index, i);
    }
    EXPECT_EQ(p->mounts[1].opts.data, "mode=755,size=65536k");
    EXPECT_EQ(p->mounts[1].type, "tmpfs");
    // A relative destination is relative to "/"; a relative bind source to the bundle.
    EXPECT_EQ(p->mounts[6].destination, "/data/y");
    EXPECT_EQ(p->mounts[6].source, "/run/bundle/volumes/v1");
    EXPECT_TRUE(p->mounts[6].opts.recursive());
    EXPECT_EQ(p->mounts[7].source, "/host/hosts");
    EXPECT_EQ(p->mounts[8].source, "overlay");  // no source: the type, as mount(8) shows it
    EXPECT_TRUE(p->setup_dev);
    EXPECT_EQ(p->root_propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(p->pivot_propagation, 0u);
    EXPECT_EQ(p->devices.size(), 6u);  // the defaults
}

TEST(PlanRootfs, DevBindSkipsDeviceSetup) {
    auto p = plan_ok(spec_with({mnt("/dev/", "bind", "/dev", {"rbind"})}));
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->setup_dev);
    auto q = plan_ok(spec_with({mnt("/dev", "tmpfs", "tmpfs")}));
    ASSERT_TRUE(q);
    EXPECT_TRUE(q->setup_dev);
}

TEST(PlanRootfs, RootfsPropagation) {
    auto s = spec_with({});
    s.linux->rootfs_propagation = oci::Propagation::shared;
    auto p = plan_ok(s);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->root_propagation, static_cast<unsigned long>(MS_SHARED));
    EXPECT_EQ(p->pivot_propagation, static_cast<unsigned long>(MS_SHARED));

    s.linux->rootfs_propagation = oci::Propagation::rprivate;
    p = plan_ok(s);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->root_propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
    EXPECT_EQ(p->pivot_propagation, 0u);

    s.linux->rootfs_propagation = oci::Propagation::unbindable;
    p = plan_ok(s);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->pivot_propagation, static_cast<unsigned long>(MS_UNBINDABLE));
}

TEST(PlanRootfs, MaskedAndReadonlyPaths) {
    auto s = spec_with({});
    s.linux->masked_paths = {"/proc/kcore", "/proc//acpi/"};
    s.linux->readonly_paths = {"/proc/sys"};
    s.root.readonly = true;
    auto p = plan_ok(s);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->masked_paths, (std::vector<std::string>{"/proc/kcore", "/proc/acpi"}));
    EXPECT_EQ(p->readonly_paths, (std::vector<std::string>{"/proc/sys"}));
    EXPECT_TRUE(p->readonly_root);

    s.linux->masked_paths = {"/a", "proc/kcore"};
    EXPECT_EQ(plan_error(s), ".linux.maskedPaths[1]: `proc/kcore` is not an absolute path");
    s.linux->masked_paths.clear();
    s.linux->readonly_paths = {""};
    EXPECT_EQ(plan_error(s), ".linux.readonlyPaths[0]: `` is not an absolute path");
}

TEST(PlanRootfs, MountErrorsNameTheJsonPath) {
    EXPECT_EQ(plan_error(spec_with({mnt("/proc", "proc", "proc"), mnt("", "tmpfs", "tmpfs")})),
              ".mounts[1].destination: required");
    EXPECT_EQ(plan_error(spec_with({mnt("/x", "bind", "", {"rbind"})})),
              ".mounts[0].source: a bind mount needs a source");
    EXPECT_EQ(plan_error(spec_with({mnt("/x", "", "something")})),
              ".mounts[0].type: required for a mount that is not a bind mount");
    EXPECT_EQ(plan_error(spec_with({mnt("/a", "tmpfs", "tmpfs"), mnt("/b", "tmpfs", "tmpfs"), mnt("/c", "tmpfs", "t"),
                                    mnt("/x", "tmpfs", "tmpfs", {"nosiud", ""})})),
              ".mounts[3].options[1]: empty mount option");
    EXPECT_EQ(plan_error(spec_with({mnt("/x", "proc", "proc", {"ro", ""})})),
              ".mounts[0].options[1]: empty mount option");
    EXPECT_EQ(plan_error(spec_with({mnt("/x", "devpts", "devpts", {"tmpcopyup"})})),
              ".mounts[0].options: `tmpcopyup` applies only to tmpfs mounts");
    EXPECT_EQ(plan_error(spec_with({mnt("/proc", "tmpfs", "tmpfs")})),
              ".mounts[0].destination: only a proc filesystem may be mounted on `/proc`");
    EXPECT_EQ(plan_error(spec_with({mnt("/proc/sys/kernel", "bind", "/tmp", {"bind"})})),
              ".mounts[0].destination: `/proc/sys/kernel` is inside `/proc`");
    EXPECT_EQ(plan_error(spec_with({mnt("/proc/../proc/kcore", "tmpfs", "tmpfs")})),
              ".mounts[0].destination: `/proc/kcore` is inside `/proc`");
    // lxcfs-style files may be bound.
    EXPECT_TRUE(plan_rootfs(spec_with({mnt("/proc/meminfo", "bind", "/var/lib/lxcfs/proc/meminfo", {"bind"})}), facts()));
    EXPECT_EQ(plan_error(spec_with({}), facts("rootfs")), ".root.path: the rootfs must be an absolute path, not `rootfs`");
}

TEST(PlanRootfs, DeviceErrorsComeThrough) {
    auto s = spec_with({});
    oci::Device d;
    d.path = "/dev/x";
    d.type = 'q';
    s.linux->devices.push_back(d);
    EXPECT_EQ(plan_error(s), ".linux.devices[0].type: unknown device type `q`");
}

TEST(PlanRootfs, Idmap) {
    auto m = mnt("/data", "bind", "/src", {"rbind", "ridmap"});
    EXPECT_EQ(plan_error(spec_with({m})),
              ".mounts[0].options: an idmapped mount without uidMappings and gidMappings takes the container's, "
              "and it has none");
    auto s = spec_with({m});
    s.linux->uid_mappings = {{0, 100000, 65536}};
    s.linux->gid_mappings = {{0, 100000, 65536}};
    auto p = plan_ok(s);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->mounts[0].opts.idmap, IdmapMode::recursive);
    EXPECT_EQ(p->container_uid_mappings.size(), 1u);

    auto with_maps = mnt("/data", "bind", "/src", {"bind"});
    with_maps.uid_mappings = {{0, 1000, 1}};
    EXPECT_EQ(plan_error(spec_with({with_maps})), ".mounts[0].gidMappings: required with uidMappings");
    with_maps.gid_mappings = {{0, 1000, 0}};
    EXPECT_EQ(plan_error(spec_with({with_maps})), ".mounts[0].gidMappings[0].size: must not be 0");
    with_maps.gid_mappings = {{0, 1000, 1}};
    p = plan_ok(spec_with({with_maps}));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->mounts[0].opts.idmap, IdmapMode::top);  // mappings alone ask for it

    auto not_bind = mnt("/data", "tmpfs", "tmpfs", {"idmap"});
    EXPECT_EQ(plan_error(spec_with({not_bind})),
              ".mounts[0].options: idmapped mounts (`idmap`, `ridmap`, uidMappings) are only supported for bind "
              "mounts");
}

TEST(PlanRootfs, SharingTheRuntimeMountNamespace) {
    auto f = facts();
    f.new_mount_ns = false;
    auto p = plan_ok(spec_with({}), f);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->setup_dev);
    // Nothing may be mounted in the runtime's namespace: what the spec asks of the filesystem
    // is dropped (with a warning), the init only chroots.
    auto s = spec_with({mnt("/proc", "proc", "proc")});
    s.root.readonly = true;
    s.linux->masked_paths = {"/proc/kcore"};
    auto dropped = plan_ok(s, f);
    ASSERT_TRUE(dropped);
    EXPECT_TRUE(dropped->mounts.empty());
    EXPECT_TRUE(dropped->masked_paths.empty());
    EXPECT_FALSE(dropped->readonly_root);
}

// --- end to end, as root, in a child's own mount namespace -------------------------------------

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/hull-rootfs-XXXXXX";
        if (::mkdtemp(tmpl)) path_ = tmpl;
    }
    ~TempDir() {
        if (!path_.empty()) (void)fs::remove_tree(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(std::string_view rel) const { return fs::join(path_, rel); }

private:
    std::string path_;
};

// Failed checks, collected in the child and sent to the parent as text.
class Checks {
public:
    void check(bool ok, const std::string& what) {
        if (!ok) out_ += what + "\n";
    }
    void status(const Status& s, const std::string& what) {
        if (!s) out_ += cat(what, ": ", s.error().message(), "\n");
    }
    const std::string& text() const { return out_; }

private:
    std::string out_;
};

// Runs `body` in a forked child after unshare(`ns_flags`), with a time limit; returns what it
// reported (empty when every check passed) or a description of how it died.
std::string run_in_child(int ns_flags, const std::function<void(Checks&)>& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return "pipe failed";
    pid_t pid = ::fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        ::close(p[0]);
        ::alarm(60);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        Checks c;
        if (::unshare(ns_flags) < 0) c.check(false, cat("unshare: ", std::strerror(errno)));
        else body(c);
        std::string out = c.text().empty() ? "OK" : c.text();
        (void)fs::write_fd(FdRef(p[1]), out);
        ::_exit(0);
    }
    ::close(p[1]);
    UniqueFd rd(p[0]);
    auto text = fs::read_fd(rd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return cat("child died (status ", status, "): ", text ? *text : "");
    if (!text || text->empty()) return "child reported nothing";
    return *text == "OK" ? "" : *text;
}

bool have_root_and_mount_ns() {
    if (::geteuid() != 0) return false;
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(::unshare(CLONE_NEWNS) == 0 ? 0 : 1);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

std::set<std::string> list(const std::string& dir) {
    std::set<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(d))
            if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") out.insert(e->d_name);
        ::closedir(d);
    }
    return out;
}

long fs_type(const std::string& p) {
    struct statfs s;
    return ::statfs(p.c_str(), &s) == 0 ? static_cast<long>(s.f_type) : -1;
}

unsigned long vfs_flags(const std::string& p) {
    struct statvfs s;
    return ::statvfs(p.c_str(), &s) == 0 ? s.f_flag : ~0UL;
}

std::string read_text(const std::string& p) {
    auto r = fs::read_file(p);
    return r ? *r : cat("<", r.error().message(), ">");
}

std::string link_of(const std::string& p) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

bool is_char(const std::string& p, unsigned major_, unsigned minor_, mode_t mode = 0) {
    struct stat st;
    if (::stat(p.c_str(), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(major_, minor_)) return false;
    return mode == 0 || (st.st_mode & 07777) == mode;
}

bool host_mounts_mention(const std::string& dir) {
    auto mi = read_mountinfo();
    if (!mi) return true;
    for (const auto& m : *mi)
        if (m.mount_point.find(dir) != std::string::npos) return true;
    return false;
}

class RootfsE2E : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_root_and_mount_ns()) GTEST_SKIP() << "needs root and mount namespaces";
        ASSERT_FALSE(tmp_.path().empty());
        rootfs_ = tmp_ / "rootfs";
        host_ = tmp_ / "host";
        for (auto d : {"rootfs/proc", "rootfs/sys", "rootfs/etc/sub", "rootfs/dev", "host", "bindsrc"})
            ASSERT_TRUE(fs::mkdir_p(tmp_ / d));
        put("host/keep", "k");
        put("bindsrc/content", "from the host");
        put("bindfile", "a file");
        put("rootfs/etc/marker", "hello");
        put("rootfs/etc/sub/inner", "inner");
        ASSERT_EQ(::chmod((tmp_ / "rootfs/etc/sub").c_str(), 0710), 0);
        ASSERT_EQ(::symlink("marker", (tmp_ / "rootfs/etc/link").c_str()), 0);
        // Hostile links: an absolute one naming the host directory, a relative one out of the rootfs.
        ASSERT_EQ(::symlink(host_.c_str(), (tmp_ / "rootfs/evil").c_str()), 0);
        ASSERT_EQ(::symlink("../host", (tmp_ / "rootfs/up").c_str()), 0);
        // And /dev/null in the image pointing at something sensitive.
        ASSERT_EQ(::symlink("/proc/sys/kernel/core_pattern", (tmp_ / "rootfs/dev/null").c_str()), 0);
    }

    void TearDown() override {
        if (rootfs_.empty()) return;
        EXPECT_EQ(list(host_), std::set<std::string>{"keep"}) << "the host directory was touched";
        EXPECT_FALSE(host_mounts_mention(tmp_.path())) << "a mount leaked into the test's namespace";
    }

    void put(const char* rel, std::string_view data) {
        ASSERT_TRUE(fs::write_file(tmp_ / rel, data, O_WRONLY | O_CREAT | O_TRUNC));
    }

    RootfsFacts make_facts() {
        RootfsFacts f;
        f.rootfs = rootfs_;
        f.bundle = tmp_.path();
        return f;
    }

    TempDir tmp_;
    std::string rootfs_, host_;
};

TEST_F(RootfsE2E, FullSequence) {
    auto s = spec_with({
        mnt("/proc", "proc", "proc"),
        mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mnt("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
        mnt("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
        mnt("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mnt("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mnt("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
        mnt("/evil/data", "bind", tmp_ / "bindsrc", {"rbind", "ro", "nosuid"}),
        mnt("/up/scratch", "tmpfs", "tmpfs", {"rro"}),
        mnt("/etc", "tmpfs", "tmpfs", {"tmpcopyup"}),
        mnt("/bindfile", "bind", "bindfile", {"bind", "ro"}),
    });
    s.root.readonly = true;
    s.linux->masked_paths = {"/proc/kcore", "/proc/timer_list", "/proc/does-not-exist", "/proc/driver"};
    s.linux->readonly_paths = {"/proc/sys", "/proc/sysrq-trigger"};
    oci::Device d;
    d.path = "/dev/hull-null";
    d.major = 1;
    d.minor = 3;
    d.file_mode = 0620;
    d.uid = 1;
    d.gid = 2;
    s.linux->devices.push_back(d);
    d = {};
    d.path = "/dev/hull-fifo";
    d.type = 'p';
    s.linux->devices.push_back(d);
    auto plan = plan_ok(s, make_facts());
    ASSERT_TRUE(plan);
    const bool driver_exists = ::access("/proc/driver", F_OK) == 0;
    const bool kcore_exists = ::access("/proc/kcore", F_OK) == 0;  // CONFIG_PROC_KCORE
    const std::string host = host_;

    std::string report = run_in_child(CLONE_NEWNS, [&](Checks& c) {
        auto r = prepare_rootfs(*plan);
        c.status(r, "prepare_rootfs");
        if (!r) return;
        r = enter_rootfs(*plan);
        c.status(r, "enter_rootfs");
        if (!r) return;
        // Between the pivot and the masking, something replaces the container's /dev/null
        // with a link to a host-sensitive file (CVE-2025-31133): masking must not care.
        ::unlink("/dev/null");
        c.check(::symlink("/proc/sys/kernel/core_pattern", "/dev/null") == 0, "plant the /dev/null link");
        // The console: a pty of the container's devpts, bound over /dev/console.
        int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        c.check(master >= 0, "open /dev/ptmx");
        char slave[64] = "";
        if (master >= 0) {
            c.check(::unlockpt(master) == 0 && ::ptsname_r(master, slave, sizeof slave) == 0, "ptsname");
            c.status(mount_console(slave), "mount_console");
        }
        r = finalize_rootfs(*plan);
        c.status(r, "finalize_rootfs");
        if (!r) return;

        char cwd[PATH_MAX];
        c.check(::getcwd(cwd, sizeof cwd) && std::string(cwd) == "/", "cwd is /");
        c.check(vfs_flags("/") & ST_RDONLY, "/ is read-only");
        c.check(::mkdir("/newdir", 0755) < 0 && errno == EROFS, "mkdir in / fails with EROFS");
        c.check(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc is procfs");
        c.check(fs_type("/dev") == TMPFS_MAGIC, "/dev is a tmpfs");
        c.check(!(vfs_flags("/dev") & ST_RDONLY) && (vfs_flags("/dev") & ST_NOSUID), "/dev is rw,nosuid");
        c.check(fs_type("/dev/pts") == DEVPTS_SUPER_MAGIC, "/dev/pts is devpts");
        c.check(fs_type("/dev/mqueue") == kMqueueMagic, "/dev/mqueue is mqueue");
        struct stat st;
        c.check(::stat("/dev/shm", &st) == 0 && (st.st_mode & 07777) == 01777, "/dev/shm mode 1777");
        c.check(fs_type("/sys") == SYSFS_MAGIC && (vfs_flags("/sys") & ST_RDONLY), "/sys is sysfs, read-only");
        c.check(fs_type("/sys/fs/cgroup") == TMPFS_MAGIC || fs_type("/sys/fs/cgroup") == CGROUP2_SUPER_MAGIC,
                "/sys/fs/cgroup is a tmpfs (v1) or cgroup2");
        c.check(vfs_flags("/sys/fs/cgroup") & ST_RDONLY, "/sys/fs/cgroup is read-only");
        if (fs_type("/sys/fs/cgroup") == TMPFS_MAGIC) {
            for (const auto& h : list("/sys/fs/cgroup")) {
                std::string p = "/sys/fs/cgroup/" + h;
                long t = fs_type(p);
                c.check(t == CGROUP_SUPER_MAGIC || t == CGROUP2_SUPER_MAGIC, p + " is a cgroup hierarchy");
                c.check(vfs_flags(p) & ST_RDONLY, p + " is read-only");
            }
            c.check(!list("/sys/fs/cgroup").empty(), "/sys/fs/cgroup has hierarchies");
        }

        // Devices.
        c.check(is_char("/dev/zero", 1, 5, 0666) && is_char("/dev/full", 1, 7, 0666) &&
                    is_char("/dev/random", 1, 8, 0666) && is_char("/dev/urandom", 1, 9, 0666) &&
                    is_char("/dev/tty", 5, 0, 0666),
                "default devices, mode 0666");
        c.check(is_char("/dev/hull-null", 1, 3, 0620) && ::stat("/dev/hull-null", &st) == 0 && st.st_uid == 1 &&
                    st.st_gid == 2,
                "linux.devices node, mode and owner");
        c.check(::stat("/dev/hull-fifo", &st) == 0 && S_ISFIFO(st.st_mode), "linux.devices fifo");
        c.check(link_of("/dev/ptmx") == "pts/ptmx", "/dev/ptmx -> pts/ptmx");
        c.check(link_of("/dev/fd") == "/proc/self/fd" && link_of("/dev/stdin") == "/proc/self/fd/0" &&
                    link_of("/dev/stdout") == "/proc/self/fd/1" && link_of("/dev/stderr") == "/proc/self/fd/2",
                "/dev symlinks");
        struct stat slave_st, console_st;
        c.check(slave[0] && ::stat(slave, &slave_st) == 0 && ::stat("/dev/console", &console_st) == 0 &&
                    console_st.st_rdev == slave_st.st_rdev,
                "/dev/console is the pty slave");

        // The bind through the absolute host link landed inside the rootfs, read-only, nosuid.
        std::string data = host + "/data";
        c.check(read_text(data + "/content") == "from the host", "bind contents at " + data);
        c.check((vfs_flags(data) & ST_RDONLY) && (vfs_flags(data) & ST_NOSUID), data + " is ro,nosuid");
        c.check(::open((data + "/new").c_str(), O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "bind is read-only");
        // The tmpfs through the relative link out, inside too, with rro applied after all.
        c.check(fs_type("/host/scratch") == TMPFS_MAGIC, "/up/scratch landed on /host/scratch");
        c.check(vfs_flags("/host/scratch") & ST_RDONLY, "rro tmpfs read-only in the end");
        // tmpcopyup.
        c.check(fs_type("/etc") == TMPFS_MAGIC, "/etc is a tmpfs");
        c.check(read_text("/etc/marker") == "hello" && read_text("/etc/sub/inner") == "inner", "tmpcopyup copied");
        c.check(link_of("/etc/link") == "marker", "tmpcopyup kept the symlink");
        c.check(::stat("/etc/sub", &st) == 0 && (st.st_mode & 07777) == 0710, "tmpcopyup kept the mode");
        // A file bind with a relative source.
        c.check(read_text("/bindfile") == "a file" && (vfs_flags("/bindfile") & ST_RDONLY), "file bind, ro");

        // Masked and readonly paths.
        if (kcore_exists) c.check(is_char("/proc/kcore", 1, 3), "/proc/kcore masked by the null device");
        c.check(is_char("/proc/timer_list", 1, 3), "/proc/timer_list masked by the null device");
        c.check(read_text("/proc/timer_list").empty(), "/proc/timer_list reads empty");
        c.check(::access("/proc/does-not-exist", F_OK) < 0, "missing masked path skipped");
        if (driver_exists) {
            c.check(fs_type("/proc/driver") == TMPFS_MAGIC && (vfs_flags("/proc/driver") & ST_RDONLY) &&
                        list("/proc/driver").empty(),
                    "/proc/driver masked by an empty read-only tmpfs");
        }
        c.check(vfs_flags("/proc/sys") & ST_RDONLY, "/proc/sys read-only");
        c.check(vfs_flags("/proc/sys/kernel") & ST_RDONLY, "/proc/sys read-only all the way down");
        c.check(vfs_flags("/proc/sysrq-trigger") & ST_RDONLY, "/proc/sysrq-trigger read-only");
        c.check(!(vfs_flags("/proc") & ST_RDONLY), "/proc itself stays writable");

        // Nothing of the host's mount table is left.
        auto mi = read_mountinfo();
        c.check(bool(mi), "read mountinfo");
        if (mi) {
            std::set<std::string> points;
            for (const auto& m : *mi) points.insert(m.mount_point);
            for (const char* p : {"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc",
                                  "/bindfile", "/proc/timer_list", "/proc/sys", "/dev/console", "/host/scratch"})
                c.check(points.count(p) == 1 || (std::string(p) == "/proc/sys" && points.count(p) >= 1),
                        cat("mountinfo has ", p));
            c.check(points.count(data) == 1, "mountinfo has " + data);
            c.check(points.count(host) == 0 && points.count("/tmp") == 0, "no host mount points");
        }
    });
    EXPECT_EQ(report, "");

    // The mounts went inside: their mount points were created in the rootfs.
    struct stat st;
    EXPECT_EQ(::stat((rootfs_ + host_ + "/data").c_str(), &st), 0);
    EXPECT_EQ(::stat((rootfs_ + "/host/scratch").c_str(), &st), 0);
    // The image's own /etc is untouched by tmpcopyup.
    EXPECT_EQ(read_text(rootfs_ + "/etc/marker"), "hello");
}

TEST_F(RootfsE2E, NoPivot) {
    auto s = spec_with({mnt("/proc", "proc", "proc"), mnt("/dev", "tmpfs", "tmpfs", {"mode=755"})});
    s.linux->masked_paths = {"/proc/kcore", "/proc/timer_list"};
    auto f = make_facts();
    f.no_pivot = true;
    auto plan = plan_ok(s, f);
    ASSERT_TRUE(plan);
    std::string report = run_in_child(CLONE_NEWNS, [&](Checks& c) {
        for (auto step : {prepare_rootfs, enter_rootfs, finalize_rootfs}) {
            auto r = step(*plan);
            c.status(r, "rootfs step");
            if (!r) return;
        }
        c.check(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc is procfs");
        c.check(is_char("/dev/null", 1, 3, 0666), "/dev/null");
        c.check(is_char("/proc/timer_list", 1, 3), "/proc/timer_list masked");
        c.check(::access("/etc/marker", F_OK) == 0, "inside the rootfs");
    });
    EXPECT_EQ(report, "");
}

TEST_F(RootfsE2E, ErrorsNameTheMount) {
    auto s = spec_with({mnt("/proc", "proc", "proc"), mnt("/data", "bind", tmp_ / "missing", {"rbind"})});
    auto plan = plan_ok(s, make_facts());
    ASSERT_TRUE(plan);
    std::string report = run_in_child(CLONE_NEWNS, [&](Checks& c) {
        auto r = prepare_rootfs(*plan);
        c.check(!r, "prepare_rootfs fails");
        if (!r)
            c.check(r.error().message() ==
                        cat("mount ", q(tmp_ / "missing"), " on `/data`: open_tree: no such file or directory"),
                    "message: " + r.error().message());
    });
    EXPECT_EQ(report, "");

    // A proc mount target that is a symlink in the image.
    ASSERT_EQ(::rmdir((rootfs_ + "/proc").c_str()), 0);
    ASSERT_EQ(::symlink("/etc", (rootfs_ + "/proc").c_str()), 0);
    plan = plan_ok(spec_with({mnt("/proc", "proc", "proc")}), make_facts());
    ASSERT_TRUE(plan);
    report = run_in_child(CLONE_NEWNS, [&](Checks& c) {
        auto r = prepare_rootfs(*plan);
        c.check(!r && r.error().message() ==
                          "mount `proc` on `/proc`: `proc` must be mounted on an ordinary directory, and `/proc` is "
                          "not one: not a directory",
                r ? "prepare_rootfs succeeded" : "message: " + r.error().message());
    });
    EXPECT_EQ(report, "");
}

TEST_F(RootfsE2E, IdmappedBind) {
    // As in runc and crun, a mount's mappings are written into a user namespace as they are
    // ("containerID hostID size"), and the kernel shows an id of the source filesystem that is
    // a containerID as its hostID: here on-disk 0 shows as 1000; on-disk 1000 is unmapped.
    ASSERT_TRUE(fs::mkdir_p(tmp_ / "idsrc"));
    put("idsrc/root-owned", "x");
    put("idsrc/user-owned", "x");
    ASSERT_EQ(::chown((tmp_ / "idsrc/user-owned").c_str(), 1000, 1000), 0);
    auto m = mnt("/idmapped", "bind", tmp_ / "idsrc", {"bind", "idmap", "ro"});
    m.uid_mappings = {{0, 1000, 1}};
    m.gid_mappings = {{0, 1000, 1}};
    auto plan = plan_ok(spec_with({m}), make_facts());
    ASSERT_TRUE(plan);
    // The parent-side preparation, as the runtime does it before forking the init.
    auto prep = prepare_idmapped_sources(*plan);
    if (!prep && (prep.error().code() == EINVAL || prep.error().code() == ENOSYS))
        GTEST_SKIP() << "no idmapped mounts here: " << prep.error().message();
    ASSERT_TRUE(prep) << prep.error().message();
    std::string report = run_in_child(CLONE_NEWNS, [&](Checks& c) {
        for (auto step : {prepare_rootfs, enter_rootfs, finalize_rootfs}) {
            auto r = step(*plan);
            c.status(r, "rootfs step");
            if (!r) return;
        }
        struct stat st = {};
        c.check(::stat("/idmapped/root-owned", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000,
                cat("on-disk 0:0 shows as 1000:1000 (got ", st.st_uid, ":", st.st_gid, ")"));
        c.check(::stat("/idmapped/user-owned", &st) == 0 && st.st_uid == 65534,
                cat("on-disk 1000 is unmapped (got ", st.st_uid, ")"));
        c.check(vfs_flags("/idmapped") & ST_RDONLY, "idmapped bind is read-only");
    });
    EXPECT_EQ(report, "");
    struct stat st;
    ASSERT_EQ(::stat((tmp_ / "idsrc/user-owned").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
}

// The cgroup2 path, whatever the host: the child first makes its own view a unified one by
// mounting cgroup2 over /sys/fs/cgroup (in its namespace only, made rslave beforehand).
TEST_F(RootfsE2E, CgroupOnAUnifiedView) {
    auto s = spec_with({mnt("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
                        mnt("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"})});
    auto plan = plan_ok(s, make_facts());
    ASSERT_TRUE(plan);
    std::string report = run_in_child(CLONE_NEWNS, [&](Checks& c) {
        c.check(::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) == 0, "rslave");
        if (fs_type("/sys/fs/cgroup") != CGROUP2_SUPER_MAGIC)
            c.check(::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, nullptr) == 0, "mount cgroup2 for the view");
        if (!c.text().empty()) return;
        for (auto step : {prepare_rootfs, enter_rootfs, finalize_rootfs}) {
            auto r = step(*plan);
            c.status(r, "rootfs step");
            if (!r) return;
        }
        c.check(fs_type("/sys/fs/cgroup") == CGROUP2_SUPER_MAGIC, "/sys/fs/cgroup is cgroup2");
        unsigned long f = vfs_flags("/sys/fs/cgroup");
        c.check((f & ST_RDONLY) && (f & ST_NOSUID) && (f & ST_NODEV) && (f & ST_NOEXEC), "ro,nosuid,nodev,noexec");
        c.check(::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0, "a cgroup2 hierarchy");
    });
    EXPECT_EQ(report, "");
}

// In a user namespace (mapped 0 -> 0), with a pid namespace so proc can be mounted: devices are
// bound from the host, sysfs falls back to a bind of /sys, and a bind of a mount whose nosuid
// and nodev are locked keeps them while going read-only.
// With `unified_view`, /sys/fs/cgroup is a cgroup2 mount in the child's view first: cgroup2
// cannot be mounted from the user namespace (no cgroup namespace), so the host's is bound.
void user_namespace_test(const TempDir& tmp, const RootfsFacts& base_facts, bool unified_view) {
    ASSERT_TRUE(fs::mkdir_p(tmp / "locked"));
    auto s = spec_with({
        mnt("/proc", "proc", "proc"),
        mnt("/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755"}),
        mnt("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mnt("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
        mnt("/locked", "bind", tmp / "locked", {"bind", "ro"}),
    });
    s.linux->masked_paths = {"/proc/kcore", "/proc/timer_list"};
    auto f = base_facts;
    f.user_ns = true;
    auto plan = plan_ok(s, f);
    ASSERT_TRUE(plan);
    const std::string locked = tmp / "locked";

    int go[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::alarm(60);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(go[1]);
        ::close(out[0]);
        auto fail_with = [&](const std::string& msg) {
            (void)fs::write_fd(FdRef(out[1]), msg);
            ::_exit(0);
        };
        // A nosuid,nodev mount made while privileged: in the user namespace's copy it is locked.
        if (::unshare(CLONE_NEWNS) < 0) fail_with("unshare mount ns");
        if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) fail_with("rslave");
        if (::mount("tmpfs", locked.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0) fail_with("tmpfs");
        if (unified_view && fs_type("/sys/fs/cgroup") != CGROUP2_SUPER_MAGIC &&
            ::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, nullptr) < 0)
            fail_with("cgroup2 view");
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0) fail_with("unshare userns");
        char c;
        if (::read(go[0], &c, 1) != 1) fail_with("no go");
        pid_t init = ::fork();
        if (init == 0) {
            Checks ch;
            for (auto step : {prepare_rootfs, enter_rootfs, finalize_rootfs}) {
                auto r = step(*plan);
                ch.status(r, "rootfs step");
                if (!r) break;
            }
            if (ch.text().empty()) {
                ch.check(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc is procfs");
                ch.check(is_char("/dev/null", 1, 3) && is_char("/dev/tty", 5, 0), "devices bound from the host");
                ch.check(fs_type("/sys") == SYSFS_MAGIC && (vfs_flags("/sys") & ST_RDONLY), "/sys bound, ro");
                long cg = fs_type("/sys/fs/cgroup");
                if (unified_view)
                    ch.check(cg == CGROUP2_SUPER_MAGIC, "/sys/fs/cgroup is the host's cgroup2, bound");
                else
                    ch.check((cg == TMPFS_MAGIC && !list("/sys/fs/cgroup").empty()) || cg == CGROUP2_SUPER_MAGIC,
                             "/sys/fs/cgroup: the v1 layout or cgroup2");
                ch.check(vfs_flags("/sys/fs/cgroup") & ST_RDONLY, "/sys/fs/cgroup read-only");
                unsigned long lf = vfs_flags("/locked");
                ch.check((lf & ST_RDONLY) && (lf & ST_NOSUID) && (lf & ST_NODEV), "locked flags kept, ro added");
                ch.check(is_char("/proc/timer_list", 1, 3), "/proc/timer_list masked");
            }
            (void)fs::write_fd(FdRef(out[1]), ch.text().empty() ? "OK" : ch.text());
            ::_exit(0);
        }
        int st = 0;
        ::waitpid(init, &st, 0);
        ::_exit(0);
    }
    ::close(go[0]);
    ::close(out[1]);
    UniqueFd rd(out[0]);
    std::string base = cat("/proc/", pid, "/");
    // Wait until the child is in its user namespace, then map 0-65535 onto the host's 0-65535.
    std::string self_ns = link_of("/proc/self/ns/user");
    for (int i = 0; i < 5000 && link_of(base + "ns/user") == self_ns; ++i) ::usleep(1000);
    ASSERT_TRUE(fs::write_file(base + "uid_map", "0 0 65536\n"));
    ASSERT_TRUE(fs::write_file(base + "gid_map", "0 0 65536\n"));
    ASSERT_EQ(::write(go[1], "g", 1), 1);
    ::close(go[1]);
    auto text = fs::read_fd(rd);
    int st = 0;
    ::waitpid(pid, &st, 0);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "OK");
}

TEST_F(RootfsE2E, UserNamespace) { user_namespace_test(tmp_, make_facts(), false); }
TEST_F(RootfsE2E, UserNamespaceUnifiedView) { user_namespace_test(tmp_, make_facts(), true); }

}  // namespace
}  // namespace hull::runtime::linux
