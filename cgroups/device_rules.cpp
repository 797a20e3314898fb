// runc's built-in device allow list (libcontainer/specconv AllowedDevices, runc 1.1.5).
#include "cgroups/manager.hpp"

namespace hull::cgroups {

std::vector<oci::DeviceRule> default_device_rules(const std::vector<oci::Device>& linux_devices) {
    struct Entry {
        const char* path;  // nullptr: a rule with no device node behind it
        char type;
        std::optional<int64_t> major, minor;
        const char* access;
    };
    static const Entry kAllowed[] = {
        {nullptr, 'c', std::nullopt, std::nullopt, "m"},  // mknod of any char device
        {nullptr, 'b', std::nullopt, std::nullopt, "m"},  // mknod of any block device
        {"/dev/null", 'c', 1, 3, "rwm"},
        {"/dev/random", 'c', 1, 8, "rwm"},
        {"/dev/full", 'c', 1, 7, "rwm"},
        {"/dev/tty", 'c', 5, 0, "rwm"},
        {"/dev/zero", 'c', 1, 5, "rwm"},
        {"/dev/urandom", 'c', 1, 9, "rwm"},
        {nullptr, 'c', 136, std::nullopt, "rwm"},  // /dev/pts/*
        {nullptr, 'c', 5, 2, "rwm"},               // /dev/ptmx
        {nullptr, 'c', 10, 200, "rwm"},            // /dev/net/tun (all of runc 1.1; 1.2.0 dropped it, 1.2.4 restored it)
    };
    std::vector<oci::DeviceRule> out;
    for (auto& e : kAllowed) {
        bool overridden = false;
        if (e.path)
            for (auto& d : linux_devices) overridden = overridden || d.path == e.path;
        if (overridden) continue;
        out.push_back(oci::DeviceRule{.allow = true, .type = e.type, .major = e.major, .minor = e.minor, .access = e.access});
    }
    return out;
}

}  // namespace hull::cgroups
