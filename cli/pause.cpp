// `hull pause <id>`: freezes every process in the container.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action pause_setup(CLI::App&) {
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        HULL_TRY(runtime::pause(ctx.globals, ctx.args[0]));
        return 0;
    };
}

}  // namespace

extern const Command pause_command{
    "pause",
    "pause suspends all processes inside the container",
    "<container-id>",
    "Where \"<container-id>\" is the name for the instance of the container to be\n"
    "paused.\n\n"
    "The pause command suspends all processes in the instance of the container.\n\n"
    "Use hull list to identify instances of containers and their current status.",
    pause_setup,
};

}  // namespace hull::cli
