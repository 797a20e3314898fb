// process.rlimits: prlimit on the new process from the parent, as runc does (inside a user
// namespace the process itself could not raise a hard limit).
// Declared in caps.hpp, with the other per-process attributes the init applies.
#include "runtime/linux/caps.hpp"

#include "common/strings.hpp"

#include <sys/resource.h>

#include <cerrno>

namespace hull::runtime::linux {
namespace {

int set_limit(pid_t pid, const oci::Rlimit& r) noexcept {
    struct rlimit lim;
    lim.rlim_cur = static_cast<rlim_t>(r.soft);
    lim.rlim_max = static_cast<rlim_t>(r.hard);
    // glibc types the resource as an enum in C++; the number came from the spec's table.
    return prlimit(pid, static_cast<enum __rlimit_resource>(r.resource), &lim, nullptr);
}

}  // namespace

Status apply_rlimits_to(pid_t pid, const std::vector<oci::Rlimit>& rlimits) {
    for (const oci::Rlimit& r : rlimits) {
        if (set_limit(pid, r) != 0) {
            int err = errno;
            std::string name = r.name.empty() ? cat("rlimit ", r.resource) : r.name;
            return fail(Error(err, cat("set ", q(name), " to soft ", r.soft, ", hard ", r.hard, " on pid ", pid)));
        }
    }
    return {};
}

}  // namespace hull::runtime::linux
