// The image-spec model: index, manifest and config parsing into typed fields, every validation
// error with its document and JSON path, digests, platforms (parsing, normalization, matching
// with variants), manifest selection from an index, media-type sniffing, Docker schema2
// documents, and a corpus of malformed JSON that must fail with one-line messages, never throw.
#include "oci-spec/image.hpp"

#include "common/strings.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

namespace hull::oci {
namespace {

using json = nlohmann::json;

const std::string kHexA(64, 'a'), kHexB(64, 'b'), kHexC(64, 'c');
const std::string kDigestA = "sha256:" + kHexA, kDigestB = "sha256:" + kHexB, kDigestC = "sha256:" + kHexC;

// --- digests ---------------------------------------------------------------------------------

TEST(ImageDigest, ParsesSha256AndSha512) {
    auto d = Digest::parse(kDigestA);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(d->algorithm, Digest::Algorithm::sha256);
    EXPECT_EQ(d->hex, kHexA);
    EXPECT_EQ(d->str(), kDigestA);
    EXPECT_EQ(d->algorithm_name(), "sha256");
    auto e = Digest::parse("sha512:" + std::string(128, '0'));
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_EQ(e->algorithm, Digest::Algorithm::sha512);
    EXPECT_EQ(e->algorithm_name(), "sha512");
    EXPECT_EQ(e->str(), "sha512:" + std::string(128, '0'));
    EXPECT_NE(*d, *e);
    EXPECT_TRUE(Digest{}.empty());
}

struct BadDigest {
    std::string input;
    std::string error;
};

TEST(ImageDigest, RejectsEachMalformedKind) {
    const BadDigest cases[] = {
        {"", "invalid digest ``: expected `algorithm:hex`"},
        {kHexA, "invalid digest `" + kHexA + "`: expected `algorithm:hex`"},
        {"md5:" + std::string(32, 'a'), "invalid digest `md5:" + std::string(32, 'a') + "`: unsupported algorithm `md5`"},
        {"SHA256:" + kHexA, "invalid digest `SHA256:" + kHexA + "`: unsupported algorithm `SHA256`"},
        {"sha256:" + std::string(63, 'a'), "invalid digest `sha256:" + std::string(63, 'a') + "`: sha256 needs 64 hex digits, got 63"},
        {"sha256:" + std::string(65, 'a'), "invalid digest `sha256:" + std::string(65, 'a') + "`: sha256 needs 64 hex digits, got 65"},
        {"sha256:", "invalid digest `sha256:`: sha256 needs 64 hex digits, got 0"},
        {"sha512:" + kHexA, "invalid digest `sha512:" + kHexA + "`: sha512 needs 128 hex digits, got 64"},
        {"sha256:" + std::string(63, 'a') + "A", "invalid digest `sha256:" + std::string(63, 'a') + "A`: not lowercase hex"},
        {"sha256:" + std::string(63, 'a') + "g", "invalid digest `sha256:" + std::string(63, 'a') + "g`: not lowercase hex"},
        // A path hidden in the hex must never become a file name.
        {"sha256:../../../../etc/passwd" + std::string(42, 'a'),
         "invalid digest `sha256:../../../../etc/passwd" + std::string(42, 'a') + "`: not lowercase hex"},
        {"sha256:" + std::string(63, 'a') + "\n", "invalid digest `sha256:" + std::string(63, 'a') + "\\x0a`: not lowercase hex"},
    };
    for (const auto& c : cases) {
        auto r = Digest::parse(c.input);
        ASSERT_FALSE(r) << c.input;
        EXPECT_EQ(r.error().message(), c.error);
    }
}

// --- platforms -------------------------------------------------------------------------------

TEST(ImagePlatform, ParseAndPrint) {
    auto p = parse_platform("linux/amd64");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->os, "linux");
    EXPECT_EQ(p->architecture, "amd64");
    EXPECT_EQ(p->variant, "");
    EXPECT_EQ(platform_string(*p), "linux/amd64");
    auto arm = parse_platform("linux/arm/v7");
    ASSERT_TRUE(arm);
    EXPECT_EQ(arm->variant, "v7");
    EXPECT_EQ(platform_string(*arm), "linux/arm/v7");
    // Aliases normalize at parse time.
    EXPECT_EQ(platform_string(parse_platform("linux/x86_64").value()), "linux/amd64");
    EXPECT_EQ(platform_string(parse_platform("Linux/aarch64").value()), "linux/arm64");
    EXPECT_EQ(platform_string(parse_platform("linux/arm64/v8").value()), "linux/arm64");
    EXPECT_EQ(platform_string(parse_platform("linux/aarch64/8").value()), "linux/arm64");
    EXPECT_EQ(platform_string(parse_platform("linux/armhf").value()), "linux/arm/v7");
    EXPECT_EQ(platform_string(parse_platform("linux/armel").value()), "linux/arm/v6");
    EXPECT_EQ(platform_string(parse_platform("linux/arm/7").value()), "linux/arm/v7");
    EXPECT_EQ(platform_string(parse_platform("linux/i386").value()), "linux/386");
    EXPECT_EQ(platform_string(parse_platform("linux/amd64/v3").value()), "linux/amd64/v3");
    for (const char* bad : {"", "linux", "linux/", "/amd64", "linux/amd64/", "linux/amd64/v2/x", "a//b"}) {
        auto r = parse_platform(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().message(), std::string("invalid platform `") + bad + "`: expected `os/arch[/variant]`");
    }
}

TEST(ImagePlatform, HostIsLinuxWithAGoArch) {
    auto h = host_platform();
    EXPECT_EQ(h.os, "linux");
    EXPECT_FALSE(h.architecture.empty());
    EXPECT_EQ(normalize_platform(h), h);
#if defined(__x86_64__)
    EXPECT_EQ(h.architecture, "amd64");
#endif
}

Platform plat(const char* s) { return parse_platform(s).value(); }
Platform raw(std::string os, std::string arch, std::string variant = "") { return {os, arch, variant, "", {}}; }

TEST(ImagePlatform, Matching) {
    EXPECT_TRUE(platform_matches(plat("linux/amd64"), plat("linux/amd64")));
    EXPECT_FALSE(platform_matches(plat("linux/amd64"), plat("linux/arm64")));
    EXPECT_FALSE(platform_matches(plat("linux/amd64"), plat("windows/amd64")));
    // arm64: v8 is the default, however it is spelled, on either side.
    EXPECT_TRUE(platform_matches(raw("linux", "arm64"), raw("linux", "arm64", "v8")));
    EXPECT_TRUE(platform_matches(raw("linux", "arm64", "v8"), raw("linux", "arm64")));
    EXPECT_TRUE(platform_matches(raw("linux", "aarch64"), raw("linux", "arm64", "8")));
    EXPECT_FALSE(platform_matches(raw("linux", "arm64"), raw("linux", "arm64", "v9")));
    EXPECT_TRUE(platform_matches(raw("linux", "arm64", "v9"), raw("linux", "arm64", "v8")));
    // arm: a wanted variant runs older ones; an absent one means v7.
    EXPECT_TRUE(platform_matches(plat("linux/arm/v7"), plat("linux/arm/v6")));
    EXPECT_TRUE(platform_matches(plat("linux/arm/v7"), plat("linux/arm/v5")));
    EXPECT_FALSE(platform_matches(plat("linux/arm/v6"), plat("linux/arm/v7")));
    EXPECT_TRUE(platform_matches(raw("linux", "arm"), raw("linux", "arm", "v7")));
    EXPECT_FALSE(platform_matches(raw("linux", "arm"), raw("linux", "arm", "v8")));
    // amd64 microarchitecture levels: v1 is the default.
    EXPECT_TRUE(platform_matches(plat("linux/amd64/v3"), plat("linux/amd64/v2")));
    EXPECT_TRUE(platform_matches(plat("linux/amd64/v3"), plat("linux/amd64")));
    EXPECT_FALSE(platform_matches(plat("linux/amd64"), plat("linux/amd64/v2")));
    EXPECT_TRUE(platform_matches(raw("linux", "x86_64"), raw("linux", "amd64", "v1")));
    // Other architectures know no variants: only equal ones match.
    EXPECT_TRUE(platform_matches(raw("linux", "s390x"), raw("linux", "s390x")));
    EXPECT_FALSE(platform_matches(raw("linux", "s390x"), raw("linux", "s390x", "z15")));
    EXPECT_TRUE(platform_matches(raw("linux", "riscv64", "x"), raw("linux", "riscv64", "x")));
    EXPECT_FALSE(platform_matches(raw("linux", "arm", "vfoo"), raw("linux", "arm", "v7")));
}

// --- documents -------------------------------------------------------------------------------

json descriptor(const std::string& mt, const std::string& digest, int64_t size) {
    return {{"mediaType", mt}, {"digest", digest}, {"size", size}};
}

json good_manifest() {
    return {{"schemaVersion", 2},
            {"mediaType", media::kOciManifest},
            {"config", descriptor(std::string(media::kOciConfig), kDigestA, 123)},
            {"layers", {descriptor(std::string(media::kOciLayerGzip), kDigestB, 1000),
                        descriptor(std::string(media::kOciLayerZstd), kDigestC, 2000)}},
            {"annotations", {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}}}};
}

