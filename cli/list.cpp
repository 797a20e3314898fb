// `hull list`: the containers under --root, as a table, JSON or bare ids.
#include "cli/command.hpp"
#include "cli/format.hpp"

#include <memory>

namespace hull::cli {
namespace {

struct ListFlags {
    std::string format = "table";
    bool quiet = false;
};

Action list_setup(CLI::App& app) {
    auto f = std::make_shared<ListFlags>();
    app.add_option("-f,--format", f->format, "select one of: table or json (default: \"table\")");
    app.add_flag("-q,--quiet", f->quiet, "display only container IDs");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 0, ArgCheck::exact));
        const std::vector<runtime::ContainerInfo> list = HULL_TRY(runtime::list(ctx.globals));
        if (f->quiet) write_stdout(list_quiet_output(list));
        else if (f->format == "table") write_stdout(list_table_output(list));
        else if (f->format == "json") write_stdout(list_json_output(list));
        else return fail_msg("invalid format option");
        return 0;
    };
}

}  // namespace

extern const Command list_command{
    "list",
    "lists containers started by hull with the given root",
    "[command options]",
    "Where the given root is specified via the global option \"--root\"\n"
    "(default: \"/run/hull\").\n\n"
    "EXAMPLE 1:\n"
    "To list containers created via the default \"--root\":\n"
    "       # hull list\n\n"
    "EXAMPLE 2:\n"
    "To list containers created using a non-default value for \"--root\":\n"
    "       # hull --root value list",
    list_setup,
};

}  // namespace hull::cli
