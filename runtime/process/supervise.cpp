#include "runtime/process/supervise.hpp"

#include "common/syscalls.hpp"
#include "runtime/linux/console.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

namespace hull::runtime::process {

int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

Result<int> supervise(ChildProcess& child, UniqueFd& master) {
    sigset_t mask, old;
    sigfillset(&mask);
    // Synchronous faults must stay deliverable to us.
    for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) sigdelset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, &old);
    UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    std::optional<linux::TerminalProxy> tty;
    if (master) tty.emplace(master.get());
    for (;;) {
        struct pollfd p[4] = {{sfd.get(), POLLIN, 0}, {child.pidfd(), POLLIN, 0}, {-1, POLLIN, 0}, {-1, POLLIN, 0}};
        if (tty && tty->master_open()) p[2].fd = tty->master();
        if (tty && tty->stdin_open()) p[3].fd = STDIN_FILENO;
        if (::poll(p, 4, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) continue;
                if (sig == SIGWINCH) {
                    if (tty) tty->resize();
                    continue;
                }
                sys::pidfd_send_signal(child.pidfd(), sig, nullptr, 0);
            }
        }
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) tty->pump_output();
        if (p[3].revents & (POLLIN | POLLHUP)) tty->pump_input();
        if (p[1].revents & POLLIN) break;
    }
    if (tty) tty->drain();
    auto status = child.wait();
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (!status) return fail(std::move(status.error()));
    return exit_code(*status);
}

}  // namespace hull::runtime::process
