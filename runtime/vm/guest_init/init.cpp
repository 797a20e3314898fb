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
//   9. reap every child (orphans land here); forward SIGTERM & co. to the process
//  10. when the process ends: kill the rest, write its status (128 + signal if killed) to the
//      VMM's port 0x501; power off if that port is not there.
//
// Failures before the process runs print `hull-guest-init: <what failed>` on the console and
// end the VM with status 125; a program that cannot be run ends it with 127 (not found) or 126.
//
// Test mode (HULL_GUEST_INIT_TEST=1 in its environment): steps 1 and 3-6 are skipped and the
// status is printed on stdout (`hull-guest-init: exit status N`) and becomes this process's
// exit status, so the integration tests can run it as PID 1 of an ordinary container.
#include "runtime/vm/guest_init/machine.hpp"
#include "runtime/vm/guest_init/process_config.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

bool g_test = false;
volatile sig_atomic_t g_main_pid = 0;

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

void forward_signal(int sig) {
    if (g_main_pid > 0) ::kill(g_main_pid, sig);
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
    if (p.terminal && !g_test) {
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
    if (!g_test) {
        if (p.terminal) tty = console_tty();
        else if (auto e = set_console_raw(); !e.empty()) fail(e);
    }
    std::vector<std::string> env = p.env;
    if (env_value(env, "HOME").empty()) env.push_back("HOME=" + home_of(p.uid));

    struct sigaction sa{};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) ::sigaction(sig, &sa, nullptr);

    pid_t child = ::fork();
    if (child < 0) fail(sys_error("fork", errno));
    if (child == 0) run_process(p, env, tty);
    g_main_pid = child;
    for (;;) {
        int ws = 0;
        pid_t w = ::waitpid(-1, &ws, 0);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail(sys_error("wait for the process", errno));
        }
        if (w == child) {
            g_main_pid = 0;
            finish(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
        }
        // Anything else is an orphan that was reparented here: reaped, nothing more.
    }
}

}  // namespace
}  // namespace hull::vm::guest

int main() { return hull::vm::guest::main_script(); }
