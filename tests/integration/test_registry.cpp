// The registry client against a real registry: Debian's docker-registry, started by each test
// on 127.0.0.1 with a free port, a temporary config and storage, once plain HTTP, once TLS
// with a self-signed certificate, once with htpasswd basic auth. skopeo pushes OCI layouts
// built by tests/registry/make-layout.py; the client (called as a library: `hull pull` does
// not exist yet) pulls them back into a temp dir and every byte is checked here again.
//
// Needs no root. Skips, saying why, without docker-registry, skopeo, openssl, htpasswd or
// python3.
#include "harness.hpp"

#include "images/digest.hpp"
#include "images/registry.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace hull::itest {
namespace {

namespace img = hull::images;

const char* kTools[] = {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/openssl", "/usr/bin/htpasswd",
                        "/usr/bin/python3"};

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

int free_port() {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    // SAFETY: sockaddr_in is the sockaddr the socket API takes for AF_INET.
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

bool port_open(int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // SAFETY: as above.
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
}

struct RegistrySetup {
    bool tls = false;
    bool htpasswd = false;
};

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* t : kTools)
            if (access(t, X_OK) != 0) GTEST_SKIP() << t << " is missing (packaging/deps.sh installs it)";
        char tmpl[] = "/tmp/hull-registry-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        write_text(dir_ / "policy.json", R"({"default":[{"type":"insecureAcceptAnything"}]})");
    }

    void TearDown() override {
        stop_registry();
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    void start_registry(RegistrySetup setup) {
        setup_ = setup;
        port_ = free_port();
        ASSERT_GT(port_, 0);
        std::string cfg = "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                          "storage:\n  filesystem:\n    rootdirectory: " +
                          (dir_ / "storage").string() + "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
        if (setup.tls) {
            auto r = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                  (dir_ / "key.pem").string(), "-out", (dir_ / "cert.pem").string()});
            ASSERT_TRUE(r.ok()) << r.describe();
            cfg += "  tls:\n    certificate: " + (dir_ / "cert.pem").string() + "\n    key: " + (dir_ / "key.pem").string() + "\n";
        }
        if (setup.htpasswd) {
            auto r = run_process({"/usr/bin/htpasswd", "-Bbn", "alice", "s3cret"});
            ASSERT_TRUE(r.ok()) << r.describe();
            write_text(dir_ / "htpasswd", r.out);
            cfg += "auth:\n  htpasswd:\n    realm: hull-test\n    path: " + (dir_ / "htpasswd").string() + "\n";
        }
        write_text(dir_ / "config.yml", cfg);

        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            int log = open((dir_ / "registry.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(log, 2);
            execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir_ / "config.yml").c_str(), nullptr);
            _exit(127);
        }
        registry_pid_ = pid;
        bool up = poll_until([&] { return port_open(port_); }, 20s);
        ASSERT_TRUE(up) << "docker-registry did not listen on 127.0.0.1:" << port_ << ": "
                        << read_text(dir_ / "registry.log");
    }

    void stop_registry() {
        if (registry_pid_ <= 0) return;
        kill(registry_pid_, SIGTERM);
        int st;
        waitpid(registry_pid_, &st, 0);
        registry_pid_ = -1;
    }

    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

    // Builds a layout and pushes it as host/name:v1.
    void push(const std::string& name, const std::string& kind) {
        fs::path layout = dir_ / ("layout-" + kind);
        if (!fs::exists(layout)) {
            auto r = run_process({"/usr/bin/python3", std::string(HULL_SOURCE_DIR) + "/tests/registry/make-layout.py",
                                  layout.string(), "v1", kind});
            EXPECT_TRUE(r.ok()) << r.describe();
        }
        std::vector<std::string> argv = {"/usr/bin/skopeo", "--policy", (dir_ / "policy.json").string(), "copy", "-q",
                                         "--dest-tls-verify=false"};
        if (kind == "multi") argv.push_back("--all");
        if (setup_.htpasswd) {
            argv.push_back("--dest-creds");
            argv.push_back("alice:s3cret");
        }
        argv.push_back("oci:" + layout.string() + ":v1");
        argv.push_back("docker://" + host() + "/" + name + ":v1");
        RunOptions opts;
        opts.timeout = 120s;
        // skopeo must not pick up the host's own credentials.
        opts.env = {"REGISTRY_AUTH_FILE=" + (dir_ / "skopeo-auth.json").string()};
        auto r = run_process(argv, opts);
        ASSERT_TRUE(r.ok()) << r.describe();
    }

    img::RegistryOptions options() const {
        img::RegistryOptions o;
        o.auth_files = img::AuthFiles{{(dir_ / "auth.json").string()}};
        o.certs_dir = (dir_ / "certs.d").string();
        if (!setup_.tls) o.insecure_registries = {host()};
        else o.ca_file = (dir_ / "cert.pem").string();
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
    RegistrySetup setup_;
    int port_ = -1;
    pid_t registry_pid_ = -1;
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
    fs::path data = dir_ / "storage/docker/registry/v2/blobs/sha256" / big.digest.hex.substr(0, 2) / big.digest.hex / "data";
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
    fs::copy_file(dir_ / "cert.pem", dir_ / "certs.d" / host() / "ca.crt");
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
    port_ = free_port();  // nothing listens there
    auto opts = options();
    opts.attempts = 2;
    auto r = pull(ref("hull/single"), opts);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("request to `" + host() + "` failed"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace hull::itest
