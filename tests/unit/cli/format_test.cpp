#include "cli/format.hpp"

#include <gtest/gtest.h>

namespace hull::cli {
namespace {

runtime::ContainerInfo sample(std::string id, int pid, oci::Status status) {
    runtime::ContainerInfo info;
    info.state.oci_version = "1.2.0";
    info.state.id = std::move(id);
    info.state.pid = pid;
    info.state.status = status;
    info.state.bundle = "/tmp/rb";
    info.rootfs = "/tmp/rb/rootfs";
    info.created = "2026-11-21T05:59:39.853857999Z";
    info.owner = "root";
    return info;
}

TEST(CliFormat, GoEscapesHtmlCharactersAndLineSeparators) {
    EXPECT_EQ(go_json_escape(R"({"a<b>":"1&2"})"), R"({"a\u003cb\u003e":"1\u00262"})");
    EXPECT_EQ(go_json_escape("\"\xE2\x80\xA8\xE2\x80\xA9\xE2\x82\xAC\""), "\"\\u2028\\u2029\xE2\x82\xAC\"");
    // \b and \f are spelled as Go spells them; an escaped backslash before a `b` stays as it is.
    EXPECT_EQ(go_json_escape(R"("\b\f\\b\n\"")"), R"("\u0008\u000c\\b\n\"")");
}

TEST(CliFormat, GoJsonOfADocument) {
    nlohmann::ordered_json j;
    j["z"] = "<x>";
    j["a"] = nlohmann::ordered_json::array();
    j["o"] = nlohmann::ordered_json::object();
    j["n"] = {1, 2};
    EXPECT_EQ(go_json(j), R"({"z":"\u003cx\u003e","a":[],"o":{},"n":[1,2]})");
    EXPECT_EQ(go_json(j, 1, '\t'),
              "{\n\t\"z\": \"\\u003cx\\u003e\",\n\t\"a\": [],\n\t\"o\": {},\n\t\"n\": [\n\t\t1,\n\t\t2\n\t]\n}");
    // Invalid UTF-8 does not throw.
    nlohmann::json bad = std::string("\xff");
    EXPECT_EQ(go_json(bad), "\"\xEF\xBF\xBD\"");
}

TEST(CliFormat, StateIsRuncsBytes) {
    // `runc state` output, with hull's ociVersion and the owner filled in.
    EXPECT_EQ(state_output(sample("t1", 14080, oci::Status::created)),
              "{\n"
              "  \"ociVersion\": \"1.2.0\",\n"
              "  \"id\": \"t1\",\n"
              "  \"pid\": 14080,\n"
              "  \"status\": \"created\",\n"
              "  \"bundle\": \"/tmp/rb\",\n"
              "  \"rootfs\": \"/tmp/rb/rootfs\",\n"
              "  \"created\": \"2026-11-21T05:59:39.853857999Z\",\n"
              "  \"owner\": \"root\"\n"
              "}");
}

TEST(CliFormat, StateAnnotationsSitBeforeOwnerSortedAndEscaped) {
    auto info = sample("t2", 27471, oci::Status::running);
    info.state.annotations = {{"b<x>", "1&2"}, {"a", "\xC3\xA9"}};
    EXPECT_EQ(state_output(info),
              "{\n"
              "  \"ociVersion\": \"1.2.0\",\n"
              "  \"id\": \"t2\",\n"
              "  \"pid\": 27471,\n"
              "  \"status\": \"running\",\n"
              "  \"bundle\": \"/tmp/rb\",\n"
              "  \"rootfs\": \"/tmp/rb/rootfs\",\n"
              "  \"created\": \"2026-11-21T05:59:39.853857999Z\",\n"
              "  \"annotations\": {\n"
              "    \"a\": \"\xC3\xA9\",\n"
              "    \"b\\u003cx\\u003e\": \"1\\u00262\"\n"
              "  },\n"
              "  \"owner\": \"root\"\n"
              "}");
}

TEST(CliFormat, ListJson) {
    EXPECT_EQ(list_json_output({}), "null\n");
    EXPECT_EQ(list_json_output({sample("t1", 14080, oci::Status::running)}),
              R"([{"ociVersion":"1.2.0","id":"t1","pid":14080,"status":"running","bundle":"/tmp/rb",)"
              R"("rootfs":"/tmp/rb/rootfs","created":"2026-11-21T05:59:39.853857999Z","owner":"root"}])"
              "\n");
}

TEST(CliFormat, ListTableIsRuncsBytes) {
    EXPECT_EQ(list_table_output({}), "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
    EXPECT_EQ(list_table_output({sample("t1", 14080, oci::Status::created)}),
              "ID          PID         STATUS      BUNDLE      CREATED                          OWNER\n"
              "t1          14080       created     /tmp/rb     2026-11-21T05:59:39.853857999Z   root\n");
}

TEST(CliFormat, ListQuiet) {
    EXPECT_EQ(list_quiet_output({}), "");
    EXPECT_EQ(list_quiet_output({sample("a", 1, oci::Status::running), sample("b", 2, oci::Status::stopped)}),
              "a\nb\n");
}

TEST(CliFormat, TabwriterCountsCodePointsAndLeavesLastCellUnpadded) {
    EXPECT_EQ(tabwrite({{"\xC3\xA9t\xC3\xA9", "x"}, {"a", "long-last-cell"}}, 0, 1),
              "\xC3\xA9t\xC3\xA9 x\n"
              "a   long-last-cell\n");
    EXPECT_EQ(tabwrite({{"abcdefghijklmnop", "x", "y"}}, 12, 3), "abcdefghijklmnop   x           y\n");
}

TEST(CliFormat, PidsJson) {
    EXPECT_EQ(pids_json_output({}), "null\n");
    EXPECT_EQ(pids_json_output({14080}), "[14080]\n");
    EXPECT_EQ(pids_json_output({1, 22, 333}), "[1,22,333]\n");
}

TEST(CliFormat, PsRowsAreFilteredByThePidColumn) {
    const std::string ef =
        "UID          PID    PPID  C STIME TTY          TIME CMD\n"
        "root           1       0  0 05:51 ?        00:00:21 /sbin/init\n"
        "root       14080       1  0 05:59 ?        00:00:00 sleep 1000\n"
        "root       14081   14080  0 05:59 ?        00:00:00 sleep 14080\n"
        "\n";
    auto out = filter_ps_output(ef, {14080, 14081});
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out,
              "UID          PID    PPID  C STIME TTY          TIME CMD\n"
              "root       14080       1  0 05:59 ?        00:00:00 sleep 1000\n"
              "root       14081   14080  0 05:59 ?        00:00:00 sleep 14080\n");

    // `ps -o pid,comm`: PID first; a PPID or argument equal to a pid does not match.
    out = filter_ps_output("  PID COMMAND\n    1 init\n14080 sleep\n", {14080});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "  PID COMMAND\n14080 sleep\n");

    out = filter_ps_output("  PID COMMAND\n", {});
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, "  PID COMMAND\n");
}

TEST(CliFormat, PsOutputWithoutPidColumnOrWithBadPidFails) {
    auto out = filter_ps_output("USER COMMAND\nroot sh\n", {1});
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().message(), "couldn't find PID field in ps output");
    EXPECT_FALSE(filter_ps_output("", {1}));
    EXPECT_FALSE(filter_ps_output("PID CMD\nabc sh\n", {1}));
    EXPECT_FALSE(filter_ps_output("CMD PID\nsh\n", {1}));
}

}  // namespace
}  // namespace hull::cli
