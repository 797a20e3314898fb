// What hull tells its guest init (`hull-guest-init`, PID 1 in a Linux guest): the OCI process to
// run and how to reach its root. hull writes it as /hull/process.json in the initramfs
// (runtime/vm/linux_guest.cpp); the guest init reads it back. One struct, one writer, one
// parser, so both sides agree by construction.
//
// This file builds twice: into hull (the writer) and into the static guest init (the parser),
// which links nothing of hull's but this and nlohmann/json, so it uses std::expected with a
// message rather than hull's Result.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::vm::guest {

// The file's place in the initramfs, and the version this code writes and accepts.
inline constexpr std::string_view kProcessConfigPath = "/hull/process.json";
inline constexpr int kProcessConfigVersion = 2;
// Where a Linux guest sees the VMM's control channel (control_protocol.hpp): the second
// virtio-console, after hvc0, the output console.
inline constexpr std::string_view kControlDevice = "/dev/hvc1";

struct GuestRlimit {
    int resource = 0;  // RLIMIT_* number (host and guest are the same architecture)
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

struct GuestProcess {
    // The OCI process.
    std::vector<std::string> args;  // at least one
    std::vector<std::string> env;   // NAME=value
    std::string cwd = "/";          // absolute
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> additional_gids;
    std::optional<std::uint32_t> umask;
    bool terminal = false;
    bool no_new_privileges = false;
    std::vector<GuestRlimit> rlimits;
    std::string hostname;           // empty: leave the kernel's
    // The machine.
    std::vector<std::string> modules;  // .ko paths below /lib/modules in the initramfs, load order
    bool writable_disk = false;        // /dev/vdb is an ext4 disk for the overlay's upper layer
    bool readonly_root = false;        // root.readonly: the merged root is remounted read-only
    std::string control;               // the control channel's tty (kControlDevice); empty: none
};

// The JSON hull writes (compact, one line).
std::string to_json(const GuestProcess& p);
// Parses and validates it; the error names the field: `.args: must not be empty`.
std::expected<GuestProcess, std::string> parse_guest_process(std::string_view text);

}  // namespace hull::vm::guest
