#include "runtime/linux/hooks.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace hull::runtime::linux {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

int64_t now_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Status run_hook(const oci::Hook& hook, const std::string& state_json) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) return fail_sys("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    std::vector<std::string> args = hook.args;
    if (args.empty()) args.push_back(hook.path);
    auto argv = c_strings(args);
    auto envp = c_strings(hook.env);
    pid_t pid = ::fork();
    if (pid < 0) return fail_sys("fork");
    if (pid == 0) {
        ::dup2(rd.get(), STDIN_FILENO);
        // A hook must not inherit hull's descriptors (the sync channel among them).
        hull::sys::close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    rd.reset();
    UniqueFd pidfd(hull::sys::pidfd_open(pid, 0));
    // The hook may exit without reading its stdin; SIGPIPE must not kill hull.
    struct sigaction ign = {}, old = {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    const char* p = state_json.data();
    size_t left = state_json.size();
    while (left) {
        ssize_t n = ::write(wr.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    wr.reset();
    ::sigaction(SIGPIPE, &old, nullptr);

    int64_t deadline = hook.timeout ? now_ms() + int64_t(*hook.timeout) * 1000 : -1;
    for (;;) {
        int wait_ms = -1;
        if (deadline >= 0) wait_ms = static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
        struct pollfd pfd = {pidfd.get(), POLLIN, 0};
        int r = pidfd ? ::poll(&pfd, 1, wait_ms) : 1;
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            return fail(Error(ETIMEDOUT, cat("timed out after ", *hook.timeout, "s")));
        }
        break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return fail_sys("wait for hook");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 127) return fail_msg("exited with status 127 (could it be executed?)");
        return fail_msg(cat("exited with status ", WEXITSTATUS(status)));
    }
    return fail_msg(cat("killed by signal ", WTERMSIG(status)));
}

}  // namespace

Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind, const std::string& state_json) {
    for (size_t i = 0; i < hooks.size(); ++i)
        HULL_TRY_CTX(run_hook(hooks[i], state_json), cat(kind, " hook [", i, "] ", q(hooks[i].path)));
    return {};
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, std::string_view kind, const std::string& state_json) {
    for (size_t i = 0; i < hooks.size(); ++i)
        if (auto r = run_hook(hooks[i], state_json); !r)
            log::warn(std::move(r.error()).context(cat(kind, " hook [", i, "] ", q(hooks[i].path))).message());
}

}  // namespace hull::runtime::linux
