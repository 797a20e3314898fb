// The store: verified blob writes, import of every source kind, records, pins and gc, two
// processes unpacking one layer, and a killed unpack that the next attempt cleans up.
#include "images/import.hpp"
#include "images/digest.hpp"
#include "images/store.hpp"

#include "tests/unit/images/helpers.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

namespace hull::images {
namespace {

using test::TempDir;

size_t count(const std::string& dir) {
    size_t n = 0;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return 0;
    while (auto* e = ::readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") ++n;
    ::closedir(d);
    return n;
}

UnpackOptions unpack_opts() {
    UnpackOptions o;
    o.preserve_owners = o.allow_devices = o.preserve_xattrs = ::geteuid() == 0;
    return o;
}

TEST(Store, BlobIsVerifiedBeforeItAppears) {
    TempDir root;
    auto store = Store::open(root.path());
    ASSERT_TRUE(store) << store.error().message();
    auto d = digest_of("hello");
    auto bad = store->put_blob(d, 5, "hellO");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), cat("blob ", d.str(), ": digest mismatch: got ", digest_of("hellO").str()));
    EXPECT_FALSE(store->has_blob(d));
    auto short_ = store->put_blob(d, 6, "hello");
    ASSERT_FALSE(short_);
    EXPECT_EQ(short_.error().message(), cat("blob ", d.str(), ": size mismatch: expected 6 bytes, got 5"));
    {
        // A writer holds the blob's lock until destroyed; a dropped one leaves nothing.
        auto w = store->begin_blob(d, 5);
        ASSERT_TRUE(w);
        EXPECT_FALSE(w->write("hello!"));
    }
    EXPECT_EQ(count(root / "blobs/sha256"), 0u);
    ASSERT_TRUE(store->put_blob(d, 5, "hello"));
    EXPECT_TRUE(store->has_blob(d));
    EXPECT_EQ(store->read_blob(d).value_or(""), "hello");
    auto again = store->begin_blob(d, 5);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->present());
    EXPECT_EQ(count(root / "tmp"), 0u);
    oci::Digest forged;
    forged.hex = "../../etc/passwd";
    EXPECT_FALSE(store->begin_blob(forged, 1));
}

TEST(Store, NamesAreEscaped) {
    EXPECT_EQ(escape_name("docker.io/library/busybox:latest"), "docker.io%2Flibrary%2Fbusybox%3Alatest");
    EXPECT_EQ(escape_name(".."), "%2E.");
    EXPECT_EQ(escape_name(""), "%");
    for (std::string s : {"a/b:c@sha256:x", "..", ".", "%", "x%2F"}) EXPECT_EQ(unescape_name(escape_name(s)).value_or("?"), s);
}

class StoreImport : public testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "layers with whiteouts and devices need root";
        ASSERT_TRUE(test::generate("layout", in_ / "layout"));
        ASSERT_TRUE(test::generate("docker", in_ / "docker"));
        auto s = Store::open(root_ / "store");
        ASSERT_TRUE(s) << s.error().message();
        store_.emplace(std::move(*s));
    }
    TempDir in_, root_;
    std::optional<Store> store_;
};

TEST_F(StoreImport, LayoutRecordsAndGc) {
    ImportOptions o;
    o.name = "example.com/test/img:v1";
    o.unpack = unpack_opts();
    auto rec = import_image(*store_, in_ / "layout", o);
    ASSERT_TRUE(rec) << rec.error().message();
    EXPECT_EQ(rec->name, "example.com/test/img:v1");
    ASSERT_EQ(rec->layers.size(), 3u);
    auto found = store_->find_image("example.com/test/img:v1");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->manifest_digest, rec->manifest_digest);
    EXPECT_TRUE(store_->find_image(rec->manifest_digest.hex.substr(0, 12)));
    EXPECT_EQ(store_->find_image("nope").error().message(), "image `nope` not found");
    auto lowers = store_->lower_dirs(*rec);
    ASSERT_TRUE(lowers);
    ASSERT_EQ(lowers->size(), 3u);
    EXPECT_EQ(fs::read_file(fs::join((*lowers)[0], "bin/tool")).value_or(""), "#!/bin/sh\necho tool v2\n");
    EXPECT_LT((*lowers)[0].size(), store_->root().size() + 30);

    // The same content under a second name shares every blob and layer.
    o.name = "other:tag";
    ASSERT_TRUE(import_image(*store_, in_ / "layout", o));
    EXPECT_EQ(count(root_ / "store/layers"), 3u);
    ASSERT_TRUE(store_->remove_image("example.com/test/img:v1"));
    auto g1 = store_->gc();
    ASSERT_TRUE(g1);
    EXPECT_EQ(g1->blobs_removed, 0u);
    EXPECT_EQ(g1->layers_removed, 0u);

    // A pinned container keeps its layers (not the blobs) after the last image goes.
    std::vector<oci::Digest> chains;
    for (const auto& l : rec->layers) chains.push_back(l.chain_id);
    ASSERT_TRUE(store_->pin("ctr1", chains));
    ASSERT_TRUE(store_->remove_image("docker.io/library/other:tag"));
    auto g2 = store_->gc();
    ASSERT_TRUE(g2);
    EXPECT_EQ(g2->blobs_removed, 5u);
    EXPECT_EQ(count(root_ / "store/layers"), 3u);
    ASSERT_TRUE(store_->unpin("ctr1"));
    auto g3 = store_->gc();
    ASSERT_TRUE(g3);
    EXPECT_EQ(g3->layers_removed, 3u);
    for (const char* d : {"blobs/sha256", "layers", "l", "images", "pins", "tmp"})
        EXPECT_EQ(count(root_ / fs::join("store", d)), 0u) << d;
}

