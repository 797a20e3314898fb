#include "runtime/vm/config.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
// The oci-spec JSON cursor: the same type checks and JSON-path messages as config.json errors,
// for hull's own JSON file.
#include "oci-spec/json_node.hpp"
#include "runtime/vm/vm.hpp"

#include <cstdlib>

namespace hull::vm {
namespace {

using oci::detail::Node;

Result<std::string> absolute_path(const Node& n) {
    std::string s = HULL_TRY(n.string());
    if (s.empty()) return n.fail("must not be empty");
    if (s[0] != '/') return n.fail(cat("must be an absolute path, got ", oci::detail::show(s)));
    return s;
}

Result<HostKernelConfig> parse_vm(const Node& n) {
    HULL_TRY(n.expect_object());
    for (const auto& [key, value] : n.value().items()) {
        (void)value;
        if (key != "kernel" && key != "modules" && key != "memory" && key != "cpus")
            return n[key].fail("unknown key (want `kernel`, `modules`, `memory` or `cpus`)");
    }
    HostKernelConfig c;
    if (!n["kernel"]) return n["kernel"].fail("is required");
    c.kernel = HULL_TRY(absolute_path(n["kernel"]));
    if (n["modules"]) c.modules = HULL_TRY(absolute_path(n["modules"]));
    if (Node m = n["memory"]) {
        std::string s = HULL_TRY(m.string());
        auto bytes = parse_memory_size(s);
        if (!bytes) return m.fail(bytes.error().what());
        if (*bytes < kMinMemory) return m.fail(cat("must be at least ", kMinMemory >> 20, " MiB, got ", oci::detail::show(s)));
        c.memory = *bytes;
    }
    if (Node cpus = n["cpus"]) c.cpus = HULL_TRY(cpus.integer<unsigned>(1, kMaxCpus));
    return c;
}

}  // namespace

std::string config_path() {
    const char* env = std::getenv("HULL_CONFIG");
    return env && *env ? std::string(env) : std::string(kDefaultConfigPath);
}

Result<HullConfig> parse_hull_config(std::string_view text, std::string_view doc) {
    std::string name(doc);
    auto j = HULL_TRY(oci::detail::parse_document(name.c_str(), text));
    Node root(name.c_str(), &j);
    HULL_TRY(root.expect_object());
    HullConfig c;
    if (Node vm = root["vm"]) c.vm = HULL_TRY(parse_vm(vm));
    return c;
}

Result<std::optional<HullConfig>> load_hull_config() {
    std::string path = config_path();
    auto text = fs::read_file(path);
    if (!text) {
        if (text.error().code() == ENOENT) return std::optional<HullConfig>();
        return fail(std::move(text.error()));
    }
    return HULL_TRY(parse_hull_config(*text, q(path)));
}

}  // namespace hull::vm
