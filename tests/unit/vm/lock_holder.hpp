// Another process holding a lock on a file, for the disk-lock and image-cache tests: a child
// that opens the file, locks it the way asked, reports whether that worked, and keeps the lock
// until the test lets it go (or ends).
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace hull::vm::test {

class HeldLock {
public:
    enum class Kind { ofd_shared, ofd_exclusive, posix_shared, posix_exclusive };

    HeldLock(const std::string& path, Kind kind) {
        int ready[2], release[2];
        EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
        EXPECT_EQ(::pipe2(release, O_CLOEXEC), 0);
        const bool shared = kind == Kind::ofd_shared || kind == Kind::posix_shared;
        const bool ofd = kind == Kind::ofd_shared || kind == Kind::ofd_exclusive;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            ::close(release[1]);
            int fd = ::open(path.c_str(), (shared ? O_RDONLY : O_RDWR) | O_CLOEXEC);
            struct flock fl{};
            fl.l_type = shared ? F_RDLCK : F_WRLCK;
            fl.l_whence = SEEK_SET;
            char ok = fd >= 0 && ::fcntl(fd, ofd ? F_OFD_SETLK : F_SETLK, &fl) == 0 ? 'y' : 'n';
            (void)!::write(ready[1], &ok, 1);
            char c;
            (void)!::read(release[0], &c, 1);  // EOF: the test let go
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(release[0]);
        release_ = release[1];
        char c = 0;
        (void)!::read(ready[0], &c, 1);
        ::close(ready[0]);
        ok_ = c == 'y';
    }
    ~HeldLock() { release(); }
    HeldLock(const HeldLock&) = delete;
    HeldLock& operator=(const HeldLock&) = delete;

    bool ok() const { return ok_; }
    pid_t pid() const { return pid_; }

    // Ends the child, and with it its lock.
    void release() {
        if (pid_ <= 0) return;
        ::close(release_);
        int status;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int release_ = -1;
    bool ok_ = false;
};

}  // namespace hull::vm::test
