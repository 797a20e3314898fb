#include "cli/format.hpp"

#include "common/strings.hpp"

#include <algorithm>

namespace hull::cli {
namespace {

std::size_t display_width(std::string_view s) {
    // Code points, as tabwriter counts them: every byte that does not continue a UTF-8 sequence.
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// strings.Fields: runs of whitespace separate fields.
std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    while (i < line.size()) {
        while (i < line.size() && space(line[i])) ++i;
        size_t start = i;
        while (i < line.size() && !space(line[i])) ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

}  // namespace

std::string go_json_escape(std::string_view json) {
    std::string out;
    out.reserve(json.size());
    for (size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (c == '\\' && i + 1 < json.size()) {
            // Consume escapes whole, so an escaped backslash is never read as the start of one.
            const char n = json[++i];
            if (n == 'b') out += "\\u0008";
            else if (n == 'f') out += "\\u000c";
            else {
                out += c;
                out += n;
            }
            continue;
        }
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
                 (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
            out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

nlohmann::ordered_json container_json(const runtime::ContainerInfo& info) {
    nlohmann::ordered_json j;
    j["ociVersion"] = info.state.oci_version;
    j["id"] = info.state.id;
    j["pid"] = info.state.pid;
    j["status"] = oci::to_string(info.state.status);
    j["bundle"] = info.state.bundle;
    j["rootfs"] = info.rootfs;
    j["created"] = info.created;
    if (!info.state.annotations.empty()) {
        nlohmann::ordered_json a = nlohmann::ordered_json::object();
        for (const auto& [k, v] : info.state.annotations) a[k] = v;  // std::map: sorted, as Go sorts map keys
        j["annotations"] = std::move(a);
    }
    j["owner"] = info.owner;
    return j;
}

std::string state_output(const runtime::ContainerInfo& info) { return go_json(container_json(info), 2); }

std::string list_json_output(const std::vector<runtime::ContainerInfo>& list) {
    if (list.empty()) return "null\n";
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& info : list) arr.push_back(container_json(info));
    return go_json(arr) + "\n";
}

std::string list_table_output(const std::vector<runtime::ContainerInfo>& list) {
    std::vector<std::vector<std::string>> rows;
    rows.reserve(list.size() + 1);
    rows.push_back({"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"});
    for (const auto& info : list)
        rows.push_back({info.state.id, cat(info.state.pid), oci::to_string(info.state.status), info.state.bundle,
                        info.created, info.owner});
    // runc: tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0).
    return tabwrite(rows, 12, 3);
}

std::string list_quiet_output(const std::vector<runtime::ContainerInfo>& list) {
    std::string out;
    for (const auto& info : list) out += cat(info.state.id, "\n");
    return out;
}

std::string pids_json_output(const std::vector<pid_t>& pids) {
    if (pids.empty()) return "null\n";
    std::string out = "[";
    for (size_t i = 0; i < pids.size(); ++i) out += cat(i ? "," : "", pids[i]);
    return out + "]\n";
}

std::string tabwrite(const std::vector<std::vector<std::string>>& rows, std::size_t minwidth, std::size_t padding) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        // The last cell of a line ends with the newline, not a tab: it is in no column.
        for (size_t c = 0; c + 1 < row.size(); ++c) {
            if (widths.size() <= c) widths.push_back(minwidth);
            widths[c] = std::max(widths[c], display_width(row[c]) + padding);
        }
    }
    std::string out;
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            out += row[c];
            if (c + 1 < row.size()) out.append(widths[c] - display_width(row[c]), ' ');
        }
        out += '\n';
    }
    return out;
}

Result<std::string> filter_ps_output(std::string_view ps_output, const std::vector<pid_t>& pids) {
    std::vector<std::string> lines = split(ps_output, '\n');
    const std::vector<std::string_view> titles = fields(lines[0]);
    auto it = std::find(titles.begin(), titles.end(), "PID");
    if (it == titles.end()) return fail_msg("couldn't find PID field in ps output");
    const size_t pid_index = static_cast<size_t>(it - titles.begin());

    std::string out = cat(lines[0], "\n");
    for (size_t i = 1; i < lines.size(); ++i) {
        if (lines[i].empty()) continue;
        const std::vector<std::string_view> f = fields(lines[i]);
        std::optional<pid_t> pid = pid_index < f.size() ? parse_int<pid_t>(f[pid_index]) : std::nullopt;
        if (!pid) return fail_msg(cat("unable to parse pid from ps output line ", q(lines[i])));
        if (std::find(pids.begin(), pids.end(), *pid) != pids.end()) out += cat(lines[i], "\n");
    }
    return out;
}

}  // namespace hull::cli
