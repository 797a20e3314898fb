// Seccomp: the spec's filter compiled in the parent (libseccomp) to a BPF program that the
// container's init installs with one syscall, no allocation, right before execve.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <linux/filter.h>

#include <string>
#include <vector>

namespace hull::runtime::linux {

struct SeccompProgram {
    std::vector<struct sock_filter> filter;
    unsigned flags = 0;             // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags
    bool wants_listener = false;    // some action is SCMP_ACT_NOTIFY: install returns a listener fd
};

// Compiles linux.seccomp. Unknown syscall names are skipped (as runc and crun do: a profile
// names syscalls newer kernels add); unknown architectures or flags are errors.
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& spec);

// Child side, async-signal-safe. Installs the filter. Returns the listener fd when
// `wants_listener`, 0 when installed without one, or -errno.
int install_seccomp(const SeccompProgram& prog) noexcept;

// Parent side: sends the notify listener fd over `listener_path` (a unix socket) with the
// container process state JSON, as runtime-spec "seccomp notify" describes.
Status send_seccomp_listener(const std::string& listener_path, int listener_fd, const std::string& state_json);

}  // namespace hull::runtime::linux
