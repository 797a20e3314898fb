// The image commands of the real `hull` binary (pull through the real hull-fetch helper,
// images, image inspect, rmi, image prune, import) against a private docker-registry on
// 127.0.0.1 (registry_fixture.hpp) and a store in a temp dir. Checked from the outside: the
// store's directories, the blobs' digests, and every error being one line that leaves nothing.
//
// Skips, saying why, when the runtime under test is runc or a tool the registry needs is missing.
#include "harness.hpp"
#include "registry_fixture.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

extern char** environ;

namespace hull::itest {
namespace {

std::string sha256_hex_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> out;
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// A refusal: non-zero exit and exactly one non-empty line on stderr.
void expect_one_line_error(const ProcResult& r, const std::string& needle = "") {
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_FALSE(r.timed_out) << r.describe();
    const std::string err = trim(r.err);
    EXPECT_FALSE(err.empty()) << "no error message\n" << r.describe();
    EXPECT_EQ(err.find('\n'), std::string::npos) << "error is not one line\n" << r.describe();
    if (!needle.empty()) {
        EXPECT_NE(err.find(needle), std::string::npos) << "want `" << needle << "`\n" << r.describe();
    }
}

class ImagesCliTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (runtime_is_runc()) GTEST_SKIP() << "runc has no image commands";
        char tmpl[] = "/tmp/hull-imgcli-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        store_ = dir_ / "store";
        registry_ = std::make_unique<LocalRegistry>(dir_ / "registry");
    }

