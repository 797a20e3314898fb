#include "runtime/vm/guest_init/machine.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/module.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace hull::vm::guest {
namespace {

// The VMM's exit-status port (runtime/vm/README.md): the byte written is the VM's exit status.
constexpr unsigned short kExitPort = 0x501;
// How long the block drivers get to find the disks. Probing is quick on real KVM; under a
// software-emulated or nested hypervisor a loaded host can stretch it to seconds.
constexpr int kDiskWaitMs = 30000;

std::string make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return sys_error("mkdir `" + path + "`", errno);
    return {};
}

std::string do_mount(const char* src, const std::string& dst, const char* type, unsigned long flags,
                     const char* data = nullptr) {
    if (::mount(src, dst.c_str(), type, flags, data) < 0)
        return sys_error(std::string("mount ") + (type ? type : src) + " on `" + dst + "`", errno);
    return {};
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

// Deletes the initramfs's files (switch_root's job: they would hold guest RAM for the life of
// the VM), staying on its filesystem: mounted directories are skipped by their device number.
void remove_on_device(int dirfd, dev_t dev) {
    DIR* d = ::fdopendir(dirfd);
    if (!d) {
        ::close(dirfd);
        return;
    }
    while (auto* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st;
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) remove_on_device(sub, dev);
            ::unlinkat(::dirfd(d), e->d_name, AT_REMOVEDIR);
        } else {
            ::unlinkat(::dirfd(d), e->d_name, 0);
        }
    }
    ::closedir(d);
}

}  // namespace

std::string sys_error(const std::string& what, int err) {
    std::string s = ::strerror(err);
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return what + ": " + s;
}

std::string mount_early() {
    for (const char* dir : {"/dev", "/proc", "/sys"})
        if (auto e = make_dir(dir, 0755); !e.empty()) return e;
    if (auto e = do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"); !e.empty()) return e;
    if (auto e = do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC); !e.empty()) return e;
    if (auto e = do_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC); !e.empty()) return e;
    // The kernel opens /dev/console for init before devtmpfs exists only if the initramfs
    // carries the node; hull's does, but a missing one must not leave the process without stdio.
    if (::fcntl(1, F_GETFD) < 0) {
        int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
        if (fd < 0) return sys_error("open `/dev/console`", errno);
        for (int i = 0; i < 3; ++i)
            if (fd != i) ::dup2(fd, i);
        if (fd > 2) ::close(fd);
    }
    return {};
}

std::string load_modules(const GuestProcess& p) {
    for (const auto& m : p.modules) {
        std::string path = "/lib/modules/" + m;
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return sys_error("open module `" + path + "`", errno);
        // A compressed module needs the kernel's in-kernel decompression (Linux 6.4+).
        unsigned flags = ends_with(m, ".xz") || ends_with(m, ".zst") || ends_with(m, ".gz") ? MODULE_INIT_COMPRESSED_FILE : 0;
        long r = ::syscall(SYS_finit_module, fd, "", flags);
        int err = errno;
        ::close(fd);
        if (r < 0 && err != EEXIST) return sys_error("load module `" + m + "`", err);
    }
    return {};
}

std::string wait_for_disks(const GuestProcess& p) {
    std::vector<const char*> disks = {"/dev/vda"};
    if (p.writable_disk) disks.push_back("/dev/vdb");
    for (const char* disk : disks) {
        struct stat st;
        int waited = 0;
        while (::stat(disk, &st) < 0 || !S_ISBLK(st.st_mode)) {
            if (waited >= kDiskWaitMs)
                return std::string("no `") + disk + "` after " + std::to_string(kDiskWaitMs / 1000) +
                       " s: the kernel found no virtio-blk disk (are virtio_mmio and virtio_blk built in or in vm.modules?)";
            sleep_ms(5);
            waited += 5;
        }
    }
    return {};
}

