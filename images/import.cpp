// Imports: every source is turned into blobs in the store (each verified by BlobWriter) and
// then Store::commit_image, so the one code path that unpacks and records images is shared
// with registry pulls.
#include "images/import.hpp"

#include "images/digest.hpp"
#include "images/reference.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace hull::images {

using json = nlohmann::json;

namespace {

constexpr const char* kRefName = "org.opencontainers.image.ref.name";

// A temp dir under the store's tmp/, removed with everything in it on destruction.
class TempDir {
public:
    static Result<TempDir> make(const Store& store) {
        std::string tmpl = fs::join(store.root(), "tmp/import-XXXXXX");
        if (!::mkdtemp(tmpl.data())) return fail_sys(cat("create a temp dir in ", q(fs::join(store.root(), "tmp"))));
        return TempDir(std::move(tmpl));
    }
    TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
    ~TempDir() {
        if (!path_.empty()) (void)fs::remove_tree(path_);
    }
    const std::string& path() const { return path_; }

private:
    explicit TempDir(std::string p) : path_(std::move(p)) {}
    std::string path_;
};

// Opens a file named by the (untrusted) archive or layout, never leaving `dir`.
Result<UniqueFd> open_inside(const std::string& dir, const std::string& rel) {
    auto d = HULL_TRY(fs::open(dir, O_PATH | O_DIRECTORY));
    struct open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd = sys::openat2(d.get(), rel.c_str(), &how, sizeof how);
    if (fd < 0) {
        if (errno == EXDEV) return fail_msg(cat(q(rel), " points outside ", q(dir)));
        return fail_sys(cat("open ", q(fs::join(dir, rel))));
    }
    return UniqueFd(fd);
}

Result<std::string> read_inside(const std::string& dir, const std::string& rel, size_t max = 4 << 20) {
    auto fd = HULL_TRY(open_inside(dir, rel));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_sys(cat("stat ", q(rel)));
    if (!S_ISREG(st.st_mode)) return fail_msg(cat(q(rel), " is not a regular file"));
    if (static_cast<size_t>(st.st_size) > max) return fail_msg(cat(q(rel), " is larger than ", max, " bytes"));
    return fs::read_fd(fd);
}

Result<std::string> normalized_name(const std::string& name) {
    auto ref = HULL_TRY(parse_reference(name));
    return ref.str();
}

// Copies a layout blob into the store, checked against the descriptor.
Status copy_blob(Store& store, const std::string& layout, const oci::Descriptor& d) {
    auto ctx = cat("blob ", d.digest.str());
    if (store.has_blob(d.digest)) return {};
    auto fd = HULL_TRY_CTX(open_inside(layout, cat("blobs/", d.digest.algorithm_name(), "/", d.digest.hex)), ctx);
    return store.put_blob_fd(d.digest, d.size, fd);
}

// The archive's member names (for detection), reading headers only.
Result<std::vector<std::string>> tar_names(const std::string& file, size_t limit) {
    std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_format_tar(a.get());
    if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
        return fail_msg(cat("open ", q(file), ": ", archive_error_string(a.get())));
    std::vector<std::string> out;
    struct archive_entry* e;
    while (out.size() < limit) {
        int r = archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return fail_msg(cat("read ", q(file), ": ", archive_error_string(a.get())));
        const char* n = archive_entry_pathname(e);
        std::string s = n ? n : "";
        while (s.starts_with("./")) s.erase(0, 2);
        out.push_back(std::move(s));
    }
    return out;
}

// Extracts an archive of blobs into `dir` with the layer unpacker's path checks; devices and
// owners are meaningless here.
Status extract(const std::string& file, const std::string& dir, const ImportOptions& opts) {
    auto in = HULL_TRY(fs::open(file, O_RDONLY));
    auto dest = HULL_TRY(fs::open(dir, O_RDONLY | O_DIRECTORY));
    UnpackOptions u;
    u.allow_devices = false;
    u.preserve_owners = false;
    u.preserve_xattrs = false;
    u.max_bytes = opts.unpack.max_bytes;
    u.max_entries = opts.unpack.max_entries;
    HULL_TRY_CTX(unpack_layer(in, dest, u), cat("extract ", q(file)));
    return {};
}

// Serializes a manifest for blobs synthesized here.
std::string manifest_json(const oci::Descriptor& config, const std::vector<oci::Descriptor>& layers) {
    json l = json::array();
    for (const auto& d : layers) l.push_back({{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}});
    json m = {{"schemaVersion", 2},
              {"mediaType", oci::media::kOciManifest},
              {"config", {{"mediaType", config.media_type}, {"digest", config.digest.str()}, {"size", config.size}}},
              {"layers", l}};
    return m.dump();
}

Result<oci::Descriptor> put_json_blob(Store& store, std::string_view media_type, const std::string& text) {
    oci::Descriptor d;
    d.media_type = media_type;
    d.digest = digest_of(text);
    d.size = static_cast<int64_t>(text.size());
    HULL_TRY(store.put_blob(d.digest, d.size, text));
    return d;
}

// A layer file of an archive: copied into the store as a blob, its media type from its magic.
Result<oci::Descriptor> put_layer_file(Store& store, FdRef fd) {
    unsigned char head[4] = {};
    ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
    if (n < 0) return fail_sys("read layer");
    oci::Descriptor d;
    switch (detect_compression(std::span(head, static_cast<size_t>(n)))) {
    case Compression::gzip: d.media_type = oci::media::kOciLayerGzip; break;
    case Compression::zstd: d.media_type = oci::media::kOciLayerZstd; break;
    case Compression::none: d.media_type = oci::media::kOciLayer; break;
    }
    uint64_t size = 0;
    d.digest = HULL_TRY(digest_fd(fd, oci::Digest::Algorithm::sha256, &size));
    d.size = static_cast<int64_t>(size);
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return fail_sys("seek layer");
    HULL_TRY(store.put_blob_fd(d.digest, d.size, fd));
    return d;
}

}  // namespace