    void TearDown() override {
        registry_.reset();
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    void need_registry() {
        if (auto t = LocalRegistry::missing_tool(); !t.empty())
            GTEST_SKIP() << t << " is missing (packaging/deps.sh installs it)";
    }

    // `hull <args...> --store <store>`, with the host's auth files out of reach.
    ProcResult hull(std::vector<std::string> args, RunOptions opts = {}) const {
        // env(1) replaces the variables (run_process only appends, and getenv finds the first).
        std::vector<std::string> argv = {"/usr/bin/env", "REGISTRY_AUTH_FILE=" + (dir_ / "no-auth.json").string(),
                                         "HOME=" + dir_.string(), runtime_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        // After the positionals is fine: options may follow them.
        argv.insert(argv.end(), {"--store", store_.string()});
        if (opts.timeout == RunOptions{}.timeout) opts.timeout = 180s;
        return run_process(argv, opts);
    }

    std::string image_ref(const std::string& name, const std::string& tag = "v1") const {
        return registry_->host() + "/" + name + ":" + tag;
    }

    // The store holds exactly these many blobs, unpacked layers and records, and nothing in tmp/.
    void expect_store(size_t blobs, size_t layers, size_t records) const {
        EXPECT_EQ(names_in(store_ / "blobs/sha256").size(), blobs) << testing::PrintToString(names_in(store_ / "blobs/sha256"));
        EXPECT_EQ(names_in(store_ / "layers").size(), layers) << testing::PrintToString(names_in(store_ / "layers"));
        EXPECT_EQ(names_in(store_ / "images").size(), records) << testing::PrintToString(names_in(store_ / "images"));
        EXPECT_EQ(names_in(store_ / "tmp").size(), 0u) << testing::PrintToString(names_in(store_ / "tmp"));
    }
    void expect_store_empty() const { expect_store(0, 0, 0); }

    // Every blob in the store is what its name says.
    void expect_blobs_verified() const {
        for (const auto& n : names_in(store_ / "blobs/sha256")) EXPECT_EQ(sha256_hex_file(store_ / "blobs/sha256" / n), n);
    }

    // The config digest hex of the single image in an OCI layout.
    static std::string layout_config_hex(const fs::path& layout) {
        json index = json::parse(read_text(layout / "index.json"));
        std::string m = index["manifests"][0]["digest"];
        json manifest = json::parse(read_text(layout / "blobs/sha256" / m.substr(7)));
        return manifest["config"]["digest"].get<std::string>().substr(7);
    }

    fs::path dir_;
    fs::path store_;
    std::unique_ptr<LocalRegistry> registry_;
};

const std::regex kImageId("^[0-9a-f]{64}\n$");

TEST_F(ImagesCliTest, PullPlainHttpListInspectRmi) {
    need_registry();
    registry_->start({});
    const fs::path layout = registry_->make_layout("single");
    registry_->push(layout, "v1", "hull/single");
    const std::string ref = image_ref("hull/single");
    const std::string id = layout_config_hex(layout);

    // Without --tls-verify=false a plain-HTTP registry is refused, and nothing is kept.
    auto refused = hull({"pull", ref});
    expect_one_line_error(refused);
    expect_store_empty();

    auto r = hull({"pull", "--tls-verify=false", ref});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, id + "\n");
    // Not a terminal: one line per blob, printed once, podman's words.
    std::vector<std::string> lines = split_lines(trim(r.err));
    ASSERT_FALSE(lines.empty()) << r.err;
    EXPECT_EQ(lines.front(), "Trying to pull " + ref + "...");
    EXPECT_EQ(lines.back(), "Writing manifest to image destination");
    const std::regex blob_line("^Copying blob [0-9a-f]{12} done [0-9.]+(B|KiB|MiB)$");
    const std::regex config_line("^Copying config " + id.substr(0, 12) + " done [0-9.]+(B|KiB)$");
    size_t blob_lines = 0, config_lines = 0;
    std::set<std::string> distinct;
    for (const auto& l : lines) {
        blob_lines += std::regex_match(l, blob_line);
        config_lines += std::regex_match(l, config_line);
        distinct.insert(l);
    }
    EXPECT_EQ(blob_lines, 3u) << r.err;
    EXPECT_EQ(config_lines, 1u) << r.err;
    EXPECT_EQ(lines.size(), 6u) << r.err;
    EXPECT_EQ(distinct.size(), lines.size()) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "escape codes on a pipe";
    expect_store(5, 3, 1);  // 3 layers + config + manifest
    expect_blobs_verified();

    // Again: the blobs are there already; -q prints the ID and nothing else.
    auto again = hull({"pull", "--tls-verify=false", ref});
    ASSERT_TRUE(again.ok()) << again.describe();
    EXPECT_NE(again.err.find("skipped: already exists"), std::string::npos) << again.err;
    auto quiet = hull({"pull", "-q", "--tls-verify=false", ref});
    ASSERT_TRUE(quiet.ok()) << quiet.describe();
    EXPECT_EQ(quiet.out, id + "\n");
    EXPECT_EQ(quiet.err, "");
    expect_store(5, 3, 1);

    // images: table, json, -q, --no-trunc.
    auto table = hull({"images"});
    ASSERT_TRUE(table.ok()) << table.describe();
    auto rows = split_lines(trim(table.out));
    ASSERT_EQ(rows.size(), 2u) << table.out;
    EXPECT_TRUE(std::regex_match(rows[0], std::regex("^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$"))) << rows[0];
    EXPECT_TRUE(std::regex_match(rows[1], std::regex("^" + std::regex_replace(registry_->host(), std::regex("\\."), "\\.") +
                                                     "/hull/single +v1 +" + id.substr(0, 12) + " +.* ago +[0-9.]+ MB$")))
        << rows[1];
    EXPECT_EQ(rows[0].find("IMAGE ID"), rows[1].find(id.substr(0, 12))) << "columns do not line up\n" << table.out;
    auto js = hull({"images", "--format", "json"});
    ASSERT_TRUE(js.ok()) << js.describe();
    json arr = json::parse(js.out);
    ASSERT_EQ(arr.size(), 1u);
    EXPECT_EQ(arr[0]["Id"], id);
    EXPECT_EQ(arr[0]["Names"], json::array({ref}));
    EXPECT_GT(arr[0]["Size"].get<int64_t>(), 8 << 20);
    auto q = hull({"images", "-q"});
    EXPECT_EQ(q.out, id.substr(0, 12) + "\n") << q.describe();
    auto nt = hull({"images", "-q", "--no-trunc"});
    EXPECT_EQ(nt.out, "sha256:" + id + "\n") << nt.describe();
    // `image ls` is `images`.
    auto ls = hull({"image", "ls", "-q"});
    EXPECT_EQ(ls.out, q.out) << ls.describe();

    // inspect: by name and by ID prefix, the same object.
    auto ins = hull({"image", "inspect", ref, id.substr(0, 8)});
    ASSERT_TRUE(ins.ok()) << ins.describe();
    json info = json::parse(ins.out);
    ASSERT_EQ(info.size(), 2u);
    EXPECT_EQ(info[0], info[1]);
    EXPECT_EQ(info[0]["Id"], id);
    EXPECT_EQ(info[0]["Name"], ref);
    EXPECT_EQ(info[0]["Config"]["Cmd"], json::array({"/bin/sh"}));
    EXPECT_EQ(info[0]["Os"], "linux");
    ASSERT_EQ(info[0]["Layers"].size(), 3u);
    for (const auto& l : info[0]["Layers"])
        EXPECT_TRUE(fs::exists(store_ / "blobs/sha256" / l["Digest"].get<std::string>().substr(7))) << l;
    EXPECT_EQ(info[0]["RootFS"]["diff_ids"].size(), 3u);

    // rmi by ID prefix frees everything; prune then finds nothing.
    auto rmi = hull({"rmi", id.substr(0, 12)});
    ASSERT_TRUE(rmi.ok()) << rmi.describe();
    EXPECT_EQ(rmi.out, "Untagged: " + ref + "\nDeleted: " + id + "\n");
    expect_store_empty();
    auto prune = hull({"image", "prune"});
    ASSERT_TRUE(prune.ok()) << prune.describe();
    EXPECT_EQ(prune.out, "Removed 0 blobs and 0 layers, freed 0B\n");
    auto gone = hull({"image", "inspect", ref});
    expect_one_line_error(gone, "not found");
}

TEST_F(ImagesCliTest, PullTlsWithCertDir) {
    need_registry();
    registry_->start({.tls = true});
    const fs::path layout = registry_->make_layout("single");
    registry_->push(layout, "v1", "hull/tls");
    const std::string ref = image_ref("hull/tls");

    auto untrusted = hull({"pull", ref});
    expect_one_line_error(untrusted, "certificate");
    expect_store_empty();

    fs::create_directories(dir_ / "certs");
    fs::copy_file(registry_->cert(), dir_ / "certs/ca.crt");
    auto r = hull({"pull", "--cert-dir", (dir_ / "certs").string(), ref});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, layout_config_hex(layout) + "\n");
    expect_store(5, 3, 1);
    expect_blobs_verified();
}

