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
};

// Parses and normalizes; a missing tag (and digest) becomes "latest". Errors:
//   invalid reference `Foo`: repository name must be lowercase
Result<Reference> parse_reference(std::string_view s);

}  // namespace hull::images
