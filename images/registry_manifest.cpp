// The parts of the registry client that need no network: what to ask for, what came back,
// which index entry to take.
#include "common/strings.hpp"
#include "images/registry.hpp"

#include <nlohmann/json.hpp>

namespace hull::images {

std::string manifest_accept_header() {
    return cat(oci::media::kOciIndex, ", ", oci::media::kOciManifest, ", ", oci::media::kDockerManifestList, ", ",
               oci::media::kDockerManifest);
}

Result<std::string> manifest_media_type(std::string_view content_type, std::string_view body) {
    std::string ct(content_type.substr(0, content_type.find(';')));
    while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.pop_back();
    for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto known = [](std::string_view t) { return oci::is_index_media_type(t) || oci::is_manifest_media_type(t); };
    if (known(ct)) return ct;

    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object()) return fail_msg("manifest is not a JSON object");
    std::string declared;
    if (auto mt = doc.find("mediaType"); mt != doc.end() && mt->is_string()) declared = mt->get<std::string>();
    if (known(declared)) return declared;
    if (auto v = doc.find("schemaVersion"); v != doc.end() && v->is_number_integer() && v->get<int>() == 1)
        return fail_msg("docker schema 1 manifests are not supported");
    // Servers that answer with a generic type (application/json, octet-stream) and documents
    // that omit mediaType, as OCI allows: go by the shape.
    if (declared.empty()) {
        if (doc.contains("manifests")) return std::string(oci::media::kOciIndex);
        if (doc.contains("config") && doc.contains("layers")) return std::string(oci::media::kOciManifest);
    }
    std::string what = declared.empty() ? ct : declared;
    return fail_msg(cat("unsupported manifest type `", what, "` (hull reads OCI and Docker schema 2 manifests)"));
}

Result<oci::Descriptor> choose_manifest(const oci::Index& index, const oci::Platform& want) {
    // select_manifest prefers an exact variant match; spell the wanted one out so a bare
    // "linux/arm" prefers a v7 image (its default) over an older compatible one listed first.
    oci::Platform w = oci::normalize_platform(want);
    if (w.architecture == "arm" && w.variant.empty()) w.variant = "v7";
    if (auto d = oci::select_manifest(index, w)) return *d;
    std::vector<std::string> offered;
    for (const auto& d : index.manifests) {
        // Attestations ride in indexes as unknown/unknown; they are not images.
        if (d.platform && d.platform->architecture != "unknown") offered.push_back(oci::platform_string(*d.platform));
    }
    return fail_msg(cat("no image for platform `", oci::platform_string(want), "` (the index has ",
                        offered.empty() ? std::string("none") : join(offered, ", "), ")"));
}

}  // namespace hull::images
