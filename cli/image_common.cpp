#include "cli/image_common.hpp"

#include "common/strings.hpp"
#include "common/units.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace hull::cli {

std::string default_store_root() {
    const char* env = std::getenv("HULL_STORE");
    return env && *env ? std::string(env) : std::string(images::kDefaultStoreRoot);
}

void add_store_option(CLI::App& app, std::string& root) {
    root = default_store_root();
    app.add_option("--store", root, "image store directory (default: $HULL_STORE, else /var/lib/hull)")
        ->type_name("DIR");
}

Result<std::string> store_root_path(const std::string& root) {
    if (root.empty()) return fail_msg("--store must not be empty");
    return absolute(root);
}

Result<images::Store> open_store(const std::string& root) { return images::Store::open(HULL_TRY(store_root_path(root))); }

std::string human_size(int64_t bytes) {
    static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    // Four significant digits, trailing zeros dropped: Go's %.4g.
    return custom_size("%.4g %s", static_cast<double>(bytes < 0 ? 0 : bytes), 1000, units);
}

std::string human_age(int64_t seconds) {
    auto ago = [](std::string s) { return s + " ago"; };
    if (seconds < 1) return ago("Less than a second");
    if (seconds == 1) return ago("1 second");
    if (seconds < 60) return ago(cat(seconds, " seconds"));
    const int64_t minutes = seconds / 60;
    if (minutes == 1) return ago("About a minute");
    if (minutes < 60) return ago(cat(minutes, " minutes"));
    const int64_t hours = (seconds + 1800) / 3600;
    if (hours == 1) return ago("About an hour");
    if (hours < 48) return ago(cat(hours, " hours"));
    if (hours < 24 * 7 * 2) return ago(cat(hours / 24, " days"));
    if (hours < 24 * 30 * 2) return ago(cat(hours / 24 / 7, " weeks"));
    if (hours < 24 * 365 * 2) return ago(cat(hours / 24 / 30, " months"));
    return ago(cat(hours / 24 / 365, " years"));
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
    std::tm tm{};
    int y, mo, d, h, mi, sec;
    int consumed = 0;
    const std::string str(s);
    if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6) return std::nullopt;
    std::string_view rest = s.substr(static_cast<size_t>(consumed));
    if (rest.starts_with(".")) {
        size_t i = 1;
        while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
        rest.remove_prefix(i);
    }
    int64_t offset = 0;
    if (rest == "Z" || rest == "z") {
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
        auto oh = parse_int<int>(rest.substr(1, 2)), om = parse_int<int>(rest.substr(4, 2));
        if (!oh || !om) return std::nullopt;
        offset = (*oh * 3600 + *om * 60) * (rest[0] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return static_cast<int64_t>(::timegm(&tm)) - offset;
}

}  // namespace hull::cli
