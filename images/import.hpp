// Importing images from files: an OCI layout directory, an oci-archive (a tar of a layout), a
// docker-archive (what `docker save` / `podman save` write: manifest.json + layer tars) and a
// plain rootfs tarball (one layer; config and manifest are synthesized). Every blob is copied
// into the store through BlobWriter, so it is checked against its digest and size before any
// use, and archives are extracted with the same safe unpacker as layers (into the store's tmp/,
// removed afterwards).
#pragma once

#include "images/store.hpp"

#include "oci-spec/image.hpp"

#include <string>

namespace hull::images {

enum class SourceKind { oci_layout, oci_archive, docker_archive, rootfs_tar };

struct ImportOptions {
    // The name to record the image under; parsed and normalized as a reference ("busybox" ->
    // docker.io/library/busybox:latest). Empty: the layout's org.opencontainers.image.ref.name
    // annotation or the docker-archive's first RepoTag, else the manifest digest.
    std::string name;
    // Which image of a layout/archive holding several: matched against the ref.name
    // annotation (a tag like "latest" or a full name) or RepoTags. Empty: the only one, or the
    // one for `platform`.
    std::string select;
    oci::Platform platform = oci::host_platform();
    UnpackOptions unpack;
};

// Tells the kinds apart: a directory with an `oci-layout` file, or a tar holding `oci-layout`
// (oci-archive) or `manifest.json` (docker-archive), else a rootfs tarball.
Result<SourceKind> detect_source(const std::string& path);

Result<ImageRecord> import_oci_layout(Store& store, const std::string& dir, const ImportOptions& opts = {});
Result<ImageRecord> import_oci_archive(Store& store, const std::string& file, const ImportOptions& opts = {});
Result<ImageRecord> import_docker_archive(Store& store, const std::string& file, const ImportOptions& opts = {});
Result<ImageRecord> import_rootfs_tar(Store& store, const std::string& file, const ImportOptions& opts = {});
// detect_source, then the matching import.
Result<ImageRecord> import_image(Store& store, const std::string& path, const ImportOptions& opts = {});

}  // namespace hull::images
