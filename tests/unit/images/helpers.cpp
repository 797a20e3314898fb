#include "tests/unit/images/helpers.hpp"

#include "images/digest.hpp"

#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

namespace hull::images::test {

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = cat(base && *base ? base : "/tmp", "/hull-images-test-XXXXXX");
    if (!::mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
}

TempDir::~TempDir() { (void)fs::remove_tree(path_); }

bool generate(const char* kind, const std::string& out) {
    std::string gen = (std::filesystem::path(__FILE__).parent_path() / "../../images/gen.py").lexically_normal();
    std::string cmd = cat("python3 '", gen, "' ", kind, " '", out, "'");
    int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << cmd;
    return rc == 0;
}

bool can_sandbox() { return ::geteuid() == 0; }

std::string sandboxed(const std::string& writable, const std::function<Status()>& fn) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        auto report = [&](const std::string& msg, int code) {
            (void)!::write(fds[1], msg.data(), msg.size());
            ::_exit(code);
        };
        if (::unshare(CLONE_NEWNS) < 0) report("unshare failed", 3);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) report("make / private failed", 3);
        if (::mount(writable.c_str(), writable.c_str(), nullptr, MS_BIND, nullptr) < 0) report("bind failed", 3);
        struct mount_attr ro{};
        ro.attr_set = MOUNT_ATTR_RDONLY;
        if (sys::mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) < 0) report("read-only / failed", 3);
        struct mount_attr rw{};
        rw.attr_clr = MOUNT_ATTR_RDONLY;
        if (sys::mount_setattr(AT_FDCWD, writable.c_str(), 0, &rw, sizeof rw) < 0) report("writable dir failed", 3);
        auto r = fn();
        if (!r) report(r.error().message(), 1);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) return cat("crashed with signal ", WTERMSIG(status));
    if (WEXITSTATUS(status) == 0) return "";
    return msg.empty() ? cat("failed with exit code ", WEXITSTATUS(status)) : msg;
}

namespace {

std::string xattrs_of(const std::string& p) {
    std::vector<char> names(65536);
    ssize_t n = ::llistxattr(p.c_str(), names.data(), names.size());
    if (n <= 0) return "";
    std::vector<std::string> out;
    for (ssize_t i = 0; i < n;) {
        std::string name(&names[static_cast<size_t>(i)]);
        i += static_cast<ssize_t>(name.size()) + 1;
        if (name.starts_with("trusted.overlay.") || name == "security.selinux") continue;
        std::vector<char> v(65536);
        ssize_t vn = ::lgetxattr(p.c_str(), name.c_str(), v.data(), v.size());
        std::string hex;
        for (ssize_t k = 0; k < vn; ++k) hex += cat(static_cast<int>(static_cast<unsigned char>(v[static_cast<size_t>(k)])), ",");
        out.push_back(cat(name, "=", hex));
    }
    std::sort(out.begin(), out.end());
    return join(out, ";");
}

void walk(const std::string& root, const std::string& rel, std::map<std::string, std::string>& out) {
    std::string p = rel.empty() ? root : fs::join(root, rel);
    struct stat st;
    if (::lstat(p.c_str(), &st) < 0) return;
    std::string kind, detail;
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
        kind = "file";
        auto fd = fs::open(p, O_RDONLY);
        detail = fd ? digest_fd(*fd, oci::Digest::Algorithm::sha256).value_or(oci::Digest{}).str() : "unreadable";
        break;
    }
    case S_IFDIR: kind = "dir"; break;
    case S_IFLNK: {
        kind = "symlink";
        char buf[4096];
        ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
        detail = std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
        break;
    }
    case S_IFCHR: kind = "char"; detail = cat(major(st.st_rdev), ":", minor(st.st_rdev)); break;
    case S_IFBLK: kind = "block"; detail = cat(major(st.st_rdev), ":", minor(st.st_rdev)); break;
    case S_IFIFO: kind = "fifo"; break;
    default: kind = "other";
    }
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    out[rel.empty() ? "." : rel] = cat(kind, " ", mode, " ", st.st_uid, ":", st.st_gid, " ",
                                       S_ISREG(st.st_mode) ? st.st_size : 0, " ", detail, " ", xattrs_of(p));
    if (!S_ISDIR(st.st_mode)) return;
    DIR* d = ::opendir(p.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (auto* e = ::readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) walk(root, rel.empty() ? n : fs::join(rel, n), out);
}

}  // namespace

std::map<std::string, std::string> snapshot(const std::string& root) {
    std::map<std::string, std::string> out;
    walk(root, "", out);
    return out;
}

}  // namespace hull::images::test
