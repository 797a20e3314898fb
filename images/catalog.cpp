#include "images/catalog.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <nlohmann/json.hpp>

#include <dirent.h>

#include <algorithm>
#include <set>

namespace hull::images {

Result<std::vector<ImageRecord>> lookup_images(const Store& store, std::string_view token) {
    if (token.empty()) return fail_msg("empty image name");
    auto by_name = store.find_image(token);
    if (by_name) return std::vector<ImageRecord>{std::move(*by_name)};

    std::string_view hex = token;
    if (hex.starts_with("sha256:")) hex.remove_prefix(7);
    if (hex.size() >= 4 && hex.size() <= 64 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos) {
        std::vector<ImageRecord> found;
        std::set<std::string> ids;
        for (auto& r : HULL_TRY(store.list_images())) {
            if (!r.config_digest.hex.starts_with(hex)) continue;
            ids.insert(r.config_digest.hex);
            found.push_back(std::move(r));
        }
        if (ids.size() > 1) return fail_msg(cat("image ID prefix `", token, "` matches ", ids.size(), " images"));
        if (!found.empty()) return found;
    }
    // find_image's own words: "not found", "ambiguous", or why the name is not a reference.
    return fail(std::move(by_name.error()));
}

Result<std::vector<std::string>> image_users(const Store& store, const ImageRecord& rec) {
    std::vector<std::string> users;
    if (rec.layers.empty()) return users;
    const std::string top = rec.layers.back().chain_id.str();
    const std::string dir = fs::join(store.root(), "pins");
    DIR* d = ::opendir(dir.c_str());
    if (!d) return fail_sys(cat("open `", dir, "`"));
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).ends_with(".json")) names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) {
        const std::string p = fs::join(dir, n);
        auto text = fs::read_file(p);
        if (!text) {
            if (text.error().code() == ENOENT) continue;  // unpinned meanwhile
            return fail(std::move(text.error()));
        }
        auto j = nlohmann::json::parse(*text, nullptr, false);
        // An unreadable pin might be anyone's: say so rather than guess (gc refuses it too).
        if (j.is_discarded() || !j.is_object() || !j.contains("layers") || !j["layers"].is_array())
            return fail_msg(cat("pin `", p, "` is unreadable; fix or remove it"));
        for (const auto& c : j["layers"]) {
            if (c.is_string() && c.get<std::string>() == top) {
                std::string owner = j.contains("owner") && j["owner"].is_string() ? j["owner"].get<std::string>()
                                                                                 : HULL_TRY(unescape_name(n.substr(0, n.size() - 5)));
                users.push_back(std::move(owner));
                break;
            }
        }
    }
    std::sort(users.begin(), users.end());
    return users;
}

int64_t unpacked_size(const Store& store, const ImageRecord& rec) {
    int64_t total = 0;
    for (const auto& l : rec.layers) {
        auto info = store.layer(l.chain_id);
        total += info ? static_cast<int64_t>(info->size) : l.blob.size;
    }
    return total;
}

}  // namespace hull::images
