// What the commands print, byte for byte as runc prints it: state and list JSON (Go's
// encoding/json), list's tabwriter table, ps's filtered table. Pure functions, unit-tested.
#pragma once

#include "common/result.hpp"
#include "runtime/container.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hull::cli {

// Rewrites nlohmann's JSON text into what Go's encoding/json emits for the same document:
// `<`, `>`, `&`, U+2028 and U+2029 escaped as \u003c..., and \b, \f as \u0008, \u000c.
// Valid on any JSON text: those characters can only occur inside strings.
std::string go_json_escape(std::string_view json);

// Serializes like json.Marshal (indent < 0) or json.MarshalIndent with `indent` copies of
// `indent_char`. Invalid UTF-8 becomes U+FFFD instead of throwing.
template <class Json>
std::string go_json(const Json& j, int indent = -1, char indent_char = ' ') {
    return go_json_escape(j.dump(indent, indent_char, false, Json::error_handler_t::replace));
}

// One container as runc's `state` and `list --format json` describe it, fields in runc's order:
// ociVersion, id, pid, status, bundle, rootfs, created, annotations (only when non-empty), owner.
nlohmann::ordered_json container_json(const runtime::ContainerInfo& info);

// `hull state`: two-space indented, no trailing newline (runc writes MarshalIndent's bytes).
std::string state_output(const runtime::ContainerInfo& info);
// `hull list --format json`: one compact line; `null` when there are no containers, as Go
// encodes a nil slice.
std::string list_json_output(const std::vector<runtime::ContainerInfo>& list);
// `hull list`: ID PID STATUS BUNDLE CREATED OWNER through runc's tabwriter settings.
std::string list_table_output(const std::vector<runtime::ContainerInfo>& list);
// `hull list --quiet`: one id per line.
std::string list_quiet_output(const std::vector<runtime::ContainerInfo>& list);
// `hull ps --format json`: `[1,2]` plus newline; `null` when empty.
std::string pids_json_output(const std::vector<pid_t>& pids);

// Go's text/tabwriter with flags 0 and padchar ' ': every cell but a line's last is padded to
// its column's width, max(minwidth, widest cell + padding), widths counted in code points.
std::string tabwrite(const std::vector<std::vector<std::string>>& rows, std::size_t minwidth, std::size_t padding);

// `ps` output reduced to its header and the rows whose PID column names one of `pids`, as
// runc does it; fails when there is no PID column or a row's PID does not parse.
Result<std::string> filter_ps_output(std::string_view ps_output, const std::vector<pid_t>& pids);

}  // namespace hull::cli
