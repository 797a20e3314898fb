// v1 devices controller: a whitelist kept by the kernel, edited through devices.allow and
// devices.deny. "a" on devices.deny empties it and makes deny the default; each later line
// adds (allow) or removes (deny) an exception, so replaying the OCI rules in order after the
// "a" reproduces the spec's "last matching rule wins" semantics.
#include "cgroups/v1/controllers.hpp"

#include "cgroups/convert.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v1 {

namespace {

// The devices controller refuses writes from inside a user namespace; runc skips it there.
bool in_user_namespace() {
    auto map = fs::read_file("/proc/self/uid_map");
    if (!map) return false;
    auto fields = split(trim(*map), ' ');
    std::erase(fields, std::string());
    return !(fields.size() == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295");
}

}  // namespace

std::vector<Write> device_writes(const std::vector<oci::DeviceRule>& rules) {
    std::vector<Write> out{{"devices.deny", "a"}};
    for (auto& r : rules)
        for (auto& line : device_rule_lines(r)) out.push_back({r.allow ? "devices.allow" : "devices.deny", line});
    // A leading "deny a" in the rules repeats ours; drop the duplicate.
    if (out.size() > 1 && out[1] == out[0]) out.erase(out.begin());
    return out;
}

Status apply_devices(const Dir& d, const std::vector<oci::DeviceRule>& rules) {
    if (in_user_namespace()) {
        log::debug("linux.resources.devices: skipped inside a user namespace (the kernel refuses)");
        return {};
    }
    // On `update`, "deny a" first briefly denies every device to the running tasks until the
    // allows are back: a window that only ever denies more, never allows more. (runc computes
    // a minimal transition instead; that needs the current list parsed back, not done here.)
    HULL_TRY_CTX(apply_writes(d, device_writes(rules)), "linux.resources.devices");
    return {};
}

}  // namespace hull::cgroups::v1
