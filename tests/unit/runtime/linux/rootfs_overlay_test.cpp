// The org.hull.rootfs.overlay annotation: its parser (every error kind), the host checks, and
// the parent's plan for the mount(2) fallback. No privileges needed; the mounting itself is
// tested from inside real containers in tests/integration/test_overlay.cpp.
#include "runtime/linux/rootfs_overlay.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/linux/mounts.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace hull::runtime::linux {
namespace {

std::string err_of(std::string_view value) {
    auto r = parse_overlay_value(value);
    EXPECT_FALSE(r) << "accepted: " << value;
    return r ? std::string() : r.error().message();
}

TEST(OverlayValue, RefusesEachKindOfBadValue) {
    EXPECT_EQ(err_of("{\"lower\": ["), "not valid JSON");
    EXPECT_EQ(err_of("[\"/a\"]"), "expected a JSON object, got array");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "uper": "tmpfs"})"),
              "unknown member `uper` (known: lower, upper, work, tmpfs_size)");
    EXPECT_EQ(err_of(R"({"upper": "tmpfs"})"), ".lower: required");
    EXPECT_EQ(err_of(R"({"lower": "/a"})"), ".lower: expected an array of directories, got string");
    EXPECT_EQ(err_of(R"({"lower": []})"), ".lower: at least one layer is needed");
    EXPECT_EQ(err_of(R"({"lower": ["/a", 3]})"), ".lower[1]: expected a string, got number");
    EXPECT_EQ(err_of(R"({"lower": ["/a", "b/c"]})"), ".lower[1]: `b/c` is not an absolute path");
    EXPECT_EQ(err_of(R"({"lower": [""]})"), ".lower[0]: `` is not an absolute path");
    EXPECT_EQ(err_of(R"({"lower": ["/a\n"], "upper": "up"})"), ".upper: `up` is not an absolute path");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": 1})"), ".upper: expected a string, got number");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "/u"})"), ".work: required with the upper directory `/u`");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "work": "/w"})"),
              ".work: only with an upper directory (`upper` is absent or \"tmpfs\")");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "tmpfs", "work": "/w"})"),
              ".work: only with an upper directory (`upper` is absent or \"tmpfs\")");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "/u", "work": "w"})"), ".work: `w` is not an absolute path");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "/u", "work": "/u/"})"), ".work: `/u` is the upper directory too");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "tmpfs_size": 10})"), ".tmpfs_size: only with \"upper\": \"tmpfs\"");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "tmpfs", "tmpfs_size": -1})"),
              ".tmpfs_size: expected a size in bytes, got `-1`");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "tmpfs", "tmpfs_size": 1.5})"),
              ".tmpfs_size: expected a size in bytes, got `1.5`");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "tmpfs", "tmpfs_size": "1m"})"),
              ".tmpfs_size: expected a size in bytes, got `\"1m\"`");
    EXPECT_EQ(err_of(R"({"lower": ["/a"], "upper": "tmpfs", "tmpfs_size": 0})"), ".tmpfs_size: must not be 0");
    // A control byte is shown escaped: the message stays on one line.
    EXPECT_EQ(err_of("{\"lower\": [\"a\\nb\"]}"), ".lower[0]: `a\\x0ab` is not an absolute path");
}

TEST(OverlayValue, LayerCountLimit) {
    std::string v = R"({"lower": [)";
    for (size_t i = 0; i <= kOverlayMaxLowers; ++i) v += cat(i ? "," : "", "\"/l/", i, "\"");
    EXPECT_EQ(err_of(v + "]}"), ".lower: 501 layers, more than overlayfs takes (500)");
    // 500 is fine.
    auto pos = v.rfind(',');
    EXPECT_TRUE(parse_overlay_value(v.substr(0, pos) + "]}"));
}

