#include "runtime/container_util.hpp"

#include "common/syscalls.hpp"

#include <poll.h>

namespace hull::runtime::detail {

Result<std::unique_ptr<cgroups::Manager>> manager_for(const Record& r) {
    auto host = HULL_TRY(cgroups::detect_host());
    return cgroups::load_manager(host, r.cgroup);
}

oci::Status status_of(const StateStore& store, const Record& r, const cgroups::Manager* mgr) {
    bool frozen = false;
    if (mgr) {
        if (auto f = mgr->frozen(); f) frozen = *f;
    }
    return live_status(store, r, frozen);
}

bool wait_exit(int pidfd, int ms) {
    struct pollfd p = {pidfd, POLLIN, 0};
    for (;;) {
        int r = ::poll(&p, 1, ms);
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

UniqueFd open_init(const Record& r) {
    if (r.pid <= 0) return {};
    UniqueFd fd(sys::pidfd_open(r.pid, 0));
    if (!fd) return {};
    bool zombie = false;
    if (process_start_time(r.pid, &zombie) != r.pid_start_time) return {};
    return fd;
}

oci::Resources effective_resources(const oci::Linux& lx) {
    oci::Resources r = lx.resources.value_or(oci::Resources{});
    for (const auto& d : lx.devices) {
        if (d.type == 'p') continue;
        oci::DeviceRule allow;
        allow.allow = true;
        allow.type = d.type == 'u' ? 'c' : d.type;
        allow.major = d.major;
        allow.minor = d.minor;
        allow.access = "rwm";
        r.devices.push_back(allow);
    }
    auto denied = [&](const oci::DeviceRule& rule) {
        for (const auto& s : lx.resources ? lx.resources->devices : std::vector<oci::DeviceRule>{})
            if (!s.allow && s.type == rule.type && s.major && s.minor && s.major == rule.major && s.minor == rule.minor)
                return true;
        return false;
    };
    for (auto& rule : cgroups::default_device_rules(lx.devices))
        if (!denied(rule)) r.devices.push_back(std::move(rule));
    return r;
}

}  // namespace hull::runtime::detail
