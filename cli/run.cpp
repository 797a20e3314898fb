// `hull run <id>`: create and start in one go; without --detach, waits and exits with the
// container process's status.
#include "cli/command.hpp"

#include <memory>

namespace hull::cli {
namespace {

Action run_setup(CLI::App& app) {
    auto opts = std::make_shared<runtime::RunOptions>();
    add_create_options(app, *opts);
    app.add_flag("-d,--detach", opts->detach, "detach from the container's process");
    app.add_flag("--keep", opts->keep, "do not delete the container after it exits");
    // runc's flag; hull's foreground `run` always reaps what the container leaves behind.
    app.add_flag("--no-subreaper")->description("disable the use of the subreaper used to reap reparented processes");
    return [opts](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        opts->id = ctx.args[0];
        opts->pid_file = absolute(opts->pid_file);
        return runtime::run(ctx.globals, *opts);
    };
}

}  // namespace

extern const Command run_command{
    "run",
    "create and run a container",
    "[command options] <container-id>",
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.\n\n"
    "The run command creates an instance of a container for a bundle. The bundle\n"
    "is a directory with a specification file named \"config.json\" and a root\n"
    "filesystem.\n\n"
    "The specification file includes an args parameter. The args parameter is used\n"
    "to specify command(s) that get run when the container is started. To change the\n"
    "command(s) that get executed on start, edit the args parameter of the spec. See\n"
    "\"hull spec --help\" for more explanation.",
    run_setup,
};

}  // namespace hull::cli
