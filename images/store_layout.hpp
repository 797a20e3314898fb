// The part of the image store that needs neither libarchive nor OpenSSL: its names on disk, its
// lock files, and pins (plain files under pins/). The static `hull` links only this: deleting a
// container `hull launch` made unpins its layers (runtime/launch_leftovers.cpp) without the
// rest of the store, which lives in hull-image (cli/CMakeLists.txt says why).
//
// Layout and lock protocol: images/store.hpp. A pin is pins/<escape_name(owner)>.json,
// written and removed under the exclusive `index` lock, so gc (which holds it while it marks)
// never sees half a change.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <string>
#include <string_view>

namespace hull::images {

// A held flock; released on destruction.
class Lease {
public:
    Lease() = default;
    explicit Lease(UniqueFd fd) : fd_(std::move(fd)) {}
    explicit operator bool() const { return bool(fd_); }

private:
    UniqueFd fd_;
};

// flock(op) on the lock file `path` (created if missing), retried on EINTR.
Result<Lease> take_lock(const std::string& path, int op);

// Escapes a name into a single path component: [A-Za-z0-9._-] kept (a leading '.' escaped),
// everything else "%XX". Reversible; never "", "." or "..".
std::string escape_name(std::string_view name);
Result<std::string> unescape_name(std::string_view escaped);

// <root>/pins/<escaped owner>.json and <root>/locks/index.
std::string pin_path(std::string_view root, std::string_view owner);
std::string index_lock_path(std::string_view root);

// Removes `owner`'s pin from the store at `root` (absolute) under the index lock; no pin is
// not an error.
Status unpin(std::string_view root, std::string_view owner);

}  // namespace hull::images
