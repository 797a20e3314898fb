// Small string helpers: concatenation without iostreams, splitting, number parsing.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace hull {

namespace detail {
inline void cat_one(std::string& s, std::string_view v) { s.append(v); }
inline void cat_one(std::string& s, const char* v) { s.append(v ? v : "(null)"); }
inline void cat_one(std::string& s, const std::string& v) { s.append(v); }
inline void cat_one(std::string& s, char c) { s.push_back(c); }
template <class T>
    requires std::is_integral_v<T>
void cat_one(std::string& s, T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
}
}  // namespace detail

// cat("mount `", src, "` on `", dst, "`") -> one string.
template <class... Args>
std::string cat(const Args&... args) {
    std::string s;
    (detail::cat_one(s, args), ...);
    return s;
}

// Backtick-quotes a path or name for error messages.
inline std::string q(std::string_view s) { return cat("`", s, "`"); }

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix);

template <class T>
std::optional<T> parse_int(std::string_view s, int base = 10) {
    T v{};
    if (s.empty()) return std::nullopt;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace hull
