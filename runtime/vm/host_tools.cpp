#include "runtime/vm/host_tools.hpp"

#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace hull::vm::detail {

std::string Fnv64::hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

std::optional<std::string> find_tool(std::string_view name) {
    for (std::string_view rest = kToolPath; !rest.empty();) {
        auto colon = rest.find(':');
        std::string path = cat(rest.substr(0, colon), "/", name);
        if (::access(path.c_str(), X_OK) == 0) return path;
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
    return std::nullopt;
}

std::string read_output(int fd) {
    std::string output;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (output.size() < 65536) output.append(buf, static_cast<std::size_t>(n));
    }
    return output;
}

std::string last_line(std::string output) {
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
    auto nl = output.rfind('\n');
    return nl == std::string::npos ? output : output.substr(nl + 1);
}

Status run_tool(const std::vector<std::string>& args, std::string_view what) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) return fail_sys("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    // Everything the child needs is built before fork: between fork and exec it may only make
    // async-signal-safe calls.
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::string path_var = cat("PATH=", kToolPath);
    char* envp[] = {path_var.data(), const_cast<char*>("LC_ALL=C"), nullptr};
    pid_t pid = ::fork();
    if (pid < 0) return fail_sys(cat("fork ", what));
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0) ::dup2(devnull, 0);
        ::dup2(wr.get(), 1);
        ::dup2(wr.get(), 2);
        ::execve(argv[0], argv.data(), envp);
        ::_exit(127);
    }
    wr.reset();
    std::string last = last_line(read_output(rd.get()));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    return fail_msg(cat(what, " failed (",
                        WIFEXITED(status) ? cat("exit ", WEXITSTATUS(status)) : cat("signal ", WTERMSIG(status)),
                        last.empty() ? ")" : cat("): ", last)));
}

}  // namespace hull::vm::detail