TEST_F(ImagesCliTest, PullBasicAuth) {
    need_registry();
    registry_->start({.htpasswd = true});
    const fs::path layout = registry_->make_layout("single");
    registry_->push(layout, "v1", "hull/private");
    const std::string ref = image_ref("hull/private");

    auto anonymous = hull({"pull", "--tls-verify=false", ref});
    expect_one_line_error(anonymous);
    expect_store_empty();
    auto wrong = hull({"pull", "--tls-verify=false", "--creds", "alice:wrong", ref});
    expect_one_line_error(wrong);
    expect_store_empty();
    auto bad_creds = hull({"pull", "--tls-verify=false", "--creds", "alice", ref});
    expect_one_line_error(bad_creds, "USERNAME:PASSWORD");

    // podman's auth.json, given with --authfile.
    const fs::path auth = dir_ / "auth.json";
    write_text(auth, R"({"auths":{")" + registry_->host() + R"(":{"auth":"YWxpY2U6czNjcmV0"}}})");  // alice:s3cret
    auto r = hull({"pull", "--tls-verify=false", "--authfile", auth.string(), ref});
    ASSERT_TRUE(r.ok()) << r.describe();
    expect_store(5, 3, 1);
    // --creds works too; the password never shows on a command line hull-fetch is run with.
    auto c = hull({"pull", "-q", "--tls-verify=false", "--creds", "alice:s3cret", ref});
    ASSERT_TRUE(c.ok()) << c.describe();
    EXPECT_EQ(c.out, layout_config_hex(layout) + "\n");
    auto missing = hull({"pull", "--tls-verify=false", "--authfile", (dir_ / "nope.json").string(), ref});
    expect_one_line_error(missing, "nope.json");
}

