#include "images/progress.hpp"

#include "common/strings.hpp"
#include "common/units.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <utility>

namespace hull::images {

std::string short_digest(std::string_view digest) {
    if (auto colon = digest.find(':'); colon != std::string_view::npos) digest.remove_prefix(colon + 1);
    return std::string(digest.substr(0, 12));
}

std::string render_bar(int64_t done, int64_t total, int width) {
    const int inner = std::max(width - 2, 1);
    int filled = 0;
    if (total > 0) filled = static_cast<int>(std::clamp<double>(static_cast<double>(done) / static_cast<double>(total), 0, 1) * inner);
    else if (total == 0) filled = inner;
    std::string s = "[";
    s.append(static_cast<size_t>(filled), '=');
    if (filled < inner) {
        s.push_back('>');
        s.append(static_cast<size_t>(inner - filled - 1), '-');
    }
    s.push_back(']');
    return s;
}

std::string render_final_line(const BlobState& b) {
    std::string head = cat("Copying ", b.kind, " ", short_digest(b.digest));
    if (b.skipped) return cat(head, " skipped: already exists");
    return cat(head, " done ", format_size(b.total >= 0 ? b.total : b.done));
}

std::string render_bar_line(const BlobState& b, int columns) {
    std::string line;
    if (b.finished || b.skipped) {
        line = render_final_line(b);
    } else {
        std::string head = cat("Copying ", b.kind, " ", short_digest(b.digest), " ");
        std::string tail = cat(" ", format_size(b.done), " / ", format_size(b.total));
        if (b.bytes_per_second > 0) tail += cat(" | ", format_size(static_cast<int64_t>(b.bytes_per_second)), "/s");
        // The bar takes what is left, within reason: too short to read is left out.
        int room = columns - 1 - static_cast<int>(head.size() + tail.size());
        int width = std::min(room, 42);
        line = width >= 7 ? cat(head, render_bar(b.done, b.total, width), tail) : cat(head.substr(0, head.size() - 1), tail);
    }
    // A line longer than the terminal wraps, and the cursor-up count would be off.
    if (columns > 1 && line.size() >= static_cast<size_t>(columns)) line.resize(static_cast<size_t>(columns - 1));
    return line;
}

std::string render_frame(const std::vector<BlobState>& blobs, size_t previous_lines, int columns) {
    std::string s;
    if (previous_lines > 0) s += cat("\x1b[", previous_lines, "A");
    for (const auto& b : blobs) s += cat("\r\x1b[2K", render_bar_line(b, columns), "\n");
    return s;
}

ProgressPrinter::ProgressPrinter(int fd, ProgressMode mode, int columns) : fd_(fd), mode_(mode), columns_(columns) {}

ProgressMode ProgressPrinter::mode_for(int fd, bool quiet) {
    if (quiet) return ProgressMode::quiet;
    return ::isatty(fd) ? ProgressMode::bars : ProgressMode::lines;
}

int ProgressPrinter::columns_of(int fd) {
    winsize ws{};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

void ProgressPrinter::header(std::string_view line) {
    {
        std::lock_guard lock(mu_);
        if (mode_ == ProgressMode::lines) {
            pending_ = cat(line, "\n");
            return;
        }
    }
    message(line);
}

void ProgressPrinter::write_locked(std::string_view s) {
    if (!pending_.empty()) {
        std::string head = std::exchange(pending_, {});
        write_locked(head);
    }
    while (!s.empty()) {
        ssize_t n = ::write(fd_, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // progress is best effort: a closed terminal must not fail the pull
        s.remove_prefix(static_cast<size_t>(n));
    }
}

void ProgressPrinter::draw_locked(bool force) {
    if (mode_ != ProgressMode::bars) return;
    auto now = Clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::vector<BlobState> block(blobs_.begin() + static_cast<std::ptrdiff_t>(block_start_), blobs_.end());
    write_locked(render_frame(block, drawn_lines_, columns_));
    drawn_lines_ = block.size();
}

void ProgressPrinter::message(std::string_view line) {
    std::lock_guard lock(mu_);
    if (mode_ == ProgressMode::quiet) return;
    draw_locked(true);
    write_locked(cat(line, "\n"));
    block_start_ = blobs_.size();
    drawn_lines_ = 0;
}

void ProgressPrinter::add_blob(const std::string& digest, const std::string& kind, int64_t total, bool present) {
    std::lock_guard lock(mu_);
    BlobState b;
    b.digest = digest;
    b.kind = kind;
    b.total = total;
    b.skipped = present;
    if (present) b.done = total;
    blobs_.push_back(std::move(b));
    started_.push_back(Clock::now());
    printed_.push_back(false);
    if (mode_ == ProgressMode::lines && present) {
        write_locked(cat(render_final_line(blobs_.back()), "\n"));
        printed_.back() = true;
    }
    draw_locked(true);
}

void ProgressPrinter::update(std::string_view digest, int64_t done, bool finished) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < blobs_.size(); ++i) {
        BlobState& b = blobs_[i];
        if (b.digest != digest || b.skipped) continue;
        b.done = done;
        double secs = std::chrono::duration<double>(Clock::now() - started_[i]).count();
        if (secs > 0.05) b.bytes_per_second = static_cast<double>(done) / secs;
        if (finished && !b.finished) {
            b.finished = true;
            if (mode_ == ProgressMode::lines && !printed_[i]) {
                write_locked(cat(render_final_line(b), "\n"));
                printed_[i] = true;
            }
        }
        break;
    }
    draw_locked(finished);
}

void ProgressPrinter::finish_blob(std::string_view digest) {
    int64_t total = 0;
    {
        std::lock_guard lock(mu_);
        for (const auto& b : blobs_)
            if (b.digest == digest) total = b.total;
    }
    update(digest, total, true);
}

void ProgressPrinter::flush() {
    std::lock_guard lock(mu_);
    draw_locked(true);
}

}  // namespace hull::images