TEST_F(StoreImport, DockerArchiveAndRootfs) {
    ImportOptions o;
    o.unpack = unpack_opts();
    auto rec = import_image(*store_, in_ / "docker/docker.tar", o);
    ASSERT_TRUE(rec) << rec.error().message();
    EXPECT_EQ(rec->name, "example.com/test/img:v1");
    EXPECT_EQ(rec->layers.size(), 3u);
    o.name = "rootfs";
    auto r2 = import_image(*store_, in_ / "docker/rootfs.tar.gz", o);
    ASSERT_TRUE(r2) << r2.error().message();
    EXPECT_EQ(r2->name, "docker.io/library/rootfs:latest");
    // The rootfs is the docker image's first layer: the same chain, unpacked once.
    EXPECT_EQ(r2->layers[0].chain_id, rec->layers[0].chain_id);
    EXPECT_EQ(count(root_ / "store/layers"), 3u);
}

TEST_F(StoreImport, CorruptLayoutBlobIsRefused) {
    // Flip a byte of the config blob: import must fail naming it and keep nothing.
    std::string blobs = in_ / "layout/blobs/sha256";
    auto idx = fs::read_file(in_ / "layout/index.json").value();
    auto man_digest = idx.substr(idx.find("sha256:") + 7, 64);
    auto man = fs::read_file(fs::join(blobs, man_digest)).value();
    auto cfg = man.substr(man.find("sha256:") + 7, 64);
    auto text = fs::read_file(fs::join(blobs, cfg)).value();
    text[text.size() / 2] ^= 1;
    ASSERT_TRUE(fs::write_file(fs::join(blobs, cfg), text));
    auto rec = import_image(*store_, in_ / "layout", ImportOptions{});
    ASSERT_FALSE(rec);
    EXPECT_NE(rec.error().message().find(cat("blob sha256:", cfg, ": digest mismatch")), std::string::npos)
        << rec.error().message();
    EXPECT_EQ(count(root_ / "store/images"), 0u);
    EXPECT_EQ(count(root_ / "store/layers"), 0u);
}

// The first layer of the layout, put into the store; returns {blob, diff_id}.
std::pair<oci::Digest, oci::Digest> put_big_layer(Store& store, const std::string& dir) {
    // Many files so that an unpack takes long enough to be caught in the middle.
    std::string src = fs::join(dir, "src");
    EXPECT_TRUE(fs::mkdir_p(src));
    for (int i = 0; i < 4000; ++i) EXPECT_TRUE(fs::write_file(fs::join(src, cat("f", i)), std::string(512, 'x'), O_WRONLY | O_CREAT | O_TRUNC));
    std::string tar = fs::join(dir, "big.tar");
    EXPECT_EQ(std::system(cat("tar -C '", src, "' -cf '", tar, "' .").c_str()), 0);
    auto fd = fs::open(tar, O_RDONLY).value();
    uint64_t size = 0;
    auto d = digest_fd(fd, oci::Digest::Algorithm::sha256, &size).value();
    ::lseek(fd.get(), 0, SEEK_SET);
    EXPECT_TRUE(store.put_blob_fd(d, static_cast<int64_t>(size), fd));
    return {d, d};
}