TEST(OverlayValue, AcceptsEachUpperKind) {
    auto none = parse_overlay_value(R"({"lower": ["/a//b/", "/c/./d"]})");
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_EQ(none->lower, (std::vector<std::string>{"/a/b", "/c/d"}));
    EXPECT_EQ(none->upper, OverlayUpper::none);
    EXPECT_FALSE(none->tmpfs_size);

    auto tmp = parse_overlay_value(R"({"lower": ["/a"], "upper": "tmpfs", "tmpfs_size": 1048576})");
    ASSERT_TRUE(tmp) << tmp.error().message();
    EXPECT_EQ(tmp->upper, OverlayUpper::tmpfs);
    EXPECT_EQ(tmp->tmpfs_size, 1048576u);

    auto dir = parse_overlay_value(R"({"lower": ["/a"], "upper": "/u/", "work": "/w"})");
    ASSERT_TRUE(dir) << dir.error().message();
    EXPECT_EQ(dir->upper, OverlayUpper::dir);
    EXPECT_EQ(dir->upper_dir, "/u");
    EXPECT_EQ(dir->work_dir, "/w");
}

// --- against the host ---------------------------------------------------------------------------

class OverlayHost : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-overlay-unit-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        for (auto d : {"a", "b", "u", "w"}) ASSERT_EQ(::mkdir((dir_ + "/" + d).c_str(), 0755), 0);
        ASSERT_TRUE(fs::write_file(dir_ + "/file", "x", O_WRONLY | O_CREAT | O_TRUNC));
    }
    void TearDown() override { (void)fs::remove_tree(dir_); }

    oci::Spec spec(const std::string& value) const {
        oci::Spec s;
        s.root.path = dir_;
        s.linux.emplace();
        s.annotations[std::string(kOverlayAnnotation)] = value;
        return s;
    }
    std::string err_of(const std::string& value) const {
        auto r = parse_overlay_annotation(spec(value));
        EXPECT_FALSE(r) << "accepted: " << value;
        return r ? std::string() : r.error().message();
    }
    std::string p(const char* name) const { return dir_ + "/" + name; }

    std::string dir_;
};

TEST_F(OverlayHost, NoAnnotationIsNoOverlay) {
    oci::Spec s;
    auto r = parse_overlay_annotation(s);
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
}

TEST_F(OverlayHost, ChecksTheDirectories) {
    const std::string pre = "annotation `org.hull.rootfs.overlay`: ";
    EXPECT_EQ(err_of("nope"), pre + "not valid JSON");
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("a"), R"(", ")", p("missing"), R"("]})")),
              pre + cat(".lower[1]: `", p("missing"), "` does not exist"));
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("file"), R"("]})")),
              pre + cat(".lower[0]: `", p("file"), "` is not a directory"));
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("a"), R"("], "upper": ")", p("nou"), R"(", "work": ")", p("w"), "\"}")),
              pre + cat(".upper: `", p("nou"), "` does not exist"));
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("a"), R"("], "upper": ")", p("u"), R"(", "work": ")", p("file"), "\"}")),
              pre + cat(".work: `", p("file"), "` is not a directory"));

    // The upper and work directories may not overlap each other or a layer (symlinks resolved).
    ASSERT_EQ(::mkdir(p("a/up").c_str(), 0755), 0);
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("b"), R"(", ")", p("a"), R"("], "upper": ")", p("a/up"), R"(", "work": ")",
                         p("w"), "\"}")),
              pre + cat(".upper: `", p("a/up"), "` overlaps the layer .lower[1] `", p("a"), "`"));
    ASSERT_EQ(::symlink(p("u").c_str(), p("ulink").c_str()), 0);
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("ulink"), R"("], "upper": ")", p("u"), R"(", "work": ")", p("w"), "\"}")),
              pre + cat(".upper: `", p("u"), "` overlaps the layer .lower[0] `", p("ulink"), "`"));
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("b"), R"("], "upper": ")", p("u"), R"(", "work": ")", p("u/w"), "\"}")),
              pre + cat(".work: `", p("u/w"), "` does not exist"));
    ASSERT_EQ(::mkdir(p("u/w").c_str(), 0755), 0);
    EXPECT_EQ(err_of(cat(R"({"lower": [")", p("b"), R"("], "upper": ")", p("u"), R"(", "work": ")", p("u/w"), "\"}")),
              pre + cat(".work: `", p("u/w"), "` and the upper `", p("u"), "` overlap"));
    ASSERT_EQ(::rmdir(p("u/w").c_str()), 0);

    // Symlinks to directories are layers (the image store's short links).
    ASSERT_EQ(::symlink(p("b").c_str(), p("link").c_str()), 0);
    auto ok = parse_overlay_annotation(
        spec(cat(R"({"lower": [")", p("link"), R"(", ")", p("a"), R"("], "upper": ")", p("u"), R"(", "work": ")",
                 p("w"), "\"}")));
    ASSERT_TRUE(ok) << ok.error().message();
    ASSERT_TRUE(*ok);
    EXPECT_EQ((*ok)->lower.front(), p("link"));
}

