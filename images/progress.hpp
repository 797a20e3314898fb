// Pull progress as podman shows it, for hull-fetch.
//
// Three modes. On a terminal (`bars`): one line per blob with its short digest, a bar, bytes
// done of total and the speed, redrawn in place with ANSI cursor movement, then plain lines
// ("Writing manifest to image destination"). Otherwise (`lines`): one line per blob, printed
// once when it is in the store ("Copying blob 1a2b3c4d5e6f done 2.1MiB"), so logs stay
// readable. `quiet`: nothing; the caller prints only the image ID.
//
// The rendering is pure functions of the blob states, so tests pin it byte for byte;
// ProgressPrinter only keeps the states, the clock and the file descriptor.
#pragma once

#include "common/units.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

enum class ProgressMode { bars, lines, quiet };

using hull::format_size;  // common/units.hpp
// The 12 hex digits podman shows for a digest ("sha256:1a2b..." -> "1a2b3c4d5e6f").
std::string short_digest(std::string_view digest);

struct BlobState {
    std::string digest;          // "sha256:<hex>"
    std::string kind = "blob";   // "blob" or "config"
    int64_t done = 0;
    int64_t total = 0;           // < 0: unknown
    double bytes_per_second = 0;
    bool finished = false;       // verified and in the store
    bool skipped = false;        // was in the store already
};

// "[=====>      ]": `width` characters including the brackets; full when done >= total.
std::string render_bar(int64_t done, int64_t total, int width);
// One terminal line for a blob (no newline), at most `columns` characters:
//   "Copying blob 1a2b3c4d5e6f [====>     ] 1.0MiB / 3.2MiB | 2.3MiB/s"
// and, once finished, its final line (render_final_line).
std::string render_bar_line(const BlobState& b, int columns);
// The line a blob ends with: "Copying blob 1a2b3c4d5e6f done 2.1MiB", or
// "Copying blob 1a2b3c4d5e6f skipped: already exists".
std::string render_final_line(const BlobState& b);
// A whole redraw: moves the cursor up over the `previous_lines` lines the last frame drew,
// then rewrites each blob's line (clearing it first) and ends below the last one.
std::string render_frame(const std::vector<BlobState>& blobs, size_t previous_lines, int columns);

class ProgressPrinter {
public:
    ProgressPrinter(int fd, ProgressMode mode, int columns = 80);
    // The mode for `fd`: bars on a terminal, lines otherwise, quiet when asked.
    static ProgressMode mode_for(int fd, bool quiet);
    // The terminal's width, or 80.
    static int columns_of(int fd);

    // A plain line ("Trying to pull ...", "Writing manifest to image destination"); ends the
    // bars block, so later blobs start a new one.
    void message(std::string_view line);
    // The first line ("Trying to pull ..."): on a terminal at once; otherwise held until
    // something else is printed, so a pull that fails before any blob is in the store reports
    // its error alone, in one line.
    void header(std::string_view line);
    // Registers a blob before any progress on it. `present`: already in the store.
    void add_blob(const std::string& digest, const std::string& kind, int64_t total, bool present);
    // Bytes so far; done == total with `finished` once the blob is verified in the store.
    // Thread-safe.
    void update(std::string_view digest, int64_t done, bool finished);
    // Marks a blob finished (in the store) and prints its final line in lines mode.
    void finish_blob(std::string_view digest);
    // Draws the final state of the bars.
    void flush();

private:
    void draw_locked(bool force);
    void write_locked(std::string_view s);

    using Clock = std::chrono::steady_clock;
    int fd_;
    ProgressMode mode_;
    int columns_;
    std::mutex mu_;
    std::vector<BlobState> blobs_;
    std::vector<Clock::time_point> started_;
    std::vector<bool> printed_;   // lines mode: final line written
    std::string pending_;         // lines mode: the header, until something follows it
    size_t drawn_lines_ = 0;      // bars mode: lines of the current block on screen
    size_t block_start_ = 0;      // bars mode: first blob of the current block
    Clock::time_point last_draw_{};
};

}  // namespace hull::images
