// Capabilities (libcap) and rlimits: planned in the parent, applied by the init.
//
// The init's order (crun's and runc's; rlimits were set by the parent): drop_bounding while still privileged;
// PR_SET_KEEPCAPS, setgroups/setresgid/setresuid; apply (effective/permitted/inheritable,
// then ambient); no_new_privs; seccomp (see seccomp.hpp for where exactly).
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <sys/capability.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace hull::runtime::linux {

// The five sets as bitmasks (bit n = CAP_* number n), computed once in the parent.
struct CapPlan {
    bool present = false;     // process.capabilities given at all (informational, see plan_caps)
    int last_cap = 0;         // the kernel's highest capability number, read once in the parent
    uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// The running kernel's highest capability number: /proc/sys/kernel/cap_last_cap, or probed
// with PR_CAPBSET_READ when /proc is unavailable. Read once, then cached.
int host_last_cap();

// Absent process.capabilities means every set empty, as runc does (its init starts from an
// empty configs.Capabilities): the process keeps no capability at all, bounding included.
// So the init calls drop_bounding() and apply() whether or not the plan is present().
// As runc, capabilities this kernel lacks (above last_cap) are dropped with a warning, and so
// are ambient ones not also inheritable and permitted (the kernel refuses to raise them).
CapPlan plan_caps(const std::optional<oci::Capabilities>& caps);
CapPlan plan_caps(const std::optional<oci::Capabilities>& caps, int last_cap);

// Child side, no allocation: the libcap handle is built in the parent by the constructor.
// Call order in the init: drop_bounding() while still privileged, then the uid/gid switch
// with PR_SET_KEEPCAPS, then apply().
class PreparedCaps {
public:
    PreparedCaps() = default;
    explicit PreparedCaps(const CapPlan& plan);
    PreparedCaps(const PreparedCaps&) = delete;
    PreparedCaps& operator=(const PreparedCaps&) = delete;
    PreparedCaps(PreparedCaps&&) noexcept;
    PreparedCaps& operator=(PreparedCaps&&) noexcept;
    ~PreparedCaps();

    bool present() const { return plan_.present; }
    const CapPlan& plan() const { return plan_; }
    // Drops every capability 0..last_cap not in the bounding set (those still in the
    // current bounding set; dropping needs CAP_SETPCAP). Returns 0 or -errno.
    int drop_bounding() const noexcept;
    // Sets effective/permitted/inheritable with one capset, then clears the ambient set and
    // raises the planned ambient capabilities. Returns 0 or -errno (-ENOMEM when the
    // constructor could not allocate the libcap handle).
    int apply() const noexcept;

private:
    CapPlan plan_;
    cap_t caps_ = nullptr;
};

// Parent side: prlimit(2) on `pid` for each, in order (runc applies them this way, from the
// parent: raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace, which a
// child inside a new user namespace lacks).
Status apply_rlimits_to(pid_t pid, const std::vector<oci::Rlimit>& rlimits);

}  // namespace hull::runtime::linux
