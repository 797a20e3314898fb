// `hull kill <id> [signal]`: signals the container's init process, or with --all every process
// in its cgroup.
#include "cli/command.hpp"

#include <memory>

namespace hull::cli {
namespace {

Action kill_setup(CLI::App& app) {
    auto all = std::make_shared<bool>(false);
    app.add_flag("-a,--all", *all, "send the specified signal to all processes inside the container");
    return [all](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        HULL_TRY(check_args(ctx, 2, ArgCheck::max));
        const int sig = HULL_TRY(runtime::parse_signal(ctx.args.size() > 1 ? ctx.args[1] : "SIGTERM"));
        HULL_TRY(runtime::kill(ctx.globals, ctx.args[0], sig, *all));
        return 0;
    };
}

}  // namespace

extern const Command kill_command{
    "kill",
    "kill sends the specified signal (default: SIGTERM) to the container's init process",
    "[command options] <container-id> [signal]",
    "Where \"<container-id>\" is the name for the instance of the container and\n"
    "\"[signal]\" is the signal to be sent to the init process.\n\n"
    "EXAMPLE:\n"
    "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
    "signal to the init process of the \"ubuntu01\" container:\n\n"
    "       # hull kill ubuntu01 KILL",
    kill_setup,
};

}  // namespace hull::cli
