// The registry client against a real registry: Debian's docker-registry, started by each test
// on 127.0.0.1 with a free port, a temporary config and storage, once plain HTTP, once TLS
// with a self-signed certificate, once with htpasswd basic auth. skopeo pushes OCI layouts
// built by tests/registry/make-layout.py; the client (called as a library: `hull pull` does
// not exist yet) pulls them back into a temp dir and every byte is checked here again.
//
// Needs no root. Skips, saying why, without docker-registry, skopeo, openssl, htpasswd or
// python3.
#include "harness.hpp"
#include "registry_fixture.hpp"

#include "images/digest.hpp"
#include "images/registry.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace hull::itest {
namespace {

namespace img = hull::images;

std::string sha256_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    std::string out = "sha256:";
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto t = LocalRegistry::missing_tool(); !t.empty())
            GTEST_SKIP() << t << " is missing (packaging/deps.sh installs it)";
        char tmpl[] = "/tmp/hull-registry-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        registry_ = std::make_unique<LocalRegistry>(dir_);
    }

    void TearDown() override {
        registry_.reset();
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    void start_registry(RegistryConfig setup) {
        setup_ = setup;
        registry_->start(setup);
        host_ = registry_->host();
    }

    std::string host() const { return host_; }

    // Builds a layout and pushes it as host/name:v1.
    void push(const std::string& name, const std::string& kind) {
        fs::path layout = registry_->make_layout(kind);
        registry_->push(layout, "v1", name, kind == "multi");
    }

    img::RegistryOptions options() const {
        img::RegistryOptions o;
        o.auth_files = img::AuthFiles{{(dir_ / "auth.json").string()}};
        o.certs_dir = (dir_ / "certs.d").string();
        if (!setup_.tls) o.insecure_registries = {host()};
        else o.ca_file = registry_->cert().string();
        return o;
    }

    img::Reference ref(const std::string& name) const { return img::parse_reference(host() + "/" + name + ":v1").value(); }

    // Pulls everything `ref` resolves to into dir_/out; returns the blobs fetched.
    hull::Result<std::vector<img::BlobTarget>> pull(const img::Reference& r, img::RegistryOptions opts,
                                                    const oci::Platform& platform = oci::host_platform()) {
        auto reg = HULL_TRY(img::Registry::open(r, std::move(opts)));
        auto resolved = HULL_TRY(reg->resolve(r, platform));
        resolved_ = resolved;
        fs::create_directories(out_dir());
        std::vector<img::BlobTarget> targets;
        targets.push_back({resolved.parsed.config, (out_dir() / resolved.parsed.config.digest.hex).string()});
        for (const auto& l : resolved.parsed.layers) targets.push_back({l, (out_dir() / l.digest.hex).string()});
        HULL_TRY(reg->fetch_blobs(r.repository, targets));
        return targets;
    }

    fs::path out_dir() const { return dir_ / "out"; }

    std::vector<std::string> out_files() const {
        std::vector<std::string> names;
        if (fs::exists(out_dir()))
            for (const auto& e : fs::directory_iterator(out_dir())) names.push_back(e.path().filename().string());
        return names;
    }

    void expect_verified(const std::vector<img::BlobTarget>& targets) {
        for (const auto& t : targets) {
            ASSERT_TRUE(fs::exists(t.path)) << t.path;
            EXPECT_EQ(static_cast<int64_t>(fs::file_size(t.path)), t.blob.size) << t.path;
            EXPECT_EQ(sha256_file(t.path), t.blob.digest.str()) << t.path;
        }
        EXPECT_EQ(out_files().size(), targets.size()) << "temporary files left behind";
    }

    fs::path dir_;
    std::unique_ptr<LocalRegistry> registry_;
    RegistryConfig setup_;
    std::string host_;
    img::ResolvedImage resolved_;
};

