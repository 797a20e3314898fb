// Image references as users type them, normalized the way docker and podman do:
//   busybox              -> docker.io/library/busybox:latest
//   quay.io/a/b@sha256:… -> quay.io/a/b@sha256:…
//   localhost:5000/x:1   -> localhost:5000/x:1
#pragma once

#include "oci-spec/image.hpp"

#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace hull::images {

struct Reference {
    std::string domain;      // "docker.io", "localhost:5000"
    std::string repository;  // "library/busybox"
    std::string tag;         // empty when only a digest was given
    std::optional<oci::Digest> digest;

    // domain/repository[:tag][@digest]; the store's record name.
    std::string str() const;
    // domain/repository, what registry URLs are built from.
    std::string name() const { return domain + "/" + repository; }
    // What the registry's manifest endpoint takes: the digest when pinned, else the tag.
    std::string manifest_ref() const { return digest ? digest->str() : tag; }
    // The host[:port] serving the Distribution API: docker.io's is registry-1.docker.io,
    // every other domain serves itself.
    std::string api_host() const { return domain == "docker.io" ? "registry-1.docker.io" : domain; }
};

// Parses and normalizes, following docker/distribution's grammar: the first component is a
// registry host when it contains `.` or `:` or is `localhost`, otherwise the image is on
// docker.io, where one-component names live under `library/`. A missing tag (and digest)
// becomes "latest"; a reference may carry both tag and digest, and then the digest decides
// what is pulled. Errors say which part is wrong:
//   invalid reference `Foo`: repository name must be lowercase
Result<Reference> parse_reference(std::string_view s);

}  // namespace hull::images
