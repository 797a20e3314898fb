// state.json (runtime-spec "state"): what `hull state` prints and hooks read on stdin. The
// CLI adds runc's extra fields (rootfs, created, owner); parsing tolerates them and any other.
#include "oci-spec/json_node.hpp"
#include "oci-spec/names.hpp"
#include "oci-spec/spec.hpp"

namespace hull::oci {

namespace {

constexpr names::Named<Status> kStatuses[] = {
    {"creating", Status::creating}, {"created", Status::created}, {"running", Status::running},
    {"stopped", Status::stopped},   {"paused", Status::paused},
};

constexpr const char* kDoc = "state.json";

Result<State> parse(std::string_view text) {
    using detail::Node;
    nlohmann::json doc = HULL_TRY(detail::parse_document(kDoc, text));
    Node n(kDoc, &doc);
    HULL_TRY(n.expect_object());
    State s;
    HULL_TRY(detail::require(n["ociVersion"], s.oci_version));
    HULL_TRY(detail::require(n["id"], s.id));
    if (s.id.empty()) return n["id"].fail("must not be empty");
    Node status = n["status"];
    std::string name;
    HULL_TRY(detail::require(status, name));
    auto st = parse_status(name);
    if (!st) return status.fail(cat("unknown status ", detail::show(name)));
    s.status = *st;
    if (Node pid = n["pid"]) s.pid = HULL_TRY(pid.integer<int>(0));
    HULL_TRY(detail::require(n["bundle"], s.bundle));
    HULL_TRY(detail::read(n["annotations"], s.annotations));
    return s;
}

}  // namespace

const char* to_string(Status s) { return names::name_of(kStatuses, s); }

std::optional<Status> parse_status(std::string_view s) { return names::lookup(kStatuses, s); }

nlohmann::json to_json(const State& state) {
    // Field names and presence as runc's `state`: pid is always written (0 once stopped),
    // annotations only when there are some.
    nlohmann::json o = {
        {"ociVersion", state.oci_version},
        {"id", state.id},
        {"status", to_string(state.status)},
        {"pid", state.pid},
        {"bundle", state.bundle},
    };
    if (!state.annotations.empty()) o["annotations"] = state.annotations;
    return o;
}

Result<State> parse_state(std::string_view text) {
    try {
        return parse(text);
    } catch (const nlohmann::json::exception& e) {
        return fail_msg(cat(kDoc, ": ", e.what()));
    }
}

}  // namespace hull::oci
