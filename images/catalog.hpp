// What the image commands need beyond the store's own API: finding images by what users type
// (a name, or a prefix of the image ID that `hull images` shows), and which containers use one.
#pragma once

#include "images/store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

// The image ID users see, as podman has it: the hex of the config digest.
inline std::string image_id(const ImageRecord& r) { return r.config_digest.hex; }

// The records `token` names: a name (normalized as a reference, "busybox" finds
// docker.io/library/busybox:latest), "@sha256:<manifest>" or a manifest-digest prefix, or an
// image ID (config digest, "sha256:" optional) or a prefix of it of at least 4 hex digits,
// which names every record of that image. Errors: not found, or a prefix of several images.
Result<std::vector<ImageRecord>> lookup_images(const Store& store, std::string_view token);

// The owners (container ids) whose store pins hold `rec`'s top layer, sorted.
Result<std::vector<std::string>> image_users(const Store& store, const ImageRecord& rec);

// Uncompressed size of the image's layers as unpacked (podman's SIZE); falls back to the
// record's blob size for a layer that is not unpacked.
int64_t unpacked_size(const Store& store, const ImageRecord& rec);

}  // namespace hull::images