TEST_F(OverlayHost, WorkOnAnotherFilesystem) {
    // /dev/shm is a tmpfs on any usual system, and /tmp here is not the same filesystem.
    struct stat shm, tmp;
    if (::stat("/dev/shm", &shm) < 0 || ::stat(dir_.c_str(), &tmp) < 0 || shm.st_dev == tmp.st_dev)
        GTEST_SKIP() << "no /dev/shm on a filesystem other than " << dir_;
    char tmpl[] = "/dev/shm/hull-overlay-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string work = tmpl;
    std::string e = err_of(cat(R"({"lower": [")", p("a"), R"("], "upper": ")", p("u"), R"(", "work": ")", work, "\"}"));
    ::rmdir(work.c_str());
    EXPECT_EQ(e, cat("annotation `org.hull.rootfs.overlay`: .work: `", work, "` is not on the same filesystem as the upper `",
                     p("u"), "`"));
}

// --- the plan -------------------------------------------------------------------------------------

OverlayRootfs layers(std::vector<std::string> lower, OverlayUpper upper = OverlayUpper::none) {
    OverlayRootfs r;
    r.lower = std::move(lower);
    r.upper = upper;
    return r;
}

TEST_F(OverlayHost, PlanCopiesTheTopLayersRootAndAddsAnEmptyBottom) {
    ASSERT_EQ(::chmod(p("a").c_str(), 0750), 0);
    auto one = plan_overlay(layers({p("a")}), false, 4096);
    ASSERT_TRUE(one) << one.error().message();
    EXPECT_TRUE(one->empty_bottom);  // overlayfs wants two layers without an upper
    EXPECT_EQ(one->top_mode, 0750u);
    EXPECT_EQ(one->top_uid, ::getuid());
    auto with_upper = plan_overlay(layers({p("a")}, OverlayUpper::tmpfs), false, 4096);
    ASSERT_TRUE(with_upper);
    EXPECT_FALSE(with_upper->empty_bottom);
    auto two = plan_overlay(layers({p("a"), p("b")}), false, 4096);
    ASSERT_TRUE(two);
    EXPECT_FALSE(two->empty_bottom);
    EXPECT_EQ(two->legacy_groups, (std::vector<std::vector<std::string>>{{p("a"), p("b")}}));
    EXPECT_EQ(two->legacy_cwd, "");
}

