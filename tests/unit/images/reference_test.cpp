#include "images/reference.hpp"

#include <gtest/gtest.h>

namespace hull::images {
namespace {

std::string norm(std::string_view s) {
    auto r = parse_reference(s);
    EXPECT_TRUE(r) << s << ": " << r.error().message();
    return r ? r->str() : "";
}

std::string err(std::string_view s) {
    auto r = parse_reference(s);
    EXPECT_FALSE(r) << s << " parsed as " << (r ? r->str() : "");
    return r ? "" : r.error().message();
}

const std::string kHex(64, 'a');

TEST(Reference, DockerHubDefaults) {
    EXPECT_EQ(norm("busybox"), "docker.io/library/busybox:latest");
    EXPECT_EQ(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
    EXPECT_EQ(norm("user/app"), "docker.io/user/app:latest");
    EXPECT_EQ(norm("docker.io/busybox"), "docker.io/library/busybox:latest");
    EXPECT_EQ(norm("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
    auto r = parse_reference("busybox").value();
    EXPECT_EQ(r.domain, "docker.io");
    EXPECT_EQ(r.repository, "library/busybox");
    EXPECT_EQ(r.tag, "latest");
    EXPECT_EQ(r.api_host(), "registry-1.docker.io");
    EXPECT_EQ(r.manifest_ref(), "latest");
}

TEST(Reference, DomainDetection) {
    // A first component is a host when it has a dot or a colon, or is localhost.
    auto r = parse_reference("host:5000/a/b:tag").value();
    EXPECT_EQ(r.domain, "host:5000");
    EXPECT_EQ(r.repository, "a/b");
    EXPECT_EQ(r.tag, "tag");
    EXPECT_EQ(r.api_host(), "host:5000");
    EXPECT_EQ(norm("localhost/app"), "localhost/app:latest");
    EXPECT_EQ(norm("localhost:5000/app"), "localhost:5000/app:latest");
    EXPECT_EQ(norm("quay.io/podman/hello"), "quay.io/podman/hello:latest");
    EXPECT_EQ(norm("127.0.0.1:5000/x"), "127.0.0.1:5000/x:latest");
    EXPECT_EQ(norm("[::1]:5000/x:1"), "[::1]:5000/x:1");
    // Not a host: no dot, no colon, not localhost.
    EXPECT_EQ(norm("library/busybox"), "docker.io/library/busybox:latest");
    // "localhost:5000" alone is the image localhost with tag 5000, as docker reads it.
    EXPECT_EQ(norm("localhost:5000"), "docker.io/library/localhost:5000");
}

TEST(Reference, Digests) {
    auto r = parse_reference("quay.io/a/b@sha256:" + kHex).value();
    EXPECT_TRUE(r.tag.empty());
    ASSERT_TRUE(r.digest);
    EXPECT_EQ(r.digest->str(), "sha256:" + kHex);
    EXPECT_EQ(r.manifest_ref(), "sha256:" + kHex);
    EXPECT_EQ(r.str(), "quay.io/a/b@sha256:" + kHex);
    // Tag and digest: both kept, the digest decides what is pulled.
    auto both = parse_reference("busybox:1.36@sha256:" + kHex).value();
    EXPECT_EQ(both.tag, "1.36");
    EXPECT_EQ(both.manifest_ref(), "sha256:" + kHex);
    EXPECT_EQ(both.str(), "docker.io/library/busybox:1.36@sha256:" + kHex);
    EXPECT_EQ(norm("a@sha512:" + std::string(128, '0')), "docker.io/library/a@sha512:" + std::string(128, '0'));
}

TEST(Reference, SeparatorsInPathComponents) {
    EXPECT_EQ(norm("x/a.b_c__d---e"), "docker.io/x/a.b_c__d---e:latest");
    // A dot makes the first component a registry host.
    EXPECT_EQ(parse_reference("a.b/f").value().domain, "a.b");
    EXPECT_EQ(norm("x/" + std::string(200, 'a')), "docker.io/x/" + std::string(200, 'a') + ":latest");
}

TEST(Reference, Invalid) {
    EXPECT_EQ(err(""), "invalid reference ``: empty");
    EXPECT_NE(err("Busybox").find("repository name must be lowercase"), std::string::npos);
    EXPECT_NE(err("busybox:").find("invalid tag ``"), std::string::npos);
    EXPECT_NE(err("busybox:-x").find("invalid tag `-x`"), std::string::npos);
    EXPECT_NE(err("busybox:" + std::string(129, 'a')).find("invalid tag"), std::string::npos);
    EXPECT_NE(err("busybox@sha256:abc").find("sha256 needs 64 hex digits"), std::string::npos);
    EXPECT_NE(err("busybox@md5:" + std::string(32, 'a')).find("unsupported algorithm `md5`"), std::string::npos);
    EXPECT_NE(err("busybox@sha256:" + std::string(64, 'A')).find("not lowercase hex"), std::string::npos);
    EXPECT_NE(err("a//b").find("invalid repository component ``"), std::string::npos);
    EXPECT_NE(err("a/b/").find("invalid repository component"), std::string::npos);
    EXPECT_NE(err("a/-b").find("invalid repository component `-b`"), std::string::npos);
    EXPECT_NE(err("a/b..c").find("invalid repository component `b..c`"), std::string::npos);
    EXPECT_NE(err("a/b___c").find("invalid repository component"), std::string::npos);
    EXPECT_NE(err("host:99999/a").find("invalid registry `host:99999`"), std::string::npos);
    EXPECT_NE(err("-host.io/a").find("invalid registry"), std::string::npos);
    EXPECT_NE(err("quay.io/").find("no repository name"), std::string::npos);
    EXPECT_NE(err(kHex).find("image ID"), std::string::npos);
    EXPECT_NE(err("x/" + std::string(260, 'a')).find("longer than 255"), std::string::npos);
    EXPECT_NE(err("a b").find("invalid"), std::string::npos);
}

}  // namespace
}  // namespace hull::images
