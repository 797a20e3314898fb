#include "runtime/vm/layered_image.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "runtime/linux/rootfs_overlay.hpp"
#include "runtime/vm/host_tools.hpp"
#include "runtime/vm/rootfs_image.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace hull::vm {
namespace {

namespace ovl = hull::runtime::linux;

using detail::Fnv64;

// Bumped whenever the mkfs.erofs options below change (they match rootfs_image.cpp's).
constexpr std::string_view kFormat = "erofs-layers-v1";

// The child: its own mount namespace, the layers' read-only overlay on `mnt`, mounted the way a
// container's init mounts an overlay root (runtime/linux/rootfs_overlay.hpp: one `lowerdir+` per
// layer, or mount(2) with names relative to the store's `l/` and nested groups past a page),
// then mkfs.erofs. Reports a failed step on `out_fd` before exiting 125.
[[noreturn]] void build_in_child(const ovl::OverlayPlan& plan, const std::string& mnt, const std::string& mkfs,
                                 const std::string& out, int out_fd) {
    auto die = [&](const std::string& msg) {
        (void)!::write(out_fd, msg.data(), msg.size());
        ::_exit(125);
    };
    if (::unshare(CLONE_NEWNS) < 0) die(Error::sys("unshare the mount namespace").message());
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) die(Error::sys("make `/` private").message());
    if (auto root = ovl::mount_overlay_root(plan, mnt); !root)
        die(cat("mount the overlay of ", plan.layers.lower.size(), " layers: ", root.error().message()));
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    // -T0: reproducible; -x-1: no xattrs (as rootfs_image.cpp).
    std::vector<std::string> args = {mkfs, "--quiet", "-T0", "-x-1", out, mnt};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
}

}  // namespace

Result<CacheEntry> layers_image(std::span<const std::string> lowers, const std::string& work_dir) {
    if (lowers.empty()) return fail_msg("an overlay root needs at least one layer");
    auto mkfs = detail::find_tool("mkfs.erofs");
    if (!mkfs)
        return fail_msg("the rootfs image for vm isolation needs mkfs.erofs (Debian package erofs-utils): not found");
    Fnv64 h;
    h.add(kFormat);
    std::vector<std::string> real;
    for (const auto& l : lowers) {
        char buf[PATH_MAX];
        if (!::realpath(l.c_str(), buf)) return fail_sys(cat("layer ", q(l)));
        struct stat st;
        if (::stat(buf, &st) < 0) return fail_sys(cat("stat layer ", q(buf)));
        if (!S_ISDIR(st.st_mode)) return fail_msg(cat("layer ", q(l), " is not a directory"));
        std::string r = buf;
        h.add(r);
        h.add_num(st.st_dev);
        h.add_num(st.st_ino);
        real.push_back(std::move(r));
    }
    // Mounted by the names given (the store's short `l/` links keep mount(2)'s option short).
    ovl::OverlayRootfs layers;
    layers.lower.assign(lowers.begin(), lowers.end());
    const char* legacy = std::getenv("HULL_OVERLAY_LEGACY");
    const ovl::OverlayPlan plan = HULL_TRY(ovl::plan_overlay(std::move(layers), legacy && std::string_view(legacy) == "1",
                                                             static_cast<size_t>(::sysconf(_SC_PAGESIZE))));
    std::string hex = h.hex();
    std::string image = cat(image_cache_dir(), "/layers-", hex, ".erofs");
    if (auto hit = HULL_TRY_CTX(open_cache_entry(image), "image cache")) return std::move(*hit);
    CacheBuild build = HULL_TRY_CTX(CacheBuild::start(image), "image cache");

    std::string mnt = work_dir + "/vm-layers";
    if (::mkdir(mnt.c_str(), 0700) < 0) return fail_sys(cat("mkdir ", q(mnt)));
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) {
        ::rmdir(mnt.c_str());
        return fail_sys("pipe");
    }
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
        ::rmdir(mnt.c_str());
        return fail_sys("fork");
    }
    if (pid == 0) build_in_child(plan, mnt, *mkfs, build.tmp_path(), wr.get());
    wr.reset();
    std::string last = detail::last_line(detail::read_output(rd.get()));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::rmdir(mnt.c_str());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail_msg(cat("the rootfs image of ", real.size(), " layers: ",
                            last.empty() ? cat("mkfs.erofs failed (status ", status, ")") : last));
    return HULL_TRY_CTX(build.publish(), "image cache");
}

std::string layer_holding(std::span<const std::string> lowers, const std::string& path) {
    std::string rel = fs::clean("/" + path);
    for (const auto& l : lowers) {
        struct stat st;
        if (::lstat((l + rel).c_str(), &st) == 0) return l;
    }
    return {};
}

}  // namespace hull::vm
