// update / stats / events: a running container's resources, changed and watched through its
// cgroup.
#include "runtime/container.hpp"

#include "cgroups/manager.hpp"
#include "common/strings.hpp"
#include "runtime/container_util.hpp"
#include "runtime/state_store.hpp"

#include <poll.h>
#include <unistd.h>

namespace hull::runtime {

using namespace detail;

namespace {

// Lays `patch` over `base`: objects merge member by member, a null member leaves the base's
// value, anything else replaces it (runc decodes `update -r` into pointers, where an absent or
// null field means "unchanged").
void merge_patch(nlohmann::json& base, const nlohmann::json& patch) {
    if (!base.is_object()) base = nlohmann::json::object();
    for (auto& [key, value] : patch.items()) {
        if (value.is_null()) continue;
        if (value.is_object() && base.contains(key) && base[key].is_object())
            merge_patch(base[key], value);
        else
            base[key] = value;
    }
}

struct Loaded {
    Record rec;
    std::unique_ptr<cgroups::Manager> mgr;
    oci::Status status;
};

// The container's record and cgroup manager; fails for a stopped container with `verb` in
// the message.
Result<Loaded> load_live(const StateStore& store, const std::string& id, std::string_view verb) {
    HULL_TRY(validate_id(id));
    Loaded l;
    l.rec = HULL_TRY(store.load(id));
    l.mgr = HULL_TRY(manager_for(l.rec));
    l.status = status_of(store, l.rec, l.mgr.get());
    if (l.status == oci::Status::stopped) return fail_msg(cat("cannot ", verb, " container ", q(id), ": it is stopped"));
    return l;
}

nlohmann::json stats_event(const std::string& id, const cgroups::Stats& s) {
    return {{"type", "stats"}, {"id", id}, {"data", cgroups::to_runc_json(s)}};
}

}  // namespace

Status update(const Globals& g, const std::string& id, const nlohmann::json& patch) {
    if (!patch.is_object()) return fail_msg("update: the resources must be a JSON object");
    StateStore store(g.root);
    HULL_TRY(validate_id(id));
    auto lock = HULL_TRY(store.lock(id));
    auto l = HULL_TRY(load_live(store, id, "update"));

    nlohmann::json config = l.rec.config;
    if (!config.contains("linux") || !config["linux"].is_object()) config["linux"] = nlohmann::json::object();
    nlohmann::json& resources = config["linux"]["resources"];
    merge_patch(resources, patch);
    // Validate the merged whole exactly as create did, so an update cannot smuggle in what
    // config.json could not (negative limits, unknown device types, ...).
    auto spec = oci::parse_config(config.dump());
    if (!spec) {
        // The parser names config.json; what was wrong is in the update's own resources.
        std::string what = spec.error().what();
        for (std::string_view prefix : {"config.json: .linux.resources", "config.json: "})
            if (what.starts_with(prefix)) {
                what = cat(".", what.substr(prefix.size() + (what[prefix.size()] == '.' ? 1 : 0)));
                break;
            }
        return fail(Error(spec.error().code(), cat("update: invalid resources: ", what)));
    }
    HULL_TRY_CTX(l.mgr->apply(effective_resources(*spec->linux)), "update cgroup");
    l.rec.config = std::move(config);
    return store.save(l.rec);
}

Result<cgroups::Stats> stats(const Globals& g, const std::string& id) {
    StateStore store(g.root);
    auto l = HULL_TRY(load_live(store, id, "read the stats of"));
    return l.mgr->stats();
}

Status events(const Globals& g, const std::string& id, std::chrono::milliseconds interval, bool stats_only,
              const std::function<void(const nlohmann::json&)>& emit) {
    StateStore store(g.root);
    auto l = HULL_TRY(load_live(store, id, "watch"));
    if (stats_only) {
        emit(stats_event(id, HULL_TRY(l.mgr->stats())));
        return {};
    }
    if (interval <= std::chrono::milliseconds::zero()) return fail_msg("events: the interval must be positive");

    UniqueFd init = open_init(l.rec);
    // Without an event fd (no memory controller) OOM kills are still noticed, at each interval.
    UniqueFd watch;
    if (auto w = l.mgr->watch_memory_events(); w) watch = std::move(*w);
    uint64_t ooms = l.mgr->oom_kill_count().value_or(0);
    auto check_oom = [&] {
        uint64_t now = l.mgr->oom_kill_count().value_or(ooms);
        if (now > ooms) emit({{"type", "oom"}, {"id", id}});
        ooms = now;
    };

    using clock = std::chrono::steady_clock;
    auto next = clock::now();
    for (;;) {
        auto now = clock::now();
        if (now >= next) {
            check_oom();
            // A container that stops between two reads makes stats fail: that is the end.
            auto s = l.mgr->stats();
            if (!s) {
                if (!init || wait_exit(init.get(), 0)) break;
                return fail(std::move(s.error()));
            }
            emit(stats_event(id, *s));
            next = now + interval;
            continue;
        }
        struct pollfd p[2] = {{init.get(), POLLIN, 0}, {watch.get(), POLLIN, 0}};
        int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now).count());
        int n = ::poll(p, 2, ms);
        if (n < 0 && errno != EINTR) return fail_sys("events: poll");
        if (n <= 0) continue;
        if (p[1].revents & POLLIN) {
            char buf[4096];
            (void)!::read(watch.get(), buf, sizeof buf);
            check_oom();
        }
        if (p[0].revents & POLLIN) break;  // the init exited: the container has stopped
    }
    check_oom();
    return {};
}

}  // namespace hull::runtime
