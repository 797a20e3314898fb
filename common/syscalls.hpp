// Raw syscall stubs for interfaces glibc 2.36 does not wrap (or wraps incompletely).
// Each returns -1 with errno set on failure, like libc.
#pragma once

#include <linux/bpf.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>

namespace hull::sys {

inline long clone3(struct clone_args* args, size_t size) { return ::syscall(SYS_clone3, args, size); }
inline int pidfd_open(pid_t pid, unsigned flags) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags)); }
inline int pidfd_send_signal(int pidfd, int sig, siginfo_t* info, unsigned flags) {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags));
}
inline int pidfd_getfd(int pidfd, int fd, unsigned flags) {
    return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, flags));
}
inline int openat2(int dirfd, const char* path, struct open_how* how, size_t size) {
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, size));
}
inline int pivot_root(const char* new_root, const char* put_old) {
    return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}
inline int open_tree(int dirfd, const char* path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}
inline int move_mount(int from_dirfd, const char* from_path, int to_dirfd, const char* to_path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags));
}
inline int fsopen(const char* fsname, unsigned flags) { return static_cast<int>(::syscall(SYS_fsopen, fsname, flags)); }
inline int fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
    return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
inline int fsmount(int fd, unsigned flags, unsigned attr_flags) {
    return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attr_flags));
}
inline int mount_setattr(int dirfd, const char* path, unsigned flags, struct mount_attr* attr, size_t size) {
    return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, size));
}
inline int seccomp(unsigned op, unsigned flags, void* args) {
    return static_cast<int>(::syscall(SYS_seccomp, op, flags, args));
}
inline int bpf(int cmd, union bpf_attr* attr, unsigned size) {
    return static_cast<int>(::syscall(SYS_bpf, cmd, attr, size));
}
inline int close_range(unsigned first, unsigned last, unsigned flags) {
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

}  // namespace hull::sys
