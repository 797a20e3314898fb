// The runtime-spec features document (`hull features`). Per features.md it describes what this
// build implements, not what the host offers, so nothing here probes the machine.
#include "oci-spec/names.hpp"
#include "oci-spec/spec.hpp"

#include "common/strings.hpp"

#include <seccomp.h>

#ifndef HULL_VERSION
#define HULL_VERSION "0.0.0"
#endif

namespace hull::oci {

nlohmann::json features() {
    using json = nlohmann::json;
    return json{
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", kSpecVersion},
        {"hooks", names::all(names::kHooks)},
        {"mountOptions", names::all(names::kMountOptions)},
        {"linux",
         {
             {"namespaces", names::all(names::kNamespaces)},
             {"capabilities", names::capability_names()},
             {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", true}}},
             {"seccomp",
              {
                  {"enabled", true},
                  {"actions", names::all(names::kSeccompActions)},
                  {"operators", names::all(names::kSeccompOps)},
                  {"archs", names::all(names::kSeccompArchs)},
                  {"knownFlags", names::all(names::kSeccompFlags)},
                  // hull installs the filter with seccomp(2) itself, so every known flag is
                  // passed straight to the kernel.
                  {"supportedFlags", names::all(names::kSeccompFlags)},
              }},
             {"apparmor", {{"enabled", false}}},
             {"selinux", {{"enabled", false}}},
             {"intelRdt", {{"enabled", false}}},
             {"mountExtensions", {{"idmap", {{"enabled", true}}}}},
         }},
        {"annotations",
         {
             {"io.github.hull.version", HULL_VERSION},
             {"io.github.seccomp.libseccomp.version", cat(SCMP_VER_MAJOR, ".", SCMP_VER_MINOR, ".", SCMP_VER_MICRO)},
         }},
    };
}

}  // namespace hull::oci
