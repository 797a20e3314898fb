// hull-guest-init: PID 1 of the Linux guest hull boots for a Linux image under
// `org.hull.isolation=vm` (runtime/vm/linux_guest.hpp). A straight script:
//
//   1. mount /dev (devtmpfs), /proc, /sys                       machine.cpp: mount_early
//   2. read /hull/process.json (hull wrote it into the initramfs) process_config.cpp
//   3. load the modules shipped in the initramfs, in order      load_modules
//   4. wait for /dev/vda (erofs root) and /dev/vdb (ext4 upper)  wait_for_disks
//   5. overlay root; /dev, /proc, /sys moved in; devpts, shm     assemble_root
//   6. switch_root into it (the initramfs's files are freed)     switch_root
//   7. hostname; the console raw unless the process wants a terminal
//   8. fork the OCI process: session, terminal, rlimits, umask, groups, gid, uid,
//      no_new_privs, cwd, exec (PATH searched in the process's own environment)
//   9. open the VMM's control channel (process.json's `control`, /dev/hvc1), make it raw, say
//      kReady on it (runtime/vm/control_protocol.hpp)
//  10. one poll loop: reap every child (orphans land here); forward SIGTERM & co. it receives to
//      the process; the host's kSignal to the process, kWindowSize to the console tty
//  11. when the process ends: kill the rest, write its status (128 + signal if killed) to the
//      VMM's port 0x501; power off if that port is not there.
//
// Failures before the process runs print `hull-guest-init: <what failed>` on the console and
// end the VM with status 125; a program that cannot be run ends it with 127 (not found) or 126.
// A control channel that does not come or fails is one line on the console, not a failure: the
// VMM then stops the VM on SIGTERM & co. itself, as before the guest said kReady.
//
// Test mode (HULL_GUEST_INIT_TEST=1 in its environment): steps 1 and 3-6 are skipped, the
// console is the tty on stdin (with process.terminal), and the status is printed on stdout
// (`hull-guest-init: exit status N`) and becomes this process's exit status, so the
// integration tests can run it as PID 1 of an ordinary container, with a pty of theirs bound
// at the control path.
#include "runtime/vm/control_protocol.hpp"
#include "runtime/vm/guest_init/control_reader.hpp"
#include "runtime/vm/guest_init/machine.hpp"
#include "runtime/vm/guest_init/process_config.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace hull::vm::guest {
namespace {

constexpr int kInitFailed = 125;
constexpr int kCannotExec = 126;
constexpr int kNotFound = 127;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// How long the control channel gets to appear once the process runs. The virtio-console driver
// adds its ports while its module loads (or at boot, built in), so the device is normally there
// at the first try; the wait covers a slow probe without holding up the process.
constexpr int kControlWaitMs = 5000;
// Signals the init passes on to the process when it receives them itself.
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

bool g_test = false;

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

void say(const std::string& msg) { write_all(2, "hull-guest-init: " + msg + "\n"); }

[[noreturn]] void finish(int status) {
    // What the process left behind ends with it, as in a container whose init exits.
    ::kill(-1, SIGKILL);
    for (;;) {
        pid_t w = ::waitpid(-1, nullptr, 0);
        if (w < 0 && errno != EINTR) break;  // ECHILD: all reaped
    }
    if (g_test) {
        write_all(1, "hull-guest-init: exit status " + std::to_string(status) + "\n");
        ::_exit(status);
    }
    report_and_power_off(status);
}

[[noreturn]] void fail(const std::string& msg) {
    say(msg);
    finish(kInitFailed);
}

std::string read_file(const char* path, std::string& err) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = sys_error(std::string("open `") + path + "`", errno);
        return {};
    }
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) err = sys_error(std::string("read `") + path + "`", errno);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
    for (const auto& kv : env)
        if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
            return kv.substr(name.size() + 1);
    return {};
}

