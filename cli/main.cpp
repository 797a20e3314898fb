// The `hull` binary: runc's command line over the runtime library.
//
// runc's argument grammar is Go's: global options end at the command name, and a command's own
// options end at its first positional argument only for `exec` and `ps` (the rest is the
// process's command line). hull splits argv the same way before CLI11 sees it, and gives each
// command its own CLI11 app, so a container id that happens to be a command name ("list") is
// never mistaken for one.
#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/install_paths.hpp"

#include <seccomp.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#ifndef HULL_VERSION
#define HULL_VERSION "unknown"
#endif
#ifndef HULL_COMMIT
#define HULL_COMMIT ""
#endif

namespace hull::cli {
namespace {

// runc's command list order: alphabetical, then features.
constexpr const Command* kCommands[] = {
    &checkpoint_command, &create_command, &delete_command, &events_command, &exec_command,  &kill_command,
    &launch_command,
    &list_command,       &pause_command,  &ps_command,     &restore_command, &resume_command, &run_command,
    &spec_command,       &start_command,  &state_command,  &update_command, &vm_command,      &features_command,
    // podman's image commands; runc has none of these names.
    &image_command,      &images_command, &import_command, &pull_command,   &rmi_command,
};

const Command* find_command(std::string_view name) {
    for (const Command* c : kCommands)
        if (name == c->name) return c;
    return nullptr;
}

struct GlobalFlags {
    std::string root;               // empty: the default, see default_root()
    std::string log;
    std::string log_format = "text";
    std::string rootless = "auto";
    std::string criu = "criu";      // accepted for runc compatibility; hull has no CRIU support
    bool debug = false;
    bool systemd_cgroup = false;
    bool version = false;
};

// runc's shouldHonorXDGRuntimeDir: a rootless caller keeps its state under $XDG_RUNTIME_DIR, and
// so does root inside a user namespace that is not the real root's (rootless podman).
bool honor_xdg_runtime_dir() {
    if (::geteuid() != 0) return true;
    FILE* f = std::fopen("/proc/self/uid_map", "re");
    if (!f) return false;
    unsigned long inside = 0, outside = 0, count = 0;
    const bool initial_ns = std::fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
                            outside == 0 && count == 4294967295UL;
    std::fclose(f);
    if (initial_ns) return false;
    const char* user = std::getenv("USER");
    return !user || std::string_view(user) != "root";
}

std::string default_root() {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg && honor_xdg_runtime_dir()) return cat(xdg, "/hull");
    return "/run/hull";
}

// Global options go on the root app and, hidden, on every command's app, bound to the same
// flags: runc only takes them before the command, hull takes them on either side. A command's
// own option of the same name wins after the command (`hull spec --rootless` is spec's flag).
void add_global_options(CLI::App& app, GlobalFlags& f, bool hidden) {
    const std::string group = hidden ? "" : "Global options";
    auto taken = [&app](const char* name) { return app.get_option_no_throw(name) != nullptr; };
    if (!taken("--debug")) app.add_flag("--debug", f.debug, "enable debug logging")->group(group);
    if (!taken("--log"))
        app.add_option("--log", f.log, "set the log file to write hull logs to (default is '/dev/stderr')")
            ->group(group);
    if (!taken("--log-format"))
        app.add_option("--log-format", f.log_format,
                       "set the log format ('text' (default), or 'json') (default: \"text\")")
            ->group(group);
    if (!taken("--root"))
        app.add_option("--root", f.root,
                       "root directory for storage of container state (this should be located in tmpfs) "
                       "(default: \"" + default_root() + "\")")
            ->group(group);
    if (!taken("--criu"))
        app.add_option("--criu", f.criu,
                       "path to the criu binary used for checkpoint and restore (default: \"criu\")")
            ->group(group);
    if (!taken("--systemd-cgroup"))
        app.add_flag("--systemd-cgroup", f.systemd_cgroup,
                     "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for "
                     "e.g. \"system.slice:hull:434234\"")
            ->group(group);
    if (!taken("--rootless"))
        app.add_option("--rootless", f.rootless,
                       "ignore cgroup permission errors ('true', 'false', or 'auto') (default: \"auto\")")
            ->group(group);
}

// Help in runc's layout: name and summary, usage, description, then CLI11's option list.
class HelpFormatter : public CLI::Formatter {
public:
    explicit HelpFormatter(std::string head) : head_(std::move(head)) {}
    std::string make_description(const CLI::App*) const override { return {}; }
    std::string make_usage(const CLI::App*, std::string) const override { return head_; }
    std::string make_positionals(const CLI::App*) const override { return {}; }

private:
    std::string head_;
};

std::string root_help_head() {
    std::string s =
        "hull - Open Container Initiative runtime\n\n"
        "hull is a command line client for running applications packaged according to\n"
        "the Open Container Initiative (OCI) format and is a compliant implementation of the\n"
        "Open Container Initiative specification.\n\n"
        "Usage: hull [global options] command [command options] [arguments...]\n\n"
        "Commands:\n";
    for (const Command* c : kCommands) {
        const std::string_view name = c->name;
        s += cat("  ", name, std::string(12 - name.size(), ' '), c->summary, "\n");
    }
    s += "  help, h     Shows a list of commands or help for one command\n";
    return s;
}

std::string command_help_head(const Command& c) {
    std::string s = cat("hull ", c.name, " - ", c.summary, "\n\nUsage: hull ", c.name, " ", c.usage, "\n");
    if (*c.description) s += cat("\n", c.description, "\n");
    return s;
}

std::string seccomp_version_text() {
    const scmp_version* v = seccomp_version();
    return v ? cat(v->major, ".", v->minor, ".", v->micro) : std::string("unknown");
}

ArityFn arity_in(const CLI::App& app) {
    return [&app](std::string_view name) {
        const CLI::Option* opt = app.get_option_no_throw(cat(name.size() == 1 ? "-" : "--", name));
        if (!opt) return OptionArity::unknown;
        return opt->get_expected_max() == 0 ? OptionArity::flag : OptionArity::value;
    };
}

// CLI11's messages in hull's style: they start lowercase, like every other error.
std::string parse_error_message(const CLI::ParseError& e) {
    std::string msg = e.what();
    if (!msg.empty() && msg[0] >= 'A' && msg[0] <= 'Z') msg[0] = static_cast<char>(msg[0] - 'A' + 'a');
    return msg;
}

void parse(CLI::App& app, const std::vector<std::string>& args) {
    std::vector<const char*> argv{"hull"};
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
}

// An error as runc reports it: to the log (containerd and conmon read the last json error line
// from the --log file), and to stderr as well when the log is a file.
void report(std::string_view msg) {
    log::error(msg);
    if (log::to_file()) write_stderr(cat("hull: ", msg, "\n"));
}

// The global flags into logging and runtime::Globals, in runc's order: logging first, so the
// remaining checks already report through it.
Status apply_globals(const GlobalFlags& f, runtime::Globals& g) {
    log::Format format;
    if (f.log_format == "text") format = log::Format::text;
    else if (f.log_format == "json") format = log::Format::json;
    else return fail_msg(cat("invalid log-format: ", f.log_format));
    log::configure(f.log, format, f.debug);

    // hull detects rootless operation itself; the flag is validated for runc compatibility only.
    if (f.rootless != "auto" && !parse_go_bool(f.rootless))
        return fail_msg(cat("invalid value for --rootless: ", q(f.rootless), " (want true, false or auto)"));
    g.root = f.root.empty() ? default_root() : absolute(f.root);
    if (g.root == "/") return fail_msg("option --root argument should not be set to /");
    g.systemd_cgroup = f.systemd_cgroup;
    g.debug = f.debug;
    return {};
}

// A command `helper` runs (the image commands in `hull`): exec it with our argv unchanged, so
// it parses the global options and the command's own exactly as this binary would. Returns
// only when the helper cannot be run, after reporting that as the command's failure.
int run_in_helper(const Command& cmd, char** argv, const GlobalFlags& gf) {
    Status ran = [&]() -> Status {
        const std::string path = HULL_TRY(find_helper(cmd.helper->program, cmd.helper->env_var));
        ::execv(path.c_str(), argv);
        return fail_sys(cat("run the ", cmd.helper->program, " helper ", q(path)));
    }();
    // Reported as run_command reports a failure: through --log once the globals are applied.
    runtime::Globals g;
    if (auto st = apply_globals(gf, g); !st) {
        report(st.error().message());
        return 1;
    }
    report(ran.error().message());
    return cmd.helper_failure_status;
}

int help_for(const std::vector<std::string>& topics, CLI::App& root, char** argv, const GlobalFlags& gf) {
    if (topics.empty()) {
        write_stdout(root.help());
        return 0;
    }
    const Command* c = find_command(topics[0]);
    if (!c) {
        write_stderr(cat("hull: no help topic for ", q(topics[0]), "\n"));
        return 3;
    }
    if (c->helper) return run_in_helper(*c, argv, gf);
    CLI::App app{c->summary, cat("hull ", c->name)};
    app.formatter(std::make_shared<HelpFormatter>(command_help_head(*c)));
    app.set_help_flag("-h,--help", "show help");
    (void)c->setup(app);
    write_stdout(app.help());
    return 0;
}

int run_command(const Command& cmd, const std::vector<std::string>& args, GlobalFlags& gf) {
    CLI::App app{cmd.summary, cat("hull ", cmd.name)};
    app.formatter(std::make_shared<HelpFormatter>(command_help_head(cmd)));
    app.set_help_flag("-h,--help", "show help");
    Action action = cmd.setup(app);
    add_global_options(app, gf, true);
    std::vector<std::string> positional;
    app.add_option("args", positional)->group("");

    std::vector<std::string> to_parse;
    std::vector<std::string> passthrough;
    if (cmd.mode == ArgMode::stop_at_first_positional) {
        SplitArgs split = split_at_first_positional(args, arity_in(app));
        to_parse = std::move(split.options);
        if (split.first) {
            to_parse.push_back("--");  // the id is positional even if it starts with '-'
            to_parse.push_back(*split.first);
        }
        passthrough = std::move(split.rest);
    } else {
        to_parse = normalize_long_options(args, arity_in(app));
    }

    std::optional<std::string> usage_error;
    try {
        parse(app, to_parse);
    } catch (const CLI::CallForHelp&) {
        write_stdout(app.help());
        return 0;
    } catch (const CLI::ParseError& e) {
        usage_error = parse_error_message(e);
    }

    Context ctx;
    ctx.command = cmd.name;
    // Only now: global options may have followed the command name.
    if (auto st = apply_globals(gf, ctx.globals); !st) {
        report(st.error().message());
        return 1;
    }
    if (usage_error) {
        report(*usage_error);
        return 1;  // runc exits 1 on a bad flag or argument count, like any other failure
    }
    ctx.args = std::move(positional);
    ctx.args.insert(ctx.args.end(), passthrough.begin(), passthrough.end());

    Result<int> status = action(ctx);
    if (!status) {
        report(status.error().message());
        return ctx.failure_status;
    }
    return *status;
}

int hull_main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    GlobalFlags gf;
    CLI::App root{"", "hull"};
    root.formatter(std::make_shared<HelpFormatter>(root_help_head()));
    root.set_help_flag("-h,--help", "show help")->group("Global options");
    add_global_options(root, gf, false);
    root.add_flag("-v,--version", gf.version, "print the version")->group("Global options");

