// image-spec documents -> typed structs, every field type-checked and every digest validated
// where it is read, so a bad document fails with its JSON path before anything trusts it.
#include "oci-spec/image.hpp"

#include "oci-spec/json_node.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <utility>

namespace hull::oci {

namespace {

using detail::get;
using detail::Node;
using detail::read;
using detail::require;
using detail::show;

constexpr std::array kIndexTypes = {media::kOciIndex, media::kDockerManifestList};
constexpr std::array kManifestTypes = {media::kOciManifest, media::kDockerManifest};
constexpr std::array kLayerTypes = {
    media::kOciLayer,           media::kOciLayerGzip,           media::kOciLayerZstd,
    media::kOciLayerNondist,    media::kOciLayerNondistGzip,    media::kOciLayerNondistZstd,
    media::kDockerLayerGzip,    media::kDockerLayerForeignGzip,
};

template <size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view s) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

hull::Status read_digest(const Node& n, Digest& out) {
    std::string s;
    HULL_TRY(require(n, s));
    auto d = Digest::parse(s);
    if (!d) return n.fail(d.error().what());
    out = std::move(*d);
    return {};
}

Result<Platform> parse_platform_node(const Node& n) {
    HULL_TRY(n.expect_object());
    Platform p;
    HULL_TRY(require(n["os"], p.os));
    HULL_TRY(require(n["architecture"], p.architecture));
    HULL_TRY(read(n["variant"], p.variant));
    HULL_TRY(read(n["os.version"], p.os_version));
    HULL_TRY(read(n["os.features"], p.os_features));
    return p;
}

Result<Descriptor> parse_descriptor(const Node& n) {
    HULL_TRY(n.expect_object());
    Descriptor d;
    HULL_TRY(require(n["mediaType"], d.media_type));
    HULL_TRY(read_digest(n["digest"], d.digest));
    if (!n["size"]) return n["size"].fail("is required");
    d.size = HULL_TRY(n["size"].integer<int64_t>(0));
    HULL_TRY(read(n["urls"], d.urls));
    HULL_TRY(read(n["annotations"], d.annotations));
    HULL_TRY(read(n["artifactType"], d.artifact_type));
    if (n["platform"]) d.platform = HULL_TRY(parse_platform_node(n["platform"]));
    return d;
}

hull::Status check_schema_version(const Node& n, int& out) {
    out = HULL_TRY(n.integer<int>());
    if (out != 2) return n.fail(cat("unsupported schema version ", out, " (expected 2)"));
    return {};
}

// The keys of an object whose values must be objects (Volumes, ExposedPorts: {"80/tcp": {}}).
hull::Status read_key_set(const Node& n, std::vector<std::string>& out) {
    return n.members([&](const std::string& key, const Node& v) -> hull::Status {
        if (v.present()) HULL_TRY(v.expect_object());
        out.push_back(key);
        return {};
    });
}

// Null or an array of strings; null and absent stay distinct from [] for overrides.
hull::Status read_args(const Node& n, std::optional<std::vector<std::string>>& out) {
    if (!n) return {};
    std::vector<std::string> v;
    HULL_TRY(get(n, v));
    out = std::move(v);
    return {};
}

// GOARCH spellings of the names other tools use.
std::string normalize_arch(std::string arch, std::string& variant) {
    if (arch == "x86_64" || arch == "x86-64") return "amd64";
    if (arch == "i386" || arch == "i686") return "386";
    if (arch == "aarch64" || arch == "arm64") {
        if (variant == "8" || variant == "v8") variant.clear();
        return "arm64";
    }
    if (arch == "armhf") {
        variant = "v7";
        return "arm";
    }
    if (arch == "armel") {
        variant = "v6";
        return "arm";
    }
    if (arch == "arm" && !variant.empty() && variant[0] != 'v') variant = "v" + variant;
    return arch;
}

// The variant an absent one stands for, and how variants order, per architecture.
int variant_level(const std::string& arch, const std::string& variant) {
    auto level = [&](std::string_view dflt) -> int {
        std::string_view v = variant.empty() ? dflt : std::string_view(variant);
        if (v.starts_with('v')) v.remove_prefix(1);
        auto n = parse_int<int>(v);
        return n ? *n : -1;
    };
    if (arch == "amd64") return level("v1");
    if (arch == "arm64") return level("v8");
    if (arch == "arm") return level("v7");
    return variant.empty() ? 0 : -1;
}

}  // namespace