TEST_F(RegistryTest, PlainHttpPullVerifiesEveryBlob) {
    start_registry({});
    push("hull/single", "single");
    auto t0 = std::chrono::steady_clock::now();
    auto targets = pull(ref("hull/single"), options());
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(targets) << targets.error().message();
    ASSERT_EQ(targets->size(), 4u);  // config + 3 layers
    expect_verified(*targets);
    EXPECT_FALSE(resolved_.index);
    EXPECT_EQ(resolved_.manifest.media_type, oci::media::kOciManifest);
    // The pulled manifest, as bytes, is what its digest says.
    EXPECT_EQ(resolved_.manifest.digest.str(), "sha256:" + img::digest_of(resolved_.manifest_bytes).hex);
    std::printf("[   INFO   ] pulled 4 blobs (%.1f MiB) over loopback HTTP in %lld ms\n",
                static_cast<double>(resolved_.parsed.layers[1].size) / (1 << 20), static_cast<long long>(ms));

    // By digest: the same manifest.
    auto by_digest = img::parse_reference(host() + "/hull/single@" + resolved_.manifest.digest.str()).value();
    auto reg = img::Registry::open(by_digest, options()).value();
    auto again = reg->resolve(by_digest);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->manifest_bytes, resolved_.manifest_bytes);

    // Unknown tag: the registry's own words.
    auto missing = reg->resolve(img::parse_reference(host() + "/hull/single:nope").value());
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("manifest unknown"), std::string::npos) << missing.error().message();
}

TEST_F(RegistryTest, PlainHttpOnlyWhenAsked) {
    start_registry({});
    push("hull/single", "single");
    auto opts = options();
    opts.insecure_registries.clear();
    auto r = pull(ref("hull/single"), opts);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("TLS handshake with `" + host() + "` failed"), std::string::npos)
        << r.error().message();
    opts.tls_verify = false;
    r = pull(ref("hull/single"), opts);
    ASSERT_TRUE(r) << r.error().message();
    expect_verified(*r);
}

TEST_F(RegistryTest, IndexPlatformSelection) {
    start_registry({});
    push("hull/multi", "multi");
    for (std::string want : {"linux/amd64", "linux/arm64", "linux/arm/v7"}) {
        fs::remove_all(out_dir());
        auto platform = oci::parse_platform(want).value();
        auto r = pull(ref("hull/multi"), options(), platform);
        ASSERT_TRUE(r) << want << ": " << r.error().message();
        expect_verified(*r);
        ASSERT_TRUE(resolved_.index);
        ASSERT_TRUE(resolved_.manifest.platform);
        EXPECT_EQ(oci::platform_string(*resolved_.manifest.platform), want);
        // The config names the platform too: the right image came down, not just its manifest.
        std::string config = read_text(out_dir() / resolved_.parsed.config.digest.hex);
        auto doc = json::parse(config);
        EXPECT_EQ(doc["architecture"], platform.architecture);
    }
    auto none = pull(ref("hull/multi"), options(), oci::parse_platform("linux/s390x").value());
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message().find("no image for platform `linux/s390x` (the index has linux/amd64, "
                                          "linux/arm64, linux/arm/v7)"),
              std::string::npos)
        << none.error().message();
}

TEST_F(RegistryTest, TamperedBlobIsRejectedAndNothingIsLeft) {
    start_registry({});
    push("hull/single", "single");
    auto reg = img::Registry::open(ref("hull/single"), options()).value();
    auto resolved = reg->resolve(ref("hull/single")).value();
    const auto& big = resolved.parsed.layers[1];
    fs::path data = registry_->blob_data(big.digest.hex);
    ASSERT_TRUE(fs::exists(data));
    {
        std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(big.size / 2));
        f.put('\x42');
    }
    auto r = pull(ref("hull/single"), options());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("fetch blob `" + big.digest.str() + "`"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("content hashes to `sha256:"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("refusing it"), std::string::npos) << r.error().message();
    EXPECT_TRUE(out_files().empty()) << "left behind: " << out_files().front();

    // Into a caller's descriptor: the bytes written are taken back.
    fs::create_directories(out_dir());
    int fd = open((out_dir() / "fd-target").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "keep", 4), 4);
    auto st = reg->fetch_blob("hull/single", big, hull::FdRef(fd));
    ASSERT_FALSE(st);
    EXPECT_EQ(fs::file_size(out_dir() / "fd-target"), 4u);
    // A descriptor that understates the size is cut off as soon as the data exceeds it.
    auto small = resolved.parsed.layers[2];
    small.size -= 1;
    st = reg->fetch_blob("hull/single", small, hull::FdRef(fd));
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("more data than the descriptor's"), std::string::npos) << st.error().message();
    EXPECT_EQ(fs::file_size(out_dir() / "fd-target"), 4u);
    close(fd);
}