Result<SourceKind> detect_source(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return fail_sys(cat("stat ", q(path)));
    if (S_ISDIR(st.st_mode)) {
        if (!fs::exists(fs::join(path, "oci-layout"))) return fail_msg(cat(q(path), " is a directory without an `oci-layout` file"));
        return SourceKind::oci_layout;
    }
    auto names = HULL_TRY(tar_names(path, 64));
    for (const auto& n : names) {
        if (n == "oci-layout") return SourceKind::oci_archive;
        if (n == "manifest.json") return SourceKind::docker_archive;
    }
    return SourceKind::rootfs_tar;
}

Result<ImageRecord> import_oci_layout(Store& store, const std::string& dir, const ImportOptions& opts) {
    auto ctx = cat("import ", q(dir));
    auto held = HULL_TRY(store.lease());
    auto layout = HULL_TRY_CTX(read_inside(dir, "oci-layout"), ctx);
    json lj = json::parse(layout, nullptr, false);
    if (lj.is_discarded() || !lj.is_object() || !lj.contains("imageLayoutVersion") || !lj["imageLayoutVersion"].is_string())
        return fail(Error::msg("oci-layout: expected {\"imageLayoutVersion\": \"1.0.0\"}").context(ctx));
    auto itext = HULL_TRY_CTX(read_inside(dir, "index.json"), ctx);
    auto index = HULL_TRY_CTX(oci::parse_index(itext, "index.json"), ctx);

    // Choose the top descriptor: by ref name when asked, else the only one, else by platform.
    std::optional<oci::Descriptor> top;
    if (!opts.select.empty()) {
        for (const auto& d : index.manifests) {
            auto it = d.annotations.find(kRefName);
            if (it == d.annotations.end()) continue;
            if (it->second == opts.select || it->second.ends_with(":" + opts.select)) {
                top = d;
                break;
            }
        }
        if (!top) return fail(Error::msg(cat("no image named ", q(opts.select), " in index.json")).context(ctx));
    } else if (index.manifests.size() == 1) {
        top = index.manifests[0];
    } else {
        top = oci::select_manifest(index, opts.platform);
        if (!top) return fail(Error::msg(cat("no image for ", oci::platform_string(opts.platform), " in index.json")).context(ctx));
    }

    std::optional<oci::Digest> index_digest;
    oci::Descriptor mdesc = *top;
    if (oci::is_index_media_type(mdesc.media_type)) {
        HULL_TRY_CTX(copy_blob(store, dir, mdesc), ctx);
        auto text = HULL_TRY_CTX(store.read_blob(mdesc.digest), ctx);
        std::string doc = cat("index ", mdesc.digest.str());
        auto nested = HULL_TRY_CTX(oci::parse_index(text, doc.c_str()), ctx);
        auto pick = oci::select_manifest(nested, opts.platform);
        if (!pick) return fail(Error::msg(cat("no image for ", oci::platform_string(opts.platform), " in ", doc)).context(ctx));
        index_digest = mdesc.digest;
        mdesc = *pick;
    } else if (!oci::is_manifest_media_type(mdesc.media_type)) {
        return fail(Error::msg(cat("unsupported media type ", q(mdesc.media_type), " in index.json")).context(ctx));
    }
    HULL_TRY_CTX(copy_blob(store, dir, mdesc), ctx);
    auto mtext = HULL_TRY_CTX(store.read_blob(mdesc.digest), ctx);
    std::string mdoc = cat("manifest ", mdesc.digest.str());
    auto manifest = HULL_TRY_CTX(oci::parse_manifest(mtext, mdoc.c_str()), ctx);
    HULL_TRY_CTX(copy_blob(store, dir, manifest.config), ctx);
    for (const auto& l : manifest.layers) HULL_TRY_CTX(copy_blob(store, dir, l), ctx);

    std::string name = opts.name;
    if (name.empty()) {
        auto it = top->annotations.find(kRefName);
        // A bare tag ("latest") names nothing by itself; only a full reference is used.
        if (it != top->annotations.end() && it->second.find_first_of("/:") != std::string::npos) name = it->second;
    }
    if (!name.empty()) name = HULL_TRY_CTX(normalized_name(name), ctx);
    return HULL_TRY_CTX(store.commit_image(name, mdesc.digest, index_digest, opts.unpack), ctx);
}

