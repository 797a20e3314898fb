#include "runtime/vm/arch/x86_64/layout.hpp"

namespace hull::vm::x86_64 {

std::vector<E820Entry> e820_map(std::uint64_t mem) {
    std::vector<E820Entry> map;
    map.push_back({0, kEbdaAddr, kE820Ram});
    map.push_back({kEbdaAddr, 0xa0000 - kEbdaAddr, kE820Reserved});
    map.push_back({kAcpiAddr, kAcpiEnd - kAcpiAddr, kE820Reserved});
    const std::uint64_t low_end = low_ram_end(mem);
    if (low_end > kHighMemStart) map.push_back({kHighMemStart, low_end - kHighMemStart, kE820Ram});
    if (const std::uint64_t high = high_ram_size(mem)) map.push_back({kHighRamStart, high, kE820Ram});
    return map;
}

}  // namespace hull::vm::x86_64