TEST(StoreLayers, TwoProcessesUnpackOneLayer) {
    TempDir root, in;
    auto store = Store::open(root / "store").value();
    auto [blob, diff] = put_big_layer(store, in.path());
    pid_t kids[2];
    for (auto& k : kids) {
        k = ::fork();
        if (k == 0) {
            auto s = Store::open(root / "store");
            ::_exit(s && s->unpack_layer(blob, diff, std::nullopt, unpack_opts()) ? 0 : 1);
        }
    }
    for (auto k : kids) {
        int st = 0;
        ::waitpid(k, &st, 0);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    EXPECT_EQ(count(root / "store/layers"), 1u);
    auto info = store.layer(diff);
    ASSERT_TRUE(info);
    EXPECT_EQ(count(info->path), 4000u);
}

TEST(StoreLayers, KilledUnpackIsNeverTrustedAndCleanedUp) {
    TempDir root, in;
    auto store = Store::open(root / "store").value();
    auto [blob, diff] = put_big_layer(store, in.path());
    std::string tmp = root / cat("store/layers/.tmp-", diff.hex);
    pid_t kid = ::fork();
    if (kid == 0) {
        auto s = Store::open(root / "store");
        ::_exit(s && s->unpack_layer(blob, diff, std::nullopt, unpack_opts()) ? 0 : 1);
    }
    // Kill it once the half layer has files in it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count(fs::join(tmp, "diff")) < 50 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    ::kill(kid, SIGKILL);
    int st = 0;
    ::waitpid(kid, &st, 0);
    if (!WIFSIGNALED(st)) GTEST_SKIP() << "the unpack finished before it could be killed";
    EXPECT_TRUE(fs::exists(tmp));
    EXPECT_FALSE(store.layer(diff));
    auto info = store.unpack_layer(blob, diff, std::nullopt, unpack_opts());
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_FALSE(fs::exists(tmp));
    EXPECT_EQ(count(info->path), 4000u);
}

TEST(StoreLayers, DiffIdMismatchLeavesNothing) {
    TempDir root, in;
    auto store = Store::open(root / "store").value();
    auto [blob, diff] = put_big_layer(store, in.path());
    auto wrong = digest_of("not this layer");
    auto r = store.unpack_layer(blob, wrong, std::nullopt, unpack_opts());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), cat("unpack layer ", blob.str(), ": layer diff_id digest mismatch: expected ",
                                       wrong.str(), ", got ", diff.str()));
    EXPECT_EQ(count(root / "store/layers"), 0u);
    EXPECT_EQ(count(root / "store/l"), 0u);
}

// A layer per entry of `layers` (path -> content; a path ending in '/' is a directory, made
// 0700 so an upper layer's implicit parent can be told apart from a default one), each tarred
// by GNU tar without parent entries (--no-recursion), gzipped, put into the store with a config
// and manifest. `bad_diff` >= 0 gives that layer a wrong diff_id in the config.
oci::Digest put_image(Store& store, const std::string& work, const std::vector<std::vector<std::string>>& layers,
                      int bad_diff = -1) {
    nlohmann::json descs = nlohmann::json::array(), diffs = nlohmann::json::array();
    for (size_t i = 0; i < layers.size(); ++i) {
        std::string src = fs::join(work, cat("src", i));
        EXPECT_TRUE(fs::mkdir_p(src));
        std::string list;
        for (const auto& path : layers[i]) {
            std::string p = fs::join(src, path);
            if (path.ends_with('/')) {
                EXPECT_TRUE(fs::mkdir_p(p, 0700));
                ::chmod(p.c_str(), 0700);
            } else {
                EXPECT_TRUE(fs::mkdir_p(fs::dirname(p)));
                EXPECT_TRUE(fs::write_file(p, cat("layer ", i, " ", path), O_WRONLY | O_CREAT | O_TRUNC));
            }
            list += cat(" '", path, "'");
        }
        std::string tar = fs::join(work, cat("layer", i, ".tar"));
        EXPECT_EQ(std::system(cat("tar --no-recursion --mtime=@1600000000 -C '", src, "' -cf '", tar, "'", list).c_str()), 0);
        auto diff = digest_fd(fs::open(tar, O_RDONLY).value(), oci::Digest::Algorithm::sha256).value();
        EXPECT_EQ(std::system(cat("gzip -n '", tar, "'").c_str()), 0);
        auto fd = fs::open(tar + ".gz", O_RDONLY).value();
        uint64_t size = 0;
        auto d = digest_fd(fd, oci::Digest::Algorithm::sha256, &size).value();
        ::lseek(fd.get(), 0, SEEK_SET);
        EXPECT_TRUE(store.put_blob_fd(d, static_cast<int64_t>(size), fd));
        descs.push_back({{"mediaType", oci::media::kOciLayerGzip}, {"digest", d.str()}, {"size", size}});
        diffs.push_back(static_cast<int>(i) == bad_diff ? digest_of("wrong").str() : diff.str());
    }
    std::string config = nlohmann::json{{"architecture", "amd64"}, {"os", "linux"},
                                        {"rootfs", {{"type", "layers"}, {"diff_ids", diffs}}}}.dump();
    EXPECT_TRUE(store.put_blob(digest_of(config), static_cast<int64_t>(config.size()), config));
    std::string manifest = nlohmann::json{{"schemaVersion", 2},
                                          {"mediaType", oci::media::kOciManifest},
                                          {"config", {{"mediaType", oci::media::kOciConfig},
                                                      {"digest", digest_of(config).str()},
                                                      {"size", config.size()}}},
                                          {"layers", descs}}.dump();
    EXPECT_TRUE(store.put_blob(digest_of(manifest), static_cast<int64_t>(manifest.size()), manifest));
    return digest_of(manifest);
}

