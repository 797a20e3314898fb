#include "common/fs.hpp"
#include "common/result.hpp"
#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace hull {
namespace {

Result<int> half(int v) {
    if (v % 2) return fail_msg(cat("odd value ", v));
    return v / 2;
}

Result<int> quarter(int v) {
    int h = HULL_TRY_CTX(half(v), cat("halve ", v));
    return HULL_TRY_CTX(half(h), cat("halve ", h));
}

TEST(Result, ContextReadsOutermostFirst) {
    EXPECT_EQ(*quarter(8), 2);
    auto r = quarter(6);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "halve 3: odd value 3");
}

TEST(Result, ErrnoIsLowercasedAtTheEnd) {
    Error e(ENOENT, "open `/x`");
    e.context("load config");
    EXPECT_EQ(e.message(), "load config: open `/x`: no such file or directory");
}

TEST(Fs, CleanResolvesDotsWithoutEscapingRoot) {
    EXPECT_EQ(fs::clean("/a/b/../c/./d/"), "/a/c/d");
    EXPECT_EQ(fs::clean("/../../etc"), "/etc");
    EXPECT_EQ(fs::clean("a/../../b"), "../b");
    EXPECT_EQ(fs::clean(""), ".");
    EXPECT_EQ(fs::dirname("/a/b"), "/a");
    EXPECT_EQ(fs::dirname("/a"), "/");
    EXPECT_EQ(fs::join("/a/", "/b"), "/a/b");
}

TEST(Strings, SplitJoinParse) {
    EXPECT_EQ(split("a:b::c", ':').size(), 4u);
    EXPECT_EQ(join({"a", "b"}, ","), "a,b");
    EXPECT_EQ(parse_int<int>("42"), 42);
    EXPECT_FALSE(parse_int<int>("4x"));
    EXPECT_FALSE(parse_int<int>(""));
}

}  // namespace
}  // namespace hull
