// hull's own configuration file: `/etc/hull/config.json` (or $HULL_CONFIG). Today it holds one
// section, `vm`: the host kernel that boots a Linux image under `org.hull.isolation=vm` when the
// bundle names no kernel of its own (see linux_guest.hpp).
//
//   {"vm": {"kernel": "/boot/vmlinux-6.1", "modules": "/lib/modules/6.1.0-56-amd64",
//           "memory": "512M", "cpus": 1}}
//
// Errors name the file and the JSON path: `/etc/hull/config.json: .vm.memory: invalid memory size`.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hull::vm {

inline constexpr std::string_view kDefaultConfigPath = "/etc/hull/config.json";

// The `vm` section.
struct HostKernelConfig {
    std::string kernel;       // absolute host path: an ELF vmlinux (PVH or 64-bit entry) or a bzImage
    std::string modules;      // absolute host path of the kernel's module tree (modules.dep); empty: none
    std::uint64_t memory = 0; // guest memory when the spec sets no memory limit; 0: not set
    unsigned cpus = 0;        // vCPUs when the spec sets no CPU quota or cpuset; 0: not set
};

struct HullConfig {
    std::optional<HostKernelConfig> vm;  // absent when the file has no `vm` section
};

// $HULL_CONFIG when set and non-empty, else /etc/hull/config.json.
std::string config_path();

// Parses the file's text; `doc` names it in errors. Unknown top-level keys are left for other
// parts of hull; unknown keys inside `vm` are refused (a typo there would silently boot with
// defaults).
Result<HullConfig> parse_hull_config(std::string_view text, std::string_view doc);

// Reads and parses config_path(); nullopt when the file does not exist.
Result<std::optional<HullConfig>> load_hull_config();

}  // namespace hull::vm
