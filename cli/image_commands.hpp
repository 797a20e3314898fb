// The image commands' entries without their actions: names and help texts, in one place for
// the two binaries that list them. hull-image runs them (with_setup, in each command's file);
// the static `hull` does not link the image store and hands them to hull-image
// (in_image_helper, cli/image_delegates.cpp), but still lists them in `hull --help`.
#pragma once

#include "cli/command.hpp"

namespace hull::cli {

// The helper program that runs the image commands, and its $HULL_IMAGE_HELPER override
// (find_helper); installed in libexec/hull.
inline constexpr Helper kImageHelper{"hull-image", "HULL_IMAGE_HELPER"};

// An entry run by this binary.
constexpr Command with_setup(Command c, Action (*setup)(CLI::App&)) {
    c.setup = setup;
    return c;
}

// An entry hull-image runs; `failure_status` is hull's exit status when hull-image cannot be run.
constexpr Command in_image_helper(Command c, int failure_status = 1) {
    c.helper = &kImageHelper;
    c.helper_failure_status = failure_status;
    return c;
}

inline constexpr Command kImageEntry{
    "image",
    "manage images: inspect, prune, ls, rm, pull, import",
    "<subcommand> [command options] [arguments...]",
    "Subcommands:\n"
    "   inspect <image>...   the images' records and configs as JSON\n"
    "   prune                free blobs and layers no image or container uses\n"
    "   ls                   the same as `hull images`\n"
    "   rm <image>...        the same as `hull rmi`\n"
    "   pull <image>         the same as `hull pull`\n"
    "   import <file> [name] the same as `hull import`\n"
    "Every subcommand takes --store DIR (default: $HULL_STORE, else /var/lib/hull).",
    nullptr,
    ArgMode::stop_at_first_positional,
};

inline constexpr Command kImagesEntry{
    "images",
    "list the images in the image store",
    "[command options]",
    "Lists every image record: REPOSITORY, TAG, IMAGE ID (the config digest, as podman\n"
    "shows it), CREATED (from the image config) and SIZE (the unpacked layers).",
    nullptr,
};

inline constexpr Command kImportEntry{
    "import",
    "import an image from an OCI layout, an oci-archive, a docker-archive or a rootfs tarball",
    "[command options] <file|dir> [<name>]",
    "The kind is detected: a directory with an oci-layout file, a tar holding oci-layout\n"
    "(oci-archive) or manifest.json (docker save), else a tarball of a root filesystem (one\n"
    "layer). The image is recorded as <name>, else under the name the layout or archive gives,\n"
    "else its manifest digest. Every blob is verified. Prints the image ID.",
    nullptr,
};

inline constexpr Command kLaunchEntry{
    "launch",
    "run a container from an image",
    "[command options] IMAGE [COMMAND [ARG...]]",
    "Finds IMAGE in the image store (a short name like \"busybox\" is looked up as\n"
    "localhost/NAME, then docker.io/library/NAME, then as an image embedded in hull's\n"
    "installation), pulls it when it is not there, and runs COMMAND (default: the\n"
    "image's) in a new container. Its exit status is the container's (128+N when a\n"
    "signal N killed it); hull's own failures exit 125.\n\n"
    "The container's files live in <store>/containers/<id>/. A container named with\n"
    "--name keeps its changes there until `hull delete <id>`; any other gets a fresh\n"
    "writable layer in memory. Without --rm a stopped container stays for `hull delete`.",
    nullptr,
    ArgMode::stop_at_first_positional,
};

inline constexpr Command kPullEntry{
    "pull",
    "pull an image from a registry into the image store",
    "[command options] <image>",
    "Resolves <image> as podman does (\"busybox\" is docker.io/library/busybox:latest),\n"
    "picks the manifest for --platform (default: this host's) from a multi-platform image,\n"
    "and fetches and verifies every blob into the store, then unpacks the layers. Credentials\n"
    "come from --creds, --authfile, or podman's and docker's auth files. The image ID is\n"
    "printed on stdout; progress on stderr. Network access is done by the hull-fetch helper\n"
    "($HULL_FETCH, else beside hull, else ../libexec/hull/).",
    nullptr,
};

inline constexpr Command kRmiEntry{
    "rmi",
    "remove images from the image store",
    "[command options] <image>...",
    "Each <image> is a name (\"busybox\" means docker.io/library/busybox:latest) or an image\n"
    "ID (prefix). The records go first; then the store's garbage collection frees every blob\n"
    "and layer that no other image or container still uses. It waits for pulls and imports\n"
    "in progress.",
    nullptr,
};

}  // namespace hull::cli
