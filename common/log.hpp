// Logging, as runc does it: to stderr, or to the `--log` file in text or json format
// (containerd and conmon parse the json lines to report a runtime's errors).
#pragma once

#include <string>
#include <string_view>

namespace hull::log {

enum class Level { error, warn, info, debug };
enum class Format { text, json };

// Sets where messages go. An empty path means stderr. Never fails: a log file that cannot be
// opened falls back to stderr.
void configure(const std::string& path, Format format, bool debug);
bool debug_enabled();

void write(Level level, std::string_view msg);
inline void error(std::string_view msg) { write(Level::error, msg); }
inline void warn(std::string_view msg) { write(Level::warn, msg); }
inline void info(std::string_view msg) { write(Level::info, msg); }
inline void debug(std::string_view msg) {
    if (debug_enabled()) write(Level::debug, msg);
}

// True when errors go to a log file rather than stderr (the CLI then also prints to stderr).
bool to_file();

}  // namespace hull::log
