#include "runtime/linux/rootfs_overlay.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/linux/pathres.hpp"
#include "runtime/linux/rootfs_ops.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <tuple>

namespace hull::runtime::linux {

namespace {

using json = nlohmann::json;

// A value as a message shows it: backticks, control bytes escaped so the message stays one line.
std::string shown(std::string_view s) {
    std::string out = "`";
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '`';
    return out;
}

Result<std::string> absolute_path(const json& v, std::string_view where) {
    if (!v.is_string()) return fail_msg(cat(where, ": expected a string, got ", v.type_name()));
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s[0] != '/') return fail_msg(cat(where, ": ", shown(s), " is not an absolute path"));
    if (s.find('\0') != std::string::npos) return fail_msg(cat(where, ": ", shown(s), " contains a NUL byte"));
    return fs::clean(s);
}

// The directory `path` must be (symlinks followed: the store's short links point at layers).
Result<struct stat> check_dir(const std::string& path, std::string_view where) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return fail_msg(cat(where, ": ", q(path), " does not exist"));
        return fail(Error(errno, cat(where, ": stat ", q(path))));
    }
    if (!S_ISDIR(st.st_mode)) return fail_msg(cat(where, ": ", q(path), " is not a directory"));
    return st;
}

Result<uint64_t> mount_id(const std::string& path, std::string_view where) {
    struct statx stx;
    if (::statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &stx) < 0)
        return fail(Error(errno, cat(where, ": statx ", q(path))));
    if (!(stx.stx_mask & STATX_MNT_ID)) return uint64_t{0};  // before Linux 5.8: not known
    return stx.stx_mnt_id;
}

bool under(std::string_view path, std::string_view dir) {
    if (dir == "/") return true;
    return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

Result<std::string> real(const std::string& path, std::string_view where) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return fail(Error(errno, cat(where, ": resolve ", q(path))));
    return std::string(buf);
}

// "/proc/self/fd/" and up to ten digits: what a descriptor's path costs in an option string.
constexpr size_t kFdPathMax = 24;

// Characters mount(2)'s overlay option string gives a meaning to (separators, escapes).
constexpr std::string_view kLegacySpecial = ",:\\";

}  // namespace

Result<OverlayRootfs> parse_overlay_value(std::string_view value) {
    json doc = json::parse(value, nullptr, false);
    if (doc.is_discarded()) return fail_msg("not valid JSON");
    if (!doc.is_object()) return fail_msg(cat("expected a JSON object, got ", doc.type_name()));
    for (const auto& [key, v] : doc.items())
        if (key != "lower" && key != "upper" && key != "work" && key != "tmpfs_size")
            return fail_msg(cat("unknown member ", shown(key), " (known: lower, upper, work, tmpfs_size)"));

    OverlayRootfs r;
    auto lower = doc.find("lower");
    if (lower == doc.end()) return fail_msg(".lower: required");
    if (!lower->is_array()) return fail_msg(cat(".lower: expected an array of directories, got ", lower->type_name()));
    if (lower->empty()) return fail_msg(".lower: at least one layer is needed");
    if (lower->size() > kOverlayMaxLowers)
        return fail_msg(cat(".lower: ", lower->size(), " layers, more than overlayfs takes (", kOverlayMaxLowers, ")"));
    for (size_t i = 0; i < lower->size(); ++i)
        r.lower.push_back(HULL_TRY(absolute_path((*lower)[i], cat(".lower[", i, "]"))));

    if (auto up = doc.find("upper"); up != doc.end()) {
        if (up->is_string() && up->get_ref<const std::string&>() == "tmpfs") {
            r.upper = OverlayUpper::tmpfs;
        } else {
            r.upper_dir = HULL_TRY(absolute_path(*up, ".upper"));
            r.upper = OverlayUpper::dir;
        }
    }
    if (auto work = doc.find("work"); work != doc.end()) {
        if (r.upper != OverlayUpper::dir)
            return fail_msg(".work: only with an upper directory (`upper` is absent or \"tmpfs\")");
        r.work_dir = HULL_TRY(absolute_path(*work, ".work"));
        if (r.work_dir == r.upper_dir) return fail_msg(cat(".work: ", q(r.work_dir), " is the upper directory too"));
    } else if (r.upper == OverlayUpper::dir) {
        return fail_msg(cat(".work: required with the upper directory ", q(r.upper_dir)));
    }
    if (auto size = doc.find("tmpfs_size"); size != doc.end()) {
        if (r.upper != OverlayUpper::tmpfs) return fail_msg(".tmpfs_size: only with \"upper\": \"tmpfs\"");
        // nlohmann reads a non-negative integer as unsigned; negatives and fractions are not.
        if (!size->is_number_unsigned())
            return fail_msg(cat(".tmpfs_size: expected a size in bytes, got ", shown(size->dump())));
        uint64_t bytes = size->get<uint64_t>();
        if (bytes == 0) return fail_msg(".tmpfs_size: must not be 0");
        r.tmpfs_size = bytes;
    }
    return r;
}