TEST_F(ImagesCliTest, PlatformSelection) {
    need_registry();
    registry_->start({});
    const fs::path layout = registry_->make_layout("multi");
    registry_->push(layout, "v1", "hull/multi", true);
    const std::string ref = image_ref("hull/multi");
    auto r = hull({"pull", "-q", "--tls-verify=false", "--platform", "linux/arm/v7", ref});
    ASSERT_TRUE(r.ok()) << r.describe();
    auto ins = hull({"image", "inspect", ref});
    ASSERT_TRUE(ins.ok()) << ins.describe();
    json info = json::parse(ins.out)[0];
    EXPECT_EQ(info["Architecture"], "arm");
    EXPECT_EQ(info["Variant"], "v7");
    EXPECT_TRUE(info["IndexDigest"].is_string());
    auto none = hull({"pull", "--tls-verify=false", "--platform", "linux/s390x", ref});
    expect_one_line_error(none, "linux/s390x");
    auto bad = hull({"pull", "--tls-verify=false", "--platform", "linux/", ref});
    expect_one_line_error(bad);
}

TEST_F(ImagesCliTest, ImportEveryKindAndRemovePinned) {
    fs::path gen = dir_ / "gen";
    fs::create_directories(gen / "layout");
    auto g1 = run_process({"/usr/bin/python3", std::string(HULL_SOURCE_DIR) + "/tests/images/gen.py", "layout", (gen / "layout").string()});
    ASSERT_TRUE(g1.ok()) << g1.describe();
    auto g2 = run_process({"/usr/bin/python3", std::string(HULL_SOURCE_DIR) + "/tests/images/gen.py", "docker", gen.string()});
    ASSERT_TRUE(g2.ok()) << g2.describe();
    auto tar = run_process({"/bin/tar", "-C", (gen / "layout").string(), "-cf", (gen / "oci.tar").string(), "oci-layout", "index.json", "blobs"});
    ASSERT_TRUE(tar.ok()) << tar.describe();

    const std::string id = layout_config_hex(gen / "layout");
    auto a = hull({"import", (gen / "layout").string(), "example.com/layout:v1"});
    ASSERT_TRUE(a.ok()) << a.describe();
    EXPECT_EQ(a.out, id + "\n");
    auto b = hull({"image", "import", (gen / "oci.tar").string(), "example.com/ociarchive:v1"});
    ASSERT_TRUE(b.ok()) << b.describe();
    EXPECT_EQ(b.out, id + "\n");  // the same image, another name
    auto c = hull({"import", (gen / "docker.tar").string()});  // named by its RepoTag
    ASSERT_TRUE(c.ok()) << c.describe();
    EXPECT_TRUE(std::regex_match(c.out, kImageId)) << c.out;
    auto d = hull({"import", (gen / "rootfs.tar.gz").string(), "rootfs"});
    ASSERT_TRUE(d.ok()) << d.describe();
    EXPECT_TRUE(std::regex_match(d.out, kImageId)) << d.out;

    auto names = hull({"images", "--format", "json"});
    ASSERT_TRUE(names.ok()) << names.describe();
    std::set<std::string> got;
    for (const auto& i : json::parse(names.out))
        for (const auto& n : i["Names"]) got.insert(n);
    EXPECT_EQ(got, (std::set<std::string>{"example.com/layout:v1", "example.com/ociarchive:v1", "example.com/test/img:v1",
                                          "docker.io/library/rootfs:latest"}));
    EXPECT_EQ(names_in(store_ / "images").size(), 4u);

    // An image ID with two names is refused without -f; by name it goes alone.
    auto two = hull({"rmi", id.substr(0, 12)});
    expect_one_line_error(two, "2 names");
    auto one = hull({"rmi", "example.com/ociarchive:v1"});
    ASSERT_TRUE(one.ok()) << one.describe();
    EXPECT_EQ(one.out, "Untagged: example.com/ociarchive:v1\n");  // the ID still has a name

    // A container uses the layout image: its layers are pinned (the store's documented format).
    json ins = json::parse(hull({"image", "inspect", "example.com/layout:v1"}).out)[0];
    json chains = json::array();
    for (const auto& l : ins["Layers"]) chains.push_back(l["ChainID"]);
    write_text(store_ / "pins/ctr1.json", json{{"owner", "ctr1"}, {"layers", chains}}.dump());
    auto pinned = hull({"rmi", "example.com/layout:v1"});
    expect_one_line_error(pinned, "in use by container `ctr1`");
    EXPECT_TRUE(fs::exists(store_ / "images")) ;
    EXPECT_EQ(names_in(store_ / "images").size(), 3u) << "a refused rmi removed a record";
    // -f: the records go (the docker-archive and rootfs images share the layout's diff IDs, so
    // they go too), the container's layers stay; the blobs go, as pins hold layers only.
    auto forced = hull({"rmi", "-f", "example.com/layout:v1", "rootfs", "example.com/test/img:v1"});
    ASSERT_TRUE(forced.ok()) << forced.describe();
    EXPECT_EQ(names_in(store_ / "images").size(), 0u);
    EXPECT_EQ(names_in(store_ / "blobs/sha256").size(), 0u);
    for (const auto& ch : chains) EXPECT_TRUE(fs::exists(store_ / "layers" / ch.get<std::string>().substr(7))) << ch;
    // The container is gone: prune frees its layers.
    fs::remove(store_ / "pins/ctr1.json");
    auto prune = hull({"image", "prune"});
    ASSERT_TRUE(prune.ok()) << prune.describe();
    EXPECT_TRUE(std::regex_match(prune.out, std::regex("^Removed 0 blobs and 3 layers, freed [0-9.]+(B|KiB|MiB)\n$")))
        << prune.out;
    for (const auto& ch : chains) EXPECT_FALSE(fs::exists(store_ / "layers" / ch.get<std::string>().substr(7))) << ch;
    expect_store_empty();
}