// The home directory of `uid` from the root's /etc/passwd (runc's default for a missing HOME).
std::string home_of(std::uint32_t uid) {
    std::string err;
    std::string text = read_file("/etc/passwd", err);
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        at = nl == std::string::npos ? text.size() : nl + 1;
        std::vector<std::string> f;
        std::size_t s = 0;
        for (std::size_t c; (c = line.find(':', s)) != std::string::npos; s = c + 1) f.push_back(line.substr(s, c - s));
        f.push_back(line.substr(s));
        if (f.size() >= 6 && f[2] == std::to_string(uid)) return f[5].empty() ? "/" : f[5];
    }
    return "/";
}

[[noreturn]] void die(const std::string& msg, int status) {
    say(msg);
    ::_exit(status);
}

// The child, between fork and exec. Single-threaded parent: allocation is safe here. Errors
// go to stderr (the console) and end the child with the status a shell would give.
[[noreturn]] void run_process(const GuestProcess& p, const std::vector<std::string>& env, const std::string& tty) {
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    if (::setsid() < 0) die(sys_error("setsid", errno), kInitFailed);
    if (!tty.empty()) {
        // /dev/console cannot be a controlling terminal; the tty behind it can.
        int fd = ::open(tty.c_str(), O_RDWR);
        if (fd < 0) die(sys_error("open the terminal `" + tty + "`", errno), kInitFailed);
        if (::ioctl(fd, TIOCSCTTY, 0) < 0) die(sys_error("make `" + tty + "` the controlling terminal", errno), kInitFailed);
        for (int i = 0; i < 3; ++i) ::dup2(fd, i);
        if (fd > 2) ::close(fd);
    }
    for (const auto& r : p.rlimits) {
        struct rlimit lim = {static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
        if (::setrlimit(static_cast<__rlimit_resource_t>(r.resource), &lim) < 0)
            die(sys_error("setrlimit " + std::to_string(r.resource), errno), kInitFailed);
    }
    ::umask(p.umask ? *p.umask : 022);
    std::vector<gid_t> groups(p.additional_gids.begin(), p.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) < 0) die(sys_error("setgroups", errno), kInitFailed);
    if (::setgid(p.gid) < 0) die(sys_error("setgid " + std::to_string(p.gid), errno), kInitFailed);
    if (::setuid(p.uid) < 0) die(sys_error("setuid " + std::to_string(p.uid), errno), kInitFailed);
    if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(sys_error("no_new_privs", errno), kInitFailed);
    if (::chdir(p.cwd.c_str()) < 0) die(sys_error("chdir to `" + p.cwd + "`", errno), kInitFailed);

    std::vector<char*> argv, envp;
    for (const auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const std::string& file = p.args[0];
    if (file.find('/') != std::string::npos) {
        ::execve(file.c_str(), argv.data(), envp.data());
        int err = errno;
        die(sys_error("exec `" + file + "`", err), err == ENOENT ? kNotFound : kCannotExec);
    }
    // execvpe's search, but over the process's PATH rather than this one's.
    std::string path = env_value(env, "PATH");
    if (path.empty()) path = kDefaultPath;
    int first_err = ENOENT;
    std::size_t s = 0;
    for (;;) {
        std::size_t c = path.find(':', s);
        std::string dir = path.substr(s, c == std::string::npos ? std::string::npos : c - s);
        std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + file;
        ::execve(cand.c_str(), argv.data(), envp.data());
        if (errno != ENOENT && errno != ENOTDIR && first_err == ENOENT) first_err = errno;
        if (c == std::string::npos) break;
        s = c + 1;
    }
    if (first_err == ENOENT) die("exec `" + file + "`: not found in $PATH `" + path + "`", kNotFound);
    die(sys_error("exec `" + file + "`", first_err), kCannotExec);
}

// Test mode's console: the pty on stdin that hull gave the container. The init gives up its own
// hold on it (hull's container init made it the controlling terminal of the init's session), so
// the process can take it as in a guest. The SIGHUP and SIGCONT the kernel sends the init's
// group for that are ignored here, before the forwarded signals are blocked and kept.
std::string test_console_tty(std::string& tty) {
    char name[256];
    if (::ttyname_r(0, name, sizeof name) != 0) return "process.terminal in test mode needs a terminal on stdin";
    struct sigaction ign{}, old_hup{}, old_cont{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGHUP, &ign, &old_hup);
    ::sigaction(SIGCONT, &ign, &old_cont);
    if (::ioctl(0, TIOCNOTTY) < 0 && errno != ENOTTY) return sys_error("give up the controlling terminal", errno);
    ::sigaction(SIGHUP, &old_hup, nullptr);
    ::sigaction(SIGCONT, &old_cont, nullptr);
    tty = name;
    return {};
}

long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// The init's end of the control channel: a raw tty (the VMM's second virtio-console in a guest,
// the test's pty in test mode). Any failure closes it with one line on the console; the process
// runs on without it.
class ControlChannel {
public:
    explicit ControlChannel(std::string path) : path_(std::move(path)), deadline_(now_ms() + kControlWaitMs) {}
    ~ControlChannel() { close_fd(); }

    bool waiting() const { return !path_.empty() && fd_ < 0 && !given_up_; }
    int fd() const { return fd_; }

    // One attempt to open the device. A node that is not there yet (ENOENT), or whose driver
    // has no port behind it yet (ENODEV, ENXIO: the hvc driver makes /dev/hvc0-7 up front), is
    // tried again until the deadline; anything else ends the wait.
    void try_open() {
        if (!waiting()) return;
        int fd = ::open(path_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if ((err == ENOENT || err == ENODEV || err == ENXIO) && now_ms() < deadline_) return;
            if (err == ENOENT || err == ENODEV || err == ENXIO)
                give_up(sys_error("not there after " + std::to_string(kControlWaitMs / 1000) + " s (open", err) + ")");
            else
                give_up(sys_error("open", err));
            return;
        }
        fd_ = fd;
        // The channel carries bytes, not lines: no echo, no CR/LF mapping, no signal or flow
        // control characters, nothing held back for a line editor.
        struct termios t;
        if (::tcgetattr(fd_, &t) < 0) return give_up(sys_error("make it raw", errno));
        ::cfmakeraw(&t);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (::tcsetattr(fd_, TCSANOW, &t) < 0) return give_up(sys_error("make it raw", errno));
        const std::uint8_t ready[] = {control::kReady, 0};
        ssize_t n;
        do n = ::write(fd_, ready, sizeof ready);
        while (n < 0 && errno == EINTR);
        if (n != static_cast<ssize_t>(sizeof ready)) return give_up(n < 0 ? sys_error("say ready", errno) : "say ready: short write");
    }

    // Milliseconds until the next attempt to open, for poll; -1 when not waiting.
    int retry_in() const {
        if (!waiting()) return -1;
        return static_cast<int>(std::clamp(deadline_ - now_ms(), 0L, 10L));
    }

    // Reads what is there and acts on every complete message.
    template <typename OnMessage>
    void read_messages(OnMessage&& on_message) {
        std::uint8_t buf[512];
        for (;;) {
            ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            if (n <= 0) return give_up(n == 0 ? std::string("closed by the host") : sys_error("read", errno));
            reader_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)), on_message);
        }
    }

    void complain(const std::string& what) { say("control channel `" + path_ + "`: " + what); }