Result<std::optional<OverlayRootfs>> parse_overlay_annotation(const oci::Spec& spec) {
    auto it = spec.annotations.find(std::string(kOverlayAnnotation));
    if (it == spec.annotations.end()) return std::optional<OverlayRootfs>{};
    const std::string ctx = cat("annotation ", q(kOverlayAnnotation));

    OverlayRootfs r = HULL_TRY_CTX(parse_overlay_value(it->second), ctx);
    for (size_t i = 0; i < r.lower.size(); ++i) HULL_TRY_CTX(check_dir(r.lower[i], cat(".lower[", i, "]")), ctx);
    if (r.upper == OverlayUpper::dir) {
        auto up = HULL_TRY_CTX(check_dir(r.upper_dir, ".upper"), ctx);
        auto work = HULL_TRY_CTX(check_dir(r.work_dir, ".work"), ctx);
        // overlayfs wants both under one mount (it renames from work into upper).
        if (up.st_dev != work.st_dev)
            return fail_msg(cat(ctx, ": .work: ", q(r.work_dir), " is not on the same filesystem as the upper ",
                                q(r.upper_dir)));
        if (HULL_TRY_CTX(mount_id(r.upper_dir, ".upper"), ctx) != HULL_TRY_CTX(mount_id(r.work_dir, ".work"), ctx))
            return fail_msg(cat(ctx, ": .work: ", q(r.work_dir), " is not on the same mount as the upper ",
                                q(r.upper_dir)));
        // The kernel says only "too many levels of symbolic links" (or lets the container find
        // its own upper inside the merged view): name the overlap here.
        std::string up_real = HULL_TRY_CTX(real(r.upper_dir, ".upper"), ctx);
        std::string work_real = HULL_TRY_CTX(real(r.work_dir, ".work"), ctx);
        if (under(up_real, work_real) || under(work_real, up_real))
            return fail_msg(cat(ctx, ": .work: ", q(r.work_dir), " and the upper ", q(r.upper_dir), " overlap"));
        for (size_t i = 0; i < r.lower.size(); ++i) {
            std::string l = HULL_TRY_CTX(real(r.lower[i], cat(".lower[", i, "]")), ctx);
            for (auto [name, path, resolved] : {std::tuple(".upper", &r.upper_dir, &up_real),
                                                std::tuple(".work", &r.work_dir, &work_real)})
                if (under(*resolved, l) || under(l, *resolved))
                    return fail_msg(cat(ctx, ": ", name, ": ", q(*path), " overlaps the layer .lower[", i, "] ",
                                        q(r.lower[i])));
        }
    }
    return std::optional<OverlayRootfs>(std::move(r));
}

