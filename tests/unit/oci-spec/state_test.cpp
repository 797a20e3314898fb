#include "oci-spec/spec.hpp"

#include <gtest/gtest.h>

namespace hull::oci {
namespace {

using json = nlohmann::json;

TEST(State, WritesRuncsFields) {
    State s;
    s.id = "web";
    s.status = Status::running;
    s.pid = 4242;
    s.bundle = "/srv/web";
    EXPECT_EQ(to_json(s), (json{{"ociVersion", "1.2.0"}, {"id", "web"}, {"status", "running"}, {"pid", 4242}, {"bundle", "/srv/web"}}));
    s.annotations["a"] = "b";
    s.status = Status::stopped;
    s.pid = 0;
    json out = to_json(s);
    EXPECT_EQ(out["pid"], 0);  // runc prints pid 0 for a stopped container
    EXPECT_EQ(out["status"], "stopped");
    EXPECT_EQ(out["annotations"], (json{{"a", "b"}}));
}

TEST(State, ParsesRuncOutputWithItsExtraFields) {
    auto r = parse_state(R"({
      "ociVersion": "1.0.2-dev", "id": "c1", "pid": 1234, "status": "paused", "bundle": "/b",
      "rootfs": "/b/rootfs", "created": "2024-01-01T00:00:00.000000000Z", "owner": "",
      "annotations": {"k": "v"}})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->oci_version, "1.0.2-dev");
    EXPECT_EQ(r->id, "c1");
    EXPECT_EQ(r->pid, 1234);
    EXPECT_EQ(r->status, Status::paused);
    EXPECT_EQ(r->bundle, "/b");
    EXPECT_EQ(r->annotations.at("k"), "v");
}

TEST(State, RoundTrips) {
    State s{.id = "x", .status = Status::created, .pid = 7, .bundle = "/b", .annotations = {{"k", "v"}}};
    auto r = parse_state(to_json(s).dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(to_json(*r), to_json(s));
}

TEST(State, StatusNames) {
    for (auto s : {Status::creating, Status::created, Status::running, Status::stopped, Status::paused})
        EXPECT_EQ(parse_status(to_string(s)), s);
    EXPECT_FALSE(parse_status("exited"));
}

TEST(State, Errors) {
    auto bad = [](const char* text) {
        auto r = parse_state(text);
        return r ? std::string("accepted") : r.error().message();
    };
    EXPECT_EQ(bad(R"({"ociVersion": "1.2.0", "id": "x", "status": "exited", "bundle": "/b"})"),
              "state.json: .status: unknown status `exited`");
    EXPECT_EQ(bad(R"({"ociVersion": "1.2.0", "status": "created", "bundle": "/b"})"), "state.json: .id: is required");
    EXPECT_EQ(bad(R"({"ociVersion": "1.2.0", "id": "x", "status": "created", "pid": -3, "bundle": "/b"})"),
              "state.json: .pid: must be between 0 and 2147483647, got `-3`");
    EXPECT_EQ(bad(R"({"ociVersion": "1.2.0", "id": "x", "status": "created"})"), "state.json: .bundle: is required");
    EXPECT_EQ(bad("{"), "state.json: invalid JSON at line 1, column 2: syntax error while parsing object key - "
                        "unexpected end of input; expected string literal");
}

}  // namespace
}  // namespace hull::oci
