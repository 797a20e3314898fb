#include "cgroups/dir.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

namespace hull::cgroups {

std::string Dir::path() const { return fs::join(mount, rel); }

bool Dir::has(std::string_view controller) const {
    for (auto& c : split(controllers, ','))
        if (c == controller) return true;
    return false;
}

Status check_rel(std::string_view rel) {
    if (rel.size() < 2 || rel[0] != '/') return fail_msg(cat("cgroup path ", q(rel), ": not an absolute path below the root"));
    for (auto& c : split(rel.substr(1), '/'))
        if (c.empty() || c == "." || c == ".." || c.find('\0') != std::string::npos)
            return fail_msg(cat("cgroup path ", q(rel), ": not a clean path"));
    return {};
}

Error open_error(int err, std::string_view shown) {
    // O_PATH|O_NOFOLLOW opens a symlink itself and O_DIRECTORY then fails with ENOTDIR;
    // without O_PATH it is ELOOP. Either way the strerror text would mislead.
    if (err == ENOTDIR || err == ELOOP)
        return Error::msg(cat("cgroup ", q(shown), " is a symlink or not a directory; cgroup paths must be plain directories"));
    return Error(err, cat("open cgroup ", q(shown)));
}

Result<UniqueFd> open_dir(const Dir& d, int flags) {
    HULL_TRY(check_rel(d.rel));
    auto cur = HULL_TRY(fs::open(d.mount, O_PATH | O_DIRECTORY));
    auto parts = split(std::string_view(d.rel).substr(1), '/');
    for (size_t i = 0; i < parts.size(); ++i) {
        bool last = i + 1 == parts.size();
        int f = (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC;
        int fd = ::openat(cur.get(), parts[i].c_str(), f);
        if (fd < 0) {
            int err = errno;
            std::vector<std::string> upto(parts.begin(), parts.begin() + static_cast<ptrdiff_t>(i) + 1);
            std::string shown = fs::join(d.mount, join(upto, "/"));
            return fail(open_error(err, shown));
        }
        cur = UniqueFd(fd);
    }
    return cur;
}

Result<std::string> read_at(FdRef dir, std::string_view file, std::string_view shown) {
    std::string name(file);
    int fd = ::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("read ", q(cat(shown, "/", file))));
    UniqueFd owned(fd);
    return HULL_TRY_CTX(fs::read_fd(owned), cat("read ", q(cat(shown, "/", file))));
}

Status write_at(FdRef dir, std::string_view file, std::string_view value, std::string_view shown) {
    std::string name(file);
    int fd = ::openat(dir.get(), name.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("write ", q(value), " to ", q(cat(shown, "/", file))));
    UniqueFd owned(fd);
    // A control file takes one value per write(2); the kernel parses each call on its own.
    ssize_t n;
    do n = ::write(owned.get(), value.data(), value.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) return fail_sys(cat("write ", q(value), " to ", q(cat(shown, "/", file))));
    if (static_cast<size_t>(n) != value.size())
        return fail(Error(EIO, cat("write ", q(value), " to ", q(cat(shown, "/", file)), ": short write")));
    return {};
}

bool exists_at(FdRef dir, std::string_view file) {
    struct stat st;
    return ::fstatat(dir.get(), std::string(file).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<std::string> read_file(const Dir& d, std::string_view file) {
    auto fd = HULL_TRY(open_dir(d));
    return read_at(fd, file, d.path());
}

Status write_file(const Dir& d, std::string_view file, std::string_view value) {
    auto fd = HULL_TRY(open_dir(d));
    return write_at(fd, file, value, d.path());
}

bool has_file(const Dir& d, std::string_view file) {
    auto fd = open_dir(d);
    return fd && exists_at(*fd, file);
}

Status apply_writes(const Dir& d, const std::vector<Write>& writes) {
    if (writes.empty()) return {};
    auto fd = HULL_TRY(open_dir(d));
    for (auto& w : writes) HULL_TRY(write_at(fd, w.file, w.value, d.path()));
    return {};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void sleep_ms(int ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (::nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

}  // namespace hull::cgroups
