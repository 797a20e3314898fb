// The guest init's reading of the VMM's control channel (runtime/vm/control_protocol.hpp): a
// reader that puts messages back together from whatever pieces read() returns, and the meaning
// of each for the init. No I/O here: init.cpp owns the device. Header-only, so the unit tests
// use it without the static init's separate build.
#pragma once

#include "runtime/vm/control_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace hull::vm::guest {

// What the init does for one message from the host.
struct ControlCommand {
    enum class Kind {
        kSignal,      // kill(the process, signal)
        kWindowSize,  // TIOCSWINSZ on the console tty (rows, cols)
        kIgnored,     // a type this init does not know, or one only the guest sends
        kBad,         // a known type with a payload that makes no sense: `error` says why
    };
    Kind kind = Kind::kIgnored;
    int signal = 0;
    std::uint16_t rows = 0;
    std::uint16_t cols = 0;
    std::string error;
};

// The highest signal number Linux has (_NSIG); 0 is not a signal.
inline constexpr int kMaxSignal = 64;

inline ControlCommand decode_control(std::uint8_t type, std::span<const std::uint8_t> payload) {
    ControlCommand c;
    auto bad = [&](std::string why) {
        c.kind = ControlCommand::Kind::kBad;
        c.error = std::move(why);
        return c;
    };
    auto wrong_length = [&](const char* what, std::size_t want) {
        return bad(std::string(what) + " message of " + std::to_string(payload.size()) + " bytes, expected " +
                   std::to_string(want) + ", ignored");
    };
    switch (type) {
        case control::kSignal:
            if (payload.size() != 1) return wrong_length("signal", 1);
            if (payload[0] < 1 || payload[0] > kMaxSignal)
                return bad("signal " + std::to_string(payload[0]) + " is not 1.." + std::to_string(kMaxSignal) + ", ignored");
            c.kind = ControlCommand::Kind::kSignal;
            c.signal = payload[0];
            return c;
        case control::kWindowSize:
            if (payload.size() != 4) return wrong_length("window size", 4);
            c.kind = ControlCommand::Kind::kWindowSize;
            c.rows = static_cast<std::uint16_t>(payload[0] | payload[1] << 8);
            c.cols = static_cast<std::uint16_t>(payload[2] | payload[3] << 8);
            return c;
        default:
            // Newer hosts may send types this init predates; kReady is the guest's own word.
            return c;
    }
}

// Reassembles messages from the channel's byte stream: a message may arrive in any number of
// reads, and one read may carry several messages.
class ControlReader {
public:
    // Calls `on_message(type, payload)` for each message `data` completes, in order; the bytes
    // of an unfinished message wait for the next call.
    template <typename OnMessage>
    void feed(std::span<const std::uint8_t> data, OnMessage&& on_message) {
        for (std::uint8_t byte : data) {
            buf_[have_++] = byte;
            if (have_ >= control::kHeaderSize && have_ == control::kHeaderSize + buf_[1]) {
                on_message(buf_[0], std::span<const std::uint8_t>(buf_ + control::kHeaderSize, buf_[1]));
                have_ = 0;
            }
        }
    }
    // Bytes of a message not yet complete.
    std::size_t pending() const { return have_; }

private:
    // Never overflows: a message ends at kHeaderSize + length <= kMaxMessageSize bytes.
    std::uint8_t buf_[control::kMaxMessageSize] = {};
    std::size_t have_ = 0;
};

}  // namespace hull::vm::guest
