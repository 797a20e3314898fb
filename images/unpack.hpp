// Safe layer unpack: one tar layer (gzip, zstd or plain, told apart by magic) into a directory,
// every file operation relative to that directory's fd with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so no entry can reach outside it.
//
// OCI whiteouts become overlay ones: `.wh.NAME` -> NAME as a 0/0 character device,
// `.wh..wh..opq` -> trusted.overlay.opaque=y on its directory. Kept: regular files, dirs,
// symlinks (targets verbatim, never followed), hard links (to earlier entries of the same
// layer), devices and fifos, owners, modes including setuid/setgid/sticky, mtimes, xattrs.
// A path whited out and re-created in the same layer (`.wh.x` then `x`) is the new entry;
// re-created as a directory it is made opaque, so nothing of the lower `x` shows through.
//
// Directories the layer does not list but its entries need (and the root, when there is no
// `./` entry) are created 0755 root:root and reported in UnpackStats::implicit_dirs; once the
// layers below are unpacked, inherit_dir_metadata gives them the attributes the same path has
// in the merged lower layers, as umoci and containerd do, so an entry added to `/opt/x` does
// not reset `/opt`'s mode, owner or mtime.
//
// Refused, with the half-written tree left for the caller to remove:
//   - a `..` component that climbs above the layer root (absolute paths are made relative,
//     as umoci and containerd do, and inner `..` are resolved lexically when they stay inside)
//   - an entry whose path goes through a symlink written earlier in the layer
//   - a hard link to a path outside the layer, to a missing entry or to a directory
//   - devices when !allow_devices (whiteouts are always allowed)
//   - more than max_bytes of uncompressed tar or more than max_entries entries
//   - a duplicate entry that changes type (dir <-> non-dir), which would let a later entry
//     reinterpret an earlier path
//   - a whiteout with no name, of `.` or `..`, or a `.wh.` file with content rules broken
#pragma once

#include "oci-spec/image.hpp"

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hull::images {

struct UnpackOptions {
    bool allow_devices = true;      // char/block device entries other than whiteouts
    bool preserve_owners = true;    // fchownat to the tar's uid/gid (needs CAP_CHOWN)
    bool preserve_xattrs = true;    // SCHILY.xattr.* pax records (trusted.* needs root)
    uint64_t max_bytes = uint64_t(64) << 30;  // uncompressed tar stream
    uint64_t max_entries = 4'000'000;
    // When set, the uncompressed stream's sha256 must equal it (checked at the end of the
    // stream, before success is returned).
    std::optional<oci::Digest> expected_diff_id;
    // When set, the raw (possibly compressed) input's digest must equal it.
    std::optional<oci::Digest> expected_blob_digest;
};

struct UnpackStats {
    oci::Digest diff_id;        // sha256 of the uncompressed tar
    oci::Digest blob_digest;    // sha256 of the input as read
    uint64_t tar_bytes = 0;     // uncompressed tar size
    uint64_t entries = 0;
    // Directories created without an entry of their own, parents before children; "" is the
    // layer root.
    std::vector<std::string> implicit_dirs;
};

enum class Compression { none, gzip, zstd };

// Reads the whole of `archive` (from its current offset) and writes the layer into `dest`, an
// open directory (normally empty). On error the message names the entry:
//   layer entry `a/../../etc/passwd`: path escapes the layer root
Result<UnpackStats> unpack_layer(FdRef archive, FdRef dest, const UnpackOptions& opts = {});

// Gives each of `paths` (relative to `layer`, parents first, as implicit_dirs lists them) the
// mode, owner, times and xattrs that path has in the overlay merge of `lowers` (the layer
// directories below, top first), when it is a directory there; others keep what they have.
Status inherit_dir_metadata(FdRef layer, std::span<const std::string> paths, std::span<const std::string> lowers);

// Streams `archive` to its end and returns the sha256 of its uncompressed content (the
// diff_id) without unpacking; used to check a layer before trusting it.
Result<oci::Digest> uncompressed_digest(FdRef archive, uint64_t max_bytes = uint64_t(64) << 30);

// Sniffs the compression from the first bytes.
Compression detect_compression(std::span<const unsigned char> head);

}  // namespace hull::images
