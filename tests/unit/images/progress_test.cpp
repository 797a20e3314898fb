#include "images/progress.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace hull::images {
namespace {

const std::string kDigest = "sha256:1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b";

TEST(Progress, FormatSize) {
    EXPECT_EQ(format_size(0), "0B");
    EXPECT_EQ(format_size(1023), "1023B");
    EXPECT_EQ(format_size(1024), "1.0KiB");
    EXPECT_EQ(format_size(1536), "1.5KiB");
    EXPECT_EQ(format_size(2202009), "2.1MiB");
    EXPECT_EQ(format_size(1048575), "1.0MiB");  // not "1024.0KiB"
    EXPECT_EQ(format_size(int64_t(3) << 30), "3.0GiB");
    EXPECT_EQ(format_size(-1), "?");
}

TEST(Progress, ShortDigest) {
    EXPECT_EQ(short_digest(kDigest), "1a2b3c4d5e6f");
    EXPECT_EQ(short_digest("abc"), "abc");
}

TEST(Progress, Bar) {
    EXPECT_EQ(render_bar(0, 100, 12), "[>---------]");
    EXPECT_EQ(render_bar(50, 100, 12), "[=====>----]");
    EXPECT_EQ(render_bar(100, 100, 12), "[==========]");
    EXPECT_EQ(render_bar(200, 100, 12), "[==========]");  // clamped
    EXPECT_EQ(render_bar(0, 0, 6), "[====]");            // an empty blob is complete
    EXPECT_EQ(render_bar(5, -1, 6), "[>---]");           // unknown total: no fill
    EXPECT_EQ(render_bar(50, 100, 12).size(), 12u);
}

TEST(Progress, BarLine) {
    BlobState b{kDigest, "blob", 1 << 20, 3 << 20, 2.5 * (1 << 20), false, false};
    EXPECT_EQ(render_bar_line(b, 80),
              "Copying blob 1a2b3c4d5e6f [========>---------------] 1.0MiB / 3.0MiB | 2.5MiB/s");
    // Never as wide as the terminal: a wrapped line would break the cursor-up count.
    for (int cols : {20, 40, 60, 61, 100}) EXPECT_LT(render_bar_line(b, cols).size(), size_t(cols)) << cols;
    // Too narrow for a bar: the numbers only.
    EXPECT_EQ(render_bar_line(b, 60), "Copying blob 1a2b3c4d5e6f 1.0MiB / 3.0MiB | 2.5MiB/s");
    b.bytes_per_second = 0;
    EXPECT_EQ(render_bar_line(b, 70), "Copying blob 1a2b3c4d5e6f [========>----------------] 1.0MiB / 3.0MiB");
}

TEST(Progress, FinalLines) {
    BlobState b{kDigest, "blob", 2202009, 2202009, 0, true, false};
    EXPECT_EQ(render_final_line(b), "Copying blob 1a2b3c4d5e6f done 2.1MiB");
    EXPECT_EQ(render_bar_line(b, 80), "Copying blob 1a2b3c4d5e6f done 2.1MiB");
    b.kind = "config";
    b.total = 1500;
    EXPECT_EQ(render_final_line(b), "Copying config 1a2b3c4d5e6f done 1.5KiB");
    b.skipped = true;
    EXPECT_EQ(render_final_line(b), "Copying config 1a2b3c4d5e6f skipped: already exists");
}

TEST(Progress, Frame) {
    std::vector<BlobState> blobs = {{kDigest, "blob", 0, 1024, 0, false, false},
                                    {"sha256:ffffffffffff00", "blob", 1024, 1024, 0, true, false}};
    EXPECT_EQ(render_frame(blobs, 0, 80),
              "\r\x1b[2K" + render_bar_line(blobs[0], 80) + "\n\r\x1b[2KCopying blob ffffffffffff done 1.0KiB\n");
    // A redraw first goes back up over what the last frame drew.
    EXPECT_TRUE(render_frame(blobs, 2, 80).starts_with("\x1b[2A\r\x1b[2K"));
    EXPECT_EQ(render_frame({}, 0, 80), "");
}

std::string drain(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
}

struct Pipe {
    int fds[2] = {-1, -1};
    Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0); }
    ~Pipe() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
};

TEST(Progress, LinesModePrintsEachBlobOnce) {
    Pipe p;
    ProgressPrinter pr(p.fds[1], ProgressMode::lines);
    pr.message("Trying to pull x...");
    pr.add_blob(kDigest, "blob", 2048, false);
    pr.add_blob("sha256:aaaaaaaaaaaabbbb", "blob", 10, true);
    pr.add_blob("sha256:cccccccccccc", "config", 100, false);
    pr.update(kDigest, 1024, false);
    pr.update(kDigest, 2048, false);  // all bytes, but not yet in the store
    pr.finish_blob(kDigest);
    pr.finish_blob(kDigest);
    pr.finish_blob("sha256:cccccccccccc");
    pr.message("Writing manifest to image destination");
    pr.flush();
    EXPECT_EQ(drain(p.fds[0]),
              "Trying to pull x...\n"
              "Copying blob aaaaaaaaaaaa skipped: already exists\n"
              "Copying blob 1a2b3c4d5e6f done 2.0KiB\n"
              "Copying config cccccccccccc done 100B\n"
              "Writing manifest to image destination\n");
}

TEST(Progress, LinesModeHoldsTheHeaderUntilSomethingFollows) {
    Pipe p;
    ProgressPrinter pr(p.fds[1], ProgressMode::lines);
    pr.header("Trying to pull x...");
    pr.add_blob(kDigest, "blob", 2048, false);
    pr.update(kDigest, 1024, false);
    EXPECT_EQ(drain(p.fds[0]), "");  // a failure now prints only its error
    pr.finish_blob(kDigest);
    EXPECT_EQ(drain(p.fds[0]), "Trying to pull x...\nCopying blob 1a2b3c4d5e6f done 2.0KiB\n");

    Pipe t;
    ProgressPrinter bars(t.fds[1], ProgressMode::bars);
    bars.header("Trying to pull x...");
    EXPECT_EQ(drain(t.fds[0]), "Trying to pull x...\n");  // a terminal sees it at once
}

TEST(Progress, QuietModePrintsNothing) {
    Pipe p;
    ProgressPrinter pr(p.fds[1], ProgressMode::quiet);
    pr.message("Trying to pull x...");
    pr.add_blob(kDigest, "blob", 2048, false);
    pr.finish_blob(kDigest);
    pr.flush();
    EXPECT_EQ(drain(p.fds[0]), "");
}

TEST(Progress, BarsModeRedrawsInPlace) {
    Pipe p;
    ProgressPrinter pr(p.fds[1], ProgressMode::bars, 80);
    pr.message("Trying to pull x...");
    pr.add_blob(kDigest, "blob", 2048, false);
    pr.add_blob("sha256:cccccccccccc", "config", 100, false);
    pr.finish_blob(kDigest);
    pr.finish_blob("sha256:cccccccccccc");
    pr.message("Writing manifest to image destination");
    const std::string out = drain(p.fds[0]);
    EXPECT_TRUE(out.starts_with("Trying to pull x...\n\r\x1b[2KCopying blob 1a2b3c4d5e6f [")) << out;
    // The last frame: up over both lines, both finished, then the message below them.
    EXPECT_TRUE(out.ends_with("\x1b[2A\r\x1b[2KCopying blob 1a2b3c4d5e6f done 2.0KiB\n"
                              "\r\x1b[2KCopying config cccccccccccc done 100B\n"
                              "Writing manifest to image destination\n"))
        << out;
}

}  // namespace
}  // namespace hull::images