TEST_F(OverlayHost, PlanNamesLayersFromTheirParentThenGroupsThem) {
    // A page one byte short of "lowerdir=<dir>/a:<dir>/b": the relative names "a:b" fit.
    auto rel = plan_overlay(layers({p("a"), p("b")}), true, dir_.size() * 2 + 14);
    ASSERT_TRUE(rel) << rel.error().message();
    EXPECT_EQ(rel->legacy_cwd, dir_);
    EXPECT_EQ(rel->legacy_groups, (std::vector<std::vector<std::string>>{{"a", "b"}}));

    // 26-character names, as the image store makes them: 40 of them in a 512-byte page need
    // groups of at most 18 ("lowerdir=" + 18 * 27 - 1 = 494 bytes), each its own overlay.
    std::vector<std::string> lower;
    for (int i = 0; i < 40; ++i) {
        std::string name = cat("L", std::string(23, 'x'), i < 10 ? "0" : "", i);
        ASSERT_EQ(name.size(), 26u);
        ASSERT_EQ(::mkdir(p(name.c_str()).c_str(), 0755), 0);
        lower.push_back(p(name.c_str()));
    }
    auto grouped = plan_overlay(layers(lower, OverlayUpper::tmpfs), true, 512);
    ASSERT_TRUE(grouped) << grouped.error().message();
    EXPECT_EQ(grouped->legacy_cwd, dir_);
    ASSERT_EQ(grouped->legacy_groups.size(), 3u);
    EXPECT_EQ(grouped->legacy_groups[0].size(), 18u);
    EXPECT_EQ(grouped->legacy_groups[1].size(), 18u);
    EXPECT_EQ(grouped->legacy_groups[2].size(), 4u);
    EXPECT_EQ(grouped->legacy_groups[0][0], lower[0].substr(dir_.size() + 1));
    EXPECT_EQ(grouped->legacy_groups[2][3], lower[39].substr(dir_.size() + 1));

    // A page too small even for the groups: an error when mount(2) is forced, else kept for
    // the init to tell if it must fall back.
    auto forced = plan_overlay(layers(lower, OverlayUpper::tmpfs), true, 128);
    ASSERT_FALSE(forced);
    EXPECT_EQ(forced.error().message(),
              "annotation `org.hull.rootfs.overlay`: HULL_OVERLAY_LEGACY is set: 40 layers do not fit in mount(2)'s "
              "option string of 127 bytes, even in groups");
    auto kept = plan_overlay(layers(lower, OverlayUpper::tmpfs), false, 128);
    ASSERT_TRUE(kept);
    EXPECT_NE(kept->legacy_error, "");
    EXPECT_TRUE(kept->legacy_groups.empty());
}

TEST_F(OverlayHost, PlanRefusesSeparatorsOnlyForMountTwo) {
    ASSERT_EQ(::mkdir(p("x:y").c_str(), 0755), 0);
    auto forced = plan_overlay(layers({p("x:y"), p("a")}), true, 4096);
    ASSERT_FALSE(forced);
    EXPECT_EQ(forced.error().message(),
              cat("annotation `org.hull.rootfs.overlay`: HULL_OVERLAY_LEGACY is set: .lower[0]: `", p("x:y"),
                  "` has `,`, `:` or `\\`, which mount(2)'s overlay options cannot carry"));
    EXPECT_TRUE(plan_overlay(layers({p("x:y"), p("a")}), false, 4096));
}

TEST_F(OverlayHost, RootfsPlanNeedsAMountNamespaceAndNoUserNamespace) {
    oci::Spec s = spec(cat(R"({"lower": [")", p("a"), R"("]})"));
    RootfsFacts f;
    f.rootfs = p("b");
    f.bundle = dir_;
    f.new_mount_ns = false;
    auto no_ns = plan_rootfs(s, f);
    ASSERT_FALSE(no_ns);
    EXPECT_EQ(no_ns.error().message(), "annotation `org.hull.rootfs.overlay`: the overlay root needs a mount "
                                       "namespace (linux.namespaces has no `mount`)");
    f.new_mount_ns = true;
    f.user_ns = true;
    auto userns = plan_rootfs(s, f);
    ASSERT_FALSE(userns);
    EXPECT_EQ(userns.error().message(), "annotation `org.hull.rootfs.overlay`: not supported with a user namespace (an "
                                        "overlay mounted there cannot read the layers' trusted.overlay.* xattrs)");
    f.user_ns = false;
    f.rootfs = p("file");
    auto not_dir = plan_rootfs(s, f);
    ASSERT_FALSE(not_dir);
    EXPECT_EQ(not_dir.error().message(),
              cat("annotation `org.hull.rootfs.overlay`: .root.path `", p("file"), "` must be a directory (the mount point)"));
    f.rootfs = p("b");
    EXPECT_TRUE(plan_rootfs(s, f));
}

}  // namespace
}  // namespace hull::runtime::linux