json good_index() {
    json amd = descriptor(std::string(media::kOciManifest), kDigestA, 500);
    amd["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
    json arm = descriptor(std::string(media::kOciManifest), kDigestB, 501);
    arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}, {"os.version", "x"},
                       {"os.features", {"f1"}}};
    arm["annotations"] = {{"k", "v"}};
    arm["urls"] = {"https://example.com/b"};
    return {{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", {amd, arm}},
            {"annotations", {{"org.opencontainers.image.ref.name", "v1"}}}};
}

json good_config() {
    return {{"created", "2024-01-01T00:00:00Z"},
            {"author", "hull"},
            {"os", "linux"},
            {"architecture", "arm"},
            {"variant", "v7"},
            {"config",
             {{"User", "1000:1000"},
              {"Env", {"PATH=/usr/bin:/bin", "EMPTY="}},
              {"Entrypoint", {"/bin/sh", "-c"}},
              {"Cmd", nullptr},
              {"WorkingDir", "/srv"},
              {"StopSignal", "SIGINT"},
              {"Volumes", {{"/data", json::object()}}},
              {"ExposedPorts", {{"80/tcp", json::object()}, {"53/udp", json::object()}}},
              {"Labels", {{"a", "b"}}},
              {"ArgsEscaped", true}}},
            {"rootfs", {{"type", "layers"}, {"diff_ids", {kDigestB, kDigestC}}}},
            {"history", {{{"created", "2024"}, {"created_by", "RUN x"}, {"empty_layer", true}}, {{"comment", "c"}}}}};
}

