// Registry authentication without a network: challenges, auth files, base64.
#include "images/auth.hpp"

#include "common/fs.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace hull::images {
namespace {

TEST(Challenge, BearerWithQuotedParams) {
    auto r = parse_challenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 1u);
    const auto& c = (*r)[0];
    EXPECT_EQ(c.scheme, AuthScheme::bearer);
    EXPECT_EQ(c.params.at("realm"), "https://auth.docker.io/token");
    EXPECT_EQ(c.params.at("service"), "registry.docker.io");
    EXPECT_EQ(c.params.at("scope"), "repository:library/busybox:pull");
}

TEST(Challenge, BasicCaseInsensitiveAndTokens) {
    auto r = parse_challenges(R"(basic Realm="Registry Realm", charset=UTF-8)");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].scheme, AuthScheme::basic);
    EXPECT_EQ((*r)[0].params.at("realm"), "Registry Realm");
    EXPECT_EQ((*r)[0].params.at("charset"), "UTF-8");
}

TEST(Challenge, SeveralInOneHeaderAndEscapes) {
    auto r = parse_challenges(R"(Negotiate, Basic realm="a \"b\" c", Bearer realm="https://x/t",scope="s")");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].scheme, AuthScheme::other);
    EXPECT_EQ((*r)[0].scheme_name, "Negotiate");
    EXPECT_EQ((*r)[1].params.at("realm"), R"(a "b" c)");
    EXPECT_EQ((*r)[2].scheme, AuthScheme::bearer);
    EXPECT_EQ((*r)[2].params.at("scope"), "s");
}

TEST(Challenge, Malformed) {
    EXPECT_FALSE(parse_challenges(""));
    auto r = parse_challenges(R"(Bearer realm="https://x)");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unterminated quoted string"), std::string::npos) << r.error().message();
    EXPECT_FALSE(parse_challenges(R"(Bearer realm="a" "b")"));
    EXPECT_FALSE(parse_challenges("=x"));
}

TEST(Base64, RoundTrip) {
    for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", "user:pa:ss", std::string("\0\xff\x10", 3)})
        EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
    EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
    EXPECT_FALSE(base64_decode("dXN*"));
    EXPECT_FALSE(base64_decode("a"));
}

class AuthFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-auth-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        std::string p = dir_ + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(p).parent_path());
        EXPECT_TRUE(fs::write_file(p, text, O_WRONLY | O_CREAT | O_TRUNC));
        return p;
    }
    static std::string entry(const std::string& user, const std::string& pass) {
        return R"({"auth":")" + base64_encode(user + ":" + pass) + R"("})";
    }
    std::string dir_;
};

TEST_F(AuthFileTest, MostSpecificKeyFirstAndFileOrder) {
    auto podman = write("auth.json", R"({"auths":{"reg.io:5000":)" + entry("host", "1") + R"(,"reg.io:5000/team":)" +
                                         entry("team", "2") + "}}");
    auto docker = write("config.json", R"({"auths":{"other.io":)" + entry("d", "3") + "}}");
    AuthFiles files{{dir_ + "/missing.json", podman, docker}};

    auto team = find_credentials(files, "reg.io:5000", "team/app").value();
    ASSERT_TRUE(team.credentials);
    EXPECT_EQ(team.credentials->username, "team");
    EXPECT_EQ(team.credentials->password, "2");
    EXPECT_EQ(team.source, podman);

    auto host = find_credentials(files, "reg.io:5000", "teams/app").value();
    ASSERT_TRUE(host.credentials);
    EXPECT_EQ(host.credentials->username, "host");

    auto other = find_credentials(files, "other.io", "x").value();
    ASSERT_TRUE(other.credentials);
    EXPECT_EQ(other.credentials->username, "d");
    EXPECT_EQ(other.source, docker);

    EXPECT_FALSE(find_credentials(files, "nowhere.io", "x").value().credentials);
}

TEST_F(AuthFileTest, DockerHubAliasesAndUrlKeys) {
    auto p = write("config.json", R"({"auths":{"https://index.docker.io/v1/":)" + entry("hub", "pw:with:colons") +
                                      R"(,"http://reg.local:5000/":)" + entry("local", "x") + "}}");
    AuthFiles files{{p}};
    auto hub = find_credentials(files, "docker.io", "library/busybox").value();
    ASSERT_TRUE(hub.credentials);
    EXPECT_EQ(hub.credentials->username, "hub");
    EXPECT_EQ(hub.credentials->password, "pw:with:colons");
    auto local = find_credentials(files, "reg.local:5000", "a").value();
    ASSERT_TRUE(local.credentials);
    EXPECT_EQ(local.credentials->username, "local");
}

TEST_F(AuthFileTest, CredentialHelpersAreReported) {
    auto p = write("config.json", R"({"auths":{"a.io":{}},"credHelpers":{"a.io":"ecr-login"},"credsStore":"desktop"})");
    AuthFiles files{{p}};
    auto a = find_credentials(files, "a.io", "x").value();
    EXPECT_FALSE(a.credentials);
    EXPECT_EQ(a.unsupported_helper, "docker-credential-ecr-login");
    EXPECT_EQ(a.source, p);
    auto b = find_credentials(files, "b.io", "x").value();
    EXPECT_EQ(b.unsupported_helper, "docker-credential-desktop");
}

TEST_F(AuthFileTest, BrokenFilesAreErrorsNamingThem) {
    auto bad = write("bad.json", "{not json");
    auto r = find_credentials(AuthFiles{{bad}}, "a.io", "x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "auth file `" + bad + "`: not a JSON object");

    auto nocolon = write("nocolon.json", R"({"auths":{"a.io":{"auth":")" + base64_encode("justuser") + R"("}}})");
    r = find_credentials(AuthFiles{{nocolon}}, "a.io", "x");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("not base64 of `user:password`"), std::string::npos);

    auto notb64 = write("notb64.json", R"({"auths":{"a.io":{"auth":"***"}}})");
    r = find_credentials(AuthFiles{{notb64}}, "a.io", "x");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("invalid base64"), std::string::npos);
}

TEST_F(AuthFileTest, EnvironmentOrder) {
    auto save = [](const char* n) -> std::optional<std::string> {
        const char* v = getenv(n);
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
    auto restore = [](const char* n, const std::optional<std::string>& v) {
        if (v) setenv(n, v->c_str(), 1);
        else unsetenv(n);
    };
    auto a = save("REGISTRY_AUTH_FILE"), x = save("XDG_RUNTIME_DIR"), h = save("HOME");
    setenv("HOME", "/h", 1);
    setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
    unsetenv("REGISTRY_AUTH_FILE");
    EXPECT_EQ(AuthFiles::from_environment().paths,
              (std::vector<std::string>{"/run/user/7/containers/auth.json", "/h/.config/containers/auth.json",
                                        "/h/.docker/config.json"}));
    setenv("REGISTRY_AUTH_FILE", "/etc/my-auth.json", 1);
    EXPECT_EQ(AuthFiles::from_environment().paths,
              (std::vector<std::string>{"/etc/my-auth.json", "/h/.config/containers/auth.json", "/h/.docker/config.json"}));
    restore("REGISTRY_AUTH_FILE", a);
    restore("XDG_RUNTIME_DIR", x);
    restore("HOME", h);
}

}  // namespace
}  // namespace hull::images