TEST_F(RegistryTest, TlsWithSelfSignedCertificate) {
    start_registry({.tls = true});
    push("hull/single", "single");

    auto untrusting = options();
    untrusting.ca_file.clear();
    auto r = pull(ref("hull/single"), untrusting);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("certificate of `" + host() + "` is not trusted"), std::string::npos)
        << r.error().message();
    EXPECT_TRUE(out_files().empty());

    auto with_ca = pull(ref("hull/single"), options());
    ASSERT_TRUE(with_ca) << with_ca.error().message();
    expect_verified(*with_ca);

    // podman's place for a registry's CA: certs.d/<host:port>/ca.crt.
    fs::remove_all(out_dir());
    fs::create_directories(dir_ / "certs.d" / host());
    fs::copy_file(registry_->cert(), dir_ / "certs.d" / host() / "ca.crt");
    auto via_certs_d = pull(ref("hull/single"), untrusting);
    ASSERT_TRUE(via_certs_d) << via_certs_d.error().message();
    expect_verified(*via_certs_d);

    // --tls-verify=false still speaks TLS to a TLS registry.
    fs::remove_all(out_dir());
    fs::remove_all(dir_ / "certs.d");
    untrusting.tls_verify = false;
    auto unverified = pull(ref("hull/single"), untrusting);
    ASSERT_TRUE(unverified) << unverified.error().message();
    expect_verified(*unverified);
}

TEST_F(RegistryTest, BasicAuthFromAuthFile) {
    start_registry({.tls = true, .htpasswd = true});
    push("hull/single", "single");

    auto r = pull(ref("hull/single"), options());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("`" + host() + "` requires authentication for `hull/single`: no credentials"),
              std::string::npos)
        << r.error().message();

    auto entry = [&](const std::string& user, const std::string& pass) {
        write_text(dir_ / "auth.json",
                   R"({"auths":{")" + host() + R"(":{"auth":")" + img::base64_encode(user + ":" + pass) + R"("}}})");
    };
    entry("alice", "wrong");
    r = pull(ref("hull/single"), options());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("refused the credentials for `alice` from " + (dir_ / "auth.json").string()),
              std::string::npos)
        << r.error().message();
    EXPECT_TRUE(out_files().empty());

    entry("alice", "s3cret");
    r = pull(ref("hull/single"), options());
    ASSERT_TRUE(r) << r.error().message();
    expect_verified(*r);

    // Explicit credentials win over the file.
    fs::remove_all(out_dir());
    entry("alice", "wrong");
    auto opts = options();
    opts.credentials = img::Credentials{"alice", "s3cret"};
    std::vector<img::BlobProgress> seen;
    opts.progress = [&](const img::BlobProgress& p) { seen.push_back(p); };
    r = pull(ref("hull/single"), opts);
    ASSERT_TRUE(r) << r.error().message();
    // Every blob ends with a done == total report.
    for (const auto& t : *r) {
        bool finished = std::any_of(seen.begin(), seen.end(), [&](const img::BlobProgress& p) {
            return p.digest == t.blob.digest.str() && p.done == p.total && p.total == t.blob.size;
        });
        EXPECT_TRUE(finished) << t.blob.digest.str();
    }
}

TEST_F(RegistryTest, UnreachableRegistryIsAClearError) {
    host_ = "127.0.0.1:" + std::to_string(free_loopback_port());  // nothing listens there
    auto opts = options();
    opts.attempts = 2;
    auto r = pull(ref("hull/single"), opts);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("request to `" + host() + "` failed"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace hull::itest
