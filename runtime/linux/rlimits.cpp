// process.rlimits: setrlimit in the init, or prlimit on the init from the parent.
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

int apply_rlimits(const std::vector<oci::Rlimit>& rlimits, size_t* failed) noexcept {
    for (size_t i = 0; i < rlimits.size(); ++i) {
        if (set_limit(0, rlimits[i]) != 0) {
            if (failed) *failed = i;
            return -errno;
        }
    }
    return 0;
}

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