TEST_F(ImagesCliTest, BadInputsAreOneLineAndLeaveNothing) {
    // Without a registry.
    expect_one_line_error(hull({"pull", "--tls-verify=false", "Not//A:Ref"}), "invalid reference");
    expect_one_line_error(hull({"pull"}));
    expect_one_line_error(hull({"pull", "--tls-verify=false", "a", "b"}));
    const int closed = free_loopback_port();
    ASSERT_GT(closed, 0);
    expect_one_line_error(hull({"pull", "--tls-verify=false", "127.0.0.1:" + std::to_string(closed) + "/x/y:1"}),
                          "127.0.0.1:" + std::to_string(closed));
    expect_store_empty();
    expect_one_line_error(hull({"import", (dir_ / "nothing-here").string()}), "nothing-here");
    write_text(dir_ / "garbage.tar", "this is not a tar file at all");
    expect_one_line_error(hull({"import", (dir_ / "garbage.tar").string()}));
    expect_one_line_error(hull({"rmi", "docker.io/library/nope:1"}), "not found");
    expect_one_line_error(hull({"image", "inspect", "nope"}), "not found");
    expect_one_line_error(hull({"image", "frobnicate"}), "frobnicate");
    expect_one_line_error(hull({"images", "--format", "yaml"}), "yaml");
    expect_store_empty();

    need_registry();
    registry_->start({});
    const fs::path layout = registry_->make_layout("single");
    registry_->push(layout, "v1", "hull/single");
    expect_one_line_error(hull({"pull", "--tls-verify=false", image_ref("hull/single", "nope")}), "manifest unknown");
    expect_one_line_error(hull({"pull", "--tls-verify=false", image_ref("hull/absent")}));
    expect_store_empty();

    // A tampered blob (same size, other bytes): refused, and nothing of the image is kept.
    json index = json::parse(read_text(layout / "index.json"));
    json manifest = json::parse(read_text(layout / "blobs/sha256" / index["manifests"][0]["digest"].get<std::string>().substr(7)));
    const std::string big = manifest["layers"][1]["digest"].get<std::string>().substr(7);
    const fs::path data = registry_->blob_data(big);
    ASSERT_TRUE(fs::exists(data)) << data;
    std::string bytes = read_text(data);
    bytes[bytes.size() / 2] ^= 0x55;
    write_text(data, bytes);
    auto tampered = hull({"pull", "--tls-verify=false", image_ref("hull/single")});
    expect_one_line_error(tampered, big.substr(0, 12));
    expect_store_empty();
}

