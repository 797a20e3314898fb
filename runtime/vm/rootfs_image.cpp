#include "runtime/vm/rootfs_image.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace hull::vm {
namespace {

// Bumped whenever the mkfs.erofs options below change, so old images are not reused.
constexpr std::string_view kImageFormat = "erofs-v1";

struct Fnv64 {
    std::uint64_t h = 14695981039346656037ull;
    void add(const void* data, std::size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    }
    void add(std::string_view s) {
        add(s.data(), s.size());
        add("\0", 1);  // so "ab"+"c" and "a"+"bc" differ
    }
    template <typename T>
    void add_num(T v) { add(&v, sizeof v); }
};

Status hash_tree(int dirfd, const std::string& rel, Fnv64& h) {
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("open ", q(rel)));
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return fail_sys(cat("read directory ", q(rel)));
    }
    std::vector<std::string> names;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    std::sort(names.begin(), names.end());
    Status result;
    for (const auto& name : names) {
        struct stat st;
        std::string path = rel + "/" + name;
        if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            result = fail_sys(cat("stat ", q(path)));
            break;
        }
        h.add(path);
        h.add_num(st.st_mode);
        h.add_num(st.st_uid);
        h.add_num(st.st_gid);
        h.add_num(st.st_size);
        h.add_num(st.st_mtim.tv_sec);
        h.add_num(st.st_mtim.tv_nsec);
        h.add_num(st.st_rdev);
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = ::readlinkat(::dirfd(d), name.c_str(), target, sizeof target);
            if (n < 0) {
                result = fail_sys(cat("readlink ", q(path)));
                break;
            }
            h.add(std::string_view(target, static_cast<std::size_t>(n)));
        } else if (S_ISDIR(st.st_mode)) {
            int sub = ::openat(::dirfd(d), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                result = fail_sys(cat("open ", q(path)));
                break;
            }
            UniqueFd owner(sub);
            if (auto r = hash_tree(sub, path, h); !r) {
                result = r;
                break;
            }
        }
    }
    ::closedir(d);
    return result;
}

// The mkfs.erofs binary: Debian installs it in /usr/bin; hull does not trust $PATH for it.
std::string find_mkfs() {
    for (const char* p : {"/usr/bin/mkfs.erofs", "/usr/sbin/mkfs.erofs", "/sbin/mkfs.erofs", "/bin/mkfs.erofs"})
        if (::access(p, X_OK) == 0) return p;
    return {};
}

// Runs mkfs.erofs; on failure the error carries its last line of output.
Status run_mkfs(const std::string& mkfs, const std::string& out, const std::string& rootfs) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) return fail_sys("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    // -T0: the image does not depend on when it was built. -x-1: no xattrs (the guest gets
    // none of the host's security labels).
    std::vector<std::string> args = {mkfs, "--quiet", "-T0", "-x-1", out, rootfs};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return fail_sys("fork mkfs.erofs");
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0) ::dup2(devnull, 0);
        ::dup2(wr.get(), 1);
        ::dup2(wr.get(), 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    wr.reset();
    std::string output;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (output.size() < 65536) output.append(buf, static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    auto nl = output.rfind('\n');
    std::string last = nl == std::string::npos ? output : output.substr(nl + 1);
    return fail_msg(cat("mkfs.erofs ", q(rootfs), " failed (",
                        WIFEXITED(status) ? cat("exit ", WEXITSTATUS(status)) : cat("signal ", WTERMSIG(status)),
                        last.empty() ? ")" : cat("): ", last)));
}

}  // namespace

std::string image_cache_dir() {
    const char* env = std::getenv("HULL_VM_CACHE");
    return env && *env ? std::string(env) : std::string("/var/cache/hull/vm");
}

Result<std::string> rootfs_key(const std::string& rootfs) {
    UniqueFd root = HULL_TRY(fs::open(rootfs, O_PATH | O_DIRECTORY));
    Fnv64 h;
    h.add(kImageFormat);
    HULL_TRY_CTX(hash_tree(root.get(), "", h), cat("hash rootfs ", q(rootfs)));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.h));
    return std::string(hex);
}

Result<std::string> rootfs_image(const std::string& rootfs) {
    std::string mkfs = find_mkfs();
    if (mkfs.empty())
        return fail_msg("the rootfs image for vm isolation needs mkfs.erofs (Debian package erofs-utils): not found");
    std::string key = HULL_TRY(rootfs_key(rootfs));
    std::string dir = image_cache_dir();
    std::string image = cat(dir, "/", key, ".erofs");
    if (fs::exists(image)) return image;
    HULL_TRY_CTX(fs::mkdir_p(dir, 0700), "image cache");
    std::string tmp = cat(image, ".tmp.", ::getpid());
    auto built = run_mkfs(mkfs, tmp, rootfs);
    if (!built) {
        ::unlink(tmp.c_str());
        return fail(std::move(built.error()));
    }
    if (::rename(tmp.c_str(), image.c_str()) < 0) {
        auto err = fail_sys(cat("rename ", q(tmp), " to ", q(image)));
        ::unlink(tmp.c_str());
        return err;
    }
    return image;
}

}  // namespace hull::vm
