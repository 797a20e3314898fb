// Disk locks (runtime/vm/disk_lock.hpp): OFD locks as QEMU takes them, checked against a lock
// another process really holds, and Vm::create refusing a disk in use before it makes anything.
#include "runtime/vm/disk_lock.hpp"

#include "runtime/vm/vm.hpp"
#include "tests/unit/vm/guest_images.hpp"
#include "tests/unit/vm/lock_holder.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace hull::vm {
namespace {

using test::HeldLock;
using Kind = HeldLock::Kind;

class DiskLock : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-disk-lock-XXXXXX";
        int fd = ::mkstemp(tmpl);
        ASSERT_GE(fd, 0);
        EXPECT_EQ(::write(fd, "disk", 4), 4);
        ::close(fd);
        path_ = tmpl;
    }
    void TearDown() override { ::unlink(path_.c_str()); }

    int open_disk(bool read_only) {
        int fd = ::open(path_.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        EXPECT_GE(fd, 0);
        fds_.push_back(UniqueFd(fd));
        return fd;
    }
    std::string in_use() const { return "disk `" + path_ + "` is in use by another VM"; }

    std::string path_;
    std::vector<UniqueFd> fds_;
};

TEST_F(DiskLock, ReadOnlyUsersShare) {
    HeldLock other(path_, Kind::ofd_shared);
    ASSERT_TRUE(other.ok());
    auto r = lock_disk(open_disk(true), path_, true);
    EXPECT_TRUE(r) << r.error().message();
}

TEST_F(DiskLock, WritableConflictsWithReadOnly) {
    {
        HeldLock reader(path_, Kind::ofd_shared);
        ASSERT_TRUE(reader.ok());
        auto r = lock_disk(open_disk(false), path_, false);
        ASSERT_FALSE(r);
        // An OFD lock has no owning process: F_OFD_GETLK says -1, so no pid in the message.
        EXPECT_EQ(r.error().message(), in_use());
    }
    HeldLock writer(path_, Kind::ofd_exclusive);
    ASSERT_TRUE(writer.ok());
    auto r = lock_disk(open_disk(true), path_, true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), in_use());
}

TEST_F(DiskLock, WritableConflictsWithWritable) {
    HeldLock writer(path_, Kind::ofd_exclusive);
    ASSERT_TRUE(writer.ok());
    auto r = lock_disk(open_disk(false), path_, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), in_use());
    // Once the other VM is gone, the disk is free.
    writer.release();
    r = lock_disk(open_disk(false), path_, false);
    EXPECT_TRUE(r) << r.error().message();
}

TEST_F(DiskLock, ClassicPosixLockNamesItsPid) {
    HeldLock other(path_, Kind::posix_exclusive);
    ASSERT_TRUE(other.ok());
    auto r = lock_disk(open_disk(true), path_, true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), in_use() + " (locked by pid " + std::to_string(other.pid()) + ")");
}

TEST_F(DiskLock, OneProcessTwoOpensConflict) {
    // OFD locks belong to the open file description: a second VM in the same process (a
    // library user's) is refused too, unlike classic POSIX locks, which a process never
    // conflicts with itself on.
    ASSERT_TRUE(lock_disk(open_disk(false), path_, false));
    auto r = lock_disk(open_disk(false), path_, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), in_use());
    EXPECT_FALSE(lock_disk(open_disk(true), path_, true));
}

TEST_F(DiskLock, TwoReadOnlyOpensInOneProcessShare) {
    EXPECT_TRUE(lock_disk(open_disk(true), path_, true));
    EXPECT_TRUE(lock_disk(open_disk(true), path_, true));
}

TEST_F(DiskLock, LockLastsUntilTheLastDescriptorCloses) {
    int fd = open_disk(false);
    ASSERT_TRUE(lock_disk(fd, path_, false));
    // A forked child shares the description and so the lock: the lock is not the process's.
    pid_t child = ::fork();
    if (child == 0) {
        int mine = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        auto held = try_lock_file(mine, LockMode::shared);
        ::_exit(held && *held ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could lock a locked disk";
    fds_.clear();
    HeldLock other(path_, Kind::ofd_exclusive);
    EXPECT_TRUE(other.ok()) << "closing the disk did not release its lock";
}

TEST_F(DiskLock, VmCreateRefusesADiskInUseBeforeKvm) {
    char tmpl[] = "/tmp/hull-disk-lock-kernel-XXXXXX";
    int kfd = ::mkstemp(tmpl);
    ASSERT_GE(kfd, 0);
    auto image = test::make_elf({0xf4}, false);
    EXPECT_EQ(::write(kfd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
    ::close(kfd);
    std::string kernel = tmpl;

    HeldLock other(path_, Kind::ofd_exclusive);
    ASSERT_TRUE(other.ok());
    VmConfig c;
    c.kernel = kernel;
    c.memory = 16ull << 20;
    c.kvm_path = "/nonexistent/kvm";  // never reached: the disk fails first
    c.disks = {{path_, true}};
    auto r = Vm::create(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), in_use());
    ::unlink(kernel.c_str());
}

}  // namespace
}  // namespace hull::vm
