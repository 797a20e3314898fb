// The registry client's offline logic: Accept header, manifest type detection, index choice.
#include "images/registry.hpp"

#include <gtest/gtest.h>

namespace hull::images {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

TEST(RegistryAccept, AsksForEveryReadableManifestType) {
    EXPECT_EQ(manifest_accept_header(),
              "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
              "application/vnd.docker.distribution.manifest.list.v2+json, "
              "application/vnd.docker.distribution.manifest.v2+json");
}

TEST(RegistryMediaType, ContentTypeThenDocumentThenShape) {
    EXPECT_EQ(manifest_media_type("application/vnd.oci.image.index.v1+json; charset=utf-8", "{}").value(),
              "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(manifest_media_type("application/json",
                                  R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json"})")
                  .value(),
              "application/vnd.docker.distribution.manifest.v2+json");
    EXPECT_EQ(manifest_media_type("", R"({"schemaVersion":2,"manifests":[]})").value(),
              "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(manifest_media_type("application/octet-stream", R"({"schemaVersion":2,"config":{},"layers":[]})").value(),
              "application/vnd.oci.image.manifest.v1+json");
}

TEST(RegistryMediaType, RefusesWhatItCannotRead) {
    auto s1 = manifest_media_type("application/vnd.docker.distribution.manifest.v1+prettyjws", R"({"schemaVersion":1})");
    ASSERT_FALSE(s1);
    EXPECT_EQ(s1.error().message(), "docker schema 1 manifests are not supported");
    auto art = manifest_media_type("", R"({"mediaType":"application/vnd.cncf.helm.config.v1+json"})");
    ASSERT_FALSE(art);
    EXPECT_NE(art.error().message().find("unsupported manifest type `application/vnd.cncf.helm.config.v1+json`"),
              std::string::npos);
    EXPECT_FALSE(manifest_media_type("", "[1]"));
}

oci::Index index_of(const std::string& json) {
    auto r = oci::parse_index(json);
    EXPECT_TRUE(r) << r.error().message();
    return r.value_or(oci::Index{});
}

std::string entry(const std::string& digest, const std::string& platform) {
    return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + digest + R"(","size":10,"platform":)" +
           platform + "}";
}

TEST(RegistryPlatform, ChoosesMatchingEntry) {
    auto idx = index_of(R"({"schemaVersion":2,"manifests":[)" + entry(kD1, R"({"os":"linux","architecture":"arm64"})") +
                        "," + entry(kD2, R"({"os":"linux","architecture":"amd64"})") + "," +
                        entry(kD3, R"({"os":"linux","architecture":"arm","variant":"v6"})") + "]}");
    EXPECT_EQ(choose_manifest(idx, oci::parse_platform("linux/amd64").value())->digest.str(), kD2);
    EXPECT_EQ(choose_manifest(idx, oci::parse_platform("linux/arm64/v8").value())->digest.str(), kD1);
    EXPECT_EQ(choose_manifest(idx, oci::parse_platform("linux/aarch64").value())->digest.str(), kD1);
    // arm v7 runs a v6 image when no v7 one exists.
    EXPECT_EQ(choose_manifest(idx, oci::parse_platform("linux/arm/v7").value())->digest.str(), kD3);
    auto none = choose_manifest(idx, oci::parse_platform("linux/s390x").value());
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message(),
              "no image for platform `linux/s390x` (the index has linux/arm64, linux/amd64, linux/arm/v6)");
    auto older = choose_manifest(idx, oci::parse_platform("linux/arm/v5").value());
    EXPECT_FALSE(older) << "a v5 machine cannot run a v6 image";
}

TEST(RegistryPlatform, ExactVariantWinsAndAttestationsAreSkipped) {
    auto idx = index_of(R"({"schemaVersion":2,"manifests":[)" + entry(kD1, R"({"os":"linux","architecture":"arm","variant":"v6"})") +
                        "," + entry(kD2, R"({"os":"linux","architecture":"arm","variant":"v7"})") + "," +
                        entry(kD3, R"({"os":"unknown","architecture":"unknown"})") + "]}");
    EXPECT_EQ(choose_manifest(idx, oci::parse_platform("linux/arm/v7").value())->digest.str(), kD2);
    EXPECT_EQ(choose_manifest(idx, oci::parse_platform("linux/arm").value())->digest.str(), kD2);
    auto none = choose_manifest(idx, oci::parse_platform("linux/amd64").value());
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message(), "no image for platform `linux/amd64` (the index has linux/arm/v6, linux/arm/v7)");
}

}  // namespace
}  // namespace hull::images
