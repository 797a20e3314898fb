#include "common/units.hpp"

#include "common/strings.hpp"

#include <cstdio>

namespace hull {

std::string custom_size(const char* format, double size, double base, std::span<const char* const> units,
                        double carry) {
    if (carry <= 0) carry = base;
    size_t u = 0;
    while (size >= carry && u + 1 < units.size()) {
        size /= base;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, format, size, units[u]);
    return buf;
}

std::string format_size(std::int64_t bytes) {
    if (bytes < 0) return "?";
    if (bytes < 1024) return cat(bytes, "B");
    static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    // Round first, so 1023.96KiB reads "1.0MiB" rather than "1024.0KiB".
    return custom_size("%.1f%s", static_cast<double>(bytes) / 1024, 1024, units, 1023.95);
}

}  // namespace hull
