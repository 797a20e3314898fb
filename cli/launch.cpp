// `hull launch IMAGE [CMD...]`: run a container from an image (runtime/launch.hpp does the work).
// Options end at the image: everything after it is the container's command line.
#include "cli/command.hpp"
#include "cli/image_commands.hpp"
#include "cli/image_common.hpp"

#include "common/strings.hpp"
#include "runtime/launch.hpp"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

namespace hull::cli {
namespace {

struct LaunchFlags {
    runtime::LaunchOptions opts;
    std::string memory, cpus, pids_limit, store;
    std::optional<std::string> entrypoint;
};

Status finish_flags(LaunchFlags& f) {
    runtime::LaunchOptions& o = f.opts;
    if (!f.memory.empty()) {
        auto bytes = parse_ram_bytes(f.memory);
        if (!bytes) return fail(std::move(bytes.error()).context("invalid value for --memory"));
        if (*bytes <= 0) return fail_msg(cat("invalid --memory ", q(f.memory), ": must be positive"));
        o.memory = *bytes;
    }
    if (!f.cpus.empty()) {
        char* end = nullptr;
        double v = std::strtod(f.cpus.c_str(), &end);
        if (end == f.cpus.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0)
            return fail_msg(cat("invalid --cpus ", q(f.cpus), ": want a positive number of CPUs such as 1.5"));
        o.cpus = v;
    }
    if (!f.pids_limit.empty()) {
        auto v = parse_int<int64_t>(f.pids_limit);
        if (!v || (*v <= 0 && *v != -1))
            return fail_msg(cat("invalid --pids-limit ", q(f.pids_limit), ": want a positive number or -1 (unlimited)"));
        o.pids_limit = *v;
    }
    o.entrypoint = f.entrypoint;
    if (f.store.empty()) return fail_msg("--store must not be empty");
    o.store_root = absolute(f.store);
    return {};
}

Action setup(CLI::App& app) {
    auto f = std::make_shared<LaunchFlags>();
    runtime::LaunchOptions& o = f->opts;
    app.add_option("--name", o.name, "the container's id (default: 12 random hex digits)");
    app.add_flag("--rm", o.remove, "delete the container, its pin and its files once it exits");
    app.add_flag("-i,--interactive", o.interactive, "keep stdin attached (else the container reads /dev/null)");
    app.add_flag("-t,--tty", o.terminal, "give the container a pseudo-terminal");
    app.add_flag("-d,--detach", o.detach,
                 "start the container and print its id; its output goes to <store>/containers/<id>/output.log");
    add_repeatable(app, "-e,--env", o.env, "set an environment variable (K=V, or K to copy hull's own)");
    app.add_option("-w,--workdir", o.workdir, "the working directory inside the container");
    app.add_option("-u,--user", o.user, "user[:group] (names or numbers) to run as");
    add_repeatable(app, "-v,--volume", o.volumes, "bind-mount a host path: SRC:DST[:ro]");
    app.add_flag("--read-only", o.read_only, "keep the root filesystem read-only");
    app.add_option("--memory,-m", f->memory, "memory limit (512m, 1g, ...)");
    app.add_option("--cpus", f->cpus, "CPU quota, in CPUs (1.5)");
    app.add_option("--pids-limit", f->pids_limit, "maximum number of processes (-1: unlimited)");
    add_repeatable(app, "--device", o.devices, "give the container a host device: HOST[:CONTAINER][:rwm]");
    app.add_option("--entrypoint", f->entrypoint, "replace the image's entrypoint (\"\" clears it)");
    app.add_option("--hostname", o.hostname, "the container's hostname (default: its id)");
    app.add_option("--network", o.network, "host (the host's network) or none (a network namespace with only lo)");
    app.add_flag("--vm", o.vm, "run the container in hull's micro-VM");
    add_store_option(app, f->store);
    app.add_flag("--tls-verify", o.tls_verify, "verify registry certificates when pulling (--tls-verify=false: do not)");
    return [f](Context& ctx) -> Result<int> {
        // docker's and podman's convention: the runtime's own failures exit 125, so they are
        // told apart from the container's exit statuses.
        ctx.failure_status = 125;
        HULL_TRY(check_args(ctx, 1, ArgCheck::min));
        HULL_TRY(finish_flags(*f));
        f->opts.image = ctx.args[0];
        f->opts.cmd.assign(ctx.args.begin() + 1, ctx.args.end());
        auto r = HULL_TRY(runtime::launch(ctx.globals, f->opts));
        if (f->opts.detach) write_stdout(cat(r.id, "\n"));
        return r.exit_code;
    };
}

}  // namespace

extern constinit const Command launch_command = with_setup(kLaunchEntry, setup);

}  // namespace hull::cli
