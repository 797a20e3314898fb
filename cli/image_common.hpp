// What the image commands (pull, images, rmi, image, import) share: the --store option and
// podman's human-readable sizes and ages.
#pragma once

#include "cli/command.hpp"
#include "images/store.hpp"

#include <cstdint>
#include <string>

namespace hull::cli {

// $HULL_STORE, else /var/lib/hull.
std::string default_store_root();
// Adds --store DIR, bound to `root` (which starts as default_store_root()).
void add_store_option(CLI::App& app, std::string& root);
// `root` made absolute; fails when --store was given empty.
Result<std::string> store_root_path(const std::string& root);
// Opens the store at store_root_path(root).
Result<images::Store> open_store(const std::string& root);

// podman's (go-units HumanSizeWithPrecision) decimal sizes: "1.46 MB", "867 kB", "12 B".
std::string human_size(int64_t bytes);
// go-units HumanDuration plus " ago": "Less than a second ago", "About a minute ago",
// "5 minutes ago", "2 years ago".
std::string human_age(int64_t seconds);
// Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05.123Z", "+01:00" offsets);
// nullopt when it does not parse.
std::optional<int64_t> parse_rfc3339(std::string_view s);

}  // namespace hull::cli
