#include "runtime/linux/devices.hpp"

#include "common/fs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>

namespace hull::runtime::linux {
namespace {

oci::Device dev(const char* path, char type, int64_t major, int64_t minor) {
    oci::Device d;
    d.path = path;
    d.type = type;
    d.major = major;
    d.minor = minor;
    return d;
}

std::string plan_error(const std::vector<oci::Device>& devs) {
    auto r = plan_devices(devs);
    EXPECT_FALSE(r);
    return r ? "" : r.error().message();
}

const DeviceNode* find(const std::vector<DeviceNode>& v, const std::string& path) {
    for (const auto& d : v)
        if (d.path == path) return &d;
    return nullptr;
}

TEST(Devices, DefaultDevices) {
    auto defs = default_devices();
    const std::pair<const char*, dev_t> expected[] = {
        {"/dev/null", makedev(1, 3)},    {"/dev/zero", makedev(1, 5)},    {"/dev/full", makedev(1, 7)},
        {"/dev/random", makedev(1, 8)},  {"/dev/urandom", makedev(1, 9)}, {"/dev/tty", makedev(5, 0)},
    };
    ASSERT_EQ(defs.size(), std::size(expected));
    for (const auto& [path, rdev] : expected) {
        const DeviceNode* d = find(defs, path);
        ASSERT_NE(d, nullptr) << path;
        EXPECT_EQ(d->type, static_cast<mode_t>(S_IFCHR));
        EXPECT_EQ(d->rdev, rdev);
        EXPECT_EQ(d->mode, 0666u);
        EXPECT_EQ(d->uid, 0u);
        EXPECT_EQ(d->gid, 0u);
        EXPECT_TRUE(d->is_default);
    }
}

TEST(Devices, SpecDevicesComeFirstAndOverrideDefaults) {
    auto fuse = dev("/dev/fuse", 'c', 10, 229);
    fuse.file_mode = 0600;
    fuse.uid = 1;
    fuse.gid = 2;
    auto null = dev("/dev//null", 'c', 1, 3);
    null.file_mode = 0644;
    auto r = plan_devices({fuse, dev("/dev/sda", 'b', 8, 0), dev("/dev/pipe", 'p', 0, 0), null,
                           dev("/dev/ptmx", 'c', 5, 2), dev("/dev/u", 'u', 4, 64)});
    ASSERT_TRUE(r) << r.error().message();
    const auto& v = *r;
    ASSERT_GE(v.size(), 5u);
    EXPECT_EQ(v[0].path, "/dev/fuse");
    EXPECT_EQ(v[0].rdev, makedev(10, 229));
    EXPECT_EQ(v[0].mode, 0600u);
    EXPECT_EQ(v[0].uid, 1u);
    EXPECT_EQ(v[0].gid, 2u);
    EXPECT_FALSE(v[0].is_default);
    EXPECT_EQ(v[1].type, static_cast<mode_t>(S_IFBLK));
    EXPECT_EQ(v[2].type, static_cast<mode_t>(S_IFIFO));
    const DeviceNode* n = find(v, "/dev/null");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->mode, 0644u);
    EXPECT_FALSE(n->is_default);
    EXPECT_EQ(find(v, "/dev/ptmx"), nullptr);  // setup_ptmx's
    const DeviceNode* u = find(v, "/dev/u");
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->type, static_cast<mode_t>(S_IFCHR));
    int nulls = 0;
    for (const auto& d : v) nulls += d.path == "/dev/null";
    EXPECT_EQ(nulls, 1);
    for (const char* p : {"/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"})
        EXPECT_NE(find(v, p), nullptr) << p;
}

TEST(Devices, ValidationErrorsNameTheField) {
    EXPECT_EQ(plan_error({dev("/dev/a", 'c', 1, 1), dev("", 'c', 1, 1)}), ".linux.devices[1].path: required");
    EXPECT_EQ(plan_error({dev("dev/a", 'c', 1, 1)}), ".linux.devices[0].path: `dev/a` is not an absolute path");
    EXPECT_EQ(plan_error({dev("/", 'c', 1, 1)}), ".linux.devices[0].path: `/` is not a path to a device");
    EXPECT_EQ(plan_error({dev("/dev/a", 'x', 1, 1)}), ".linux.devices[0].type: unknown device type `x`");
    EXPECT_EQ(plan_error({dev("/dev/a", 'c', -1, 1)}), ".linux.devices[0].major: -1 is out of range (0-4095)");
    EXPECT_EQ(plan_error({dev("/dev/a", 'b', 1, 1 << 20)}),
              ".linux.devices[0].minor: 1048576 is out of range (0-1048575)");
    auto bad_mode = dev("/dev/a", 'c', 1, 1);
    bad_mode.file_mode = 0100644;
    EXPECT_EQ(plan_error({bad_mode}), ".linux.devices[0].fileMode: 33188 has bits beyond the permission bits");
}

