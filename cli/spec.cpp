// `hull spec`: writes a starter config.json into the bundle, never over an existing one.
#include "cli/command.hpp"
#include "cli/format.hpp"

#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <memory>

namespace hull::cli {
namespace {

struct SpecFlags {
    std::string bundle;
    bool rootless = false;
};

Status write_new_file(const std::string& path, std::string_view data) {
    // O_EXCL rather than runc's stat-then-write: no window in which another writer's file is
    // overwritten.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd) {
        if (errno == EEXIST) return fail_msg("File config.json exists. Remove it first");
        return fail_sys(cat("create ", q(path)));
    }
    while (!data.empty()) {
        ssize_t n = ::write(fd.get(), data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys(cat("write ", q(path)));
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Action spec_setup(CLI::App& app) {
    auto f = std::make_shared<SpecFlags>();
    app.add_option("-b,--bundle", f->bundle, "path to the root of the bundle directory");
    app.add_flag("--rootless", f->rootless, "generate a configuration for a rootless container");
    return [f](Context& ctx) -> Result<int> {
        HULL_TRY(check_args(ctx, 0, ArgCheck::exact));
        const std::string path = f->bundle.empty() ? "config.json" : cat(f->bundle, "/config.json");
        // runc writes MarshalIndent's bytes, tab-indented and without a final newline.
        const std::string text = go_json(oci::default_spec(f->rootless, ::geteuid(), ::getegid()), 1, '\t');
        HULL_TRY(write_new_file(path, text));
        return 0;
    };
}

}  // namespace

extern const Command spec_command{
    "spec",
    "create a new specification file",
    "[command options]",
    "The spec command creates the new specification file named \"config.json\" for\n"
    "the bundle.\n\n"
    "The spec generated is just a starter file. Editing of the spec is required to\n"
    "achieve desired results. For example, the newly generated spec includes an args\n"
    "parameter that is initially set to call the \"sh\" command when the container is\n"
    "started. Calling \"sh\" may work for an ubuntu container or busybox, but will not\n"
    "work for containers that do not include the \"sh\" program.\n\n"
    "You can pass the parameter --rootless to this command to generate a proper\n"
    "rootless spec file.",
    spec_setup,
};

}  // namespace hull::cli
