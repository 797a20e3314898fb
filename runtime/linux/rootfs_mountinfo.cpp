#include "runtime/linux/rootfs_mountinfo.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

namespace hull::runtime::linux {

namespace {

// The kernel escapes space, tab, newline and backslash in mountinfo paths as \ooo.
std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            auto code = parse_int<int>(s.substr(i + 1, 3), 8);
            if (code) {
                out.push_back(static_cast<char>(*code));
                i += 3;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        size_t j = i;
        while (j < line.size() && line[j] != ' ') ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

bool is_under(std::string_view path, std::string_view dir) {
    if (dir == "/") return !path.empty() && path[0] == '/';
    if (path.size() < dir.size() || path.substr(0, dir.size()) != dir) return false;
    return path.size() == dir.size() || path[dir.size()] == '/';
}

}  // namespace

std::vector<MountInfo> parse_mountinfo(std::string_view text) {
    std::vector<MountInfo> out;
    for (const auto& line : split(text, '\n')) {
        auto f = fields(line);
        // id parent major:minor root mount-point options [optional...] - fstype source super
        if (f.size() < 10) continue;
        size_t dash = 6;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (dash + 2 >= f.size()) continue;
        MountInfo m;
        m.id = parse_int<int>(f[0]).value_or(0);
        m.parent = parse_int<int>(f[1]).value_or(0);
        m.root = unescape(f[3]);
        m.mount_point = unescape(f[4]);
        m.options = std::string(f[5]);
        for (size_t k = 6; k < dash; ++k) {
            if (!m.optional.empty()) m.optional.push_back(' ');
            m.optional.append(f[k]);
        }
        m.fstype = std::string(f[dash + 1]);
        m.source = unescape(f[dash + 2]);
        if (dash + 3 < f.size()) m.super_options = std::string(f[dash + 3]);
        out.push_back(std::move(m));
    }
    return out;
}

Result<std::vector<MountInfo>> read_mountinfo() {
    auto text = HULL_TRY(fs::read_file("/proc/self/mountinfo"));
    return parse_mountinfo(text);
}

const MountInfo* mount_containing(const std::vector<MountInfo>& mounts, std::string_view path) {
    const MountInfo* best = nullptr;
    // Later entries are mounted on top of earlier ones at the same point: take the last.
    for (const auto& m : mounts)
        if (is_under(path, m.mount_point) && (!best || m.mount_point.size() >= best->mount_point.size()))
            best = &m;
    return best;
}

}  // namespace hull::runtime::linux
