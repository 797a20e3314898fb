// A private Distribution registry for tests: Debian's docker-registry on 127.0.0.1 with a free
// port and its own config and storage under a test's temp dir, optionally with a self-signed
// TLS certificate (cert.pem, for 127.0.0.1) and htpasswd basic auth (alice:s3cret). Images get
// there with skopeo from OCI layouts (tests/registry/make-layout.py, or any layout).
#pragma once

#include "harness.hpp"

#include <sys/types.h>

#include <string>

namespace hull::itest {

struct RegistryConfig {
    bool tls = false;
    bool htpasswd = false;
};

class LocalRegistry {
public:
    // The tool the fixture needs and the host lacks, or "" when all are there.
    static std::string missing_tool();

    explicit LocalRegistry(fs::path dir) : dir_(std::move(dir)) {}
    ~LocalRegistry() { stop(); }
    LocalRegistry(const LocalRegistry&) = delete;
    LocalRegistry& operator=(const LocalRegistry&) = delete;

    // Starts the registry; fails the test (and leaves nothing running) when it does not come up.
    void start(RegistryConfig config);
    void stop();

    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
    fs::path cert() const { return dir_ / "cert.pem"; }
    // Where the registry keeps a blob's bytes, for tampering.
    fs::path blob_data(const std::string& hex) const;

    // make-layout.py DIR TAG KIND ("single" or "multi"), once per kind; returns DIR.
    fs::path make_layout(const std::string& kind);
    // skopeo copy [--all] oci:LAYOUT:TAG docker://HOST/NAME:TAG
    void push(const fs::path& layout, const std::string& tag, const std::string& name, bool all = false);

private:
    fs::path dir_;
    RegistryConfig config_;
    int port_ = -1;
    pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound, read, closed), or -1.
int free_loopback_port();

}  // namespace hull::itest
