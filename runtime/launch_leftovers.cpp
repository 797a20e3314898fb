// What deleting a container `hull launch` made removes beyond the runtime's own state: its
// layers' pin and its bundle under the image store. Apart from launch.cpp because every
// runtime command can delete such a container (`hull delete`, `hull run --rm`), and this needs
// only images/store_layout.hpp, not the image store behind `hull launch` (libarchive, OpenSSL),
// which stays out of the static `hull` (cli/CMakeLists.txt).
#include "runtime/launch.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "images/store_layout.hpp"

namespace hull::runtime {

Status remove_launch_leftovers(const std::string& id, const std::string& bundle, const nlohmann::json& config) {
    if (!config.is_object() || !config.contains("annotations") || !config["annotations"].is_object()) return {};
    const nlohmann::json& ann = config["annotations"];
    if (!ann.contains(kAnnotationLaunchStore) || !ann[kAnnotationLaunchStore].is_string()) return {};
    const std::string root = ann[kAnnotationLaunchStore].get<std::string>();
    // Only the directory launch() made, in a store that is there: a config.json written by
    // hand with this annotation can name nothing else.
    HULL_TRY(validate_id(id));
    if (root.empty() || root[0] != '/' || fs::clean(root) != root) return {};
    if (bundle != cat(root, "/containers/", id)) return {};
    if (!fs::exists(cat(root, "/pins")) || !fs::exists(bundle)) return {};
    HULL_TRY_CTX(images::unpin(root, id), cat("container ", q(id)));
    HULL_TRY_CTX(fs::remove_tree(bundle), cat("container ", q(id)));
    return {};
}

}  // namespace hull::runtime
