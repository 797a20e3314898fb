// A client for the OCI Distribution API v2 (what docker.io, quay.io, ghcr.io and Debian's
// docker-registry serve), over libcurl.
//
// It resolves a reference to one platform's manifest and streams blobs into files or
// descriptors the caller provides, checking every byte against the descriptor's digest and
// size: nothing it hands back is unverified. Where the bytes go afterwards (the content store)
// is the caller's business.
//
// Linking: this is the hull_images_registry library, apart from hull_images, because libcurl
// cannot be linked statically from Debian's packages (libcurl.a needs libgssapi_krb5 and
// libkrb5, which Debian ships only as shared objects; LDAP pulls in GnuTLS and SASL besides).
// Linking it dynamically into `hull` would cost every `hull run` what it costs a trivial
// program: peak RSS 0.5 -> 7.4 MiB and about 3.4 ms more exec time, for 33 shared objects
// (measured on Debian 12). So the static `hull` stays free of it; pulls belong in a small
// dynamically linked helper that `hull pull` and `hull launch` execute when they need the
// network.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "images/auth.hpp"
#include "images/reference.hpp"
#include "oci-spec/image.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

// The manifest types the client asks for, best first, as one Accept header value: OCI index
// and manifest, Docker manifest list and schema 2 manifest.
std::string manifest_accept_header();

// A manifest larger than this is refused, as containerd and containers/image refuse them.
inline constexpr int64_t max_manifest_size = 4 << 20;

// What a fetched manifest is: the Content-Type when it names a known type, else the
// document's mediaType, else its shape (OCI allows omitting mediaType). Schema 1 and anything
// else is an error.
Result<std::string> manifest_media_type(std::string_view content_type, std::string_view body);

// The index entry for `want` (oci::select_manifest's rules); the error lists what the index
// offers.
Result<oci::Descriptor> choose_manifest(const oci::Index& index, const oci::Platform& want);

struct BlobProgress {
    std::string digest;
    int64_t done = 0;
    int64_t total = 0;
};

struct RegistryOptions {
    // Verify the server's certificate. Off also allows falling back to plain HTTP when the
    // server does not speak TLS (podman's --tls-verify=false).
    bool tls_verify = true;
    // Hosts (host[:port]) treated as if tls_verify were false: the insecure-registry setting.
    std::vector<std::string> insecure_registries;
    // A PEM file of extra CAs trusted for every host, on top of the system bundle.
    std::string ca_file;
    // Per-host CAs and client certificates as podman reads them: <dir>/<host[:port]>/*.crt are
    // CAs, client.cert + client.key a client certificate. Empty disables.
    std::string certs_dir = "/etc/containers/certs.d";
    // Credentials given explicitly win over the auth files.
    std::optional<Credentials> credentials;
    AuthFiles auth_files = AuthFiles::from_environment();
    // Attempts for one request that fails transiently (connection refused or reset, timeouts,
    // HTTP 408/429/5xx). Digest or size mismatches are never retried.
    int attempts = 3;
    // Blob downloads running at once in fetch_blobs.
    int parallel = 3;
    // Abort a transfer that moves less than one byte per second for this long.
    int stall_timeout_seconds = 30;
    // Called as bytes arrive, never concurrently; done == total once a blob is verified.
    std::function<void(const BlobProgress&)> progress;
};

struct ResolvedImage {
    Reference reference;
    std::optional<oci::Descriptor> index;  // when the reference named an index
    std::string index_bytes;               // verified against index->digest
    oci::Descriptor manifest;              // the chosen platform's manifest
    std::string manifest_bytes;            // verified against manifest.digest
    oci::Manifest parsed;                  // config and layers
};

struct BlobTarget {
    oci::Descriptor blob;
    std::string path;  // created with mode 0644 once the bytes are verified
};

class Registry {
public:
    // A client for the registry that serves `ref`'s domain. No network traffic yet.
    static Result<std::unique_ptr<Registry>> open(const Reference& ref, RegistryOptions options = {});
    ~Registry();

    // GET /v2/: checks the registry speaks the API, settles http vs https and learns the
    // authentication challenge.
    Status ping();

    // Fetches the manifest `ref` names; an index is narrowed to `platform`'s manifest.
    Result<ResolvedImage> resolve(const Reference& ref, const oci::Platform& platform = oci::host_platform());

    // Fetches a manifest or index by tag or digest, up to max_manifest_size bytes. Returns the
    // bytes and a descriptor whose digest is computed from them (and checked against the
    // digest asked for, or the Docker-Content-Digest header).
    Result<std::pair<oci::Descriptor, std::string>> fetch_manifest(std::string_view repository,
                                                                   std::string_view tag_or_digest);

    // Streams a blob into `out` from its current offset, verifying digest and size. On any
    // failure the bytes written are truncated away again (when `out` is seekable, which a retry
    // also needs).
    Status fetch_blob(std::string_view repository, const oci::Descriptor& blob, FdRef out);

    // Fetches blobs into files, `options.parallel` at a time. Each file appears at its path
    // only once verified (written under a temporary name beside it, fsynced, renamed); on
    // failure the other downloads stop and no target or temporary file is left, so the paths
    // must be the caller's own (not files someone else may already have put there).
    Status fetch_blobs(std::string_view repository, const std::vector<BlobTarget>& targets);

    struct Impl;

private:
    explicit Registry(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hull::images
