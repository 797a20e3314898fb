// The seccomp profile hull gives containers made from images: in effect the one docker and
// podman apply by default. Everything not listed fails with EPERM; an allow list of the
// syscalls ordinary programs use; groups that only a container holding a capability gets
// (mount and namespace creation with CAP_SYS_ADMIN, ptrace helpers with CAP_SYS_PTRACE...);
// clone without namespace flags, clone3 failing with ENOSYS (so libc falls back to clone,
// whose flags a filter can inspect), personality only for its harmless values.
//
// Pure data: the names are checked against libseccomp by the unit tests, not here.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hull::oci {

// The runtime-spec `linux.seccomp` object for a container whose bounding set is `caps`
// ("CAP_SYS_ADMIN"...), for the architecture hull was built for (x86_64 with its 32-bit
// and x32 ABIs, or aarch64 with arm).
nlohmann::json default_seccomp_profile(const std::vector<std::string>& caps);

// Every syscall name the profile can list, whatever the capabilities: for tests.
std::vector<std::string_view> default_seccomp_syscall_names();

}  // namespace hull::oci
