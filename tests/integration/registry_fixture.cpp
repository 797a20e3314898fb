#include "registry_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hull::itest {
namespace {

const char* kTools[] = {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/openssl", "/usr/bin/htpasswd",
                        "/usr/bin/python3"};

bool port_open(int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // SAFETY: sockaddr_in is the sockaddr the socket API takes for AF_INET.
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
}

}  // namespace

int free_loopback_port() {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    // SAFETY: as above.
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

std::string LocalRegistry::missing_tool() {
    for (const char* t : kTools)
        if (access(t, X_OK) != 0) return t;
    return "";
}

void LocalRegistry::start(RegistryConfig config) {
    config_ = config;
    fs::create_directories(dir_);
    write_text(dir_ / "policy.json", R"({"default":[{"type":"insecureAcceptAnything"}]})");
    port_ = free_loopback_port();
    ASSERT_GT(port_, 0);
    std::string cfg = "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                      "storage:\n  filesystem:\n    rootdirectory: " +
                      (dir_ / "storage").string() + "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
    if (config.tls) {
        auto r = run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                              "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                              (dir_ / "key.pem").string(), "-out", cert().string()});
        ASSERT_TRUE(r.ok()) << r.describe();
        cfg += "  tls:\n    certificate: " + cert().string() + "\n    key: " + (dir_ / "key.pem").string() + "\n";
    }
    if (config.htpasswd) {
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
    pid_ = pid;
    bool up = poll_until([&] { return port_open(port_); }, 20s);
    ASSERT_TRUE(up) << "docker-registry did not listen on " << host() << ": " << read_text(dir_ / "registry.log");
}

void LocalRegistry::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int st;
    waitpid(pid_, &st, 0);
    pid_ = -1;
}

fs::path LocalRegistry::blob_data(const std::string& hex) const {
    return dir_ / "storage/docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
}

fs::path LocalRegistry::make_layout(const std::string& kind) {
    fs::path layout = dir_ / ("layout-" + kind);
    if (!fs::exists(layout)) {
        auto r = run_process({"/usr/bin/python3", std::string(HULL_SOURCE_DIR) + "/tests/registry/make-layout.py",
                              layout.string(), "v1", kind});
        EXPECT_TRUE(r.ok()) << r.describe();
    }
    return layout;
}

void LocalRegistry::push(const fs::path& layout, const std::string& tag, const std::string& name, bool all) {
    std::vector<std::string> argv = {"/usr/bin/skopeo", "--policy", (dir_ / "policy.json").string(), "copy", "-q",
                                     "--dest-tls-verify=false"};
    if (all) argv.push_back("--all");
    if (config_.htpasswd) {
        argv.push_back("--dest-creds");
        argv.push_back("alice:s3cret");
    }
    argv.push_back("oci:" + layout.string() + ":" + tag);
    argv.push_back("docker://" + host() + "/" + name + ":" + tag);
    RunOptions opts;
    opts.timeout = 180s;
    // skopeo must not pick up the host's own credentials.
    opts.env = {"REGISTRY_AUTH_FILE=" + (dir_ / "skopeo-auth.json").string()};
    auto r = run_process(argv, opts);
    ASSERT_TRUE(r.ok()) << r.describe();
}

}  // namespace hull::itest