// A pull interrupted with SIGINT in the middle of a big blob leaves nothing a later pull trusts,
// and the next pull completes.
TEST_F(ImagesCliTest, InterruptedPullIsCompletedByTheNext) {
    need_registry();
    registry_->start({});
    // 160 MiB of incompressible bytes in an uncompressed layer, so the transfer takes a while.
    const fs::path layout = dir_ / "big-layout";
    const char* script = R"PY(
import hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(root, "blobs", "sha256", d), "wb").write(data)
    return "sha256:" + d
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    payload = os.urandom(160 << 20)
    info = tarfile.TarInfo("big"); info.size = len(payload); info.mtime = 1700000000
    t.addfile(info, io.BytesIO(payload))
layer = raw.getvalue()
ld = put(layer)
cfg = json.dumps({"os": "linux", "architecture": "amd64", "config": {"Cmd": ["/big"]},
                  "rootfs": {"type": "layers", "diff_ids": [ld]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": len(layer)}]}).encode()
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": put(man), "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]},
    open(os.path.join(root, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(root, "oci-layout"), "w"))
)PY";
    auto gen = run_process({"/usr/bin/python3", "-c", script, layout.string()}, {.timeout = 180s});
    ASSERT_TRUE(gen.ok()) << gen.describe();
    registry_->push(layout, "v1", "hull/big");
    const std::string ref = image_ref("hull/big");

    // Started by hand, to be interrupted while the layer is on its way.
    const std::string out = (dir_ / "pull.out").string(), err = (dir_ / "pull.err").string();
    std::vector<std::string> args = {runtime_path(), "pull", "--tls-verify=false", "--store", store_.string(), ref};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);

    // Partial bytes of the big layer in the staging directory: interrupt now.
    auto partial = [&] {
        if (!fs::exists(store_ / "tmp")) return false;
        for (const auto& d : fs::directory_iterator(store_ / "tmp")) {
            if (!d.is_directory()) continue;
            std::error_code ec;
            for (const auto& f : fs::directory_iterator(d.path(), ec))
                if (f.is_regular_file(ec) && f.file_size(ec) > (1 << 20)) return true;
        }
        return false;
    };
    const bool caught = poll_until(partial, 60s);
    kill(pid, SIGINT);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(caught) << "the pull never showed a partial blob: " << read_text(err);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0) << "status " << st;
    EXPECT_NE(read_text(err).find("interrupted"), std::string::npos) << read_text(err);
    EXPECT_EQ(read_text(out), "");
    // No record, no layer; any blob in the store is whole and verified.
    EXPECT_EQ(names_in(store_ / "images").size(), 0u);
    EXPECT_EQ(names_in(store_ / "layers").size(), 0u);
    expect_blobs_verified();
    EXPECT_EQ(names_in(store_ / "blobs/sha256").size() <= 1, true) << "only the small config can have landed";

    auto second = hull({"pull", "--tls-verify=false", ref});
    ASSERT_TRUE(second.ok()) << second.describe();
    EXPECT_EQ(second.out, layout_config_hex(layout) + "\n");
    expect_store(3, 1, 1);  // the abandoned staging directory is gone too
    expect_blobs_verified();
    EXPECT_EQ(fs::file_size(store_ / "layers" / names_in(store_ / "layers")[0] / "diff/big"), 160u << 20);
}

}  // namespace
}  // namespace hull::itest
