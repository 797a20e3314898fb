// Reading /etc/passwd-style files through layer directories: precedence, whiteouts, opaque
// directories, and symlinks that try to leave their layer.
#include "images/layer_files.hpp"

#include "tests/unit/images/helpers.hpp"

#include "common/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace hull::images {
namespace {

using test::TempDir;

void put(const std::string& path, const std::string& data) {
    ASSERT_TRUE(fs::mkdir_p(fs::dirname(path)));
    ASSERT_TRUE(fs::write_file(path, data, O_WRONLY | O_CREAT | O_TRUNC));
}

// An overlay whiteout; false when this process may not make one (no CAP_MKNOD).
bool whiteout(const std::string& path) {
    if (!fs::mkdir_p(fs::dirname(path))) return false;
    return ::mknod(path.c_str(), S_IFCHR | 0600, makedev(0, 0)) == 0;
}

bool make_opaque(const std::string& dir) {
    if (!fs::mkdir_p(dir)) return false;
    return ::setxattr(dir.c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0;
}

std::optional<std::string> read(const std::vector<std::string>& layers, std::string_view path = "/etc/passwd") {
    auto r = read_layer_file(layers, path, 1 << 20);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : std::nullopt;
}

TEST(LayerFiles, HigherLayerWins) {
    TempDir t;
    put(t / "l1/etc/passwd", "lower\n");
    put(t / "l2/etc/passwd", "upper\n");
    ASSERT_TRUE(fs::mkdir_p(t / "l3/etc"));  // a directory without the file: falls through
    EXPECT_EQ(read({t / "l3", t / "l2", t / "l1"}), "upper\n");
    EXPECT_EQ(read({t / "l1"}), "lower\n");
    EXPECT_EQ(read({t / "l3"}), std::nullopt);
    EXPECT_EQ(read({}), std::nullopt);
}

TEST(LayerFiles, WhiteoutHidesLowerFile) {
    TempDir t;
    put(t / "l1/etc/passwd", "lower\n");
    if (!whiteout(t / "l2/etc/passwd")) GTEST_SKIP() << "cannot mknod a whiteout here (needs CAP_MKNOD)";
    EXPECT_EQ(read({t / "l2", t / "l1"}), std::nullopt);
    // A file re-created above the whiteout shows again.
    put(t / "l3/etc/passwd", "again\n");
    EXPECT_EQ(read({t / "l3", t / "l2", t / "l1"}), "again\n");
}

TEST(LayerFiles, WhiteoutOfParentDirHidesLowerFile) {
    TempDir t;
    put(t / "l1/etc/passwd", "lower\n");
    if (!whiteout(t / "l2/etc")) GTEST_SKIP() << "cannot mknod a whiteout here (needs CAP_MKNOD)";
    EXPECT_EQ(read({t / "l2", t / "l1"}), std::nullopt);
}

TEST(LayerFiles, OpaqueDirHidesLowerLayers) {
    TempDir t;
    put(t / "l1/etc/passwd", "lower\n");
    put(t / "l1/etc/group", "lowergroup\n");
    if (!make_opaque(t / "l2/etc")) GTEST_SKIP() << "cannot set trusted.* xattrs here (needs CAP_SYS_ADMIN)";
    put(t / "l2/etc/group", "uppergroup\n");
    EXPECT_EQ(read({t / "l2", t / "l1"}), std::nullopt);
    EXPECT_EQ(read({t / "l2", t / "l1"}, "/etc/group"), "uppergroup\n");
    // A plain directory in between does not hide anything.
    ASSERT_TRUE(fs::mkdir_p(t / "l3/etc"));
    EXPECT_EQ(read({t / "l3", t / "l1"}), "lower\n");
}

TEST(LayerFiles, FileInPlaceOfParentDirHidesLower) {
    TempDir t;
    put(t / "l1/etc/passwd", "lower\n");
    put(t / "l2/etc", "not a directory\n");
    EXPECT_EQ(read({t / "l2", t / "l1"}), std::nullopt);
}

TEST(LayerFiles, SymlinkResolvesInsideItsLayerOnly) {
    TempDir t;
    // A file outside every layer that the links aim at.
    put(t / "outside/passwd", "evil:x:0:0::/:/bin/sh\n");
    put(t / "l1/etc/passwd", "lower\n");
    ASSERT_TRUE(fs::mkdir_p(t / "l2/etc"));
    ASSERT_EQ(::symlink((t / "outside/passwd").c_str(), (t / "l2/etc/passwd").c_str()), 0);
    // The absolute target is taken inside l2, where it does not exist: the file is absent
    // (the link hides l1's), never the outside one.
    EXPECT_EQ(read({t / "l2", t / "l1"}), std::nullopt);

    ASSERT_TRUE(fs::mkdir_p(t / "l3/etc"));
    ASSERT_EQ(::symlink("../../../../../../../../outside/passwd", (t / "l3/etc/passwd").c_str()), 0);
    EXPECT_EQ(read({t / "l3"}), std::nullopt);

    // A parent directory that is a link out of the layer.
    ASSERT_TRUE(fs::mkdir_p(t / "l4"));
    ASSERT_EQ(::symlink((t / "outside").c_str(), (t / "l4/etc").c_str()), 0);
    EXPECT_EQ(read({t / "l4"}), std::nullopt);

    // A link within the layer works, relative or absolute.
    put(t / "l5/usr/share/passwd", "inside\n");
    ASSERT_TRUE(fs::mkdir_p(t / "l5/etc"));
    ASSERT_EQ(::symlink("/usr/share/passwd", (t / "l5/etc/passwd").c_str()), 0);
    EXPECT_EQ(read({t / "l5", t / "l1"}), "inside\n");
    put(t / "l6/lib/group", "rel\n");
    ASSERT_TRUE(fs::mkdir_p(t / "l6/etc"));
    ASSERT_EQ(::symlink("../lib/group", (t / "l6/etc/group").c_str()), 0);
    EXPECT_EQ(read({t / "l6"}, "/etc/group"), "rel\n");
}

TEST(LayerFiles, StatThroughLayers) {
    TempDir t;
    ASSERT_TRUE(fs::mkdir_p(t / "l1/var/lib/db"));
    ASSERT_EQ(::chmod((t / "l1/var/lib/db").c_str(), 0750), 0);
    ASSERT_TRUE(fs::mkdir_p(t / "l2/var/lib"));
    auto st = stat_layer_path({t / "l2", t / "l1"}, "/var/lib/db");
    ASSERT_TRUE(st) << st.error().message();
    ASSERT_TRUE(*st);
    EXPECT_TRUE(S_ISDIR((*st)->st_mode));
    EXPECT_EQ((*st)->st_mode & 07777, 0750u);
    auto none = stat_layer_path({t / "l2", t / "l1"}, "/var/lib/other");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    // A link out of the layer is followed inside it only.
    ASSERT_TRUE(fs::mkdir_p(t / "l3/var"));
    ASSERT_EQ(::symlink("/", (t / "l3/var/lib").c_str()), 0);
    auto link = stat_layer_path({t / "l3", t / "l1"}, "/var/lib/db");
    ASSERT_TRUE(link);
    EXPECT_FALSE(*link);
}

TEST(LayerFiles, Errors) {
    TempDir t;
    ASSERT_TRUE(fs::mkdir_p(t / "l1/etc/passwd"));
    auto dir = read_layer_file({t / "l1"}, "/etc/passwd", 100);
    ASSERT_FALSE(dir);
    EXPECT_EQ(dir.error().message(), "`/etc/passwd` in layer `" + (t / "l1") + "` is not a regular file");

    put(t / "l2/etc/passwd", std::string(200, 'x'));
    auto big = read_layer_file({t / "l2"}, "/etc/passwd", 100);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().message(), "`/etc/passwd` in layer `" + (t / "l2") + "` is larger than 100 bytes");

    auto missing = read_layer_file({t / "nope"}, "/etc/passwd", 100);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "open layer `" + (t / "nope") + "`: no such file or directory");

    auto dots = read_layer_file({t / "l2"}, "/etc/../etc/passwd", 100);
    ASSERT_FALSE(dots);
    EXPECT_EQ(dots.error().message(), "read `/etc/../etc/passwd` from the image: `..` is not allowed");

    ASSERT_TRUE(fs::mkdir_p(t / "l3/etc"));
    ASSERT_EQ(::mkfifo((t / "l3/etc/passwd").c_str(), 0600), 0);
    auto fifo = read_layer_file({t / "l3"}, "/etc/passwd", 100);
    ASSERT_FALSE(fifo);
    EXPECT_EQ(fifo.error().message(), "`/etc/passwd` in layer `" + (t / "l3") + "` is not a regular file");
}

}  // namespace
}  // namespace hull::images
