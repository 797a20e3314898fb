// The cgroup2 interface files that are not a controller's: cgroup.subtree_control,
// cgroup.freeze / cgroup.events, cgroup.kill.
#include "cgroups/v2/controllers.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"

namespace hull::cgroups::v2 {

namespace {

// "populated 1\nfrozen 0\n" -> the value of `key`, or nullopt.
std::optional<std::string> event(std::string_view events, std::string_view key) {
    for (auto& line : split(events, '\n')) {
        auto sp = line.find(' ');
        if (sp != std::string::npos && std::string_view(line).substr(0, sp) == key) return line.substr(sp + 1);
    }
    return std::nullopt;
}

}  // namespace

void enable_controllers(FdRef dir, std::string_view shown) {
    auto available = read_at(dir, "cgroup.controllers", shown);
    if (!available) return;  // no controllers here (or not a cgroup2 directory at all)
    auto enabled = read_at(dir, "cgroup.subtree_control", shown);
    std::vector<std::string> missing;
    for (auto& c : split(trim(*available), ' ')) {
        if (c.empty()) continue;
        bool on = false;
        if (enabled)
            for (auto& e : split(trim(*enabled), ' ')) on = on || e == c;
        if (!on) missing.push_back(cat("+", c));
    }
    if (missing.empty()) return;
    if (write_at(dir, "cgroup.subtree_control", join(missing, " "), shown)) return;
    for (auto& c : missing)
        if (auto r = write_at(dir, "cgroup.subtree_control", c, shown); !r)
            log::debug(cat("cgroup2: could not enable a controller: ", r.error().message()));
}

bool has_freeze(const Dir& d) { return has_file(d, "cgroup.freeze"); }
bool has_kill(const Dir& d) { return has_file(d, "cgroup.kill"); }

Status set_frozen(const Dir& d, bool frozen) {
    auto fd = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    HULL_TRY_CTX(write_at(fd, "cgroup.freeze", frozen ? "1" : "0", shown), frozen ? "freeze" : "thaw");
    // cgroup.freeze is the request; cgroup.events says when every task has stopped.
    const char* want = frozen ? "1" : "0";
    std::string last;
    for (int round = 0; round < 400; ++round) {
        auto events = HULL_TRY(read_at(fd, "cgroup.events", shown));
        auto state = event(events, "frozen");
        if (!state) return {};  // a kernel without the key: nothing to wait for
        if (*state == want) return {};
        last = *state;
        sleep_ms(round < 20 ? 1 : 5);
    }
    if (frozen) (void)write_at(fd, "cgroup.freeze", "0", shown);
    return fail(Error(ETIMEDOUT, cat(frozen ? "freeze " : "thaw ", q(shown), ": cgroup.events still says `frozen ",
                                     last, "` after 2s")));
}

Result<bool> frozen(const Dir& d) {
    auto text = HULL_TRY(read_file(d, "cgroup.freeze"));
    return trim(text) == "1";
}

Status kill(const Dir& d) {
    HULL_TRY_CTX(write_file(d, "cgroup.kill", "1"), "kill all processes");
    return {};
}

}  // namespace hull::cgroups::v2