private:
    void close_fd() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void give_up(const std::string& what) {
        complain(what + "; signals from the host stop the VM instead");
        close_fd();
        given_up_ = true;
    }

    std::string path_;
    long deadline_;
    int fd_ = -1;
    bool given_up_ = false;
    ControlReader reader_;
};

// Reaps every child that has ended; the process's end is the init's.
void reap(pid_t child) {
    for (;;) {
        int ws = 0;
        pid_t w = ::waitpid(-1, &ws, WNOHANG);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  // 0: the rest still run; ECHILD: none left
        if (w == child) finish(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
        // Anything else is an orphan that was reparented here: reaped, nothing more.
    }
}

[[noreturn]] void run_loop(const GuestProcess& p, pid_t child, int sfd, int tty_fd) {
    ControlChannel control(p.control);
    control.try_open();
    auto on_message = [&](std::uint8_t type, std::span<const std::uint8_t> payload) {
        ControlCommand c = decode_control(type, payload);
        switch (c.kind) {
            case ControlCommand::Kind::kSignal:
                ::kill(child, c.signal);
                break;
            case ControlCommand::Kind::kWindowSize:
                // Only a process with a terminal has a size to change; the kernel then sends
                // SIGWINCH to the terminal's foreground group.
                if (tty_fd >= 0) {
                    struct winsize ws{};
                    ws.ws_row = c.rows;
                    ws.ws_col = c.cols;
                    if (::ioctl(tty_fd, TIOCSWINSZ, &ws) < 0) control.complain(sys_error("set the window size", errno));
                }
                break;
            case ControlCommand::Kind::kBad:
                control.complain(c.error);
                break;
            case ControlCommand::Kind::kIgnored:
                break;
        }
    };
    for (;;) {
        struct pollfd fds[2] = {{sfd, POLLIN, 0}, {control.fd(), POLLIN, 0}};
        int r = ::poll(fds, control.fd() >= 0 ? 2 : 1, control.retry_in());
        if (r < 0 && errno != EINTR) fail(sys_error("poll", errno));
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                if (si.ssi_signo == SIGCHLD) reap(child);
                else ::kill(child, static_cast<int>(si.ssi_signo));
            }
        }
        if (control.fd() >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) control.read_messages(on_message);
        if (control.waiting()) control.try_open();
    }
}

