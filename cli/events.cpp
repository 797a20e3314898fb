// `hull events <id>`: runc's event stream. One JSON object per line: "stats" every --interval
// (or once with --stats) and "oom" when the OOM killer strikes; the stream ends when the
// container stops.
#include "cli/command.hpp"

#include "common/strings.hpp"

#include <memory>

namespace hull::cli {
namespace {

struct EventsFlags {
    std::string interval = "5s";
    bool stats = false;
};

Action events_setup(CLI::App& app) {
    auto f = std::make_shared<EventsFlags>();
    app.add_option("--interval", f->interval, "set the stats collection interval (default: 5s)");
    app.add_flag("--stats", f->stats, "display the container's stats then exit");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::exact));
        auto interval = HULL_TRY(parse_go_duration(f->interval));
        if (interval.count() <= 0 && !f->stats)
            return fail_msg(cat("invalid interval ", q(f->interval), ": must be positive"));
        HULL_TRY(runtime::events(ctx.globals, ctx.args[0], std::chrono::ceil<std::chrono::milliseconds>(interval),
                                 f->stats, [](const nlohmann::json& event) { write_stdout(event.dump() + "\n"); }));
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
    events_setup,
};

}  // namespace hull::cli
