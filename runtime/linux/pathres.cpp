#include "runtime/linux/pathres.hpp"

#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>
#include <deque>
#include <vector>

namespace hull::runtime::linux::pathres {

namespace {

constexpr int kMaxSymlinks = 40;      // the kernel's own limit (MAXSYMLINKS)
constexpr int kMaxRetries = 16;       // openat2 EAGAIN, and create-vs-create races
constexpr int kMaxCreateRounds = 16;  // per component: create, then look again (races)

std::string display(std::string_view path) {
    std::string p = path.empty() || path[0] != '/' ? cat("/", path) : std::string(path);
    return p;
}

void push_components(std::deque<std::string>& todo, std::string_view path) {
    // Pushed in front, in order, so a symlink's target is walked before what followed the link.
    std::vector<std::string> parts = split(path, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(std::move(*it));
}

bool only_trivial(const std::deque<std::string>& todo) {
    for (const auto& c : todo)
        if (!c.empty() && c != ".") return false;
    return true;
}

Result<std::string> read_link(int fd) {
    char buf[PATH_MAX + 1];
    ssize_t n = ::readlinkat(fd, "", buf, sizeof buf);
    if (n < 0) return fail_sys("readlink");
    if (static_cast<size_t>(n) >= sizeof buf) return fail(Error(ENAMETOOLONG, "readlink"));
    return std::string(buf, static_cast<size_t>(n));
}

bool on_procfs(int fd) {
    struct statfs sfs;
    return ::fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

UniqueFd dup_fd(int fd) { return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

enum class Missing { fail, directory, file };

// The userspace twin of RESOLVE_IN_ROOT, one component at a time: every step is an openat()
// with O_NOFOLLOW relative to the directory reached so far; symlinks are read and their target
// walked in turn (absolute ones from `root`); `..` pops the chain of directories walked, never
// past `root`, so the kernel's own `..` is never used. With `missing` set, what does not exist is
// created (mkdirat, or an O_CREAT|O_EXCL file for the last component) and then looked up again:
// a racing rename or symlink is then simply walked like any other.
Result<UniqueFd> walk(FdRef root, std::string_view path, Missing missing, mode_t dir_mode, mode_t file_mode) {
    std::vector<UniqueFd> chain;
    std::vector<std::string> names;  // the directories walked, for messages
    chain.push_back(dup_fd(root.get()));
    if (!chain.back()) return fail_sys("dup the rootfs descriptor");

    auto where = [&](std::string_view comp) {
        std::string p;
        for (const auto& n : names) p += "/" + n;
        return cat(p, "/", comp);
    };

    std::deque<std::string> todo;
    push_components(todo, path);
    int links = 0;
    int rounds = 0;
    while (!todo.empty()) {
        std::string comp = std::move(todo.front());
        todo.pop_front();
        if (comp.empty() || comp == ".") continue;
        if (comp == "..") {
            if (chain.size() > 1) {
                chain.pop_back();
                names.pop_back();
            }
            continue;
        }
        int cur = chain.back().get();
        bool last = only_trivial(todo);
        UniqueFd fd(::openat(cur, comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            if (errno != ENOENT || missing == Missing::fail) return fail_sys(cat("open ", q(where(comp))));
            if (++rounds > kMaxCreateRounds) return fail(Error(ELOOP, cat("create ", q(where(comp)))));
            if (last && missing == Missing::file) {
                int f = ::openat(cur, comp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, file_mode);
                if (f < 0 && errno != EEXIST) return fail_sys(cat("create ", q(where(comp))));
                if (f >= 0) ::close(f);
            } else if (::mkdirat(cur, comp.c_str(), dir_mode) < 0 && errno != EEXIST) {
                return fail_sys(cat("mkdir ", q(where(comp))));
            }
            todo.push_front(std::move(comp));
            continue;
        }
        rounds = 0;
        struct stat st;
        if (::fstat(fd.get(), &st) < 0) return fail_sys(cat("stat ", q(where(comp))));
        if (S_ISLNK(st.st_mode)) {
            if (++links > kMaxSymlinks) return fail(Error(ELOOP, cat("resolve ", q(where(comp)))));
            // procfs symlinks may be magic links (fd/N, exe, root, cwd), which RESOLVE_NO_MAGICLINKS
            // refuses; nothing is ever created in procfs, so refuse them all here.
            if (on_procfs(cur)) return fail(Error(ELOOP, cat("refusing to follow the procfs link ", q(where(comp)))));
            std::string target = HULL_TRY_CTX(read_link(fd.get()), cat("resolve ", q(where(comp))));
            if (target.empty()) return fail(Error(ENOENT, cat("resolve ", q(where(comp)))));
            if (target[0] == '/') {
                chain.resize(1);
                names.clear();
            }
            push_components(todo, target);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            chain.push_back(std::move(fd));
            names.push_back(std::move(comp));
            continue;
        }
        if (!last) return fail(Error(ENOTDIR, cat("resolve ", q(where(comp)))));
        return fd;
    }
    return std::move(chain.back());
}

Result<UniqueFd> openat2_in_root(FdRef root, std::string_view path) {
    std::string rel(path);
    while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
    if (rel.empty()) rel = ".";
    struct open_how how = {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    for (int i = 0; i < kMaxRetries; ++i) {
        int fd = sys::openat2(root.get(), rel.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(fd);
        // EAGAIN: a rename or mount raced with a `..` in the path; the kernel asks for a retry.
        if (errno != EAGAIN) break;
    }
    return fail_sys(cat("resolve ", q(display(path))));
}

Status check_kind(FdRef fd, Kind kind, std::string_view path) {
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_sys(cat("stat ", q(display(path))));
    if (kind == Kind::directory && !S_ISDIR(st.st_mode))
        return fail(Error(ENOTDIR, cat(q(display(path)), " exists and is not a directory")));
    if (kind == Kind::file && S_ISDIR(st.st_mode))
        return fail(Error(EISDIR, cat(q(display(path)), " exists and is a directory")));
    return {};
}

}  // namespace

Result<UniqueFd> open_in_root(FdRef root, std::string_view path) {
    auto r = openat2_in_root(root, path);
    if (r || r.error().code() != ENOSYS) return r;
    // Before Linux 5.6: the same walk, done in userspace.
    return walk(root, path, Missing::fail, 0, 0);
}

Result<UniqueFd> create_in_root(FdRef root, std::string_view path, Kind kind, mode_t dir_mode, mode_t file_mode) {
    auto r = openat2_in_root(root, path);
    if (!r) {
        int e = r.error().code();
        if (e != ENOENT && e != ENOSYS) return r;
        r = walk(root, path, kind == Kind::file ? Missing::file : Missing::directory, dir_mode, file_mode);
        if (!r) return r;
    }
    HULL_TRY(check_kind(*r, kind, path));
    return r;
}

Result<Parent> open_parent_in_root(FdRef root, std::string_view path, bool create, mode_t dir_mode) {
    std::string_view p = path;
    while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
    auto slash = p.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? std::string_view() : p.substr(0, slash);
    std::string name(slash == std::string_view::npos ? p : p.substr(slash + 1));
    if (name.empty() || name == "." || name == "..")
        return fail(Error(EINVAL, cat(q(display(path)), ": not a path to a file")));
    Parent out;
    out.name = std::move(name);
    if (create) out.dir = HULL_TRY(create_in_root(root, dir, Kind::directory, dir_mode));
    else out.dir = HULL_TRY(open_in_root(root, dir));
    HULL_TRY(check_kind(out.dir, Kind::directory, dir));
    return out;
}

std::string proc_fd_path(int fd) { return cat("/proc/self/fd/", fd); }

}  // namespace hull::runtime::linux::pathres
