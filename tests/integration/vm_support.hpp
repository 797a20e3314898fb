// What the vm-isolation tests need from the machine, shared by test_vm_oci.cpp and
// test_vm_linux.cpp: the reason to skip, or nullopt when hull can run a VM container here.
#pragma once

#include "harness.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

namespace hull::itest {

// `need_ext4`: the test gives a Linux guest a writable disk, which mkfs.ext4 formats.
inline std::optional<std::string> vm_unavailable_reason(bool need_ext4) {
    if (runtime_is_runc()) return "runc has no vm isolation";
    if (geteuid() != 0) return "needs root (for /dev/kvm, cgroups and namespaces)";
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::string("no usable /dev/kvm: ") + strerror(errno);
    close(fd);
    if (access("/usr/bin/mkfs.erofs", X_OK) != 0 && access("/usr/sbin/mkfs.erofs", X_OK) != 0)
        return "no mkfs.erofs (Debian package erofs-utils)";
    if (need_ext4 && access("/usr/sbin/mkfs.ext4", X_OK) != 0 && access("/sbin/mkfs.ext4", X_OK) != 0)
        return "no mkfs.ext4 (Debian package e2fsprogs)";
    return std::nullopt;
}

}  // namespace hull::itest