Result<ImageRecord> import_oci_archive(Store& store, const std::string& file, const ImportOptions& opts) {
    auto held = HULL_TRY(store.lease());
    auto tmp = HULL_TRY(TempDir::make(store));
    HULL_TRY(extract(file, tmp.path(), opts));
    return HULL_TRY_CTX(import_oci_layout(store, tmp.path(), opts), cat("import ", q(file)));
}

Result<ImageRecord> import_docker_archive(Store& store, const std::string& file, const ImportOptions& opts) {
    auto ctx = cat("import ", q(file));
    auto held = HULL_TRY(store.lease());
    auto tmp = HULL_TRY(TempDir::make(store));
    HULL_TRY(extract(file, tmp.path(), opts));
    auto text = HULL_TRY_CTX(read_inside(tmp.path(), "manifest.json"), ctx);
    json mj = json::parse(text, nullptr, false);
    if (mj.is_discarded() || !mj.is_array() || mj.empty())
        return fail(Error::msg("manifest.json: expected a non-empty array").context(ctx));
    const json* entry = nullptr;
    std::string tag;
    for (const auto& e : mj) {
        if (!e.is_object()) return fail(Error::msg("manifest.json: expected an array of objects").context(ctx));
        std::vector<std::string> tags;
        if (e.contains("RepoTags") && e["RepoTags"].is_array())
            for (const auto& t : e["RepoTags"])
                if (t.is_string()) tags.push_back(t.get<std::string>());
        if (opts.select.empty() || std::find(tags.begin(), tags.end(), opts.select) != tags.end()) {
            entry = &e;
            if (!tags.empty()) tag = opts.select.empty() ? tags[0] : opts.select;
            break;
        }
    }
    if (!entry) return fail(Error::msg(cat("no image tagged ", q(opts.select), " in manifest.json")).context(ctx));
    if (!entry->contains("Config") || !(*entry)["Config"].is_string() || !entry->contains("Layers") || !(*entry)["Layers"].is_array())
        return fail(Error::msg("manifest.json: an entry needs `Config` and `Layers`").context(ctx));

    auto ctext = HULL_TRY_CTX(read_inside(tmp.path(), (*entry)["Config"].get<std::string>()), ctx);
    auto config = HULL_TRY_CTX(oci::parse_image_config(ctext, "docker-archive config"), ctx);
    auto cdesc = HULL_TRY_CTX(put_json_blob(store, oci::media::kOciConfig, ctext), ctx);
    std::vector<oci::Descriptor> layers;
    for (const auto& l : (*entry)["Layers"]) {
        if (!l.is_string()) return fail(Error::msg("manifest.json: `Layers` must hold file names").context(ctx));
        auto fd = HULL_TRY_CTX(open_inside(tmp.path(), l.get<std::string>()), ctx);
        layers.push_back(HULL_TRY_CTX(put_layer_file(store, fd), cat(ctx, ": layer ", q(l.get<std::string>()))));
    }
    if (layers.size() != config.diff_ids.size())
        return fail(Error::msg(cat("manifest.json lists ", layers.size(), " layers but the config has ", config.diff_ids.size(), " diff_ids")).context(ctx));
    auto mdesc = HULL_TRY_CTX(put_json_blob(store, oci::media::kOciManifest, manifest_json(cdesc, layers)), ctx);
    std::string name = opts.name.empty() ? tag : opts.name;
    if (!name.empty()) name = HULL_TRY_CTX(normalized_name(name), ctx);
    return HULL_TRY_CTX(store.commit_image(name, mdesc.digest, std::nullopt, opts.unpack), ctx);
}