TEST(ImageDocuments, ManifestFields) {
    auto m = parse_manifest(good_manifest().dump());
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->schema_version, 2);
    EXPECT_EQ(m->media_type, media::kOciManifest);
    EXPECT_EQ(m->config.media_type, media::kOciConfig);
    EXPECT_EQ(m->config.digest.str(), kDigestA);
    EXPECT_EQ(m->config.size, 123);
    ASSERT_EQ(m->layers.size(), 2u);
    EXPECT_EQ(m->layers[0].digest.str(), kDigestB);
    EXPECT_EQ(m->layers[1].media_type, media::kOciLayerZstd);
    EXPECT_EQ(m->layers[1].size, 2000);
    EXPECT_EQ(m->annotations.at("org.opencontainers.image.created"), "2024-01-01T00:00:00Z");
    // mediaType may be absent from an OCI manifest.
    json j = good_manifest();
    j.erase("mediaType");
    auto m2 = parse_manifest(j.dump());
    ASSERT_TRUE(m2) << m2.error().message();
    EXPECT_EQ(m2->media_type, "");
    // No layers at all is a valid (if useless) image.
    j["layers"] = json::array();
    EXPECT_TRUE(parse_manifest(j.dump()));
}

TEST(ImageDocuments, IndexFields) {
    auto idx = parse_index(good_index().dump());
    ASSERT_TRUE(idx) << idx.error().message();
    EXPECT_EQ(idx->media_type, media::kOciIndex);
    ASSERT_EQ(idx->manifests.size(), 2u);
    ASSERT_TRUE(idx->manifests[0].platform);
    EXPECT_EQ(idx->manifests[0].platform->architecture, "amd64");
    const auto& arm = idx->manifests[1];
    ASSERT_TRUE(arm.platform);
    EXPECT_EQ(arm.platform->variant, "v8");
    EXPECT_EQ(arm.platform->os_version, "x");
    EXPECT_EQ(arm.platform->os_features, std::vector<std::string>{"f1"});
    EXPECT_EQ(arm.annotations.at("k"), "v");
    EXPECT_EQ(arm.urls, std::vector<std::string>{"https://example.com/b"});
    EXPECT_EQ(idx->annotations.at("org.opencontainers.image.ref.name"), "v1");
    // An index may also list nested indexes and artifacts; they parse, selection skips them.
    json j = good_index();
    j["manifests"].push_back(descriptor(std::string(media::kOciIndex), kDigestC, 10));
    j["manifests"][2]["artifactType"] = "application/x.sig";
    auto idx2 = parse_index(j.dump());
    ASSERT_TRUE(idx2) << idx2.error().message();
    EXPECT_EQ(idx2->manifests[2].artifact_type, "application/x.sig");
}

