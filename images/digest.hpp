// Streaming sha256/sha512 (OpenSSL EVP) and digest helpers over oci::Digest.
#pragma once

#include "oci-spec/image.hpp"

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace hull::images {

class Hasher {
public:
    explicit Hasher(oci::Digest::Algorithm alg = oci::Digest::Algorithm::sha256);
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;
    ~Hasher();
    void update(const void* data, size_t n);
    void update(std::string_view s) { update(s.data(), s.size()); }
    // Finishes; the hasher is spent afterwards.
    oci::Digest finish();

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

oci::Digest digest_of(std::string_view data, oci::Digest::Algorithm alg = oci::Digest::Algorithm::sha256);
// Reads `fd` from its current offset to its end; `size` receives the byte count.
Result<oci::Digest> digest_fd(FdRef fd, oci::Digest::Algorithm alg, uint64_t* size = nullptr);

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::vector<oci::Digest> chain_ids(std::span<const oci::Digest> diff_ids);

}  // namespace hull::images
