// Typed model of the OCI image-spec 1.1 documents (index, manifest, image config) and their
// Docker schema2 equivalents (manifest list, image manifest, container config), plus digests
// and platform matching.
//
// Parsing checks every field's JSON type and validates digests and sizes where they are read;
// errors name the document and JSON path:
//   manifest: .layers[2].digest: invalid digest `sha256:xyz`: ...
// Nothing here touches the filesystem.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::oci {

// --- media types ---------------------------------------------------------------------------

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNondist = "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

bool is_index_media_type(std::string_view mt);     // OCI index or Docker manifest list
bool is_manifest_media_type(std::string_view mt);  // OCI or Docker schema2 manifest
bool is_layer_media_type(std::string_view mt);     // any tar layer type above

// --- digests ---------------------------------------------------------------------------------

// "<algorithm>:<hex>" with algorithm sha256 (64 lowercase hex) or sha512 (128). Only these are
// accepted, so a Digest's hex can safely become a file name.
struct Digest {
    enum class Algorithm : uint8_t { sha256, sha512 };
    Algorithm algorithm = Algorithm::sha256;
    std::string hex;

    static Result<Digest> parse(std::string_view s);
    std::string str() const;                   // "sha256:<hex>"
    std::string_view algorithm_name() const;   // "sha256"
    bool empty() const { return hex.empty(); }
    auto operator<=>(const Digest&) const = default;
};

// --- platforms -------------------------------------------------------------------------------

struct Platform {
    std::string os;            // "linux"
    std::string architecture;  // GOARCH: "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"
    std::string variant;       // "v7", "v8", "v2"...; empty when absent
    std::string os_version;
    std::vector<std::string> os_features;
    bool operator==(const Platform&) const = default;
};

// The platform this binary runs on (linux + GOARCH of the build target).
Platform host_platform();
// Normalizes architecture aliases and default variants the way containerd does:
// x86_64 -> amd64, aarch64 -> arm64 (variant v8 dropped), armhf -> arm/v7, i386 -> 386...
Platform normalize_platform(Platform p);
// Whether an image for `have` runs where `want` is asked for: same os and architecture and a
// compatible variant. An absent variant matches the architecture's default (amd64 -> v1,
// arm64 -> v8, arm -> v7); a wanted variant also accepts older ones of the same architecture
// (arm v7 runs v6 and v5; amd64 v3 runs v2 and v1).
bool platform_matches(const Platform& want, const Platform& have);
// "linux/arm64/v8"-style; the inverse of parse_platform.
std::string platform_string(const Platform& p);
Result<Platform> parse_platform(std::string_view s);

// --- documents -------------------------------------------------------------------------------

struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
    std::optional<Platform> platform;
    std::string artifact_type;
};

// An OCI image index or a Docker manifest list.
struct Index {
    int schema_version = 2;
    std::string media_type;  // empty when the document omits it (allowed for OCI)
    std::vector<Descriptor> manifests;
    std::map<std::string, std::string> annotations;
};

// An OCI image manifest or a Docker schema2 manifest.
struct Manifest {
    int schema_version = 2;
    std::string media_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::map<std::string, std::string> annotations;
};

struct HistoryEntry {
    std::string created;
    std::string created_by;
    std::string author;
    std::string comment;
    bool empty_layer = false;
};

// The image config: what the runtime spec is built from, and the diff_ids layers are checked
// against.
struct ImageConfig {
    std::string created;
    std::string author;
    std::string os;
    std::string architecture;
    std::string variant;
    std::string os_version;
    struct Config {
        std::string user;
        std::vector<std::string> env;
        std::optional<std::vector<std::string>> entrypoint;  // null and [] differ for overrides
        std::optional<std::vector<std::string>> cmd;
        std::string working_dir;
        std::string stop_signal;
        std::vector<std::string> volumes;        // keys of the Volumes object
        std::vector<std::string> exposed_ports;  // keys of ExposedPorts: "80/tcp"
        std::map<std::string, std::string> labels;
        bool args_escaped = false;
    } config;
    std::vector<Digest> diff_ids;  // rootfs.diff_ids; rootfs.type must be "layers"
    std::vector<HistoryEntry> history;
};

// `doc` names the document in errors ("index.json", "manifest sha256:...").
Result<Index> parse_index(std::string_view text, const char* doc = "index");
Result<Manifest> parse_manifest(std::string_view text, const char* doc = "manifest");
Result<ImageConfig> parse_image_config(std::string_view text, const char* doc = "image config");
// The mediaType member of a JSON document, without validating the rest; empty when absent.
// Lets a caller tell an index from a manifest when the descriptor did not say.
Result<std::string> sniff_media_type(std::string_view text, const char* doc);

// The first manifest of `index` that runs on `want` (platform_matches), preferring an exact
// variant match; descriptors without a platform are skipped unless the index has only one.
std::optional<Descriptor> select_manifest(const Index& index, const Platform& want);

}  // namespace hull::oci
