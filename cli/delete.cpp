// `hull delete <id>`: removes a stopped container's resources; --force kills a running one first.
#include "cli/command.hpp"

#include <memory>

namespace hull::cli {
namespace {

Action delete_setup(CLI::App& app) {
    auto force = std::make_shared<bool>(false);
    app.add_flag("-f,--force", *force, "Forcibly deletes the container if it is still running (uses SIGKILL)");
    return [force](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        HULL_TRY(runtime::remove(ctx.globals, ctx.args[0], *force));
        return 0;
    };
}

}  // namespace

extern const Command delete_command{
    "delete",
    "delete any resources held by the container often used with detached container",
    "[command options] <container-id>",
    "Where \"<container-id>\" is the name for the instance of the container.\n\n"
    "EXAMPLE:\n"
    "For example, if the container id is \"ubuntu01\" and hull list currently shows the\n"
    "status of \"ubuntu01\" as \"stopped\" the following will delete resources held for\n"
    "\"ubuntu01\" removing \"ubuntu01\" from the hull list of containers:\n\n"
    "       # hull delete ubuntu01",
    delete_setup,
};

}  // namespace hull::cli