class DevicesFs : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-devices-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        ASSERT_TRUE(fs::mkdir_p(base_ + "/root/dev"));
        ASSERT_TRUE(fs::mkdir_p(base_ + "/host"));
        root_.reset(::open((base_ + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root_);
    }
    void TearDown() override {
        root_.reset();
        ASSERT_TRUE(fs::remove_tree(base_));
    }
    std::string readlink(const std::string& p) {
        char buf[PATH_MAX];
        ssize_t n = ::readlink((base_ + "/root" + p).c_str(), buf, sizeof buf);
        return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
    }
    std::string base_;
    UniqueFd root_;
};

TEST_F(DevicesFs, SymlinksAndPtmx) {
    ASSERT_TRUE(fs::write_file(base_ + "/root/dev/ptmx", "", O_WRONLY | O_CREAT));
    ASSERT_EQ(::symlink("/somewhere", (base_ + "/root/dev/stdin").c_str()), 0);
    ASSERT_TRUE(create_dev_symlinks(root_));
    ASSERT_TRUE(setup_ptmx(root_));
    EXPECT_EQ(readlink("/dev/fd"), "/proc/self/fd");
    EXPECT_EQ(readlink("/dev/stdin"), "/somewhere");  // existing entries are kept
    EXPECT_EQ(readlink("/dev/stdout"), "/proc/self/fd/1");
    EXPECT_EQ(readlink("/dev/stderr"), "/proc/self/fd/2");
    EXPECT_EQ(readlink("/dev/ptmx"), "pts/ptmx");
    if (::access("/proc/kcore", F_OK) == 0) {
        EXPECT_EQ(readlink("/dev/core"), "/proc/kcore");
    }
}

TEST_F(DevicesFs, DevIsASymlinkOutOfTheRoot) {
    // /dev in the image points at a host directory: the links land inside the root anyway.
    ASSERT_TRUE(fs::remove_tree(base_ + "/root/dev"));
    ASSERT_EQ(::symlink((base_ + "/host").c_str(), (base_ + "/root/dev").c_str()), 0);
    ASSERT_TRUE(create_dev_symlinks(root_));
    ASSERT_TRUE(setup_ptmx(root_));
    struct stat st;
    EXPECT_NE(::lstat((base_ + "/host/fd").c_str(), &st), 0);
    EXPECT_NE(::lstat((base_ + "/host/ptmx").c_str(), &st), 0);
    EXPECT_EQ(::lstat((base_ + "/root" + base_ + "/host/ptmx").c_str(), &st), 0);
}

TEST_F(DevicesFs, MknodAsRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
    auto custom = dev("/dev/sub/hull-null", 'c', 1, 3);
    custom.file_mode = 0620;
    custom.uid = 7;
    custom.gid = 8;
    auto plan = plan_devices({custom, dev("/dev/fifo", 'p', 0, 0)});
    ASSERT_TRUE(plan) << plan.error().message();
    // A wrong /dev/null in the image (a regular file) is replaced; a symlink out too.
    ASSERT_TRUE(fs::write_file(base_ + "/root/dev/null", "x", O_WRONLY | O_CREAT));
    ASSERT_EQ(::symlink((base_ + "/host/zero").c_str(), (base_ + "/root/dev/zero").c_str()), 0);
    ::umask(077);
    auto r = create_devices(root_, *plan, false);
    ASSERT_TRUE(r) << r.error().message();
    struct stat st;
    ASSERT_EQ(::lstat((base_ + "/root/dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    EXPECT_EQ(st.st_mode & 07777, 0666u);  // umask 0 while creating
    ASSERT_EQ(::lstat((base_ + "/root/dev/zero").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_NE(::lstat((base_ + "/host/zero").c_str(), &st), 0);
    ASSERT_EQ(::lstat((base_ + "/root/dev/sub/hull-null").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0620u);
    EXPECT_EQ(st.st_uid, 7u);
    EXPECT_EQ(st.st_gid, 8u);
    ASSERT_EQ(::lstat((base_ + "/root/dev/fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_EQ(::umask(022), 077u);  // restored

    // Again: what exists and matches is kept.
    r = create_devices(root_, *plan, false);
    ASSERT_TRUE(r) << r.error().message();

    // A spec device whose path holds something else is an error (runtime-spec).
    auto clash = plan_devices({dev("/dev/sub/hull-null", 'c', 1, 5)});
    ASSERT_TRUE(clash);
    r = create_devices(root_, *clash, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              "create device `/dev/sub/hull-null`: the path exists and is not the character device asked for: file "
              "exists");
}

}  // namespace
}  // namespace hull::runtime::linux
