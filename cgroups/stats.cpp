#include "cgroups/stats.hpp"

namespace hull::cgroups {

// Placeholder: the real encoding lands with the stats work (issue 3).
nlohmann::json to_runc_json(const Stats&) { return nlohmann::json::object(); }

}  // namespace hull::cgroups
