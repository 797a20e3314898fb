#include "runtime/linux/caps.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace hull::runtime::linux {
namespace {

// A 64-bit mask holds every capability; the kernel is at 40 today.
constexpr int kMaxCap = 63;

uint64_t bit(int cap) { return uint64_t{1} << cap; }

std::optional<int> read_cap_last_cap() {
    UniqueFd fd(open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    char buf[16];
    ssize_t n;
    do n = read(fd.get(), buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return std::nullopt;
    std::string_view s(buf, static_cast<size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    auto v = parse_int<int>(s);
    if (!v || *v < 0 || *v > kMaxCap) return std::nullopt;
    return v;
}

// Without /proc: the bounding set answers EINVAL for numbers the kernel does not know.
int probe_cap_last_cap() {
    int c = 0;
    while (c <= kMaxCap && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0) ++c;
    return c > 0 ? c - 1 : CAP_LAST_CAP;
}

std::string cap_names(uint64_t mask, const std::vector<int>& out_of_range) {
    std::vector<std::string> names;
    for (int c = 0; c <= kMaxCap; ++c) {
        if (!(mask & bit(c))) continue;
        char* n = cap_to_name(static_cast<cap_value_t>(c));
        names.push_back(n ? n : std::to_string(c));
        if (n) cap_free(n);
    }
    for (int c : out_of_range) names.push_back(std::to_string(c));
    return join(names, ", ");
}

}  // namespace

int host_last_cap() {
    static const int last = [] { return read_cap_last_cap().value_or(probe_cap_last_cap()); }();
    return last;
}

CapPlan plan_caps(const std::optional<oci::Capabilities>& caps) { return plan_caps(caps, host_last_cap()); }

CapPlan plan_caps(const std::optional<oci::Capabilities>& caps, int last_cap) {
    CapPlan plan;
    plan.last_cap = last_cap < 0 ? 0 : (last_cap > kMaxCap ? kMaxCap : last_cap);
    if (!caps) return plan;
    plan.present = true;

    uint64_t unknown = 0;           // known to the spec, not to this kernel
    std::vector<int> out_of_range;  // not even a bit we could hold
    auto mask = [&](const std::optional<std::vector<int>>& list) {
        uint64_t m = 0;
        if (!list) return m;
        for (int c : *list) {
            if (c < 0 || c > kMaxCap) {
                out_of_range.push_back(c);
            } else if (c > plan.last_cap) {
                unknown |= bit(c);
            } else {
                m |= bit(c);
            }
        }
        return m;
    };
    plan.bounding = mask(caps->bounding);
    plan.effective = mask(caps->effective);
    plan.inheritable = mask(caps->inheritable);
    plan.permitted = mask(caps->permitted);
    plan.ambient = mask(caps->ambient);
    if (unknown || !out_of_range.empty())
        log::warn(cat("ignoring capabilities this kernel does not have: ", cap_names(unknown, out_of_range)));

    // The kernel keeps ambient within permitted and inheritable: PR_CAP_AMBIENT_RAISE fails
    // otherwise. runc drops such entries rather than failing the container.
    uint64_t unraisable = plan.ambient & ~(plan.inheritable & plan.permitted);
    if (unraisable) {
        // runc's own default spec asks for ambient capabilities it leaves out of the inheritable
        // set; the kernel cannot raise those, and runc drops them silently. Debug, not a warning
        // on every run of a default config.
        log::debug(cat("ignoring ambient capabilities not also inheritable and permitted: ", cap_names(unraisable, {})));
        plan.ambient &= ~unraisable;
    }
    return plan;
}

PreparedCaps::PreparedCaps(const CapPlan& plan) : plan_(plan), caps_(cap_init()) {
    if (!caps_) return;  // apply() reports -ENOMEM
    auto set = [&](cap_flag_t flag, uint64_t mask) {
        cap_value_t values[kMaxCap + 1];
        int n = 0;
        for (int c = 0; c <= plan_.last_cap; ++c)
            if (mask & bit(c)) values[n++] = c;
        if (n > 0 && cap_set_flag(caps_, flag, n, values, CAP_SET) != 0) {
            cap_free(caps_);
            caps_ = nullptr;
        }
    };
    set(CAP_EFFECTIVE, plan_.effective);
    if (caps_) set(CAP_PERMITTED, plan_.permitted);
    if (caps_) set(CAP_INHERITABLE, plan_.inheritable);
}

PreparedCaps::PreparedCaps(PreparedCaps&& o) noexcept : plan_(o.plan_), caps_(std::exchange(o.caps_, nullptr)) {}

PreparedCaps& PreparedCaps::operator=(PreparedCaps&& o) noexcept {
    if (this != &o) {
        if (caps_) cap_free(caps_);
        plan_ = o.plan_;
        caps_ = std::exchange(o.caps_, nullptr);
    }
    return *this;
}

PreparedCaps::~PreparedCaps() {
    if (caps_) cap_free(caps_);
}

// libcap's cap_drop_bound, cap_set_proc and the ambient calls are single prctl/capset
// syscalls on a handle built beforehand (no allocation, no locks held across fork: the
// parent is single-threaded), which keeps them usable after fork.
int PreparedCaps::drop_bounding() const noexcept {
    for (int c = 0; c <= plan_.last_cap; ++c) {
        if (plan_.bounding & bit(c)) continue;
        // Skipping what is already gone keeps a plan that drops nothing new working without
        // CAP_SETPCAP (the kernel checks it before looking at the capability).
        int in_bound = cap_get_bound(static_cast<cap_value_t>(c));
        if (in_bound == 0) continue;
        if (cap_drop_bound(static_cast<cap_value_t>(c)) != 0) return -errno;
    }
    return 0;
}

int PreparedCaps::apply() const noexcept {
    if (!caps_) return -ENOMEM;
    if (cap_set_proc(caps_) != 0) return -errno;
    // A clean slate first: the ambient set survives execve and setuid, so whatever the
    // runtime inherited must not leak into the container.
    if (cap_reset_ambient() != 0) return -errno;
    for (int c = 0; c <= plan_.last_cap; ++c) {
        if (!(plan_.ambient & bit(c))) continue;
        if (cap_set_ambient(static_cast<cap_value_t>(c), CAP_SET) != 0) return -errno;
    }
    return 0;
}

}  // namespace hull::runtime::linux
