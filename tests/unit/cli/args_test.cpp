#include "cli/args.hpp"

#include <gtest/gtest.h>

namespace hull::cli {
namespace {

using Args = std::vector<std::string>;

// The options of `hull exec` that matter for splitting: -u takes a value, -t is a flag.
OptionArity exec_arity(std::string_view name) {
    for (std::string_view v : {"u", "user", "e", "env", "root", "p", "process"})
        if (name == v) return OptionArity::value;
    for (std::string_view f : {"t", "tty", "d", "detach", "debug"})
        if (name == f) return OptionArity::flag;
    return OptionArity::unknown;
}

TEST(CliArgs, GlobalOptionsEndAtTheCommandName) {
    SplitArgs s = split_at_first_positional({"--root", "/x", "--debug", "list", "--format", "json"}, exec_arity);
    EXPECT_EQ(s.options, (Args{"--root", "/x", "--debug"}));
    ASSERT_TRUE(s.first);
    EXPECT_EQ(*s.first, "list");
    EXPECT_EQ(s.rest, (Args{"--format", "json"}));
}

TEST(CliArgs, AnOptionValueIsNeverTheFirstPositional) {
    // `-u exec` is the user "exec", not a command name; `--root=/x` carries its own value.
    SplitArgs s = split_at_first_positional({"-u", "exec", "--root=/x", "-t", "ctr", "ls"}, exec_arity);
    EXPECT_EQ(s.options, (Args{"-u", "exec", "--root=/x", "-t"}));
    EXPECT_EQ(*s.first, "ctr");
    EXPECT_EQ(s.rest, (Args{"ls"}));
}

TEST(CliArgs, EverythingAfterTheIdPassesThroughVerbatim) {
    SplitArgs s = split_at_first_positional({"-t", "ctr", "ls", "-l", "--tty", "-u", "x"}, exec_arity);
    EXPECT_EQ(s.options, (Args{"-t"}));
    EXPECT_EQ(*s.first, "ctr");
    EXPECT_EQ(s.rest, (Args{"ls", "-l", "--tty", "-u", "x"}));
}

TEST(CliArgs, DoubleDashEndsOptionsBeforeTheId) {
    SplitArgs s = split_at_first_positional({"-d", "--", "-odd-id", "sh"}, exec_arity);
    EXPECT_EQ(s.options, (Args{"-d"}));
    EXPECT_EQ(*s.first, "-odd-id");
    EXPECT_EQ(s.rest, (Args{"sh"}));

    // After the id a "--" is the command's: kept in rest for exec_command_args to drop.
    s = split_at_first_positional({"ctr", "--", "ls"}, exec_arity);
    EXPECT_EQ(*s.first, "ctr");
    EXPECT_EQ(s.rest, (Args{"--", "ls"}));
}

TEST(CliArgs, NoPositionalAtAll) {
    SplitArgs s = split_at_first_positional({"--debug", "-u"}, exec_arity);
    EXPECT_EQ(s.options, (Args{"--debug", "-u"}));
    EXPECT_FALSE(s.first);
    EXPECT_TRUE(s.rest.empty());
    EXPECT_FALSE(split_at_first_positional({}, exec_arity).first);
}

TEST(CliArgs, LoneDashIsPositional) {
    SplitArgs s = split_at_first_positional({"-", "x"}, exec_arity);
    EXPECT_EQ(*s.first, "-");
}

TEST(CliArgs, GoSingleDashLongOptionsAreNormalized) {
    SplitArgs s = split_at_first_positional({"-root", "/x", "-debug=true", "-tty", "list"}, exec_arity);
    EXPECT_EQ(s.options, (Args{"--root", "/x", "--debug=true", "--tty"}));
    EXPECT_EQ(*s.first, "list");
}

TEST(CliArgs, NormalizeLeavesShortUnknownAndValuesAlone) {
    EXPECT_EQ(normalize_long_options({"-t", "-dt", "-bogus", "--user", "-tty", "-tty", "--", "-root"}, exec_arity),
              (Args{"-t", "-dt", "-bogus", "--user", "-tty", "--tty", "--", "-root"}));
}

TEST(CliArgs, ArgCountMessagesAreRuncs) {
    EXPECT_EQ(check_arg_count("create", 0, 1, ArgCheck::exact), "\"create\" requires exactly 1 argument(s)");
    EXPECT_EQ(check_arg_count("create", 2, 1, ArgCheck::exact), "\"create\" requires exactly 1 argument(s)");
    EXPECT_FALSE(check_arg_count("create", 1, 1, ArgCheck::exact));
    EXPECT_EQ(check_arg_count("kill", 0, 1, ArgCheck::min), "\"kill\" requires a minimum of 1 argument(s)");
    EXPECT_FALSE(check_arg_count("kill", 3, 1, ArgCheck::min));
    EXPECT_EQ(check_arg_count("kill", 3, 2, ArgCheck::max), "\"kill\" requires a maximum of 2 argument(s)");
    EXPECT_FALSE(check_arg_count("kill", 2, 2, ArgCheck::max));
}

TEST(CliArgs, GoBool) {
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(parse_go_bool(t), true) << t;
    for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) EXPECT_EQ(parse_go_bool(f), false) << f;
    for (const char* bad : {"", "auto", "yes", "tRUE", "2"}) EXPECT_FALSE(parse_go_bool(bad)) << bad;
}

TEST(CliArgs, ExecDropsOneLeadingDoubleDash) {
    EXPECT_EQ(exec_command_args({"--", "ls", "--"}), (Args{"ls", "--"}));
    EXPECT_EQ(exec_command_args({"ls", "--", "x"}), (Args{"ls", "--", "x"}));
    EXPECT_TRUE(exec_command_args({"--"}).empty());
    EXPECT_TRUE(exec_command_args({}).empty());
}

TEST(CliArgs, VersionHasRuncsLineShape) {
    EXPECT_EQ(version_text("0.1.0", "abc123", "2.5.4"),
              "hull version 0.1.0\ncommit: abc123\nspec: 1.2.0\nlibseccomp: 2.5.4\n");
    EXPECT_EQ(version_text("0.1.0", "", "2.5.4"),
              "hull version 0.1.0\ncommit: unknown\nspec: 1.2.0\nlibseccomp: 2.5.4\n");
}

TEST(CliArgs, CleanPathMatchesGo) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "."},          {"/", "/"},         {"//a//b/", "/a/b"}, {"a/./b", "a/b"},   {"/a/../..", "/"},
        {"a/../..", ".."},  {"../a/..", ".."},  {"a/b/../c", "a/c"}, {".", "."},         {"/..", "/"},
        {"a/..", "."},      {"./a", "a"},
    };
    for (auto [in, want] : cases) EXPECT_EQ(clean_path(in), want) << in;
}