    SplitArgs split = split_at_first_positional(args, arity_in(root));
    try {
        parse(root, split.options);
    } catch (const CLI::CallForHelp&) {
        write_stdout(root.help());
        return 0;
    } catch (const CLI::ParseError& e) {
        write_stderr(cat("hull: ", parse_error_message(e), "\n"));
        return 1;
    }
    if (gf.version) {
        write_stdout(version_text(HULL_VERSION, HULL_COMMIT, seccomp_version_text()));
        return 0;
    }
    if (!split.first) {
        write_stdout(root.help());
        return 0;
    }
    if (*split.first == "help" || *split.first == "h") return help_for(split.rest, root, argv, gf);
    const Command* cmd = find_command(*split.first);
    if (!cmd) {
        // runc exits 3 here ("No help topic for ..."), apart from its usage errors' 1.
        write_stderr(cat("hull: unknown command ", q(*split.first), "\n"));
        return 3;
    }
    if (cmd->helper) return run_in_helper(*cmd, argv, gf);
    return run_command(*cmd, split.rest, gf);
}

}  // namespace
}  // namespace hull::cli

int main(int argc, char** argv) {
    // No exception leaves main: CLI11's are caught where parsing happens, this catches the rest
    // (allocation failure, a JSON type error) and still prints one line.
    try {
        return hull::cli::hull_main(argc, argv);
    } catch (const std::exception& e) {
        hull::cli::write_stderr(hull::cat("hull: ", e.what(), "\n"));
    } catch (...) {
        hull::cli::write_stderr("hull: unexpected internal error\n");
    }
    return 1;
}
