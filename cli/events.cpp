// `hull events <id>`: registered with runc's flags so callers get a clear failure, not a usage
// error; container stats and OOM events arrive with the cgroups work.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action setup(CLI::App& app) {
    app.add_option("--interval", "set the stats collection interval (default: 5s)");
    app.add_flag("--stats")->description("display the container's stats then exit");
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(not_implemented(ctx));
        return 0;
    };
}

}  // namespace

extern const Command events_command{
    "events",
    "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
    "[command options] <container-id>",
    "Where \"<container-id>\" is the name for the instance of the container.\n\n"
    "The events command displays information about the container. By default the\n"
    "information is displayed once every 5 seconds.",
    setup,
};

}  // namespace hull::cli