Result<OverlayPlan> plan_overlay(OverlayRootfs layers, bool legacy_only, size_t page_size) {
    const std::string ctx = cat("annotation ", q(kOverlayAnnotation));
    OverlayPlan p;
    p.legacy_only = legacy_only;
    p.empty_bottom = layers.lower.size() == 1 && layers.upper == OverlayUpper::none;
    struct stat top;
    if (::stat(layers.lower[0].c_str(), &top) < 0) return fail(Error(errno, cat(ctx, ": .lower[0]: stat ", q(layers.lower[0]))));
    p.top_mode = top.st_mode & 07777;
    p.top_uid = top.st_uid;
    p.top_gid = top.st_gid;

    // The mount(2) fallback: everything below must fit in one page, the kernel's copy of the
    // option string, with its terminating NUL.
    const size_t limit = page_size - 1;
    size_t tail = p.empty_bottom ? 1 + kFdPathMax : 0;
    if (layers.upper == OverlayUpper::tmpfs)
        tail += std::string_view(",upperdir=/upper,workdir=/work").size() + 2 * kFdPathMax;
    if (layers.upper == OverlayUpper::dir)
        tail += std::string_view(",upperdir=,workdir=").size() + layers.upper_dir.size() + layers.work_dir.size();
    auto list_size = [](const std::vector<std::string>& names) {
        size_t n = std::string_view("lowerdir=").size() + names.size() - 1;
        for (const auto& s : names) n += s.size();
        return n;
    };
    auto plan_legacy = [&]() -> std::string {
        for (size_t i = 0; i < layers.lower.size(); ++i)
            if (layers.lower[i].find_first_of(kLegacySpecial) != std::string::npos)
                return cat(".lower[", i, "]: ", q(layers.lower[i]), " has `,`, `:` or `\\`, which mount(2)'s overlay "
                                                                     "options cannot carry");
        if (layers.upper == OverlayUpper::dir)
            for (const auto* s : {&layers.upper_dir, &layers.work_dir})
                if (s->find_first_of(kLegacySpecial) != std::string::npos)
                    return cat(q(*s), " has `,`, `:` or `\\`, which mount(2)'s overlay options cannot carry");
        if (tail + list_size(layers.lower) <= limit) {
            p.legacy_groups = {layers.lower};
            return {};
        }
        std::vector<std::string> names = layers.lower;
        std::string parent = fs::dirname(layers.lower[0]);
        bool shared = true;
        for (const auto& l : layers.lower) shared = shared && l != "/" && fs::dirname(l) == parent;
        if (shared) {
            // The image store's `<store>/l/<short name>` links: name them from their parent.
            p.legacy_cwd = parent;
            for (auto& n : names) n = n.substr(n.find_last_of('/') + 1);
        }
        if (tail + list_size(names) <= limit) {
            p.legacy_groups = {names};
            return {};
        }
        // Still too long: pack the layers, top first, into groups that each fit a page.
        std::vector<std::vector<std::string>> groups;
        for (const auto& n : names) {
            if (!groups.empty()) {
                groups.back().push_back(n);
                if (list_size(groups.back()) <= limit) continue;
                groups.back().pop_back();
            }
            if (list_size({n}) > limit) return cat(q(n), " alone is longer than mount(2)'s option string");
            groups.push_back({n});
        }
        std::vector<std::string> outer;
        for (const auto& g : groups) outer.push_back(g.size() > 1 ? std::string(kFdPathMax, 'x') : g[0]);
        if (tail + list_size(outer) > limit)
            return cat(layers.lower.size(), " layers do not fit in mount(2)'s option string of ", limit,
                       " bytes, even in groups");
        p.legacy_groups = std::move(groups);
        return {};
    };
    p.legacy_error = plan_legacy();
    if (!p.legacy_error.empty()) {
        p.legacy_groups.clear();
        p.legacy_cwd.clear();
        if (legacy_only) return fail_msg(cat(ctx, ": HULL_OVERLAY_LEGACY is set: ", p.legacy_error));
    }
    p.layers = std::move(layers);
    return p;
}

// --- init side ---------------------------------------------------------------------------------

namespace {

// The last error or warning the kernel logged on a filesystem context ("e overlay: ..."), for
// the message: the errno alone rarely says which layer or why.
std::string kernel_message(FdRef fsfd) {
    std::string last;
    char buf[1024];
    for (;;) {
        ssize_t n = ::read(fsfd.get(), buf, sizeof buf);
        if (n <= 0) break;
        std::string_view m(buf, static_cast<size_t>(n));
        while (!m.empty() && m.back() == '\n') m.remove_suffix(1);
        if (m.size() > 2 && (m[0] == 'e' || m[0] == 'w') && m[1] == ' ') last = m.substr(2);
    }
    return last;
}

std::unexpected<Error> fs_fail(FdRef fsfd, std::string what) {
    int err = errno;
    std::string k = kernel_message(fsfd);
    return fail(Error(err, k.empty() ? std::move(what) : cat(what, ": ", k)));
}

// Scratch mounts (the tmpfs upper, an empty bottom layer, groups of layers on the mount(2)
// path) are stacked on root.path itself, under the overlay that will cover them. Why there:
// overlayfs before Linux 6.15 takes layers only from mounts attached in the mounter's namespace
// (clone_private_mount's check), so a detached mount alone will not do on Debian's 6.1; and
// root.path's parent was made private by prepare_rootfs, so nothing stacked on it can propagate
// to the host, even with rootfsPropagation "shared". The overlay holds its own private clones
// of its layers, so the scratch mounts may go: pivot_root detaches them with the old root (and
// with --no-pivot they stay outside the chroot). The kernel reaches each through
// /proc/self/fd/N of a descriptor on its root.
Status attach_at(FdRef tree, const std::string& rootfs) {
    UniqueFd at(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!at) return fail_sys(cat("open ", q(rootfs)));
    return ops::attach(tree, at);
}

// The tmpfs that holds the upper and work directories, made detached (never seen half-made),
// then attached under the overlay.
Result<UniqueFd> tmpfs_upper(const OverlayPlan& p, const std::string& rootfs) {
    UniqueFd fsfd(sys::fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!fsfd) return fail_sys("fsopen tmpfs");
    if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0)
        return fs_fail(fsfd, "configure the tmpfs upper");
    if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) < 0)
        return fs_fail(fsfd, "configure the tmpfs upper");
    if (p.layers.tmpfs_size) {
        std::string size = cat(*p.layers.tmpfs_size);
        if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "size", size.c_str(), 0) < 0)
            return fs_fail(fsfd, cat("set the tmpfs upper's size to ", size, " bytes"));
    }
    if (sys::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        return fs_fail(fsfd, "create the tmpfs upper");
    UniqueFd mnt(sys::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, 0));
    if (!mnt) return fs_fail(fsfd, "fsmount the tmpfs upper");
    // The merged root shows the upper's root: make it look like the top layer's.
    if (::mkdirat(mnt.get(), "upper", 0700) < 0) return fail_sys("mkdir `upper` in the tmpfs");
    if (::fchownat(mnt.get(), "upper", p.top_uid, p.top_gid, 0) < 0) return fail_sys("chown `upper` in the tmpfs");
    if (::fchmodat(mnt.get(), "upper", p.top_mode, 0) < 0) return fail_sys("chmod `upper` in the tmpfs");
    if (::mkdirat(mnt.get(), "work", 0700) < 0) return fail_sys("mkdir `work` in the tmpfs");
    HULL_TRY_CTX(attach_at(mnt, rootfs), "attach the tmpfs upper");
    return mnt;
}

