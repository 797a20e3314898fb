// The i8042 keyboard controller, reduced to what a PC guest uses it for without a keyboard:
// a status register that never has data, and the reset command that ends the VM.
#pragma once

#include <cstdint>

namespace hull::vm {

class I8042 {
public:
    static constexpr std::uint16_t kDataPort = 0x60;
    static constexpr std::uint16_t kCommandPort = 0x64;
    static constexpr std::uint8_t kResetCommand = 0xfe;

    std::uint8_t read(std::uint16_t) const { return 0; }  // no data, input buffer empty
    // True when the write is the reset command (pulse the CPU reset line).
    bool write(std::uint16_t port, std::uint8_t value) const { return port == kCommandPort && value == kResetCommand; }
};

}  // namespace hull::vm
