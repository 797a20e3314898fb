// `hull restore <id>`: runc's CRIU restore; hull registers the flags and refuses.
#include "cli/command.hpp"

namespace hull::cli {
namespace {

Action restore_setup(CLI::App& app) {
    app.add_option("--console-socket",
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
                   "the console's pseudoterminal");
    app.add_option("--image-path", "path to criu image files for restoring");
    app.add_option("--work-path", "path for saving work files and logs");
    app.add_flag("--tcp-established")->description("allow open tcp connections");
    app.add_flag("--ext-unix-sk")->description("allow external unix sockets");
    app.add_flag("--shell-job")->description("allow shell jobs");
    app.add_flag("--file-locks")->description("handle file locks, for safety");
    app.add_option("--manage-cgroups-mode", "cgroups mode: 'soft' (default), 'full' and 'strict'");
    app.add_option("-b,--bundle", "path to the root of the bundle directory");
    app.add_flag("-d,--detach")->description("detach from the container's process");
    app.add_option("--pid-file", "specify the file to write the process id to");
    app.add_flag("--no-subreaper")->description("disable the use of the subreaper used to reap reparented processes");
    app.add_flag("--no-pivot")->description(
        "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of "
        "a ramdisk");
    app.add_option("--empty-ns", "create a namespace, but don't restore its properties")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_flag("--auto-dedup")->description("enable auto deduplication of memory images");
    app.add_flag("--lazy-pages")->description("use userfaultfd to lazily restore memory pages");
    app.add_option("--lsm-profile", "Specify an LSM profile to be used during restore in the form of TYPE:NAME.");
    app.add_option("--lsm-mount-context", "Specify an LSM mount context to be used during restore.");
    return [](Context& ctx) -> Result<int> {
        HULL_TRY(not_implemented(ctx));
        return 0;
    };
}

}  // namespace

extern const Command restore_command{
    "restore",
    "restore a container from a previous checkpoint",
    "[command options] <container-id>",
    "Where \"<container-id>\" is the name for the instance of the container to be\n"
    "restored.\n\n"
    "Restores the saved state of the container instance that was previously saved\n"
    "using the hull checkpoint command.",
    restore_setup,
};

}  // namespace hull::cli
