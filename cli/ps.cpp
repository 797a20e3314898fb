// `hull ps <id> [ps options]`: the container's processes, as `ps` rows (default `ps -ef`)
// filtered to its pids, or the pid list as JSON.
#include "cli/command.hpp"
#include "cli/format.hpp"

#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

extern char** environ;

namespace hull::cli {
namespace {

// Runs `ps` with stdout and stderr into one pipe, as Go's CombinedOutput does.
Result<std::string> run_ps(const std::vector<std::string>& ps_args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return fail_sys("create pipe for `ps`");
    UniqueFd rd(fds[0]), wr(fds[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, wr.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, wr.get(), STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("ps"));  // SAFETY: posix_spawn's argv is not written to.
    for (const auto& a : ps_args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, "ps", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return fail(Error(rc, "run `ps`"));
    wr.reset();

    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        // One line, as every hull error is: ps's non-empty output lines joined by spaces.
        std::string said;
        for (const std::string& line : split(out, '\n')) {
            if (line.find_first_not_of(' ') == std::string::npos) continue;
            said += cat(said.empty() ? "" : " ", line);
        }
        std::string how = WIFEXITED(ws) ? cat("exit status ", WEXITSTATUS(ws)) : cat("signal ", WTERMSIG(ws));
        return fail_msg(cat("`ps` failed: ", how, said.empty() ? "" : ": ", said));
    }
    return out;
}

Action ps_setup(CLI::App& app) {
    auto format = std::make_shared<std::string>("table");
    app.add_option("-f,--format", *format, "select one of: table or json (default: \"table\")");
    return [format](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        const std::vector<pid_t> pids = HULL_TRY(runtime::pids(ctx.globals, ctx.args[0]));
        if (*format == "json") {
            write_stdout(pids_json_output(pids));
            return 0;
        }
        if (*format != "table") return fail_msg("invalid format option");
        std::vector<std::string> ps_args(ctx.args.begin() + 1, ctx.args.end());
        if (ps_args.empty()) ps_args = {"-ef"};
        const std::string out = HULL_TRY(run_ps(ps_args));
        write_stdout(HULL_TRY(filter_ps_output(out, pids)));
        return 0;
    };
}

}  // namespace

extern const Command ps_command{
    "ps",
    "ps displays the processes running inside a container",
    "[command options] <container-id> [ps options]",
    "",
    ps_setup,
    ArgMode::stop_at_first_positional,
};

}  // namespace hull::cli
