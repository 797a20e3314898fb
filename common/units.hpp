// Byte sizes for people: one scaling loop behind the three formats hull prints (docker's
// "2.1 MB" in `hull images`, podman's "2.1MiB" in pull progress, runc's "2MB" hugetlb names).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace hull {

// go-units' CustomSize: divides `size` by `base` while it is at least `carry` (0: `base`) and a
// larger unit is left, then formats it with `format`, which takes the value (a double) and the
// unit (a C string), e.g. "%.4g %s". A `carry` just under `base` rounds up to the next unit a
// value that `format` would otherwise print as `base` ("1.0MiB", not "1024.0KiB").
std::string custom_size(const char* format, double size, double base, std::span<const char* const> units,
                        double carry = 0);

// Binary units with one decimal, as podman prints them: "512B", "2.0KiB", "2.1MiB", "1.5GiB";
// "?" for a negative (unknown) size.
std::string format_size(std::int64_t bytes);

}  // namespace hull
