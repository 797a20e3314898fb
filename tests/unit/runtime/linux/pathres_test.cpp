// Path resolution inside a root full of hostile symlinks: every lookup and every creation must
// stay inside the root, and the "host" directory the links point at must stay untouched.
#include "runtime/linux/pathres.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <set>

namespace hull::runtime::linux::pathres {
namespace {

std::string fd_target(int fd) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(proc_fd_path(fd).c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

std::set<std::string> list(const std::string& dir) {
    std::set<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(d))
            if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") out.insert(e->d_name);
        ::closedir(d);
    }
    return out;
}

class PathresTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-pathres-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        root_path_ = base_ + "/root";
        host_ = base_ + "/host";
        ASSERT_TRUE(fs::mkdir_p(root_path_ + "/a/b"));
        ASSERT_TRUE(fs::mkdir_p(host_));
        ASSERT_TRUE(fs::write_file(host_ + "/secret", "x", O_WRONLY | O_CREAT | O_TRUNC));
        ASSERT_TRUE(fs::write_file(root_path_ + "/file", "f", O_WRONLY | O_CREAT | O_TRUNC));
        link("/", "abs");                        // absolute link to the root
        link(host_, "hostlink");                 // absolute link naming a host directory
        link("../host", "up");                   // relative link out of the root
        link("../../../../../../../../", "dotdots");
        link("a/../../../host", "mixed");
        link("loop2", "loop1");                  // a cycle
        link("loop1", "loop2");
        link("/newdir/sub", "dangling");         // target missing
        link(host_ + "/secret", "a/secretlink"); // a file on the host
        link("b", "a/rel");                      // harmless relative link
        root_.reset(::open(root_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(root_);
    }

    void TearDown() override {
        root_.reset();
        // The host directory must be exactly as it was.
        EXPECT_EQ(list(host_), std::set<std::string>{"secret"});
        ASSERT_TRUE(fs::remove_tree(base_));
    }

    void link(const std::string& target, const std::string& name) {
        ASSERT_EQ(::symlink(target.c_str(), (root_path_ + "/" + name).c_str()), 0) << name;
    }

    // The resolved descriptor is inside the root, at `expected` (relative to the root).
    void expect_at(const Result<UniqueFd>& r, const std::string& expected) {
        ASSERT_TRUE(r) << r.error().message();
        std::string where = fd_target(r->get());
        EXPECT_EQ(where, fs::clean(root_path_ + "/" + expected));
        EXPECT_TRUE(starts_with(where, root_path_ + "/") || where == root_path_) << where;
    }

    void expect_errno(const Result<UniqueFd>& r, int err) {
        ASSERT_FALSE(r) << "resolved to " << fd_target(r->get());
        EXPECT_EQ(r.error().code(), err) << r.error().message();
    }

    std::string base_, root_path_, host_;
    UniqueFd root_;
};

TEST_F(PathresTest, PlainPaths) {
    expect_at(open_in_root(root_, "/a/b"), "a/b");
    expect_at(open_in_root(root_, "a/b/"), "a/b");
    expect_at(open_in_root(root_, "/"), "");
    expect_at(open_in_root(root_, ""), "");
    expect_at(open_in_root(root_, "/a/rel"), "a/b");
}

TEST_F(PathresTest, DotDotNeverLeavesTheRoot) {
    expect_at(open_in_root(root_, "/../../../a/b"), "a/b");
    expect_at(open_in_root(root_, "/a/../../../../a"), "a");
    expect_at(open_in_root(root_, "/dotdots/a/b"), "a/b");
}

TEST_F(PathresTest, AbsoluteSymlinksResolveInsideTheRoot) {
    expect_at(open_in_root(root_, "/abs/a/b"), "a/b");
    expect_at(open_in_root(root_, "/abs/abs/abs/file"), "file");
    // The host path the link names does not exist inside the root.
    expect_errno(open_in_root(root_, "/hostlink/secret"), ENOENT);
    expect_errno(open_in_root(root_, "/a/secretlink"), ENOENT);
}

TEST_F(PathresTest, RelativeSymlinksOutOfTheRootAreClamped) {
    expect_errno(open_in_root(root_, "/up/secret"), ENOENT);
    expect_errno(open_in_root(root_, "/mixed/secret"), ENOENT);
    ASSERT_TRUE(fs::mkdir_p(root_path_ + "/host"));
    expect_at(open_in_root(root_, "/up"), "host");
    expect_at(open_in_root(root_, "/mixed"), "host");
}

TEST_F(PathresTest, SymlinkLoopsFail) {
    expect_errno(open_in_root(root_, "/loop1"), ELOOP);
    expect_errno(open_in_root(root_, "/loop2/x"), ELOOP);
    expect_errno(create_in_root(root_, "/loop1/x", Kind::directory), ELOOP);
    expect_errno(create_in_root(root_, "/loop1", Kind::file), ELOOP);
}

TEST_F(PathresTest, CreatingThroughAHostLinkStaysInside) {
    auto r = create_in_root(root_, "/hostlink/new/dir", Kind::directory);
    expect_at(r, host_ + "/new/dir");
    struct stat st;
    EXPECT_EQ(::stat((root_path_ + host_ + "/new/dir").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));

    expect_at(create_in_root(root_, "/up/made/file", Kind::file), "host/made/file");
    EXPECT_EQ(::stat((root_path_ + "/host/made/file").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));

    expect_at(create_in_root(root_, "/dotdots/d1/d2", Kind::directory), "d1/d2");
    expect_at(create_in_root(root_, "/a/secretlink", Kind::file), host_ + "/secret");
}

TEST_F(PathresTest, DanglingSymlinksAreFollowedAndTheirTargetCreated) {
    expect_at(create_in_root(root_, "/dangling/x", Kind::directory), "newdir/sub/x");
    expect_at(create_in_root(root_, "/dangling", Kind::directory), "newdir/sub");
}

TEST_F(PathresTest, CreatedModes) {
    ::umask(022);
    auto r = create_in_root(root_, "/m1/m2", Kind::file, 0711, 0640);
    ASSERT_TRUE(r) << r.error().message();
    struct stat st;
    ASSERT_EQ(::stat((root_path_ + "/m1").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u);
    ASSERT_EQ(::stat((root_path_ + "/m1/m2").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(PathresTest, KindMismatch) {
    expect_errno(create_in_root(root_, "/file", Kind::directory), ENOTDIR);
    expect_errno(create_in_root(root_, "/a", Kind::file), EISDIR);
    expect_errno(create_in_root(root_, "/file/x", Kind::directory), ENOTDIR);
    expect_errno(open_in_root(root_, "/file/x"), ENOTDIR);
    // An existing file is fine for a file.
    expect_at(create_in_root(root_, "/file", Kind::file), "file");
}

TEST_F(PathresTest, DotDotAfterMissingComponents) {
    expect_at(create_in_root(root_, "/n1/n2/../n3", Kind::directory), "n1/n3");
    expect_at(create_in_root(root_, "/z/../../../../y", Kind::directory), "y");
}

TEST_F(PathresTest, ParentOfAPath) {
    auto p = open_parent_in_root(root_, "/hostlink/dev/null", true);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->name, "null");
    EXPECT_EQ(fd_target(p->dir.get()), root_path_ + host_ + "/dev");

    auto q = open_parent_in_root(root_, "/a/b/", false);
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_EQ(q->name, "b");
    EXPECT_EQ(fd_target(q->dir.get()), root_path_ + "/a");

    EXPECT_FALSE(open_parent_in_root(root_, "/", false));
    EXPECT_FALSE(open_parent_in_root(root_, "/a/..", false));
    auto missing = open_parent_in_root(root_, "/nope/x", false);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST_F(PathresTest, ErrorsNameThePath) {
    auto r = create_in_root(root_, "/file/x", Kind::directory);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("`/file"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace hull::runtime::linux::pathres