bool is_index_media_type(std::string_view mt) { return in(kIndexTypes, mt); }
bool is_manifest_media_type(std::string_view mt) { return in(kManifestTypes, mt); }
bool is_layer_media_type(std::string_view mt) { return in(kLayerTypes, mt); }

// --- digests ---------------------------------------------------------------------------------

Result<Digest> Digest::parse(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos)
        return fail_msg(cat("invalid digest ", show(s), ": expected `algorithm:hex`"));
    std::string_view alg = s.substr(0, colon), hex = s.substr(colon + 1);
    Digest d;
    size_t want;
    if (alg == "sha256") {
        d.algorithm = Algorithm::sha256;
        want = 64;
    } else if (alg == "sha512") {
        d.algorithm = Algorithm::sha512;
        want = 128;
    } else {
        return fail_msg(cat("invalid digest ", show(s), ": unsupported algorithm ", show(alg)));
    }
    if (hex.size() != want)
        return fail_msg(cat("invalid digest ", show(s), ": ", alg, " needs ", want, " hex digits, got ", hex.size()));
    for (char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return fail_msg(cat("invalid digest ", show(s), ": not lowercase hex"));
    d.hex = hex;
    return d;
}

std::string_view Digest::algorithm_name() const {
    return algorithm == Algorithm::sha512 ? "sha512" : "sha256";
}

std::string Digest::str() const { return cat(algorithm_name(), ":", hex); }

// --- platforms -------------------------------------------------------------------------------

Platform host_platform() {
    Platform p;
    p.os = "linux";
#if defined(__x86_64__)
    p.architecture = "amd64";
#elif defined(__aarch64__)
    p.architecture = "arm64";
#elif defined(__arm__)
    p.architecture = "arm";
    p.variant = "v7";
#elif defined(__i386__)
    p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    p.architecture = "ppc64le";
#elif defined(__s390x__)
    p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    p.architecture = "riscv64";
#else
#error "unknown architecture: add its GOARCH name"
#endif
    return p;
}

Platform normalize_platform(Platform p) {
    for (auto& c : p.os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    p.architecture = normalize_arch(std::move(p.architecture), p.variant);
    return p;
}

bool platform_matches(const Platform& want_in, const Platform& have_in) {
    Platform want = normalize_platform(want_in), have = normalize_platform(have_in);
    if (want.os != have.os || want.architecture != have.architecture) return false;
    if (want.variant == have.variant) return true;
    int w = variant_level(want.architecture, want.variant), h = variant_level(have.architecture, have.variant);
    if (w < 0 || h < 0) return false;
    return h <= w;
}

std::string platform_string(const Platform& p) {
    return p.variant.empty() ? cat(p.os, "/", p.architecture) : cat(p.os, "/", p.architecture, "/", p.variant);
}

Result<Platform> parse_platform(std::string_view s) {
    auto parts = split(s, '/');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
        (parts.size() == 3 && parts[2].empty()))
        return fail_msg(cat("invalid platform ", show(s), ": expected `os/arch[/variant]`"));
    Platform p{parts[0], parts[1], parts.size() == 3 ? parts[2] : "", "", {}};
    return normalize_platform(std::move(p));
}

// --- documents -------------------------------------------------------------------------------

Result<std::string> sniff_media_type(std::string_view text, const char* doc) {
    auto j = HULL_TRY(detail::parse_document(doc, text));
    Node root(doc, &j);
    HULL_TRY(root.expect_object());
    std::string mt;
    HULL_TRY(read(root["mediaType"], mt));
    return mt;
}

Result<Index> parse_index(std::string_view text, const char* doc) {
    auto j = HULL_TRY(detail::parse_document(doc, text));
    Node root(doc, &j);
    HULL_TRY(root.expect_object());
    Index idx;
    HULL_TRY(check_schema_version(root["schemaVersion"], idx.schema_version));
    HULL_TRY(read(root["mediaType"], idx.media_type));
    if (!idx.media_type.empty() && !is_index_media_type(idx.media_type))
        return root["mediaType"].fail(cat("expected an image index, got ", show(idx.media_type)));
    if (!root["manifests"]) return root["manifests"].fail("is required");
    HULL_TRY(detail::read_list(root["manifests"], idx.manifests, parse_descriptor));
    HULL_TRY(read(root["annotations"], idx.annotations));
    return idx;
}

