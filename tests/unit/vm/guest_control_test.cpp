// The guest init's reading of the control channel (runtime/vm/guest_init/control_reader.hpp):
// messages come back whole whatever the reads cut them into, unknown types are skipped by their
// length, and every malformed known message is named.
#include "runtime/vm/guest_init/control_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace hull::vm::guest {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Seen {
    std::uint8_t type;
    Bytes payload;
    bool operator==(const Seen&) const = default;
};

// Feeds `stream` in pieces of the given sizes (the rest in one piece) and returns what came out.
std::vector<Seen> feed_in_pieces(ControlReader& r, const Bytes& stream, const std::vector<std::size_t>& sizes) {
    std::vector<Seen> out;
    auto sink = [&](std::uint8_t type, std::span<const std::uint8_t> payload) {
        out.push_back({type, Bytes(payload.begin(), payload.end())});
    };
    std::size_t at = 0;
    for (std::size_t n : sizes) {
        n = std::min(n, stream.size() - at);
        r.feed(std::span<const std::uint8_t>(stream.data() + at, n), sink);
        at += n;
    }
    r.feed(std::span<const std::uint8_t>(stream.data() + at, stream.size() - at), sink);
    return out;
}

const Bytes kStream = {
    control::kSignal, 1, 15,                 // SIGTERM
    200, 3, 'a', 'b', 'c',                   // an unknown type with 3 payload bytes
    control::kWindowSize, 4, 24, 0, 0x40, 1, // 24 rows, 320 columns
    99, 0,                                   // an unknown type, no payload
    control::kSignal, 1, 10,                 // SIGUSR1
};
const std::vector<Seen> kMessages = {
    {control::kSignal, {15}},
    {200, {'a', 'b', 'c'}},
    {control::kWindowSize, {24, 0, 0x40, 1}},
    {99, {}},
    {control::kSignal, {10}},
};

TEST(ControlReader, OneReadWithSeveralMessages) {
    ControlReader r;
    EXPECT_EQ(feed_in_pieces(r, kStream, {}), kMessages);
    EXPECT_EQ(r.pending(), 0u);
}

TEST(ControlReader, EveryWayOfSplittingTheStreamGivesTheSameMessages) {
    // Byte by byte, and every cut into two reads.
    {
        ControlReader r;
        EXPECT_EQ(feed_in_pieces(r, kStream, std::vector<std::size_t>(kStream.size(), 1)), kMessages);
    }
    for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
        SCOPED_TRACE(cut);
        ControlReader r;
        EXPECT_EQ(feed_in_pieces(r, kStream, {cut}), kMessages);
    }
}

TEST(ControlReader, AnUnfinishedMessageWaitsForTheRest) {
    ControlReader r;
    std::vector<Seen> out;
    auto sink = [&](std::uint8_t type, std::span<const std::uint8_t> payload) {
        out.push_back({type, Bytes(payload.begin(), payload.end())});
    };
    const Bytes head = {control::kWindowSize, 4, 1};
    r.feed(head, sink);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(r.pending(), 3u);
    const Bytes tail = {0, 2, 0};
    r.feed(tail, sink);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], (Seen{control::kWindowSize, {1, 0, 2, 0}}));
    EXPECT_EQ(r.pending(), 0u);
}

TEST(ControlReader, TheLongestMessageFits) {
    Bytes stream = {77, 255};
    for (int i = 0; i < 255; ++i) stream.push_back(static_cast<std::uint8_t>(i));
    stream.insert(stream.end(), {control::kSignal, 1, 2});
    ControlReader r;
    auto out = feed_in_pieces(r, stream, {100, 100});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].type, 77);
    EXPECT_EQ(out[0].payload.size(), 255u);
    EXPECT_EQ(out[0].payload[254], 254);
    EXPECT_EQ(out[1], (Seen{control::kSignal, {2}}));
}

ControlCommand decode(std::uint8_t type, Bytes payload) { return decode_control(type, payload); }

TEST(DecodeControl, SignalsOneToSixtyFour) {
    for (int sig : {1, 9, 15, 28, 34, 64}) {
        SCOPED_TRACE(sig);
        ControlCommand c = decode(control::kSignal, {static_cast<std::uint8_t>(sig)});
        EXPECT_EQ(c.kind, ControlCommand::Kind::kSignal);
        EXPECT_EQ(c.signal, sig);
    }
}

TEST(DecodeControl, WindowSizeIsRowsThenColumnsLittleEndian) {
    ControlCommand c = decode(control::kWindowSize, {0x34, 0x12, 0x78, 0x56});
    EXPECT_EQ(c.kind, ControlCommand::Kind::kWindowSize);
    EXPECT_EQ(c.rows, 0x1234);
    EXPECT_EQ(c.cols, 0x5678);
}

TEST(DecodeControl, UnknownTypesAndTheGuestsOwnAreIgnored) {
    EXPECT_EQ(decode(0, {}).kind, ControlCommand::Kind::kIgnored);
    EXPECT_EQ(decode(control::kReady, {}).kind, ControlCommand::Kind::kIgnored);
    EXPECT_EQ(decode(250, {1, 2, 3}).kind, ControlCommand::Kind::kIgnored);
}

TEST(DecodeControl, MalformedKnownMessagesAreNamed) {
    struct Case {
        std::uint8_t type;
        Bytes payload;
        std::string error;
    };
    const std::vector<Case> cases = {
        {control::kSignal, {0}, "signal 0 is not 1..64, ignored"},
        {control::kSignal, {65}, "signal 65 is not 1..64, ignored"},
        {control::kSignal, {255}, "signal 255 is not 1..64, ignored"},
        {control::kSignal, {}, "signal message of 0 bytes, expected 1, ignored"},
        {control::kSignal, {15, 0}, "signal message of 2 bytes, expected 1, ignored"},
        {control::kWindowSize, {24, 0, 80}, "window size message of 3 bytes, expected 4, ignored"},
        {control::kWindowSize, {24, 0, 80, 0, 0}, "window size message of 5 bytes, expected 4, ignored"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.error);
        ControlCommand got = decode(c.type, c.payload);
        EXPECT_EQ(got.kind, ControlCommand::Kind::kBad);
        EXPECT_EQ(got.error, c.error);
    }
}

}  // namespace
}  // namespace hull::vm::guest