std::string assemble_root(const GuestProcess& p) {
    for (const char* dir : {"/hull", kLowerDir, kRwDir, kRootDir})
        if (auto e = make_dir(dir, 0755); !e.empty()) return e;
    if (auto e = do_mount("/dev/vda", kLowerDir, "erofs", MS_RDONLY | MS_NODEV); !e.empty()) return e;
    if (p.writable_disk) {
        if (auto e = do_mount("/dev/vdb", kRwDir, "ext4", MS_NODEV, "noinit_itable"); !e.empty()) return e;
    } else {
        // A read-only root still needs an upper layer for the mount points below; nothing else
        // can write there once the root is remounted read-only.
        if (auto e = do_mount("tmpfs", kRwDir, "tmpfs", MS_NODEV, "mode=0755"); !e.empty()) return e;
    }
    std::string upper = std::string(kRwDir) + "/upper", work = std::string(kRwDir) + "/work";
    if (auto e = make_dir(upper, 0755); !e.empty()) return e;
    if (auto e = make_dir(work, 0700); !e.empty()) return e;
    // The merged root directory shows the upper's owner and mode: give it the image's.
    struct stat root;
    if (::stat(kLowerDir, &root) < 0) return sys_error("stat the root image", errno);
    if (::chown(upper.c_str(), root.st_uid, root.st_gid) < 0 || ::chmod(upper.c_str(), root.st_mode & 07777) < 0)
        return sys_error("set the root's owner and mode", errno);
    std::string opts = std::string("lowerdir=") + kLowerDir + ",upperdir=" + upper + ",workdir=" + work;
    if (auto e = do_mount("overlay", kRootDir, "overlay", 0, opts.c_str()); !e.empty()) return e;

    const std::string r = kRootDir;
    for (const char* dir : {"/dev", "/proc", "/sys"}) {
        if (auto e = make_dir(r + dir, 0755); !e.empty()) return e;
        if (::mount(dir, (r + dir).c_str(), nullptr, MS_MOVE, nullptr) < 0)
            return sys_error(std::string("move `") + dir + "` into the root", errno);
    }
    if (auto e = make_dir(r + "/dev/pts", 0755); !e.empty()) return e;
    if (auto e = do_mount("devpts", r + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
        !e.empty())
        return e;
    if (auto e = make_dir(r + "/dev/shm", 01777); !e.empty()) return e;
    if (auto e = do_mount("shm", r + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"); !e.empty()) return e;
    if (p.readonly_root) {
        // A bind remount makes this mount read-only without touching the overlay's superblock.
        if (auto e = do_mount(kRootDir, kRootDir, nullptr, MS_BIND); !e.empty()) return e;
        if (::mount(nullptr, kRootDir, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0)
            return sys_error("make the root read-only", errno);
    }
    return {};
}

std::string switch_root() {
    struct stat st;
    if (::stat("/", &st) < 0) return sys_error("stat `/`", errno);
    int root = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root >= 0) remove_on_device(root, st.st_dev);
    if (::chdir(kRootDir) < 0) return sys_error(std::string("chdir `") + kRootDir + "`", errno);
    // The initramfs is the kernel's rootfs, which pivot_root cannot take: move the new root on
    // top of it and chroot, as switch_root(8) does.
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return sys_error("move the root onto `/`", errno);
    if (::chroot(".") < 0) return sys_error("chroot into the root", errno);
    if (::chdir("/") < 0) return sys_error("chdir `/`", errno);
    return {};
}

std::string set_console_raw() {
    struct termios t;
    if (::tcgetattr(1, &t) < 0) return sys_error("read the console's termios", errno);
    t.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (::tcsetattr(1, TCSANOW, &t) < 0) return sys_error("set the console's termios", errno);
    return {};
}

std::string console_tty() {
    // "tty0 ttyS0": the last one is what /dev/console writes to.
    int fd = ::open("/sys/class/tty/console/active", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "/dev/console";
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return "/dev/console";
    std::string s(buf, static_cast<std::size_t>(n));
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    auto sp = s.rfind(' ');
    std::string name = sp == std::string::npos ? s : s.substr(sp + 1);
    return name.empty() ? "/dev/console" : "/dev/" + name;
}

void report_and_power_off(int status) {
    // Output still queued in the serial driver would be lost when the VM ends.
    ::tcdrain(1);
    ::tcdrain(2);
#if defined(__x86_64__) || defined(__i386__)
    if (::ioperm(kExitPort, 1, 1) == 0) {
        // SAFETY: ioperm granted this process the one port; the VMM ends the VM on the write.
        unsigned char v = static_cast<unsigned char>(status);
        asm volatile("outb %0, %1" : : "a"(v), "Nd"(kExitPort));
    }
#endif
    // No exit port (another VMM): power off, the status is lost.
    ::sync();
    ::reboot(RB_POWER_OFF);
    for (;;) ::pause();
}

}  // namespace hull::vm::guest
