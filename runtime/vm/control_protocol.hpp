// The control channel between hull's VMM and the software in a guest that speaks for it (hull's
// guest init in Linux guests, the test guest in tests/guest). It is the VM's last virtio-mmio
// device: a second virtio-console, after the disks and the output console, so a Linux guest
// sees it as /dev/hvc1. Header-only and freestanding-friendly: the guest init includes it, and
// tests/guest mirrors its constants in C.
//
// Messages, in both directions: a type byte, a length byte, then `length` payload bytes. A reader
// skips a message of a type it does not know by its length.
//
//   host -> guest
//     kSignal      1 byte: a signal number (1..64) for the guest's process
//     kWindowSize  4 bytes: rows, then columns, each a little-endian u16
//   guest -> host
//     kReady       0 bytes: the guest reads this channel from now on
//
// Until the guest has said kReady, the VMM cannot count on a signal being heard, so SIGTERM,
// SIGINT, SIGHUP and SIGQUIT end the VM with 128 + signal (the guest gets no say) and the other
// forwardable signals are dropped. After kReady they are sent as kSignal messages; SIGKILL always
// ends the VMM at once.
#pragma once

#include <cstdint>

namespace hull::vm::control {

inline constexpr std::uint8_t kSignal = 1;
inline constexpr std::uint8_t kWindowSize = 2;
inline constexpr std::uint8_t kReady = 3;

inline constexpr unsigned kHeaderSize = 2;       // type, length
inline constexpr unsigned kMaxMessageSize = 2 + 255;

}  // namespace hull::vm::control