TEST(CliArgs, AbsolutePath) {
    EXPECT_EQ(absolute_path("p.pid", "/run/x"), "/run/x/p.pid");
    EXPECT_EQ(absolute_path("../p.pid", "/run/x"), "/run/p.pid");
    EXPECT_EQ(absolute_path("/abs//p", "/run/x"), "/abs/p");
    EXPECT_EQ(absolute_path(".", "/"), "/");
}

TEST(CliArgs, GoDurations) {
    using std::chrono::nanoseconds;
    const std::pair<const char*, int64_t> ok[] = {
        {"5s", 5'000'000'000},     {"0", 0},           {"250ms", 250'000'000},  {"1m30s", 90'000'000'000},
        {"1.5h", 5'400'000'000'000}, {"300us", 300'000}, {"7ns", 7},              {"+2s", 2'000'000'000},
        {"1h2m3s4ms", 3'723'004'000'000},
    };
    for (auto [in, ns] : ok) {
        auto d = parse_go_duration(in);
        ASSERT_TRUE(d) << in << ": " << d.error().message();
        EXPECT_EQ(d->count(), ns) << in;
    }
    for (const char* bad : {"", "5", "s", "5x", "1.5", "-1s", "5 s", "1e3s", "ms"}) {
        auto d = parse_go_duration(bad);
        EXPECT_FALSE(d) << bad;
    }
    EXPECT_NE(parse_go_duration("5x").error().message().find("unknown unit"), std::string::npos);
}

TEST(CliArgs, RamInBytesAsGoUnits) {
    const std::pair<const char*, int64_t> ok[] = {
        {"100", 100},         {"1k", 1024},       {"1K", 1024},         {"1kb", 1024},    {"1KiB", 1024},
        {"512m", 512 << 20},  {"1.5g", 3LL << 29}, {"2 G", 2LL << 30},   {"1t", 1LL << 40}, {"3b", 3},
        {"0", 0},
    };
    for (auto [in, want] : ok) {
        auto v = parse_ram_bytes(in);
        ASSERT_TRUE(v) << in << ": " << v.error().message();
        EXPECT_EQ(*v, want) << in;
    }
    for (const char* bad : {"", "m", "-5", "1x", "1mm", "1.m", "1kbb", "12 34"}) EXPECT_FALSE(parse_ram_bytes(bad)) << bad;
}

}  // namespace
}  // namespace hull::cli
