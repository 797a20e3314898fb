// The content store: blobs by digest, layers unpacked once by chain ID, image records by name.
//
// On disk, under the root (default /var/lib/hull):
//   blobs/sha256/<hex>            verified blobs, read-only (0444); written by BlobWriter only
//   layers/<chain-hex>/diff/      a layer's files with overlay whiteouts: an overlay lowerdir
//   layers/<chain-hex>/layer.json chain ID, diff ID, parent, short link, size
//   layers/.tmp-<chain-hex>       an unpack in progress (never trusted; removed on retry/gc)
//   l/<short> -> ../layers/<chain-hex>/diff
//                                 26-character names so overlay's page-sized option string
//                                 holds ~100 lowerdirs (more with paths relative to root/l)
//   images/<escaped-name>.json    one record per normalized name (percent-escaped)
//   pins/<escaped-owner>.json     chain IDs a container uses (so gc keeps them)
//   locks/                        flock files: `store` (shared by leases, exclusive by gc),
//                                 `index` (image records and pins), `blob-<hex>`, `layer-<hex>`
//   tmp/                          temp files on the store's filesystem
//
// A blob or a layer appears under its final name only once complete and verified: blobs are
// written to an unnamed O_TMPFILE (or tmp/ file), checked against digest and size, fsynced and
// linked in; layers are unpacked into layers/.tmp-<hex>, synced and renamed into place, so the
// rename is the commit marker and a killed unpack leaves only a .tmp that the next attempt on
// that layer (or gc) removes.
//
// Concurrency: any number of processes may pull, import, launch and rmi at once. Writers of the
// same blob or layer serialize on its lock and the second finds it present. gc() holds the store
// lock exclusively, so it waits for every Lease: hold a Lease from the first blob written until
// the image record (or the container's pin) is committed.
//
// Typical pull (the registry client):
//   auto lease = HULL_TRY(store.lease());
//   for each blob: auto w = HULL_TRY(store.begin_blob(desc.digest, desc.size));
//                  if (!w.present()) { while (...) HULL_TRY(w.write(chunk)); HULL_TRY(w.commit()); }
//   HULL_TRY(store.commit_image(name, manifest_digest, index_digest));  // unpacks + records
#pragma once

#include "images/store_layout.hpp"  // Lease, escape_name, pins
#include "images/unpack.hpp"
#include "oci-spec/image.hpp"

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

class Sha256;  // images/digest.hpp

inline constexpr const char* kDefaultStoreRoot = "/var/lib/hull";

// One layer of an image, bottom first.
struct LayerRecord {
    oci::Descriptor blob;  // the (compressed) layer blob as the manifest gives it
    oci::Digest diff_id;   // sha256 of the uncompressed tar, from the config
    oci::Digest chain_id;  // names the unpacked directory
};

struct ImageRecord {
    std::string name;                    // normalized: docker.io/library/busybox:latest
    oci::Digest manifest_digest;         // the platform manifest
    std::optional<oci::Digest> index_digest;  // the index it was selected from, if any
    oci::Digest config_digest;
    std::vector<LayerRecord> layers;
    int64_t size = 0;                    // manifest + config + layer blobs, in bytes
    std::string created;                 // when the record was written, RFC 3339 UTC
};

struct LayerInfo {
    oci::Digest chain_id;
    oci::Digest diff_id;
    std::optional<oci::Digest> parent;  // the chain ID below, absent for the bottom layer
    std::string path;                   // <root>/layers/<hex>/diff
    std::string link;                   // the short name: lowerdir "<root>/l/<link>"
    uint64_t size = 0;                  // uncompressed tar bytes
};

struct GcStats {
    uint64_t blobs_removed = 0;
    uint64_t layers_removed = 0;
    uint64_t bytes_freed = 0;  // st_blocks-based, files only
};

// Streams one blob into the store. Destroying an uncommitted writer leaves nothing behind.
class BlobWriter {
public:
    BlobWriter(BlobWriter&&) noexcept;
    BlobWriter& operator=(BlobWriter&&) noexcept;
    ~BlobWriter();

    // The blob was already in the store (another process finished it while we waited for its
    // lock): skip the download; write() refuses and commit() is a no-op.
    bool present() const;
    // Appends; fails once more than the expected size has been written.
    Status write(std::span<const std::byte> data);
    Status write(std::string_view data);
    uint64_t written() const;
    // Checks size and digest, fsyncs, and makes the blob visible under blobs/<alg>/<hex>.
    // On mismatch: "blob sha256:...: digest mismatch: got sha256:..." and nothing is kept.
    Status commit();

private:
    friend class Store;
    struct State;
    explicit BlobWriter(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
};

class Store {
public:
    // Opens (creating when missing) a store rooted at `root`, an absolute path.
    static Result<Store> open(const std::string& root);
    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    ~Store();