Result<UniqueFd> empty_layer(const std::string& rootfs) {
    auto mnt = HULL_TRY_CTX(ops::empty_readonly_tmpfs(), "an empty bottom layer");
    HULL_TRY_CTX(attach_at(mnt, rootfs), "attach an empty bottom layer");
    return mnt;
}

// What overlayfs is told for a path: fsconfig takes strings of at most 255 bytes, so a longer
// path goes as /proc/self/fd/N of a descriptor kept in `held`.
Result<std::string> short_path(const std::string& path, std::vector<UniqueFd>& held) {
    if (path.size() < 256) return path;
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return fail_sys(cat("open ", q(path)));
    std::string s = pathres::proc_fd_path(fd.get());
    held.push_back(std::move(fd));
    return s;
}

struct Scratch {
    UniqueFd upper;   // the tmpfs upper
    UniqueFd bottom;  // the empty bottom layer
    std::string upper_dir, work_dir;
};

enum class NewApi { mounted, unsupported };

// fsopen + one `lowerdir+` per layer + fsmount + move_mount (Linux >= 6.8).
Result<NewApi> mount_new_api(const OverlayPlan& p, const Scratch& s, const std::string& rootfs) {
    UniqueFd fsfd(sys::fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fsfd && errno == ENOSYS) return NewApi::unsupported;  // before Linux 5.2
    if (!fsfd) return fail_sys("fsopen overlay");
    {
        // Before Linux 6.5 overlayfs had no parameter parser of its own: the kernel's legacy
        // context takes any key into an option string that fails only at create, with a bare
        // EINVAL (Debian 12's 6.1). A made-up flag on a throwaway context tells them apart: an
        // overlay with its own parser refuses it, the legacy context takes it.
        UniqueFd probe(sys::fsopen("overlay", FSOPEN_CLOEXEC));
        if (probe && sys::fsconfig(probe.get(), FSCONFIG_SET_FLAG, "hull-probe", nullptr, 0) == 0)
            return NewApi::unsupported;
    }
    if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
        return fs_fail(fsfd, "configure the overlay");
    std::vector<UniqueFd> held;
    auto lower = [&](const std::string& dir, size_t i) -> Result<bool> {
        std::string path = HULL_TRY(short_path(dir, held));
        if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "lowerdir+", path.c_str(), 0) == 0) return true;
        int err = errno;
        std::string k = kernel_message(fsfd);
        // Before Linux 6.8: "overlay: Unknown parameter 'lowerdir+'".
        if (i == 0 && err == EINVAL && k.find("nknown parameter") != std::string::npos) return false;
        return fail(Error(err, cat("add the layer ", q(dir), k.empty() ? "" : ": ", k)));
    };
    for (size_t i = 0; i < p.layers.lower.size(); ++i)
        if (!HULL_TRY(lower(p.layers.lower[i], i))) return NewApi::unsupported;
    if (s.bottom) HULL_TRY(lower(pathres::proc_fd_path(s.bottom.get()), 1));
    if (p.layers.upper != OverlayUpper::none) {
        std::string up = HULL_TRY(short_path(s.upper_dir, held));
        std::string work = HULL_TRY(short_path(s.work_dir, held));
        if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "upperdir", up.c_str(), 0) < 0)
            return fs_fail(fsfd, cat("set the upper directory ", q(s.upper_dir)));
        if (sys::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0) < 0)
            return fs_fail(fsfd, cat("set the work directory ", q(s.work_dir)));
    }
    if (sys::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        return fs_fail(fsfd, "create the overlay");
    UniqueFd mnt(sys::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, 0));
    if (!mnt) return fs_fail(fsfd, "fsmount the overlay");
    HULL_TRY_CTX(attach_at(mnt, rootfs), "attach the overlay");
    return NewApi::mounted;
}

