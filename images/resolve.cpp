#include "images/resolve.hpp"

#include "images/import.hpp"
#include "common/install_paths.hpp"
#include "images/reference.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <unistd.h>

namespace hull::images {

namespace {

// The reference names its registry: docker/distribution's rule, on the text as typed.
bool names_registry(std::string_view ref) {
    auto slash = ref.find('/');
    if (slash == std::string_view::npos) return false;
    std::string_view first = ref.substr(0, slash);
    return first.find_first_of(".:") != std::string_view::npos || first == "localhost";
}

// The hex of an image ID as users type it ("1a2b3c4d5e6f", "sha256:…", "@sha256:…"), or empty.
std::string_view id_hex(std::string_view ref) {
    std::string_view hex = ref;
    if (hex.starts_with("@")) hex.remove_prefix(1);
    if (hex.starts_with("sha256:")) hex.remove_prefix(7);
    if (hex.size() < 12 || hex.size() > 64 || hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
        return {};
    return hex;
}

}  // namespace

std::vector<std::string> embedded_image_dirs() {
    std::vector<std::string> dirs;
    if (auto bin = hull_bin_dir("find embedded images")) dirs.push_back(fs::clean(fs::join(*bin, "../share/hull/images")));
    for (const char* d : {"/usr/local/share/hull/images", "/usr/share/hull/images"})
        if (dirs.empty() || dirs.front() != d) dirs.emplace_back(d);
    return dirs;
}

std::optional<std::string> find_embedded_image(std::string_view name) {
    // Only a plain repository component ever becomes a file name.
    if (name.empty() || name.find_first_of("/\\") != std::string_view::npos || name.starts_with(".")) return std::nullopt;
    for (const auto& dir : embedded_image_dirs()) {
        std::string file = fs::join(dir, cat(name, ".oci.tar"));
        if (::access(file.c_str(), R_OK) == 0) return file;
    }
    return std::nullopt;
}

Result<std::optional<ImageRecord>> find_local_image(Store& store, std::string_view ref) {
    const std::string_view hex = id_hex(ref);
    auto parsed = parse_reference(ref);
    if (!parsed && hex.empty()) return fail(std::move(parsed.error()));

    auto images = HULL_TRY(store.list_images());
    auto named = [&](const std::string& name) -> const ImageRecord* {
        for (const auto& r : images)
            if (r.name == name) return &r;
        return nullptr;
    };

    const bool short_name = !names_registry(ref);
    std::string local_repo;
    if (parsed) {
        local_repo = parsed->repository;
        if (short_name && local_repo.starts_with("library/")) local_repo.erase(0, 8);
        if (short_name) {
            Reference local = *parsed;
            local.domain = "localhost";
            local.repository = local_repo;
            if (const ImageRecord* r = named(local.str())) return *r;
        }
        if (const ImageRecord* r = named(parsed->str())) return *r;
    }

    if (!hex.empty()) {
        const ImageRecord* found = nullptr;
        for (const auto& r : images) {
            if (!r.manifest_digest.hex.starts_with(hex)) continue;
            if (found && found->manifest_digest != r.manifest_digest)
                return fail_msg(cat("image ID ", q(ref), " is ambiguous"));
            if (!found) found = &r;
        }
        if (found) return *found;
    }

    if (parsed && (short_name || parsed->domain == "localhost") && local_repo.find('/') == std::string::npos &&
        parsed->tag == "latest" && !parsed->digest) {
        if (auto file = find_embedded_image(local_repo)) {
            ImportOptions opts;
            opts.name = cat("localhost/", local_repo, ":latest");
            return HULL_TRY_CTX(import_image(store, *file, opts), cat("embedded image ", q(local_repo)));
        }
    }
    return std::nullopt;
}

Result<ImageRecord> find_or_import_local(Store& store, std::string_view ref) {
    auto found = HULL_TRY(find_local_image(store, ref));
    if (!found) return fail_msg(cat("image ", q(ref), " not found locally"));
    return std::move(*found);
}

}  // namespace hull::images
