// Hexadecimal numbers for messages about guest addresses ("rip 0x100123").
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

namespace hull::vm {

inline std::string hex(std::uint64_t v) {
    char buf[2 + 16];
    buf[0] = '0';
    buf[1] = 'x';
    auto r = std::to_chars(buf + 2, buf + sizeof buf, v, 16);
    return std::string(buf, r.ptr);
}

}  // namespace hull::vm
