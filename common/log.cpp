#include "common/log.hpp"

#include "common/strings.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

namespace hull::log {
namespace {

int g_fd = STDERR_FILENO;
Format g_format = Format::text;
bool g_debug = false;
bool g_to_file = false;

const char* level_name(Level l) {
    switch (l) {
    case Level::error: return "error";
    case Level::warn: return "warning";
    case Level::info: return "info";
    case Level::debug: return "debug";
    }
    return "info";
}

void json_escape(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                out += "\\u00";
                out += hex[(c >> 4) & 0xf];
                out += hex[c & 0xf];
            } else {
                out += c;
            }
        }
    }
}

std::string timestamp() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return cat(std::string_view(buf, n), ".", std::string(9 - std::to_string(ts.tv_nsec).size(), '0'),
               static_cast<long>(ts.tv_nsec), "Z");
}

}  // namespace

void configure(const std::string& path, Format format, bool debug) {
    g_format = format;
    g_debug = debug;
    if (!path.empty()) {
        int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            g_fd = fd;
            g_to_file = true;
        }
    }
}

bool debug_enabled() { return g_debug; }
bool to_file() { return g_to_file; }

void write(Level level, std::string_view msg) {
    std::string line;
    if (g_format == Format::json) {
        line = cat("{\"level\":\"", level_name(level), "\",\"msg\":\"");
        json_escape(line, msg);
        line += cat("\",\"time\":\"", timestamp(), "\"}\n");
    } else if (g_to_file) {
        line = cat(timestamp(), " ", level_name(level), ": ", msg, "\n");
    } else {
        line = cat("hull: ", msg, "\n");
    }
    // One write per line so concurrent writers to the same log do not interleave.
    (void)!::write(g_fd, line.data(), line.size());
}

}  // namespace hull::log
