#include "process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace hull::bench {

volatile std::sig_atomic_t g_interrupted = 0;

namespace {

void on_signal(int) { g_interrupted = 1; }

// What the child of spawn() needs, prepared before fork() so that the child only makes
// async-signal-safe calls.
struct Prepared {
    std::vector<char*> argv;
};

Prepared prepare(const Command& cmd)
{
    Prepared p;
    for (const auto& arg : cmd.argv)
        p.argv.push_back(const_cast<char*>(arg.c_str())); // SAFETY: execve does not write argv.
    p.argv.push_back(nullptr);
    return p;
}

std::string describe_wait_status(int status)
{
    char buf[64];
    if (WIFEXITED(status))
        std::snprintf(buf, sizeof buf, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        std::snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(status));
    else
        std::snprintf(buf, sizeof buf, "wait status %#x", status);
    return buf;
}

struct Started {
    pid_t pid = -1;
    int pidfd = -1;
};

// fork + execve with the command in its own process group. The exec result comes back
// over a close-on-exec pipe, so a missing binary is a spawn error, not "exit status 127".
// fork() rather than vfork()/posix_spawn(): the exec'ing process inherits the peak RSS of
// the address space it had before execve (exec_mmap keeps the old mm's high-water mark in
// signal->maxrss), and a forked copy of this small static driver is far smaller than a
// shared one would be if the driver ever grew.
Started spawn(const Command& cmd, std::string& error)
{
    if (cmd.argv.empty()) {
        error = "empty command";
        return {};
    }
    Prepared prepared = prepare(cmd);
    int exec_pipe[2];
    if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
        error = std::string("pipe2: ") + std::strerror(errno);
        return {};
    }
    pid_t pid = fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        close(exec_pipe[0]);
        close(exec_pipe[1]);
        return {};
    }
    if (pid == 0) {
        setpgid(0, 0);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD})
            sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(cmd.stdout_fd >= 0 ? cmd.stdout_fd : devnull, 1);
        dup2(cmd.stderr_fd >= 0 ? cmd.stderr_fd : devnull, 2);
        if (devnull > 2)
            close(devnull);
        execve(prepared.argv[0], prepared.argv.data(), environ);
        int err = errno;
        (void)!write(exec_pipe[1], &err, sizeof err);
        _exit(127);
    }
    // Also set from the parent, so the group exists before we might signal it.
    setpgid(pid, pid);
    close(exec_pipe[1]);
    int exec_errno = 0;
    ssize_t n;
    do {
        n = read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(exec_pipe[0]);
    if (n > 0) {
        waitpid(pid, nullptr, 0);
        error = "exec `" + cmd.argv[0] + "`: " + std::strerror(exec_errno);
        return {};
    }
    int pidfd = pidfd_open(pid);
    if (pidfd < 0) {
        error = std::string("pidfd_open: ") + std::strerror(errno);
        kill(-pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        return {};
    }
    return {pid, pidfd};
}

double tv_ms(const struct timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3; }

void finish(Outcome& out, pid_t pid, Status if_ok)
{
    int status = 0;
    struct rusage ru {};
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    out.end_ms = now_ms();
    out.wait_status = status;
    out.maxrss_kib = ru.ru_maxrss;
    out.cpu_ms = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
    if (if_ok != Status::ok) {
        out.status = if_ok;
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        out.status = Status::ok;
    } else {
        out.status = Status::failed;
        out.error = describe_wait_status(status);
    }
}

} // namespace

void install_signal_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: blocking calls must return EINTR
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

