// Which stored image a name a user typed means, without the network: `hull launch busybox` and
// the image commands find images the way podman does for short names, plus the images embedded
// in hull's installation (images/embedded/), so a fresh machine can run `busybox` offline.
//
// A reference is looked up, in this order:
//   1. for a short name (no registry given): `localhost/NAME:TAG` in the store;
//   2. the normalized name (`docker.io/library/NAME:TAG`, or as given with a registry), or an
//      image ID (a manifest digest or a unique prefix of >= 12 hex digits);
//   3. for a short name or a `localhost/` one with the tag `latest`: an embedded image file
//      `NAME.oci.tar`, imported once into the store as `localhost/NAME:latest`.
// Only `hull launch` goes on to pull from a registry when none of these match.
#pragma once

#include "images/store.hpp"

#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

// Where embedded images are looked for, in order: <hull_bin_dir()>/../share/hull/images
// (a build tree or an installation prefix: common/install_paths.hpp), /usr/local/share/hull/images, /usr/share/hull/images.
std::vector<std::string> embedded_image_dirs();

// The embedded image file for `name` (a one-component repository like "busybox"), if one exists.
std::optional<std::string> find_embedded_image(std::string_view name);

// Steps 1-3 above. nullopt when nothing local matches; an error for a malformed reference, an
// ambiguous image ID, or a store or import failure.
Result<std::optional<ImageRecord>> find_local_image(Store& store, std::string_view ref);

// As find_local_image, with "image `REF` not found locally" as the error when nothing matches.
Result<ImageRecord> find_or_import_local(Store& store, std::string_view ref);

}  // namespace hull::images