std::string joined(const std::vector<std::string>& names) {
    std::string s = "lowerdir=";
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) s += ':';
        s += names[i];
    }
    return s;
}

// mount(2) with the option string planned by the parent (Debian 12's 6.1 and the test knob).
Status mount_legacy(const OverlayPlan& p, const Scratch& s, const std::string& rootfs) {
    if (!p.legacy_error.empty())
        return fail_msg(cat("this kernel has no `lowerdir+` (Linux 6.8), and mount(2) cannot take the layers: ",
                            p.legacy_error));
    UniqueFd old_cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!old_cwd) return fail_sys("open the working directory");
    if (!p.legacy_cwd.empty() && ::chdir(p.legacy_cwd.c_str()) < 0)
        return fail_sys(cat("chdir to the layers' directory ", q(p.legacy_cwd)));

    std::vector<UniqueFd> groups;
    std::vector<std::string> lowers;
    const bool nested = p.legacy_groups.size() > 1;
    for (const auto& g : p.legacy_groups) {
        if (!nested || g.size() == 1) {
            lowers.insert(lowers.end(), g.begin(), g.end());
            continue;
        }
        std::string data = joined(g);
        if (::mount("overlay", rootfs.c_str(), "overlay", 0, data.c_str()) < 0)
            return fail_sys(cat("mount a group of ", g.size(), " layers (from ", q(g.front()), ") as an overlay"));
        UniqueFd fd(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!fd) return fail_sys(cat("open ", q(rootfs)));
        lowers.push_back(pathres::proc_fd_path(fd.get()));
        groups.push_back(std::move(fd));
    }
    if (s.bottom) lowers.push_back(pathres::proc_fd_path(s.bottom.get()));
    std::string data = joined(lowers);
    if (p.layers.upper != OverlayUpper::none) data += cat(",upperdir=", s.upper_dir, ",workdir=", s.work_dir);
    if (::mount("overlay", rootfs.c_str(), "overlay", 0, data.c_str()) < 0)
        return fail_sys(cat("mount(2) the overlay (", lowers.size(), " lowers, ", data.size(), " bytes of options)"));
    if (::fchdir(old_cwd.get()) < 0) return fail_sys("chdir back");
    return {};
}

}  // namespace

Result<UniqueFd> mount_overlay_root(const OverlayPlan& p, const std::string& rootfs) {
    Scratch s;
    if (p.layers.upper == OverlayUpper::tmpfs) {
        s.upper = HULL_TRY(tmpfs_upper(p, rootfs));
        std::string base = pathres::proc_fd_path(s.upper.get());
        s.upper_dir = base + "/upper";
        s.work_dir = base + "/work";
    } else if (p.layers.upper == OverlayUpper::dir) {
        s.upper_dir = p.layers.upper_dir;
        s.work_dir = p.layers.work_dir;
    }
    if (p.empty_bottom) s.bottom = HULL_TRY(empty_layer(rootfs));

    bool mounted = false;
    if (!p.legacy_only) mounted = HULL_TRY(mount_new_api(p, s, rootfs)) == NewApi::mounted;
    if (!mounted) HULL_TRY(mount_legacy(p, s, rootfs));

    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_sys(cat("open the rootfs ", q(rootfs)));
    struct statfs sfs;
    if (::fstatfs(root.get(), &sfs) < 0) return fail_sys(cat("statfs ", q(rootfs)));
    if (sfs.f_type != OVERLAYFS_SUPER_MAGIC)
        return fail(Error(EIO, cat("the overlay is not visible at ", q(rootfs))));
    return root;
}

}  // namespace hull::runtime::linux