TEST(ImageDocuments, ConfigFields) {
    auto c = parse_image_config(good_config().dump());
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->created, "2024-01-01T00:00:00Z");
    EXPECT_EQ(c->author, "hull");
    EXPECT_EQ(c->architecture, "arm");
    EXPECT_EQ(c->variant, "v7");
    EXPECT_EQ(c->config.user, "1000:1000");
    EXPECT_EQ(c->config.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "EMPTY="}));
    ASSERT_TRUE(c->config.entrypoint);
    EXPECT_EQ(*c->config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
    EXPECT_FALSE(c->config.cmd);  // null: not set
    EXPECT_EQ(c->config.working_dir, "/srv");
    EXPECT_EQ(c->config.stop_signal, "SIGINT");
    EXPECT_EQ(c->config.volumes, std::vector<std::string>{"/data"});
    EXPECT_EQ(c->config.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
    EXPECT_EQ(c->config.labels.at("a"), "b");
    EXPECT_TRUE(c->config.args_escaped);
    ASSERT_EQ(c->diff_ids.size(), 2u);
    EXPECT_EQ(c->diff_ids[1].str(), kDigestC);
    ASSERT_EQ(c->history.size(), 2u);
    EXPECT_EQ(c->history[0].created_by, "RUN x");
    EXPECT_TRUE(c->history[0].empty_layer);
    EXPECT_EQ(c->history[1].comment, "c");
    // [] and absent differ for an override: [] is set and empty.
    json j = good_config();
    j["config"]["Cmd"] = json::array();
    j["config"].erase("Entrypoint");
    auto c2 = parse_image_config(j.dump());
    ASSERT_TRUE(c2) << c2.error().message();
    ASSERT_TRUE(c2->config.cmd);
    EXPECT_TRUE(c2->config.cmd->empty());
    EXPECT_FALSE(c2->config.entrypoint);
    // A minimal config: no `config` object at all.
    json minimal = {{"os", "linux"}, {"architecture", "amd64"}, {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
    EXPECT_TRUE(parse_image_config(minimal.dump()));
}

TEST(ImageDocuments, DockerSchema2) {
    json m = good_manifest();
    m["mediaType"] = media::kDockerManifest;
    m["config"]["mediaType"] = media::kDockerConfig;
    m["layers"][0]["mediaType"] = media::kDockerLayerGzip;
    m["layers"][1]["mediaType"] = media::kDockerLayerForeignGzip;
    auto pm = parse_manifest(m.dump(), "manifest sha256:x");
    ASSERT_TRUE(pm) << pm.error().message();
    EXPECT_EQ(pm->media_type, media::kDockerManifest);
    json idx = good_index();
    idx["mediaType"] = media::kDockerManifestList;
    for (auto& d : idx["manifests"]) d["mediaType"] = media::kDockerManifest;
    auto pi = parse_index(idx.dump());
    ASSERT_TRUE(pi) << pi.error().message();
    EXPECT_EQ(pi->media_type, media::kDockerManifestList);
    auto sel = select_manifest(*pi, plat("linux/arm64"));
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->digest.str(), kDigestB);

    EXPECT_TRUE(is_index_media_type(media::kDockerManifestList));
    EXPECT_TRUE(is_index_media_type(media::kOciIndex));
    EXPECT_FALSE(is_index_media_type(media::kOciManifest));
    EXPECT_TRUE(is_manifest_media_type(media::kDockerManifest));
    EXPECT_TRUE(is_manifest_media_type(media::kOciManifest));
    EXPECT_FALSE(is_manifest_media_type(media::kDockerManifestList));
    EXPECT_FALSE(is_manifest_media_type("application/vnd.docker.distribution.manifest.v1+prettyjws"));
    for (auto mt : {media::kOciLayer, media::kOciLayerGzip, media::kOciLayerZstd, media::kOciLayerNondist,
                    media::kOciLayerNondistGzip, media::kOciLayerNondistZstd, media::kDockerLayerGzip,
                    media::kDockerLayerForeignGzip})
        EXPECT_TRUE(is_layer_media_type(mt)) << mt;
    EXPECT_FALSE(is_layer_media_type(media::kOciConfig));
    EXPECT_FALSE(is_layer_media_type("application/vnd.oci.image.layer.v1.tar+xz"));
}

TEST(ImageDocuments, SniffMediaType) {
    EXPECT_EQ(sniff_media_type(good_index().dump(), "blob").value_or("?"), media::kOciIndex);
    EXPECT_EQ(sniff_media_type(good_manifest().dump(), "blob").value_or("?"), media::kOciManifest);
    EXPECT_EQ(sniff_media_type(R"({"schemaVersion": 2, "manifests": []})", "blob").value_or("?"), "");
    // Only the media type is looked at: the rest may be anything.
    EXPECT_EQ(sniff_media_type(R"({"mediaType": "x", "layers": 7})", "blob").value_or("?"), "x");
    auto arr = sniff_media_type("[]", "blob sha256:1");
    ASSERT_FALSE(arr);
    EXPECT_EQ(arr.error().message(), "blob sha256:1: expected an object, got array");
    auto num = sniff_media_type(R"({"mediaType": 5})", "blob");
    ASSERT_FALSE(num);
    EXPECT_EQ(num.error().message(), "blob: .mediaType: expected a string, got number");
    auto bad = sniff_media_type("{", "blob");
    ASSERT_FALSE(bad);
    EXPECT_TRUE(bad.error().message().starts_with("blob: invalid JSON at line 1, column 2: ")) << bad.error().message();
}

// --- manifest selection -------------------------------------------------------------------

Index index_of(std::vector<std::pair<std::string, std::string>> entries) {
    Index idx;
    char c = 'a';
    for (auto& [mt, platform] : entries) {
        Descriptor d;
        d.media_type = mt;
        d.digest = Digest::parse("sha256:" + std::string(64, c++)).value();
        if (!platform.empty()) {
            auto parts = split(platform, '/');
            d.platform = raw(parts[0], parts[1], parts.size() > 2 ? parts[2] : "");
        }
        idx.manifests.push_back(d);
    }
    return idx;
}

char pick(const Index& idx, const char* want) {
    auto d = select_manifest(idx, plat(want));
    return d ? d->digest.hex[0] : '-';
}

TEST(ImageSelect, ByPlatform) {
    std::string m(media::kOciManifest), i(media::kOciIndex);
    auto idx = index_of({{m, "linux/amd64"}, {m, "linux/arm64/v8"}, {m, "linux/arm/v6"}, {m, "linux/arm/v7"}});
    EXPECT_EQ(pick(idx, "linux/amd64"), 'a');
    EXPECT_EQ(pick(idx, "linux/arm64"), 'b');     // v8 normalized away on both sides
    EXPECT_EQ(pick(idx, "linux/arm/v7"), 'd');    // exact variant beats the older v6 listed first
    EXPECT_EQ(pick(idx, "linux/arm/v6"), 'c');
    EXPECT_EQ(pick(idx, "linux/arm/v5"), '-');
    EXPECT_EQ(pick(idx, "linux/s390x"), '-');
    EXPECT_EQ(pick(idx, "windows/amd64"), '-');
    // Only an older variant: the best compatible one.
    auto older = index_of({{m, "linux/arm/v5"}, {m, "linux/arm/v6"}});
    EXPECT_EQ(pick(older, "linux/arm/v7"), 'a');
    // Nested indexes and non-manifests are skipped even when their platform matches.
    auto nested = index_of({{i, "linux/amd64"}, {"application/x.sig", "linux/amd64"}, {m, "linux/amd64"}});
    EXPECT_EQ(pick(nested, "linux/amd64"), 'c');
    // No platform: taken only when it is the index's only entry.
    EXPECT_EQ(pick(index_of({{m, ""}}), "linux/s390x"), 'a');
    EXPECT_EQ(pick(index_of({{m, ""}, {m, "linux/amd64"}}), "linux/amd64"), 'b');
    EXPECT_EQ(pick(index_of({{m, ""}, {m, "linux/arm64"}}), "linux/amd64"), '-');
    EXPECT_EQ(pick(index_of({}), "linux/amd64"), '-');
}

// --- validation errors, one by one ---------------------------------------------------------

enum class Doc { index, manifest, config };

struct ErrorCase {
    const char* name;
    Doc doc;
    const char* patch;  // a JSON merge patch over the good document (null deletes)
    std::string error;
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.name; }

class ImageError : public testing::TestWithParam<ErrorCase> {};

TEST_P(ImageError, NamesTheDocumentAndPath) {
    const auto& c = GetParam();
    json doc = c.doc == Doc::index ? good_index() : c.doc == Doc::manifest ? good_manifest() : good_config();
    doc.merge_patch(json::parse(c.patch));
    std::string text = doc.dump();
    std::string msg;
    switch (c.doc) {
    case Doc::index: {
        auto r = parse_index(text, "index.json");
        ASSERT_FALSE(r) << "accepted: " << c.patch;
        msg = r.error().message();
        break;
    }
    case Doc::manifest: {
        auto r = parse_manifest(text, "manifest sha256:m");
        ASSERT_FALSE(r) << "accepted: " << c.patch;
        msg = r.error().message();
        break;
    }
    case Doc::config: {
        auto r = parse_image_config(text);
        ASSERT_FALSE(r) << "accepted: " << c.patch;
        msg = r.error().message();
        break;
    }
    }
    EXPECT_EQ(msg, c.error);
}

const std::string kShort = "sha256:" + std::string(10, 'a');

const ErrorCase kErrors[] = {
    // index
    {"IndexSchemaMissing", Doc::index, R"({"schemaVersion": null})", "index.json: .schemaVersion: is required"},
    {"IndexSchemaOne", Doc::index, R"({"schemaVersion": 1})", "index.json: .schemaVersion: unsupported schema version 1 (expected 2)"},
    {"IndexSchemaString", Doc::index, R"({"schemaVersion": "2"})", "index.json: .schemaVersion: expected an integer, got string"},
    {"IndexMediaType", Doc::index, R"({"mediaType": "application/vnd.oci.image.manifest.v1+json"})",
     "index.json: .mediaType: expected an image index, got `application/vnd.oci.image.manifest.v1+json`"},
    {"IndexManifestsMissing", Doc::index, R"({"manifests": null})", "index.json: .manifests: is required"},
    {"IndexManifestsObject", Doc::index, R"({"manifests": {}})", "index.json: .manifests: expected an array, got object"},
    {"IndexEntryNotObject", Doc::index, R"({"manifests": [1]})", "index.json: .manifests[0]: expected an object, got number"},
    {"IndexEntryNoMediaType", Doc::index, R"({"manifests": [{"digest": "x", "size": 1}]})",
     "index.json: .manifests[0].mediaType: is required"},
    {"IndexEntryBadDigest", Doc::index,
     R"({"manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:abc", "size": 1}]})",
     "index.json: .manifests[0].digest: invalid digest `sha256:abc`: sha256 needs 64 hex digits, got 3"},
    {"IndexEntryNoSize", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]})",
     "index.json: .manifests[0].size: is required"},
    {"IndexEntryNegativeSize", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": -1}]})",
     "index.json: .manifests[0].size: must be between 0 and 9223372036854775807, got `-1`"},
    {"IndexEntryFractionSize", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1.5}]})",
     "index.json: .manifests[0].size: expected an integer, got `1.5`"},
    {"IndexPlatformNoOs", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "platform": {"architecture": "amd64"}}]})",
     "index.json: .manifests[0].platform.os: is required"},
    {"IndexPlatformNoArch", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "platform": {"os": "linux"}}]})",
     "index.json: .manifests[0].platform.architecture: is required"},
    {"IndexPlatformFeatures", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "platform": {"os": "linux", "architecture": "amd64", "os.features": "sse4"}}]})",
     "index.json: .manifests[0].platform[\"os.features\"]: expected an array, got string"},
    {"IndexPlatformNotObject", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "platform": "linux/amd64"}]})",
     "index.json: .manifests[0].platform: expected an object, got string"},
    {"IndexUrls", Doc::index,
     R"({"manifests": [{"mediaType": "m", "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "size": 1, "urls": [1]}]})",
     "index.json: .manifests[0].urls[0]: expected a string, got number"},
    {"IndexAnnotations", Doc::index, R"({"annotations": {"a.b": 1}})", "index.json: .annotations[\"a.b\"]: expected a string, got number"},
    // manifest
    {"ManifestSchema", Doc::manifest, R"({"schemaVersion": 3})", "manifest sha256:m: .schemaVersion: unsupported schema version 3 (expected 2)"},
    {"ManifestMediaType", Doc::manifest, R"({"mediaType": "application/vnd.oci.image.index.v1+json"})",
     "manifest sha256:m: .mediaType: expected an image manifest, got `application/vnd.oci.image.index.v1+json`"},
    {"ManifestSchema1", Doc::manifest, R"({"mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"})",
     "manifest sha256:m: .mediaType: expected an image manifest, got `application/vnd.docker.distribution.manifest.v1+prettyjws`"},
    {"ManifestConfigMissing", Doc::manifest, R"({"config": null})", "manifest sha256:m: .config: is required"},
    {"ManifestConfigDigest", Doc::manifest, R"({"config": {"digest": "sha256:zz"}})",
     "manifest sha256:m: .config.digest: invalid digest `sha256:zz`: sha256 needs 64 hex digits, got 2"},
    {"ManifestConfigDigestType", Doc::manifest, R"({"config": {"digest": 7}})",
     "manifest sha256:m: .config.digest: expected a string, got number"},
    {"ManifestLayersMissing", Doc::manifest, R"({"layers": null})", "manifest sha256:m: .layers: is required"},
    {"ManifestLayerMediaType", Doc::manifest,
     R"({"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "size": 1}, {"mediaType": "text/plain", "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "size": 1}]})",
     "manifest sha256:m: .layers[1].mediaType: unsupported layer media type `text/plain`"},
    {"ManifestLayerDigestAlg", Doc::manifest,
     R"({"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "md5:00", "size": 1}]})",
     "manifest sha256:m: .layers[0].digest: invalid digest `md5:00`: unsupported algorithm `md5`"},
    {"ManifestLayerHugeSize", Doc::manifest,
     R"({"layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "size": 18446744073709551615}]})",
     "manifest sha256:m: .layers[0].size: must be between 0 and 9223372036854775807, got `18446744073709551615`"},
    {"ManifestRoot", Doc::manifest, R"({"layers": "x"})", "manifest sha256:m: .layers: expected an array, got string"},
    // config
    {"ConfigOsMissing", Doc::config, R"({"os": null})", "image config: .os: is required"},
    {"ConfigArchMissing", Doc::config, R"({"architecture": null})", "image config: .architecture: is required"},
    {"ConfigArchType", Doc::config, R"({"architecture": ["amd64"]})", "image config: .architecture: expected a string, got array"},
    {"ConfigNotObject", Doc::config, R"({"config": "x"})", "image config: .config: expected an object, got string"},
    {"ConfigEnvNoEquals", Doc::config, R"({"config": {"Env": ["A=1", "B"]}})", "image config: .config.Env[1]: must be `KEY=value`, got `B`"},
    {"ConfigEnvType", Doc::config, R"({"config": {"Env": "A=1"}})", "image config: .config.Env: expected an array, got string"},
    {"ConfigCmdType", Doc::config, R"({"config": {"Cmd": "sh"}})", "image config: .config.Cmd: expected an array, got string"},
    {"ConfigEntrypointElement", Doc::config, R"({"config": {"Entrypoint": ["sh", 1]}})",
     "image config: .config.Entrypoint[1]: expected a string, got number"},
    {"ConfigVolumesValue", Doc::config, R"({"config": {"Volumes": {"/data": 1}}})",
     "image config: .config.Volumes[\"/data\"]: expected an object, got number"},
    {"ConfigPortsType", Doc::config, R"({"config": {"ExposedPorts": ["80/tcp"]}})",
     "image config: .config.ExposedPorts: expected an object, got array"},
    {"ConfigLabels", Doc::config, R"({"config": {"Labels": {"a": true}}})", "image config: .config.Labels.a: expected a string, got boolean"},
    {"ConfigArgsEscaped", Doc::config, R"({"config": {"ArgsEscaped": "yes"}})",
     "image config: .config.ArgsEscaped: expected a boolean, got string"},
    {"ConfigRootfsMissing", Doc::config, R"({"rootfs": null})", "image config: .rootfs: is required"},
    {"ConfigRootfsType", Doc::config, R"({"rootfs": {"type": "tarball"}})", "image config: .rootfs.type: must be `layers`, got `tarball`"},
    {"ConfigRootfsTypeMissing", Doc::config, R"({"rootfs": {"type": null}})", "image config: .rootfs.type: is required"},
    {"ConfigDiffIdsMissing", Doc::config, R"({"rootfs": {"diff_ids": null}})", "image config: .rootfs.diff_ids: is required"},
    {"ConfigDiffIdBad", Doc::config,
     R"({"rootfs": {"diff_ids": ["sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "sha256:XYZ"]}})",
     "image config: .rootfs.diff_ids[1]: invalid digest `sha256:XYZ`: sha256 needs 64 hex digits, got 3"},
    {"ConfigHistoryEntry", Doc::config, R"({"history": [{"empty_layer": "no"}]})",
     "image config: .history[0].empty_layer: expected a boolean, got string"},
    {"ConfigHistoryType", Doc::config, R"({"history": {}})", "image config: .history: expected an array, got object"},
};

