#include "common/units.hpp"

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

}  // namespace hull
