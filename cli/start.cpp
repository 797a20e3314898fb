// `hull start <id>`: runs the user process of a created container.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action start_setup(CLI::App&) {
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        HULL_TRY(runtime::start(ctx.globals, ctx.args[0]));
        return 0;
    };
}

}  // namespace

extern const Command start_command{
    "start",
    "executes the user defined process in a created container",
    "<container-id>",
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.\n\n"
    "The start command executes the user defined process in a created container.",
    start_setup,
};

}  // namespace hull::cli