INSTANTIATE_TEST_SUITE_P(Kinds, ImageError, testing::ValuesIn(kErrors), [](const auto& info) { return std::string(info.param.name); });

// --- malformed JSON ------------------------------------------------------------------------

TEST(ImageMalformed, CorpusFailsWithOneLineMessages) {
    const std::string corpus[] = {
        "",
        " ",
        "{",
        "}",
        "[",
        "null",
        "true",
        "0",
        "\"manifest\"",
        "[]",
        "{\"schemaVersion\": 2,}",
        "{\"schemaVersion\": 2 \"layers\": []}",
        "{'schemaVersion': 2}",
        "{\"schemaVersion\": 02}",
        "{\"schemaVersion\": 2e400}",
        "{\"schemaVersion\": -}",
        "{\"schemaVersion\": NaN}",
        "{\"schemaVersion\": 2}\n{\"schemaVersion\": 2}",
        "{\"a\": \"\\ud800\"}",
        "{\"a\": \"\x01\"}",
        "{\"a\": \"\xff\xfe\"}",
        std::string("{\"a\": \"x\0y\"}", 12),
        "{\"schemaVersion\": 2, \"manifests\": [" + std::string(100, '[') + std::string(100, ']') + "]}",
        std::string(10000, '['),
        "{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:" + std::string(64, 'a') + "\"",
        "\xef\xbb\xbf{",
        "/* comment */ {}",
    };
    for (const auto& text : corpus) {
        for (int which = 0; which < 4; ++which) {
            std::string msg;
            if (which == 0) {
                auto r = parse_index(text, "index.json");
                ASSERT_FALSE(r) << "index accepted: " << text;
                msg = r.error().message();
            } else if (which == 1) {
                auto r = parse_manifest(text, "manifest");
                ASSERT_FALSE(r) << "manifest accepted: " << text;
                msg = r.error().message();
            } else if (which == 2) {
                auto r = parse_image_config(text, "config");
                ASSERT_FALSE(r) << "config accepted: " << text;
                msg = r.error().message();
            } else {
                auto r = sniff_media_type(text, "blob");
                if (r) continue;  // a document without a mediaType may sniff fine
                msg = r.error().message();
            }
            EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
            EXPECT_FALSE(msg.empty());
            const char* doc = which == 0 ? "index.json: " : which == 1 ? "manifest: " : which == 2 ? "config: " : "blob: ";
            EXPECT_TRUE(msg.starts_with(doc)) << msg;
        }
    }
    // Where the syntax breaks is in the message.
    auto r = parse_manifest("{\n  \"schemaVersion\": 2,\n  \"layers\": [,]\n}", "manifest");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().message().starts_with("manifest: invalid JSON at line 3, column 14: ")) << r.error().message();
}

}  // namespace
}  // namespace hull::oci
