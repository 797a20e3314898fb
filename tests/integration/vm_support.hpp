// What the vm tests share: the reason to skip vm isolation (test_vm_oci.cpp, test_vm_linux.cpp,
// test_vm_disks.cpp), or nullopt when hull can run a VM container here; the end of a
// `hull vm run` test (test_vm.cpp, test_vm_disks.cpp).
#pragma once

#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

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

// The end of a `hull vm run` test: every hull it started named a file under `base` on its
// command line, so a survivor (a VMM whose vCPU thread kept it alive, a helper it forked) shows
// up by it. Survivors are killed and fail the test; then `base` goes.
inline void end_vm_run_test(const fs::path& base) {
    if (base.empty()) return;
    std::vector<int> left = host_processes_mentioning(base.string());
    for (int pid : left) kill(pid, SIGKILL);
    EXPECT_TRUE(left.empty()) << left.size() << " process(es) left behind, e.g. pid " << left.front();
    std::error_code ec;
    fs::remove_all(base, ec);
}

}  // namespace hull::itest
