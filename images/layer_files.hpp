// Reading a file of an image before any rootfs is assembled: through its unpacked layer
// directories, as overlayfs would merge them, without following anything out of a layer.
#pragma once

#include "common/result.hpp"

#include <sys/stat.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

// The content of `path` (absolute inside the image, e.g. "/etc/passwd") in the merged view of
// `layers` (layer directories, TOP first): the highest layer holding the path wins; an overlay
// whiteout (a 0/0 character device named like an entry) or an opaque directory
// (trusted.overlay.opaque=y) on the way hides lower layers; a file or symlink hides a
// directory of the same name below it.
//
// Symlinks are resolved inside the layer that holds them (openat2 with RESOLVE_IN_ROOT and
// RESOLVE_NO_MAGICLINKS beneath the layer directory), never out of it: a link whose target is
// missing there reads as an absent file.
//
// nullopt when the merged view has no such file. Errors: a layer that cannot be opened, an
// entry that is not a regular file (a directory, a device), content over `max_size` bytes.
Result<std::optional<std::string>> read_layer_file(const std::vector<std::string>& layers, std::string_view path,
                                                   size_t max_size);

// The status of `path` in the same merged view (symlinks followed inside their layer only):
// nullopt when absent or hidden. Any file type; used for the owner and mode of a VOLUME's
// directory in the image.
Result<std::optional<struct stat>> stat_layer_path(const std::vector<std::string>& layers, std::string_view path);

}  // namespace hull::images
