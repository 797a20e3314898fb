// `hull resume <id>`: thaws a paused container.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action resume_setup(CLI::App&) {
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        HULL_TRY(runtime::resume(ctx.globals, ctx.args[0]));
        return 0;
    };
}

}  // namespace

extern const Command resume_command{
    "resume",
    "resumes all processes that have been previously paused",
    "<container-id>",
    "Where \"<container-id>\" is the name for the instance of the container to be\n"
    "resumed.\n\n"
    "The resume command resumes all processes in the instance of the container.\n\n"
    "Use hull list to identify instances of containers and their current status.",
    resume_setup,
};

}  // namespace hull::cli
