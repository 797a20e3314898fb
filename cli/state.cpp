// `hull state <id>`: the container's state as runc prints it (indented JSON, no newline).
#include "cli/command.hpp"
#include "cli/format.hpp"

namespace hull::cli {
namespace {

Action state_setup(CLI::App&) {
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        runtime::ContainerInfo info = HULL_TRY(runtime::state(ctx.globals, ctx.args[0]));
        write_stdout(state_output(info));
        return 0;
    };
}

}  // namespace

extern const Command state_command{
    "state",
    "output the state of a container",
    "<container-id>",
    "Where \"<container-id>\" is your name for the instance of the container.\n\n"
    "The state command outputs current state information for the\n"
    "instance of a container.",
    state_setup,
};

}  // namespace hull::cli
