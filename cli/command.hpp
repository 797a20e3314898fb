// The shape every `hull` command file fills in: a Command entry naming it and a setup function
// that adds its options to a CLI11 app and returns the action to run once parsing is done.
#pragma once

#include "cli/args.hpp"
#include "common/result.hpp"
#include "runtime/container.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::cli {

struct Context {
    runtime::Globals globals;
    std::string command;             // the command's name, for messages
    std::vector<std::string> args;   // positional arguments; for exec and ps, everything after the
                                     // id is passed through verbatim
    int failure_status = 1;          // exit status if the action fails; exec raises it to runc's 255
                                     // once its arguments are known good
};

// Returns the process exit status, or an error that main prints as one line.
using Action = std::function<Result<int>(Context&)>;

enum class ArgMode {
    interleaved,              // options may follow positionals (urfave/cli's argument reordering)
    stop_at_first_positional, // runc's SkipArgReorder: all after the container id is passed through
};

// A helper program, found by find_helper: $<env_var>, else beside hull, else in
// ../libexec/hull.
struct Helper {
    const char* program;
    const char* env_var;
};

struct Command {
    const char* name;
    const char* summary;       // one line, for the command list
    const char* usage;         // what follows "hull <name> " in the usage line
    const char* description;   // longer help; may be empty
    Action (*setup)(CLI::App& app);  // null when `helper` runs the command
    ArgMode mode = ArgMode::interleaved;
    // The image commands in `hull`: it does not link the image store (cli/CMakeLists.txt says
    // why) and execs this helper program (hull-image) with its own argv, so the helper parses
    // everything, global options included.
    const Helper* helper = nullptr;
    int helper_failure_status = 1;   // the exit status when the helper cannot be run
};

extern const Command checkpoint_command;
extern const Command create_command;
extern const Command delete_command;
extern const Command events_command;
extern const Command exec_command;
extern const Command features_command;
extern const Command kill_command;
extern const Command list_command;
extern const Command pause_command;
extern const Command ps_command;
extern const Command restore_command;
extern const Command resume_command;
extern const Command run_command;
extern const Command spec_command;
extern const Command start_command;
extern const Command state_command;
extern const Command update_command;
extern const Command vm_command;
// The image commands (cli/image_commands.hpp): in hull-image, run by their files
// (cli/image_common.hpp); in `hull`, entries that name hull-image (cli/image_delegates.cpp).
extern const Command image_command;
extern const Command images_command;
extern const Command import_command;
extern const Command launch_command;
extern const Command pull_command;
extern const Command rmi_command;

// Fails with runc's message when the positional count is off.
Status check_args(const Context& ctx, std::size_t expected, ArgCheck kind);
// The failure of commands hull registers (so `--help` and runc's flags work) but does not do yet.
Status not_implemented(const Context& ctx);

// Writes all of `s` to stdout / stderr, without iostreams.
void write_stdout(std::string_view s);
void write_stderr(std::string_view s);

// A path made absolute against the current directory, as runc does for --pid-file.
std::string absolute(const std::string& path);

// --bundle, --console-socket, --pid-file, --no-pivot, --no-new-keyring, --preserve-fds: shared
// by create and run.
void add_create_options(CLI::App& app, runtime::CreateOptions& opts);

// Adds a list option that takes one value per occurrence (`-e A=1 -e B=2`), as urfave/cli's
// slice flags do, instead of CLI11's default of swallowing the following arguments too.
template <class T>
CLI::Option* add_repeatable(CLI::App& app, const std::string& names, std::vector<T>& out, const std::string& help) {
    return app.add_option(names, out, help)->allow_extra_args(false)->type_name("value");
}

}  // namespace hull::cli
