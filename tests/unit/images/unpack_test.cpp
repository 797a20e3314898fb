// The hostile-layer corpus (built by tests/images/gen.py at test time), each class rejected
// with its message, inside a sandbox where only the test's temp dir is writable, and a canary
// tree beside the layer proving nothing was written outside it.
#include "images/unpack.hpp"

#include "tests/unit/images/helpers.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

namespace hull::images {
namespace {

using test::TempDir;

struct Case {
    const char* file;
    const char* error;  // a substring of the message
    bool allow_devices = true;
    uint64_t max_bytes = uint64_t(1) << 30;
    uint64_t max_entries = 1000;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.file; }

class Hostile : public testing::TestWithParam<Case> {
protected:
    static void SetUpTestSuite() {
        corpus_ = new TempDir();
        ASSERT_TRUE(test::generate("hostile", corpus_->path()));
    }
    static void TearDownTestSuite() {
        delete corpus_;
        corpus_ = nullptr;
    }
    static TempDir* corpus_;
};
TempDir* Hostile::corpus_ = nullptr;

TEST_P(Hostile, IsRejectedAndWritesNothingOutside) {
    if (!test::can_sandbox()) GTEST_SKIP() << "needs root for the read-only mount namespace sandbox";
    const Case& c = GetParam();
    TempDir work;
    ASSERT_TRUE(fs::mkdir_p(work / "layer"));
    ASSERT_TRUE(fs::mkdir_p(work / "canary/sub"));
    ASSERT_TRUE(fs::write_file(work / "canary/file", "canary", O_WRONLY | O_CREAT | O_TRUNC));
    auto before = test::snapshot(work / "canary");
    std::string archive = fs::join(corpus_->path(), c.file);
    std::string msg = test::sandboxed(work.path(), [&]() -> Status {
        UnpackOptions o;
        o.allow_devices = c.allow_devices;
        o.max_bytes = c.max_bytes;
        o.max_entries = c.max_entries;
        auto in = HULL_TRY(fs::open(archive, O_RDONLY));
        auto dest = HULL_TRY(fs::open(work / "layer", O_RDONLY | O_DIRECTORY));
        HULL_TRY(unpack_layer(in, dest, o));
        return {};
    });
    EXPECT_NE(msg.find(c.error), std::string::npos) << "got: " << (msg.empty() ? "success" : msg);
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(test::snapshot(work / "canary"), before);
    // Nothing but the two dirs at the top of the writable area.
    auto top = test::snapshot(work.path());
    for (const auto& [path, _] : top)
        EXPECT_TRUE(path == "." || path.starts_with("layer") || path.starts_with("canary")) << path;
}

const Case kCases[] = {
    {"dotdot.tar", "layer entry `../escape`: path escapes the layer root"},
    {"dotdot_nested.tar", "layer entry `a/../../escape`: path escapes the layer root"},
    {"symlink_parent_abs.tar", "layer entry `evil/tmp/escape`: path goes through a symlink"},
    {"symlink_parent_rel.tar", "layer entry `evil/planted`: path goes through a symlink"},
    {"symlink_parent_inner.tar", "layer entry `d/up/x`: path goes through a symlink"},
    {"symlink_parent_deep.tar", "layer entry `a/b/c/d`: path goes through a symlink"},
    {"hardlink_outside.tar", "layer entry `x`: hard link target `../canary/file`: path escapes the layer root"},
    {"hardlink_missing.tar", "layer entry `x`: hard link target `nonexistent`: not in this layer"},
    {"hardlink_abs_missing.tar", "layer entry `x`: hard link target `etc/passwd`: not in this layer"},
    {"hardlink_via_symlink.tar", "hard link target `l/file`: path goes through a symlink"},
    {"hardlink_dir.tar", "hard link target `d`: is a directory"},
    {"device.tar", "layer entry `null`: device nodes are not allowed in this layer", false},
    {"oversized.tar", "layer exceeds the size limit of 1048576 bytes", true, 1 << 20},
    {"bomb.tar.gz", "layer exceeds the size limit of 1048576 bytes", true, 1 << 20},
    {"endless.tar", "layer has more than 1000 entries"},
    {"swap_dir_file.tar", "layer entry `a`: duplicate entry changes type"},
    {"swap_file_dir.tar", "layer entry `a/`: duplicate entry changes type"},
    {"swap_file_symlink.tar", "layer entry `a`: duplicate entry changes type"},
    {"swap_dir_symlink.tar", "layer entry `a`: duplicate entry changes type"},
    {"whiteout_conflict.tar", "whiteout of `x` conflicts with an entry of the same layer"},
    {"whiteout_dotdot.tar", "layer entry `d/.wh...`: invalid whiteout name"},
    {"xz.tar.xz", "unsupported layer compression xz"},
    {"garbage.tar", "read layer: "},
    {"truncated.tar.gz", "layer"},
};

INSTANTIATE_TEST_SUITE_P(Corpus, Hostile, testing::ValuesIn(kCases),
                         [](const auto& info) {
                             std::string n = info.param.file;
                             for (auto& ch : n)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

TEST(Unpack, AbsoluteNamesBecomeRelative) {
    TempDir corpus, work;
    ASSERT_TRUE(test::generate("hostile", corpus.path()));
    auto in = fs::open(corpus / "ok_absolute.tar", O_RDONLY);
    auto dest = fs::open(work.path(), O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(in && dest);
    auto r = unpack_layer(*in, *dest);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(fs::read_file(work / "abs/file").value_or(""), "abs");
    EXPECT_EQ(fs::read_file(work / "inner").value_or(""), "in");
    EXPECT_EQ(r->entries, 3u);
}

TEST(Unpack, DigestsAreCheckedWhileStreaming) {
    TempDir corpus, work;
    ASSERT_TRUE(test::generate("docker", corpus.path()));
    auto in = fs::open(corpus / "rootfs.tar.gz", O_RDONLY);
    auto dest = fs::open(work.path(), O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(in && dest);
    UnpackOptions o;
    o.preserve_owners = ::geteuid() == 0;
    o.allow_devices = ::geteuid() == 0;
    o.preserve_xattrs = ::geteuid() == 0;
    o.expected_diff_id = oci::Digest::parse("sha256:" + std::string(64, '0')).value();
    auto r = unpack_layer(*in, *dest, o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("layer diff_id digest mismatch: expected sha256:0000"), std::string::npos)
        << r.error().message();
}

TEST(Unpack, DetectsCompressionByMagic) {
    const unsigned char gz[] = {0x1f, 0x8b, 8, 0};
    const unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd};
    const unsigned char tar[] = {'e', 't', 'c', '/'};
    EXPECT_EQ(detect_compression(gz), Compression::gzip);
    EXPECT_EQ(detect_compression(zs), Compression::zstd);
    EXPECT_EQ(detect_compression(tar), Compression::none);
}

// GNU tar of `members` (in that order, no recursion, so parents only where listed) from `src`.
std::string make_tar(const std::string& src, const std::string& out, const std::string& members) {
    EXPECT_EQ(std::system(cat("tar --no-recursion -C '", src, "' -cf '", out, "' ", members).c_str()), 0);
    return out;
}

Result<UnpackStats> unpack_file(const std::string& tar, const std::string& dest, UnpackOptions o = {}) {
    auto in = HULL_TRY(fs::open(tar, O_RDONLY));
    auto d = HULL_TRY(fs::open(dest, O_RDONLY | O_DIRECTORY));
    return unpack_layer(in, d, o);
}

TEST(Unpack, WhiteoutThenRecreateInOneLayer) {
    if (::geteuid() != 0) GTEST_SKIP() << "overlay whiteouts and opaque markers need root";
    // The image-spec's rule: a whiteout only hides lower layers, so `.wh.x` followed by `x`
    // is the new `x`; a new directory must also hide the old one's children (opaque).
    TempDir src, work;
    ASSERT_TRUE(fs::mkdir_p(src / "d"));
    for (const char* f : {".wh.d", "d/new", ".wh.f", "f", ".wh.h", "h"})
        ASSERT_TRUE(fs::write_file(src / f, f, O_WRONLY | O_CREAT | O_TRUNC));
    ASSERT_EQ(::symlink("target", (src / "l").c_str()), 0);
    ASSERT_TRUE(fs::write_file(src / ".wh.l", "", O_WRONLY | O_CREAT | O_TRUNC));
    std::string tar = make_tar(src.path(), work / "x.tar", ".wh.d d d/new .wh.f f .wh.l l .wh.h h");
    ASSERT_TRUE(fs::mkdir_p(work / "layer"));
    auto r = unpack_file(tar, work / "layer");
    ASSERT_TRUE(r) << r.error().message();
    auto snap = test::snapshot(work / "layer");
    EXPECT_TRUE(snap["d"].starts_with("dir ")) << snap["d"];
    EXPECT_TRUE(snap["d/new"].starts_with("file ")) << snap["d/new"];
    EXPECT_TRUE(snap["f"].starts_with("file ")) << snap["f"];
    EXPECT_TRUE(snap["h"].starts_with("file ")) << snap["h"];
    EXPECT_TRUE(snap["l"].starts_with("symlink ")) << snap["l"];
    char v[2] = {};
    EXPECT_EQ(::getxattr((work / "layer/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
    EXPECT_EQ(v[0], 'y');
    // Files replacing a whiteout need no marker.
    EXPECT_LT(::getxattr((work / "layer").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
    EXPECT_EQ(snap.size(), 6u);  // ., d, d/new, f, h, l: no whiteout left
}

TEST(Unpack, ImplicitDirsAreReported) {
    TempDir src, work;
    ASSERT_TRUE(fs::mkdir_p(src / "a/b"));
    ASSERT_TRUE(fs::mkdir_p(src / "c"));
    ASSERT_TRUE(fs::write_file(src / "a/b/f", "f", O_WRONLY | O_CREAT | O_TRUNC));
    ASSERT_TRUE(fs::write_file(src / "c/g", "g", O_WRONLY | O_CREAT | O_TRUNC));
    UnpackOptions o;
    o.preserve_owners = ::geteuid() == 0;
    ASSERT_TRUE(fs::mkdir_p(work / "one"));
    auto r = unpack_file(make_tar(src.path(), work / "one.tar", "a/b/f c c/g"), work / "one", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->implicit_dirs, (std::vector<std::string>{"", "a", "a/b"}));
    // With the root listed (`./`) and `a/` given after its child, only a/b is implied.
    ASSERT_TRUE(fs::mkdir_p(work / "two"));
    r = unpack_file(make_tar(src.path(), work / "two.tar", ". ./a/b/f ./a"), work / "two", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->implicit_dirs, (std::vector<std::string>{"a/b"}));
}

TEST(Unpack, ImplicitDirsInheritFromTheMergedLowerLayers) {
    if (::geteuid() != 0) GTEST_SKIP() << "owners, whiteouts and opaque markers need root";
    TempDir work;
    std::string low0 = work / "low0", low1 = work / "low1", layer = work / "layer";
    auto dir = [](const std::string& p, mode_t mode) {
        EXPECT_TRUE(fs::mkdir_p(p));
        EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    };
    // Bottom: a (0750 1000:1001, an xattr, an old mtime), b, c and c/d.
    dir(fs::join(low0, "a"), 0750);
    ASSERT_EQ(::chown(fs::join(low0, "a").c_str(), 1000, 1001), 0);
    ASSERT_EQ(::setxattr(fs::join(low0, "a").c_str(), "user.k", "v", 1, 0), 0);
    dir(fs::join(low0, "b"), 0700);
    dir(fs::join(low0, "c/d"), 0701);
    dir(fs::join(low0, "c"), 0711);
    struct timespec old[2] = {{1234, 5}, {1234, 5}};
    ASSERT_EQ(::utimensat(AT_FDCWD, fs::join(low0, "a").c_str(), old, 0), 0);
    // Above it: b whited out, c replaced by an opaque 0770 directory without d.
    dir(low1, 0755);
    ASSERT_EQ(::mknod(fs::join(low1, "b").c_str(), S_IFCHR, 0), 0);
    dir(fs::join(low1, "c"), 0770);
    ASSERT_EQ(::setxattr(fs::join(low1, "c").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    for (const char* d : {"a", "b", "c/d", "n"}) dir(fs::join(layer, d), 0755);

    std::vector<std::string> paths = {"a", "b", "c", "c/d", "n"}, lowers = {low1, low0};
    auto fd = fs::open(layer, O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(fd);
    auto r = inherit_dir_metadata(*fd, paths, lowers);
    ASSERT_TRUE(r) << r.error().message();
    auto mode_of = [&](const char* p) {
        struct stat st{};
        ::lstat(fs::join(layer, p).c_str(), &st);
        return st;
    };
    struct stat a = mode_of("a");
    EXPECT_EQ(a.st_mode & 07777, 0750u);
    EXPECT_EQ(a.st_uid, 1000u);
    EXPECT_EQ(a.st_gid, 1001u);
    EXPECT_EQ(a.st_mtim.tv_sec, 1234);
    EXPECT_EQ(a.st_mtim.tv_nsec, 5);
    char v[4] = {};
    EXPECT_EQ(::getxattr(fs::join(layer, "a").c_str(), "user.k", v, sizeof v), 1);
    EXPECT_EQ(mode_of("b").st_mode & 07777, 0755u);    // whited out above: new here
    EXPECT_EQ(mode_of("c").st_mode & 07777, 0770u);    // the topmost c
    EXPECT_EQ(mode_of("c/d").st_mode & 07777, 0755u);  // hidden by the opaque c
    EXPECT_EQ(mode_of("n").st_mode & 07777, 0755u);
    // The lower opaque marker is not copied up.
    EXPECT_LT(::getxattr(fs::join(layer, "c").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
}

}  // namespace
}  // namespace hull::images
