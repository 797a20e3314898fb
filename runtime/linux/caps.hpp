// Capabilities (libcap), rlimits and the other per-process attributes the init applies.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <sys/capability.h>

#include <cstdint>
#include <vector>

namespace hull::runtime::linux {

// The five sets as bitmasks, computed once in the parent.
struct CapPlan {
    bool present = false;     // process.capabilities given at all
    uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

CapPlan plan_caps(const std::optional<oci::Capabilities>& caps);

// Child side, no allocation (the libcap handle is prepared in the parent by prepare_caps).
// Call order in the init: drop_bounding() while still privileged, then the uid/gid switch
// with PR_SET_KEEPCAPS, then apply_caps().
class PreparedCaps {
public:
    PreparedCaps() = default;
    explicit PreparedCaps(const CapPlan& plan);
    PreparedCaps(PreparedCaps&&) noexcept;
    PreparedCaps& operator=(PreparedCaps&&) noexcept;
    ~PreparedCaps();

    bool present() const { return plan_.present; }
    // Drops every capability not in the bounding set. Returns 0 or -errno.
    int drop_bounding() const noexcept;
    // Sets effective/permitted/inheritable, then raises the ambient set. Returns 0 or -errno.
    int apply() const noexcept;

private:
    CapPlan plan_;
    cap_t caps_ = nullptr;
};

// Child side: setrlimit for each; returns 0 or -errno (and the failing index in *failed).
int apply_rlimits(const std::vector<oci::Rlimit>& rlimits, size_t* failed) noexcept;

}  // namespace hull::runtime::linux
