#include "cli/command.hpp"

#include "common/strings.hpp"

#include <cerrno>
#include <climits>
#include <unistd.h>

namespace hull::cli {
namespace {

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // A closed pipe or full disk: nothing left to tell anyone.
        }
        s.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

void write_stdout(std::string_view s) { write_all(STDOUT_FILENO, s); }
void write_stderr(std::string_view s) { write_all(STDERR_FILENO, s); }

Status check_args(const Context& ctx, std::size_t expected, ArgCheck kind) {
    if (auto msg = check_arg_count(ctx.command, ctx.args.size(), expected, kind)) return fail_msg(*msg);
    return {};
}

Status not_implemented(const Context& ctx) { return fail_msg(cat(ctx.command, ": not implemented yet")); }

std::string absolute(const std::string& path) {
    if (path.empty() || path.front() == '/') return path.empty() ? path : clean_path(path);
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) return path;  // The runtime then reports the path as given.
    return absolute_path(path, buf);
}

void add_create_options(CLI::App& app, runtime::CreateOptions& opts) {
    app.add_option("-b,--bundle", opts.bundle,
                   "path to the root of the bundle directory, defaults to the current directory");
    app.add_option("--console-socket", opts.console_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
                   "the console's pseudoterminal");
    app.add_option("--pid-file", opts.pid_file, "specify the file to write the process id to");
    app.add_flag("--no-pivot", opts.no_pivot,
                 "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is "
                 "on top of a ramdisk");
    app.add_flag("--no-new-keyring", opts.no_new_keyring,
                 "do not create a new session keyring for the container.  This will cause the container to inherit "
                 "the calling processes session key");
    app.add_option("--preserve-fds", opts.preserve_fds,
                   "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) "
                   "(default: 0)");
}

}  // namespace hull::cli
