// `hull checkpoint <id>`: runc's CRIU checkpointing; hull registers the flags and refuses.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action checkpoint_setup(CLI::App& app) {
    app.add_option("--image-path", "path for saving criu image files");
    app.add_option("--work-path", "path for saving work files and logs");
    app.add_option("--parent-path", "path for previous criu image files in pre-dump");
    app.add_flag("--leave-running")->description("leave the process running after checkpointing");
    app.add_flag("--tcp-established")->description("allow open tcp connections");
    app.add_flag("--ext-unix-sk")->description("allow external unix sockets");
    app.add_flag("--shell-job")->description("allow shell jobs");
    app.add_flag("--lazy-pages")->description("use userfaultfd to lazily restore memory pages");
    app.add_option("--status-fd", "criu writes \\0 to this FD once lazy-pages is ready (default: -1)");
    app.add_option("--page-server", "ADDRESS:PORT of the page server");
    app.add_flag("--file-locks")->description("handle file locks, for safety");
    app.add_flag("--pre-dump")->description(
        "dump container's memory information only, leave the container running after this");
    app.add_option("--manage-cgroups-mode", "cgroups mode: 'soft' (default), 'full' and 'strict'");
    app.add_option("--empty-ns", "create a namespace, but don't restore its properties")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_flag("--auto-dedup")->description("enable auto deduplication of memory images");
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(not_implemented(ctx));
        return 0;
    };
}

}  // namespace

extern const Command checkpoint_command{
    "checkpoint",
    "checkpoint a running container",
    "[command options] <container-id>",
    "Where \"<container-id>\" is the name for the instance of the container to be\n"
    "checkpointed.\n\n"
    "The checkpoint command saves the state of the container instance.",
    checkpoint_setup,
};

}  // namespace hull::cli