    const std::string& root() const;

    // A shared hold on the store that keeps gc() away; take one for the whole of a pull,
    // import or container setup.
    Result<Lease> lease() const;

    // --- blobs ---------------------------------------------------------------------------
    bool has_blob(const oci::Digest& d) const;
    std::string blob_path(const oci::Digest& d) const;
    Result<UniqueFd> open_blob(const oci::Digest& d) const;
    // Reads a whole (small, JSON) blob, refusing one larger than max_bytes.
    Result<std::string> read_blob(const oci::Digest& d, uint64_t max_bytes = 4 << 20) const;
    // `size` < 0: not known in advance (checked against the digest only).
    Result<BlobWriter> begin_blob(const oci::Digest& digest, int64_t size);
    // Convenience over begin_blob for data in memory / an open file (read to its end).
    Status put_blob(const oci::Digest& digest, int64_t size, std::string_view data);
    Status put_blob_fd(const oci::Digest& digest, int64_t size, FdRef fd);

    // --- layers --------------------------------------------------------------------------
    std::optional<LayerInfo> layer(const oci::Digest& chain_id) const;
    // Unpacks a layer blob already in the store (verifying its uncompressed stream against
    // diff_id on the way) into layers/<chain-hex>, unless that layer exists. parent is the
    // chain ID below (nullopt for the bottom layer) and must be unpacked already: directories
    // the layer needs but does not list take their attributes from the layers below.
    Result<LayerInfo> unpack_layer(const oci::Digest& blob, const oci::Digest& diff_id,
                                   const std::optional<oci::Digest>& parent, const UnpackOptions& opts = {});
    // Unpacks the missing layers of one image, bottom first in `layers`, several at once
    // (see commit_image); on failure the layers below the failed one stay (complete), the
    // others are not published and leave no temp dir.
    Result<std::vector<LayerInfo>> unpack_layers(std::span<const LayerRecord> layers, const UnpackOptions& opts = {});

    // --- images --------------------------------------------------------------------------
    // Reads the manifest and its config from the store (both must be present, as must every
    // layer blob), checks layer count against diff_ids, unpacks missing layers and writes the
    // record under `name` (replacing an older record of that name). An empty name records the
    // image under its manifest digest ("@sha256:<hex>").
    //
    // Layers unpack in parallel (up to 4 threads), each into its own layers/.tmp-<hex> under
    // its own lock; they are published (synced, renamed into place) bottom up, a layer never
    // before the one below it, runs of ready layers under one syncfs, so the commit protocol
    // above holds for every layer.
    Result<ImageRecord> commit_image(std::string_view name, const oci::Digest& manifest_digest,
                                     const std::optional<oci::Digest>& index_digest = std::nullopt,
                                     const UnpackOptions& opts = {});
    // By normalized name, "@sha256:<hex>" or a unique manifest-digest prefix of >= 12 hex.
    Result<ImageRecord> find_image(std::string_view name_or_digest) const;
    Result<std::vector<ImageRecord>> list_images() const;
    // Drops the record; storage is freed by the next gc().
    Status remove_image(std::string_view name);
    // The overlay lowerdirs of an image, top layer first (as overlay wants them).
    Result<std::vector<std::string>> lower_dirs(const ImageRecord& img) const;

    // --- containers and gc ---------------------------------------------------------------
    // Records that `owner` (a container id) uses these layers; replaces an older pin of owner.
    Status pin(std::string_view owner, std::span<const oci::Digest> chain_ids);
    Status unpin(std::string_view owner);
    // Mark and sweep: keeps what image records and pins reach, removes every other blob,
    // layer, link, stale .tmp and temp file. Waits for all leases.
    Result<GcStats> gc();

private:
    struct Impl;
    struct PendingLayer;
    explicit Store(std::unique_ptr<Impl> impl);
    Result<PendingLayer> prepare_layer(const oci::Digest& blob, const oci::Digest& diff_id,
                                       const std::optional<oci::Digest>& parent, const UnpackOptions& opts);
    // Completes a pending layer's implied directories from `lowers` (top first), writes its
    // layer.json and short link.
    Status finish_layer(PendingLayer& p, std::span<const std::string> lowers);
    // One syncfs, then each layer renamed into place, bottom first.
    Status commit_layers(std::span<PendingLayer* const> batch);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hull::images
