#include "runtime/linux/console.hpp"

#include "common/strings.hpp"
#include "common/unix_socket.hpp"
#include "runtime/linux/mounts.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace hull::runtime::linux {

Result<UniqueFd> connect_console_socket(const std::string& path) { return connect_unix(path); }

Result<ConsoleEnds> console_ends(const std::string& console_socket) {
    ConsoleEnds ends;
    if (!console_socket.empty()) {
        ends.child = HULL_TRY(connect_console_socket(console_socket));
        return ends;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return fail_sys("socketpair");
    ends.ours.reset(sv[0]);
    ends.child.reset(sv[1]);
    return ends;
}

Status send_fd(int sock, int fd, std::string_view name) {
    HULL_TRY_CTX(send_with_fd(sock, name, fd), "send the pty master over the console socket");
    return {};
}

Result<UniqueFd> recv_fd(int sock) {
    char name[4096];
    UniqueFd fd;
    HULL_TRY_CTX(recv_with_fd(sock, name, sizeof name, fd), "receive the pty master");
    if (!fd) return fail_msg("receive the pty master: no file descriptor in the message");
    return fd;
}

Status setup_console(int console_sock, const std::optional<oci::ConsoleSize>& size, bool bind_console) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return fail_sys("open `/dev/ptmx`");
    if (::unlockpt(master.get()) < 0) return fail_sys("unlockpt");
    char slave_path[128];
    if (::ptsname_r(master.get(), slave_path, sizeof slave_path) != 0) return fail_sys("ptsname");
    if (size && size->height && size->width) {
        struct winsize ws = {};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        if (::ioctl(master.get(), TIOCSWINSZ, &ws) < 0) return fail_sys("set the terminal size");
    }
    UniqueFd slave(::open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return fail_sys(cat("open ", q(slave_path)));
    if (bind_console) HULL_TRY(mount_console(slave_path));
    HULL_TRY(send_fd(console_sock, master.get(), "/dev/ptmx"));
    master.reset();
    if (::setsid() < 0 && errno != EPERM) return fail_sys("setsid");
    if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) return fail_sys("make the pty the controlling terminal");
    for (int fd = 0; fd < 3; ++fd)
        if (::dup2(slave.get(), fd) < 0) return fail_sys("dup2 the pty onto stdio");
    return {};
}

namespace {

// Copies one chunk; false on EOF or a hard error.
bool copy_once(int from, int to) {
    char buf[16384];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += w;
    }
    return true;
}

}  // namespace

TerminalProxy::TerminalProxy(int master) : master_(master) {
    if (::isatty(STDIN_FILENO)) {
        if (::tcgetattr(STDIN_FILENO, &saved_) == 0) {
            struct termios raw = saved_;
            ::cfmakeraw(&raw);
            raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
        resize();
    }
}

TerminalProxy::~TerminalProxy() {
    if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
}

bool TerminalProxy::pump_output() {
    if (!copy_once(master_, STDOUT_FILENO)) master_open_ = false;
    return master_open_;
}

void TerminalProxy::pump_input() {
    if (!copy_once(STDIN_FILENO, master_)) stdin_open_ = false;
}

void TerminalProxy::resize() {
    struct winsize ws;
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master_, TIOCSWINSZ, &ws);
}

void TerminalProxy::drain() {
    for (;;) {
        struct pollfd p = {master_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return;
        if (!copy_once(master_, STDOUT_FILENO)) return;
    }
}

}  // namespace hull::runtime::linux