double now_ms()
{
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

const char* to_string(Status status)
{
    switch (status) {
    case Status::ok: return "ok";
    case Status::failed: return "failed";
    case Status::timed_out: return "timed out";
    case Status::interrupted: return "interrupted";
    case Status::spawn_error: return "spawn error";
    }
    return "?";
}

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

Outcome run_one(const Command& cmd, double timeout_ms, bool interruptible)
{
    Outcome out;
    out.start_ms = now_ms();
    Started child = spawn(cmd, out.error);
    if (child.pid < 0) {
        out.end_ms = now_ms();
        out.status = Status::spawn_error;
        return out;
    }
    double deadline = out.start_ms + timeout_ms;
    Status verdict = Status::ok;
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0) {
            verdict = Status::timed_out;
            break;
        }
        struct pollfd pfd { child.pidfd, POLLIN, 0 };
        int r = poll(&pfd, 1, static_cast<int>(left) + 1);
        if (r > 0)
            break;
        if (r < 0 && errno == EINTR && interruptible && g_interrupted) {
            verdict = Status::interrupted;
            break;
        }
    }
    if (verdict != Status::ok)
        kill(-child.pid, SIGKILL);
    finish(out, child.pid, verdict);
    close(child.pidfd);
    if (verdict == Status::timed_out) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "timed out after %.0f ms", timeout_ms);
        out.error = buf;
    } else if (verdict == Status::interrupted) {
        out.error = "interrupted";
    }
    return out;
}

std::vector<Outcome> run_all(const std::vector<Command>& cmds, double timeout_ms)
{
    std::vector<Outcome> outs(cmds.size());
    std::vector<Started> children(cmds.size());
    double batch_start = now_ms();
    for (size_t i = 0; i < cmds.size(); ++i) {
        outs[i].start_ms = now_ms();
        children[i] = spawn(cmds[i], outs[i].error);
        if (children[i].pid < 0) {
            outs[i].end_ms = now_ms();
            outs[i].status = Status::spawn_error;
        }
    }
    double deadline = batch_start + timeout_ms;
    Status verdict = Status::ok;
    for (;;) {
        std::vector<struct pollfd> fds;
        std::vector<size_t> index;
        for (size_t i = 0; i < children.size(); ++i) {
            if (children[i].pid >= 0) {
                fds.push_back({children[i].pidfd, POLLIN, 0});
                index.push_back(i);
            }
        }
        if (fds.empty())
            break;
        double left = deadline - now_ms();
        if (left <= 0) {
            verdict = Status::timed_out;
            break;
        }
        int r = poll(fds.data(), fds.size(), static_cast<int>(left) + 1);
        if (r < 0 && errno == EINTR && g_interrupted) {
            verdict = Status::interrupted;
            break;
        }
        for (size_t k = 0; r > 0 && k < fds.size(); ++k) {
            if (!(fds[k].revents & (POLLIN | POLLHUP)))
                continue;
            size_t i = index[k];
            finish(outs[i], children[i].pid, Status::ok);
            close(children[i].pidfd);
            children[i] = {};
        }
    }
    for (size_t i = 0; i < children.size(); ++i) {
        if (children[i].pid < 0)
            continue;
        kill(-children[i].pid, SIGKILL);
        finish(outs[i], children[i].pid, verdict);
        outs[i].error = verdict == Status::interrupted ? "interrupted" : "timed out";
        close(children[i].pidfd);
    }
    return outs;
}