// Six layers; each but the first adds files under directories it does not list.
const std::vector<std::vector<std::string>> kSixLayers = {
    {"opt/", "opt/base", "etc/", "etc/base"},
    {"opt/one", "usr/lib/one"},
    {"opt/two", "etc/two"},
    {"usr/lib/three", "var/three"},
    {"opt/four"},
    {"etc/five", "opt/sub/five"},
};

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") out.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

TEST(StoreLayers, SixLayerImageCommitsInParallel) {
    if (::geteuid() != 0) GTEST_SKIP() << "implicit directories copy owners from the layers below (needs root)";
    TempDir root, in;
    auto store = Store::open(root / "store").value();
    auto manifest = put_image(store, in.path(), kSixLayers);
    auto rec = store.commit_image("six", manifest, std::nullopt, unpack_opts());
    ASSERT_TRUE(rec) << rec.error().message();
    ASSERT_EQ(rec->layers.size(), 6u);
    EXPECT_EQ(names_in(root / "store/layers").size(), 6u);  // no .tmp-* left
    EXPECT_EQ(names_in(root / "store/l").size(), 6u);
    auto lowers = store.lower_dirs(*rec);
    ASSERT_TRUE(lowers) << lowers.error().message();
    ASSERT_EQ(lowers->size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
        const auto& dir = (*lowers)[5 - i];  // top first
        auto info = store.layer(rec->layers[i].chain_id);
        ASSERT_TRUE(info);
        EXPECT_EQ(info->parent, i ? std::optional(rec->layers[i - 1].chain_id) : std::nullopt);
        for (const auto& path : kSixLayers[i]) {
            if (path.ends_with('/')) continue;
            EXPECT_EQ(fs::read_file(fs::join(dir, path)).value_or("missing"), cat("layer ", i, " ", path)) << dir << " " << path;
        }
    }
    // opt/ and etc/ are 0700 in the bottom layer; every upper layer that only implies them
    // carries that mode, not a default 0755, while usr/ (listed by no layer) stays 0755.
    for (size_t i = 1; i < 6; ++i) {
        std::string dir = (*lowers)[5 - i];
        for (const char* d : {"opt", "etc", "usr"}) {
            struct stat st;
            if (::stat(fs::join(dir, d).c_str(), &st) < 0) continue;
            EXPECT_EQ(st.st_mode & 07777, std::string_view(d) == "usr" ? 0755u : 0700u) << "layer " << i << " " << d;
        }
    }
    // Committing again finds every layer present.
    auto again = store.commit_image("six-again", manifest, std::nullopt, unpack_opts());
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(names_in(root / "store/layers").size(), 6u);
}

TEST(StoreLayers, FailedLayerLeavesNoHalfLayer) {
    TempDir root, in;
    auto store = Store::open(root / "store").value();
    // Layer 3's diff_id is wrong: its files are all written before the digest check fails, and
    // layers 4 and 5 are unpacked meanwhile but must never be published.
    auto manifest = put_image(store, in.path(), kSixLayers, 3);
    auto rec = store.commit_image("broken", manifest, std::nullopt, unpack_opts());
    ASSERT_FALSE(rec);
    EXPECT_NE(rec.error().message().find("layer diff_id digest mismatch: expected " + digest_of("wrong").str()),
              std::string::npos)
        << rec.error().message();
    EXPECT_EQ(rec.error().message().find('\n'), std::string::npos);
    auto left = names_in(root / "store/layers");
    EXPECT_EQ(left.size(), 3u);  // layers 0-2, complete
    for (const auto& n : left) {
        EXPECT_FALSE(n.starts_with(".tmp-")) << n;
        EXPECT_TRUE(fs::exists(fs::join(root / "store/layers", fs::join(n, "layer.json")))) << n;
    }
    EXPECT_EQ(names_in(root / "store/l").size(), 3u);
    EXPECT_EQ(names_in(root / "store/images").size(), 0u);
    EXPECT_EQ(names_in(root / "store/tmp").size(), 0u);
}

TEST(StoreLayers, UnpackLayerNeedsItsParent) {
    TempDir root, in;
    auto store = Store::open(root / "store").value();
    auto [blob, diff] = put_big_layer(store, in.path());
    auto missing = digest_of("no such layer");
    auto r = store.unpack_layer(blob, diff, missing, unpack_opts());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), cat("unpack layer ", blob.str(), ": parent layer ", missing.str(), " is not unpacked"));
    EXPECT_EQ(count(root / "store/layers"), 0u);
}

}  // namespace
}  // namespace hull::images
