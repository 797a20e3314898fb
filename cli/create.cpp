// `hull create <id>`: sets a container up from its bundle, its process waiting for `hull start`.
#include "cli/command.hpp"

#include <memory>

namespace hull::cli {
namespace {

Action create_setup(CLI::App& app) {
    auto opts = std::make_shared<runtime::CreateOptions>();
    add_create_options(app, *opts);
    return [opts](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        opts->id = ctx.args[0];
        opts->pid_file = absolute(opts->pid_file);
        HULL_TRY(runtime::create(ctx.globals, *opts));
        return 0;
    };
}

}  // namespace

extern const Command create_command{
    "create",
    "create a container",
    "[command options] <container-id>",
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.\n\n"
    "The create command creates an instance of a container for a bundle. The bundle\n"
    "is a directory with a specification file named \"config.json\" and a root\n"
    "filesystem.\n\n"
    "The specification file includes an args parameter. The args parameter is used\n"
    "to specify command(s) that get run when the container is started. To change the\n"
    "command(s) that get executed on start, edit the args parameter of the spec. See\n"
    "\"hull spec --help\" for more explanation.",
    create_setup,
};

}  // namespace hull::cli
