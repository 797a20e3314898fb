#include "images/digest.hpp"

#include <openssl/evp.h>

#include <unistd.h>

#include <cerrno>

namespace hull::images {

struct Hasher::Ctx {
    EVP_MD_CTX* md = nullptr;
    oci::Digest::Algorithm alg;
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(oci::Digest::Algorithm alg) : ctx_(std::make_unique<Ctx>()) {
    ctx_->alg = alg;
    ctx_->md = EVP_MD_CTX_new();
    // Allocation failure of a few hundred bytes is not recoverable here; OpenSSL's digest
    // init cannot otherwise fail for these built-in algorithms.
    if (!ctx_->md) std::abort();
    EVP_DigestInit_ex(ctx_->md, alg == oci::Digest::Algorithm::sha512 ? EVP_sha512() : EVP_sha256(), nullptr);
}

Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::update(const void* data, size_t n) { EVP_DigestUpdate(ctx_->md, data, n); }

oci::Digest Hasher::finish() {
    static constexpr char kHex[] = "0123456789abcdef";
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_->md, out, &len);
    oci::Digest d;
    d.algorithm = ctx_->alg;
    d.hex.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
        d.hex.push_back(kHex[out[i] >> 4]);
        d.hex.push_back(kHex[out[i] & 15]);
    }
    return d;
}

oci::Digest digest_of(std::string_view data, oci::Digest::Algorithm alg) {
    Hasher h(alg);
    h.update(data);
    return h.finish();
}

Result<oci::Digest> digest_fd(FdRef fd, oci::Digest::Algorithm alg, uint64_t* size) {
    Hasher h(alg);
    uint64_t total = 0;
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys("read");
        }
        if (n == 0) break;
        h.update(buf.data(), static_cast<size_t>(n));
        total += static_cast<uint64_t>(n);
    }
    if (size) *size = total;
    return h.finish();
}

std::vector<oci::Digest> chain_ids(std::span<const oci::Digest> diff_ids) {
    std::vector<oci::Digest> out;
    out.reserve(diff_ids.size());
    for (const auto& d : diff_ids) {
        if (out.empty())
            out.push_back(d);
        else
            out.push_back(digest_of(out.back().str() + " " + d.str()));
    }
    return out;
}

}  // namespace hull::images