Result<ImageRecord> import_rootfs_tar(Store& store, const std::string& file, const ImportOptions& opts) {
    auto ctx = cat("import ", q(file));
    auto held = HULL_TRY(store.lease());
    auto fd = HULL_TRY_CTX(fs::open(file, O_RDONLY), ctx);
    auto diff_id = HULL_TRY_CTX(uncompressed_digest(fd, opts.unpack.max_bytes), ctx);
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return fail(Error::sys("seek").context(ctx));
    auto layer = HULL_TRY_CTX(put_layer_file(store, fd), ctx);
    json config = {{"architecture", opts.platform.architecture},
                   {"os", opts.platform.os},
                   {"config", json::object()},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id.str()}}}},
                   {"history", {{{"created_by", "hull import"}, {"comment", "imported from a rootfs tarball"}}}}};
    if (!opts.platform.variant.empty()) config["variant"] = opts.platform.variant;
    auto cdesc = HULL_TRY_CTX(put_json_blob(store, oci::media::kOciConfig, config.dump()), ctx);
    auto mdesc = HULL_TRY_CTX(put_json_blob(store, oci::media::kOciManifest, manifest_json(cdesc, {layer})), ctx);
    std::string name;
    if (!opts.name.empty()) name = HULL_TRY_CTX(normalized_name(opts.name), ctx);
    return HULL_TRY_CTX(store.commit_image(name, mdesc.digest, std::nullopt, opts.unpack), ctx);
}

Result<ImageRecord> import_image(Store& store, const std::string& path, const ImportOptions& opts) {
    switch (HULL_TRY(detect_source(path))) {
    case SourceKind::oci_layout: return import_oci_layout(store, path, opts);
    case SourceKind::oci_archive: return import_oci_archive(store, path, opts);
    case SourceKind::docker_archive: return import_docker_archive(store, path, opts);
    case SourceKind::rootfs_tar: return import_rootfs_tar(store, path, opts);
    }
    return fail_msg("unreachable");
}

}  // namespace hull::images
