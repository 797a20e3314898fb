#include "runtime/vm/disk_lock.hpp"

#include "common/strings.hpp"

#include <fcntl.h>

#include <cerrno>

namespace hull::vm {
namespace {

struct flock whole_file(short type) {
    struct flock fl{};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // to the end, however far the file grows
    fl.l_pid = 0;  // F_OFD_* require 0
    return fl;
}

}  // namespace

Result<std::optional<LockHolder>> try_lock_file(int fd, LockMode mode) {
    const short type = mode == LockMode::shared ? F_RDLCK : F_WRLCK;
    // A holder can let go between the failed set and the query: then try again. Three rounds
    // are plenty; a lock that keeps changing hands is reported as held.
    for (int round = 0;; ++round) {
        struct flock fl = whole_file(type);
        if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return std::nullopt;
        if (errno == EINTR) continue;
        if (errno == ENOLCK || errno == EOPNOTSUPP) return std::nullopt;
        if (errno != EAGAIN && errno != EACCES) return fail_sys("lock");
        struct flock probe = whole_file(type);
        if (::fcntl(fd, F_OFD_GETLK, &probe) < 0) return fail_sys("query the lock");
        if (probe.l_type != F_UNLCK || round == 2) return LockHolder{probe.l_type == F_UNLCK ? -1 : probe.l_pid};
    }
}

Status unlock_file(int fd) {
    struct flock fl = whole_file(F_UNLCK);
    if (::fcntl(fd, F_OFD_SETLK, &fl) < 0) return fail_sys("unlock");
    return {};
}

Status lock_disk(int fd, const std::string& path, bool read_only) {
    auto holder = HULL_TRY_CTX(try_lock_file(fd, read_only ? LockMode::shared : LockMode::exclusive),
                               cat("disk ", q(path)));
    if (!holder) return {};
    std::string by = holder->pid > 0 ? cat(" (locked by pid ", holder->pid, ")") : std::string();
    return fail_msg(cat("disk ", q(path), " is in use by another VM", by));
}

}  // namespace hull::vm
