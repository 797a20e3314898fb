// v1 freezer: freezer.state, which passes through FREEZING until every task has stopped.
#include "cgroups/v1/controllers.hpp"

#include "common/strings.hpp"

namespace hull::cgroups::v1 {

Status set_frozen(const Dir& d, bool frozen) {
    auto fd = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    const char* want = frozen ? "FROZEN" : "THAWED";
    // ~2 s in all. Writing FROZEN again every few rounds nudges tasks that were in the middle
    // of a fork or of a vfork wait when the freeze began (runc does the same).
    std::string last;
    for (int round = 0; round < 400; ++round) {
        if (round % 10 == 0) HULL_TRY_CTX(write_at(fd, "freezer.state", want, shown), frozen ? "freeze" : "thaw");
        last = std::string(trim(HULL_TRY(read_at(fd, "freezer.state", shown))));
        if (last == want) return {};
        sleep_ms(round < 20 ? 1 : 5);
    }
    if (frozen) (void)write_at(fd, "freezer.state", "THAWED", shown);
    return fail(Error(ETIMEDOUT, cat(frozen ? "freeze " : "thaw ", q(shown), ": still ", q(last), " after 2s")));
}

Result<bool> frozen(const Dir& d) {
    auto fd = HULL_TRY(open_dir(d));
    const std::string shown = d.path();
    for (int round = 0; round < 100; ++round) {
        auto state = std::string(trim(HULL_TRY(read_at(fd, "freezer.state", shown))));
        if (state == "THAWED") return false;
        if (state == "FROZEN") {
            // FROZEN because an ancestor is frozen does not make the container paused.
            auto self = read_at(fd, "freezer.self_freezing", shown);
            return !self || trim(*self) != "0";
        }
        // FREEZING settles within milliseconds unless a task refuses to stop.
        sleep_ms(1);
    }
    return false;
}

}  // namespace hull::cgroups::v1
