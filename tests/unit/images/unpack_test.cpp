// The hostile-layer corpus (built by tests/images/gen.py at test time), each class rejected
// with its message, inside a sandbox where only the test's temp dir is writable, and a canary
// tree beside the layer proving nothing was written outside it.
#include "images/unpack.hpp"

#include "tests/unit/images/helpers.hpp"

#include "common/fs.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hull::images