int main_script() {
    const char* test = std::getenv("HULL_GUEST_INIT_TEST");
    g_test = test && std::string_view(test) == "1";
    if (!g_test && ::getpid() != 1) {
        say("runs as PID 1 of a hull vm guest (or with HULL_GUEST_INIT_TEST=1 for tests)");
        return 2;
    }
    if (!g_test)
        if (auto e = mount_early(); !e.empty()) fail(e);

    std::string err;
    std::string text = read_file(std::string(kProcessConfigPath).c_str(), err);
    if (!err.empty()) fail(err);
    auto parsed = parse_guest_process(text);
    if (!parsed) fail(std::string("`") + std::string(kProcessConfigPath) + "`: " + parsed.error());
    const GuestProcess& p = *parsed;

    if (!g_test) {
        if (auto e = load_modules(p); !e.empty()) fail(e);
        if (auto e = wait_for_disks(p); !e.empty()) fail(e);
        if (auto e = assemble_root(p); !e.empty()) fail(e);
        if (auto e = switch_root(); !e.empty()) fail(e);
    }
    if (!p.hostname.empty() && ::sethostname(p.hostname.data(), p.hostname.size()) < 0)
        fail(sys_error("sethostname `" + p.hostname + "`", errno));
    std::string tty;
    if (g_test) {
        if (p.terminal)
            if (auto e = test_console_tty(tty); !e.empty()) fail(e);
    } else {
        if (p.terminal) tty = console_tty();
        else if (auto e = set_console_raw(); !e.empty()) fail(e);
    }
    std::vector<std::string> env = p.env;
    if (env_value(env, "HOME").empty()) env.push_back("HOME=" + home_of(p.uid));

    // Everything the loop waits for is a descriptor: the signals (blocked from here on, so none
    // is lost between the fork and the loop; the child unblocks them) through a signalfd.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int sig : kForwarded) sigaddset(&set, sig);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) fail(sys_error("block signals", errno));
    int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) fail(sys_error("signalfd", errno));
    // The terminal's size is set through a descriptor of the init's own: the process's are its own.
    int tty_fd = -1;
    if (!tty.empty()) {
        tty_fd = ::open(tty.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (tty_fd < 0) say(sys_error("open the terminal `" + tty + "` for window sizes", errno) + "; they are ignored");
    }

    pid_t child = ::fork();
    if (child < 0) fail(sys_error("fork", errno));
    if (child == 0) run_process(p, env, tty);
    run_loop(p, child, sfd, tty_fd);
}
}  // namespace
}  // namespace hull::vm::guest

int main() { return hull::vm::guest::main_script(); }
