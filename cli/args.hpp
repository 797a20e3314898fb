// Argument shaping for the `hull` command line, kept apart from CLI11 so it can be tested
// against runc's (Go `flag` + urfave/cli v1) behaviour token by token.
#pragma once

#include "common/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::cli {

// What a flag name ("root", "b") is to the command being parsed.
enum class OptionArity { unknown, flag, value };
using ArityFn = std::function<OptionArity(std::string_view name)>;

// The arguments split where Go's flag package stops: at the first token that is not an
// option (or right after "--"). runc's global flags end at the command name, and `exec` and
// `ps` pass everything after the container id through untouched (`hull exec ctr ls -l`).
struct SplitArgs {
    std::vector<std::string> options;   // the leading options, with their values
    std::optional<std::string> first;   // the first positional argument, if any
    std::vector<std::string> rest;      // everything after it, verbatim
};
SplitArgs split_at_first_positional(const std::vector<std::string>& args, const ArityFn& arity);

// Go spells long options with one dash as well (`-root /x`); CLI11 would read that as `-r oot`.
// Rewrites `-name[=v]` to `--name[=v]` when `name` is a known long option, up to "--".
std::vector<std::string> normalize_long_options(std::vector<std::string> args, const ArityFn& arity);

// runc's checkArgs: `"create" requires exactly 1 argument(s)`.
enum class ArgCheck { exact, min, max };
std::optional<std::string> check_arg_count(std::string_view command, std::size_t got, std::size_t expected,
                                           ArgCheck kind);

// strconv.ParseBool, which runc uses for `--rootless true|false`.
std::optional<bool> parse_go_bool(std::string_view s);

// `hull exec ctr -- ls -l` runs `ls -l`: a "--" right after the id only ends hull's options.
std::vector<std::string> exec_command_args(std::vector<std::string> rest);

// The `--version` text, in runc's line shape.
std::string version_text(std::string_view version, std::string_view commit, std::string_view libseccomp);

// filepath.Clean and filepath.Abs (lexical, like Go's: no symlinks resolved).
std::string clean_path(std::string_view path);
std::string absolute_path(std::string_view path, std::string_view cwd);

// time.ParseDuration, for `events --interval`: "5s", "1m30s", "250ms", "1.5h", "300us".
// Negative durations and a bare number other than "0" are refused, as Go refuses them.
Result<std::chrono::nanoseconds> parse_go_duration(std::string_view s);

// docker/go-units RAMInBytes, for `update --memory 512m`: a decimal number with an optional
// binary unit (b, k, m, g, t, p; "kb"/"kib" spellings too), case-insensitive. "-1" is left to
// the caller (runc reads it as "unlimited" before calling RAMInBytes).
Result<int64_t> parse_ram_bytes(std::string_view s);

}  // namespace hull::cli
