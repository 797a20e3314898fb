// Where hull's installed pieces are, found from the running program: its helper programs
// (hull-fetch, hull-image, hull-guest-init) and the embedded images (images/resolve.hpp).
//
// Installed, hull is <prefix>/bin/hull and its helpers are in <prefix>/libexec/hull/ (the
// install rules in cli/CMakeLists.txt); in a build tree every program is in <build>/bin.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>

namespace hull {

// The directory of the `hull` binary: that of /proc/self/exe, or <prefix>/bin when the running
// program is a helper in <prefix>/libexec/hull (hull-image runs `hull launch` and needs hull's
// share/ and libexec/ next to it). `what` names the caller's step in the error.
Result<std::string> hull_bin_dir(std::string_view what);

// Where the helper program `name` is: $<env_var> when set (it must be an executable file), else `name`
// in hull_bin_dir(), else in <that dir>/../libexec/hull; the error names the places looked at.
Result<std::string> find_helper(std::string_view name, const char* env_var);

}  // namespace hull
