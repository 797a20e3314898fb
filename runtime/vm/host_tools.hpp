// What the VM's image builders (rootfs_image, layered_image, linux_guest) share: the cache-key
// hasher and running a host tool (mkfs.erofs, mkfs.ext4) whose failure becomes one line.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::vm::detail {

// FNV-1a, 64 bits: a cache key, not a defence (the cache directory is root's own).
struct Fnv64 {
    std::uint64_t h = 14695981039346656037ull;
    void add(const void* data, std::size_t n) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    }
    void add(std::string_view s) {
        add(s.data(), s.size());
        add("\0", 1);  // so "ab"+"c" and "a"+"bc" differ
    }
    template <typename T>
    void add_num(T v) { add(&v, sizeof v); }
    // The 16 lowercase hex digits of the hash, for file names.
    std::string hex() const;
};

// The PATH hull gives the host tools it runs, and the only one it looks them up on: $PATH is
// the caller's, not to be trusted for a tool run as root.
inline constexpr std::string_view kToolPath = "/usr/sbin:/usr/bin:/sbin:/bin";

// The executable `name` in the first directory of kToolPath holding it, or nothing.
std::optional<std::string> find_tool(std::string_view name);

// Runs argv[0] (a full path) with stdin from /dev/null, a fixed environment (PATH=kToolPath,
// LC_ALL=C) and stdout and stderr captured. A failure reads
// "<what> failed (exit N): <its last line of output>" or "<what> failed (signal N)".
Status run_tool(const std::vector<std::string>& argv, std::string_view what);

// For callers that fork their own child: `fd` read to its end (EINTR-safe), keeping the first
// 64 KiB or so.
std::string read_output(int fd);

// The last non-blank line of a tool's output, without its trailing newlines and spaces.
std::string last_line(std::string output);

}  // namespace hull::vm::detail
