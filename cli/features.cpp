// `hull features`: the runtime-spec features document, indented as runc prints it.
#include "cli/command.hpp"
#include "cli/format.hpp"

namespace hull::cli {
namespace {

Action features_setup(CLI::App&) {
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 0, ArgCheck::exact));
        // runc: json.Encoder with SetIndent("", "    "), which ends with a newline.
        write_stdout(go_json(oci::features(), 4) + "\n");
        return 0;
    };
}

}  // namespace

extern const Command features_command{
    "features",
    "show the enabled features",
    "[arguments...]",
    "Show the enabled features.\n"
    "The result is parsable as a JSON.\n"
    "See https://github.com/opencontainers/runtime-spec/blob/main/features.md for the format.",
    features_setup,
};

}  // namespace hull::cli