Result<Manifest> parse_manifest(std::string_view text, const char* doc) {
    auto j = HULL_TRY(detail::parse_document(doc, text));
    Node root(doc, &j);
    HULL_TRY(root.expect_object());
    Manifest m;
    HULL_TRY(check_schema_version(root["schemaVersion"], m.schema_version));
    HULL_TRY(read(root["mediaType"], m.media_type));
    if (!m.media_type.empty() && !is_manifest_media_type(m.media_type))
        return root["mediaType"].fail(cat("expected an image manifest, got ", show(m.media_type)));
    if (!root["config"]) return root["config"].fail("is required");
    m.config = HULL_TRY(parse_descriptor(root["config"]));
    if (!root["layers"]) return root["layers"].fail("is required");
    HULL_TRY(detail::read_list(root["layers"], m.layers, parse_descriptor));
    for (size_t i = 0; i < m.layers.size(); ++i)
        if (!is_layer_media_type(m.layers[i].media_type))
            return root["layers"][i]["mediaType"].fail(cat("unsupported layer media type ", show(m.layers[i].media_type)));
    HULL_TRY(read(root["annotations"], m.annotations));
    return m;
}

Result<ImageConfig> parse_image_config(std::string_view text, const char* doc) {
    auto j = HULL_TRY(detail::parse_document(doc, text));
    Node root(doc, &j);
    HULL_TRY(root.expect_object());
    ImageConfig c;
    HULL_TRY(read(root["created"], c.created));
    HULL_TRY(read(root["author"], c.author));
    HULL_TRY(require(root["os"], c.os));
    HULL_TRY(require(root["architecture"], c.architecture));
    HULL_TRY(read(root["variant"], c.variant));
    HULL_TRY(read(root["os.version"], c.os_version));
    if (Node cfg = root["config"]) {
        HULL_TRY(cfg.expect_object());
        HULL_TRY(read(cfg["User"], c.config.user));
        HULL_TRY(read(cfg["Env"], c.config.env));
        for (size_t i = 0; i < c.config.env.size(); ++i)
            if (c.config.env[i].find('=') == std::string::npos)
                return cfg["Env"][i].fail(cat("must be `KEY=value`, got ", show(c.config.env[i])));
        HULL_TRY(read_args(cfg["Entrypoint"], c.config.entrypoint));
        HULL_TRY(read_args(cfg["Cmd"], c.config.cmd));
        HULL_TRY(read(cfg["WorkingDir"], c.config.working_dir));
        HULL_TRY(read(cfg["StopSignal"], c.config.stop_signal));
        HULL_TRY(read_key_set(cfg["Volumes"], c.config.volumes));
        HULL_TRY(read_key_set(cfg["ExposedPorts"], c.config.exposed_ports));
        HULL_TRY(read(cfg["Labels"], c.config.labels));
        HULL_TRY(read(cfg["ArgsEscaped"], c.config.args_escaped));
    }
    Node rootfs = root["rootfs"];
    if (!rootfs) return rootfs.fail("is required");
    HULL_TRY(rootfs.expect_object());
    std::string type;
    HULL_TRY(require(rootfs["type"], type));
    if (type != "layers") return rootfs["type"].fail(cat("must be `layers`, got ", show(type)));
    if (!rootfs["diff_ids"]) return rootfs["diff_ids"].fail("is required");
    HULL_TRY(rootfs["diff_ids"].each([&](const Node& e) -> hull::Status {
        Digest d;
        HULL_TRY(read_digest(e, d));
        c.diff_ids.push_back(std::move(d));
        return {};
    }));
    HULL_TRY(detail::read_list(root["history"], c.history, [](const Node& n) -> Result<HistoryEntry> {
        HULL_TRY(n.expect_object());
        HistoryEntry h;
        HULL_TRY(read(n["created"], h.created));
        HULL_TRY(read(n["created_by"], h.created_by));
        HULL_TRY(read(n["author"], h.author));
        HULL_TRY(read(n["comment"], h.comment));
        HULL_TRY(read(n["empty_layer"], h.empty_layer));
        return h;
    }));
    return c;
}

std::optional<Descriptor> select_manifest(const Index& index, const Platform& want) {
    const Descriptor* best = nullptr;
    for (const auto& d : index.manifests) {
        if (!is_manifest_media_type(d.media_type)) continue;
        if (!d.platform) {
            if (index.manifests.size() == 1) return d;
            continue;
        }
        if (!platform_matches(want, *d.platform)) continue;
        if (normalize_platform(*d.platform).variant == normalize_platform(want).variant) return d;
        if (!best) best = &d;
    }
    if (best) return *best;
    return std::nullopt;
}

}  // namespace hull::oci