namespace {

// The fixed-size report a run_tree helper writes back over its pipe.
struct TreeWire {
    int status;
    int wait_status;
    double start_ms;
    double end_ms;
    long maxrss_kib;
    double cpu_ms;
    long tree_maxrss_kib;
    int orphans;
    int orphans_killed;
    char error[256];
};

// Our live children, from /proc/<pid>/task/<tid>/children (the helper is single-threaded).
std::vector<pid_t> live_children()
{
    std::vector<pid_t> pids;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/children", static_cast<int>(getpid()));
    FILE* f = std::fopen(path, "re");
    if (!f)
        return pids;
    int pid;
    while (std::fscanf(f, "%d", &pid) == 1)
        pids.push_back(pid);
    std::fclose(f);
    return pids;
}

[[noreturn]] void tree_helper(const Command& cmd, double timeout_ms, int report_fd)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    Outcome out = run_one(cmd, timeout_ms);
    TreeWire wire {};
    wire.status = static_cast<int>(out.status);
    wire.wait_status = out.wait_status;
    wire.start_ms = out.start_ms;
    wire.end_ms = out.end_ms;
    wire.maxrss_kib = out.maxrss_kib;
    wire.cpu_ms = out.cpu_ms;
    std::snprintf(wire.error, sizeof wire.error, "%s", out.error.c_str());
    // Anything still around was orphaned by the command and reparented to us.
    double deadline = now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            ++wire.orphans;
            continue;
        }
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break; // ECHILD: the tree is gone
        if (now_ms() > deadline || g_interrupted) {
            for (pid_t child : live_children())
                kill(child, SIGKILL);
            wire.orphans_killed = 1;
            // Something unkillable (or invisible to /proc) must not hang the bench.
            if (now_ms() > deadline + 5000)
                break;
        }
        usleep(1000);
    }
    struct rusage ru {};
    getrusage(RUSAGE_CHILDREN, &ru);
    wire.tree_maxrss_kib = ru.ru_maxrss;
    (void)!write(report_fd, &wire, sizeof wire);
    _exit(0);
}

} // namespace

TreeOutcome run_tree(const Command& cmd, double timeout_ms)
{
    TreeOutcome result;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        result.command.error = std::string("pipe2: ") + std::strerror(errno);
        return result;
    }
    pid_t helper = fork();
    if (helper < 0) {
        result.command.error = std::string("fork: ") + std::strerror(errno);
        close(report[0]);
        close(report[1]);
        return result;
    }
    if (helper == 0) {
        close(report[0]);
        tree_helper(cmd, timeout_ms, report[1]);
    }
    close(report[1]);
    TreeWire wire {};
    size_t got = 0;
    while (got < sizeof wire) {
        ssize_t n = read(report[0], reinterpret_cast<char*>(&wire) + got, sizeof wire - got); // SAFETY: TreeWire is trivially copyable.
        if (n > 0) {
            got += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue; // the helper sees the same signal and winds down by itself
        break;
    }
    close(report[0]);
    while (waitpid(helper, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (got != sizeof wire) {
        result.command.status = Status::spawn_error;
        result.command.error = "measuring helper died without a report";
        return result;
    }
    result.command.status = static_cast<Status>(wire.status);
    result.command.wait_status = wire.wait_status;
    result.command.start_ms = wire.start_ms;
    result.command.end_ms = wire.end_ms;
    result.command.maxrss_kib = wire.maxrss_kib;
    result.command.cpu_ms = wire.cpu_ms;
    result.command.error = wire.error;
    result.tree_maxrss_kib = wire.tree_maxrss_kib;
    result.orphans = wire.orphans;
    result.orphans_killed = wire.orphans_killed != 0;
    return result;
}

long wait_foreign(pid_t pid, int pidfd, double timeout_ms)
{
    double deadline = now_ms() + timeout_ms;
    if (pidfd >= 0) {
        for (;;) {
            double left = deadline - now_ms();
            if (left <= 0)
                return -1;
            struct pollfd pfd { pidfd, POLLIN, 0 };
            int r = poll(&pfd, 1, static_cast<int>(left) + 1);
            if (r > 0)
                break;
            if (r < 0 && errno == EINTR && g_interrupted)
                return -1;
        }
    }
    // Exited (or no pidfd, in which case it is already gone): reaping cannot block.
    struct rusage ru {};
    int status;
    pid_t r;
    int flags = pidfd >= 0 ? 0 : WNOHANG;
    while ((r = wait4(pid, &status, flags, &ru)) < 0 && errno == EINTR) {
    }
    return r == pid ? ru.ru_maxrss : 0;
}

void reap_strays()
{
    int status;
    while (waitpid(-1, &status, WNOHANG) > 0) {
    }
}

} // namespace hull::bench
