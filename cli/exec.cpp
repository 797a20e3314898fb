// `hull exec <id> <command...>` or `hull exec -p process.json <id>`: runs a new process in a
// running container and exits with its status. Everything after the id is the command, options
// included (`hull exec ctr ls -l`); a "--" right after the id is dropped.
#include "cli/command.hpp"

#include <memory>

namespace hull::cli {
namespace {

struct ExecFlags {
    runtime::ExecOptions opts;
    std::string cgroup;
    bool ignore_paused = false;
};

Action exec_setup(CLI::App& app) {
    auto f = std::make_shared<ExecFlags>();
    runtime::ExecOptions& o = f->opts;
    app.add_option("--console-socket", o.console_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
                   "the console's pseudoterminal");
    app.add_option("--cwd", o.cwd, "current working directory in the container");
    add_repeatable(app, "-e,--env", o.env, "set environment variables");
    app.add_flag("-t,--tty", o.tty, "allocate a pseudo-TTY");
    app.add_option("-u,--user", o.user, "UID (format: <uid>[:<gid>])");
    add_repeatable(app, "-g,--additional-gids", o.additional_gids, "additional gids");
    app.add_option("-p,--process", o.process_file, "path to the process.json");
    app.add_flag("-d,--detach", o.detach, "detach from the container's process");
    app.add_option("--pid-file", o.pid_file, "specify the file to write the process id to");
    app.add_option("--process-label", o.process_label,
                   "set the asm process label for the process commonly used with selinux");
    app.add_option("--apparmor", o.apparmor, "set the apparmor profile for the process");
    app.add_flag("--no-new-privs", o.no_new_privs, "set the no new privileges value for the process");
    add_repeatable(app, "-c,--cap", o.caps, "add a capability to the bounding set for the process");
    app.add_option("--preserve-fds", o.preserve_fds,
                   "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) "
                   "(default: 0)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--cgroup", f->cgroup,
                   "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.");
    app.add_flag("--ignore-paused", f->ignore_paused, "allow exec in a paused container");

    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        // From here on a failure is exec's own, which runc reports with status 255 so callers can
        // tell it from the process's exit status; usage errors above stay 1.
        ctx.failure_status = 255;
        runtime::ExecOptions& o = f->opts;
        o.id = ctx.args[0];
        o.args = exec_command_args(std::vector<std::string>(ctx.args.begin() + 1, ctx.args.end()));
        // A silently ignored --cgroup would put the process somewhere the caller did not ask for.
        if (!f->cgroup.empty()) return fail_msg("exec failed: --cgroup is not supported");
        if (o.process_file.empty() && o.args.empty()) return fail_msg("exec failed: process args cannot be empty");
        o.pid_file = absolute(o.pid_file);
        o.process_file = absolute(o.process_file);
        auto status = runtime::exec(ctx.globals, o);
        if (!status) return fail(std::move(status.error()).context("exec failed"));
        return *status;
    };
}

}  // namespace

extern const Command exec_command{
    "exec",
    "execute new process inside the container",
    "[command options] <container-id> <command> [command options]  || -p process.json <container-id>",
    "Where \"<container-id>\" is the name for the instance of the container and\n"
    "\"<command>\" is the command to be executed in the container.\n"
    "\"<command>\" can't be empty unless a \"-p\" flag provided.\n\n"
    "EXAMPLE:\n"
    "For example, if the container is configured to run the linux ps command the\n"
    "following will output a list of processes running in the container:\n\n"
    "       # hull exec <container-id> ps",
    exec_setup,
    ArgMode::stop_at_first_positional,
};

}  // namespace hull::cli
