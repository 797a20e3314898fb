#include "harness.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace hull::itest {

namespace {

std::string read_fd(int fd) {
    std::string s;
    if (lseek(fd, 0, SEEK_SET) < 0) return s;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        s.append(buf, static_cast<size_t>(n));
    }
    return s;
}

std::string clip(const std::string& s, size_t max = 4000) {
    if (s.size() <= max) return s;
    return s.substr(0, max) + "...[" + std::to_string(s.size() - max) + " more bytes]";
}

// Write a message to fd 2 of the child between fork and exec; only
// async-signal-safe calls are allowed there.
void child_fail(const char* what) {
    int e = errno;
    ssize_t ignored = write(2, what, strlen(what));
    const char* es = strerror(e);
    ignored = write(2, ": ", 2);
    ignored = write(2, es, strlen(es));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(125);
}

// mountinfo escapes blanks and backslashes as \ooo.
std::string unescape_mountinfo(const std::string& s) {
    std::string o;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() + 0 && s[i + 1] >= '0' && s[i + 1] <= '7') {
            o.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
            i += 3;
        } else {
            o.push_back(s[i]);
        }
    }
    return o;
}

std::vector<std::string> host_mount_points() {
    std::vector<std::string> points;
    for (const std::string& line : split_lines(read_text("/proc/self/mountinfo"))) {
        std::istringstream in(line);
        std::string id, parent, dev, root, point;
        in >> id >> parent >> dev >> root >> point;
        if (!point.empty()) points.push_back(unescape_mountinfo(point));
    }
    return points;
}

bool under(const std::string& path, const std::string& dir) {
    return path == dir || path.starts_with(dir + "/");
}

int unlink_entry(const char* path, const struct stat*, int, struct FTW*) {
    // Removing what can be removed and carrying on is the best a teardown can
    // do; the caller checks that the top directory is gone.
    ::remove(path);
    return 0;
}

}  // namespace

// ---------------------------------------------------------------------------

std::string ProcResult::describe() const {
    std::ostringstream s;
    s << "exit=" << exit_code;
    if (term_signal) s << " signal=" << term_signal;
    if (timed_out) s << " TIMED OUT";
    s << "\n--- stdout ---\n" << clip(out) << "\n--- stderr ---\n" << clip(err);
    return s.str();
}

ProcResult run_process(const std::vector<std::string>& argv, const RunOptions& opts) {
    ProcResult result;
    int in = memfd_create("itest-stdin", MFD_CLOEXEC);
    int err = memfd_create("itest-stderr", MFD_CLOEXEC);
    int out = opts.stdout_file
                  ? open(opts.stdout_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
                  : memfd_create("itest-stdout", MFD_CLOEXEC);
    if (in < 0 || err < 0 || out < 0) throw std::runtime_error("run_process: cannot create stdio files");
    if (!opts.stdin_data.empty()) {
        if (write(in, opts.stdin_data.data(), opts.stdin_data.size()) !=
            static_cast<ssize_t>(opts.stdin_data.size()))
            throw std::runtime_error("run_process: cannot write stdin");
        lseek(in, 0, SEEK_SET);
    }

    // Everything the child needs is prepared before fork: after it only
    // async-signal-safe calls are made.
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; e && *e; ++e) env_store.emplace_back(*e);
    for (const std::string& e : opts.env) env_store.push_back(e);
    std::vector<char*> cenv;
    for (const std::string& e : env_store) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    std::string sandbox = opts.sandbox_writable ? opts.sandbox_writable->string() : std::string();
    int max_target = 2;
    for (const auto& [src, dst] : opts.extra_fds) max_target = std::max(max_target, dst);

    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("run_process: fork failed");
    if (pid == 0) {
        setpgid(0, 0);
        if (dup2(err, 2) < 0) _exit(125);
        if (!sandbox.empty()) {
            if (unshare(CLONE_NEWNS) != 0) child_fail("sandbox: unshare(CLONE_NEWNS)");
            if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
                child_fail("sandbox: make / private");
            if (mount(sandbox.c_str(), sandbox.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
                child_fail("sandbox: bind the writable dir");
            if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
                child_fail("sandbox: remount / read-only");
        }
        // Park the extra descriptors above any target number first, so that
        // placing one cannot clobber the source of another.
        std::vector<int> moved;
        for (const auto& [src, dst] : opts.extra_fds) {
            int m = fcntl(src, F_DUPFD, 1000);
            if (m < 0) child_fail("extra fd: F_DUPFD");
            moved.push_back(m);
        }
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0) child_fail("dup2 stdio");
        for (size_t i = 0; i < moved.size(); ++i)
            if (dup2(moved[i], opts.extra_fds[i].second) < 0) child_fail("extra fd: dup2");
        close_range(static_cast<unsigned>(max_target) + 1, ~0U, 0);
        execvpe(cargv[0], cargv.data(), cenv.data());
        child_fail(cargv[0]);
    }

    auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    auto delay = 1ms;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            result.timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(delay);
        delay = std::min<std::chrono::milliseconds>(delay * 2, 20ms);
    }
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.term_signal = WTERMSIG(status);
    }
    result.out = opts.stdout_file ? read_text(*opts.stdout_file) : read_fd(out);
    result.err = read_fd(err);
    close(in);
    close(out);
    close(err);
    return result;
}

// ---------------------------------------------------------------------------

std::string read_text(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

void write_text(const fs::path& p, const std::string& data, fs::perms perms) {
    {
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error("cannot write " + p.string());
        f << data;
    }
    fs::permissions(p, perms);
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::string cur;
    for (char c : text) {
        if (c == '\n') {
            lines.push_back(cur);
            cur.clear();
        } else if (c != '\r') {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) lines.push_back(cur);
    return lines;
}

std::vector<json> json_lines(const std::string& text) {
    std::vector<json> out;
    for (const std::string& line : split_lines(text)) {
        size_t b = line.find('{');
        if (b == std::string::npos) continue;
        json j = json::parse(line.substr(b), nullptr, false);
        if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
    }
    return out;
}

json first_json(const std::string& text) {
    auto lines = json_lines(text);
    if (lines.empty()) throw std::runtime_error("no JSON object in output:\n" + clip(text));
    return lines.front();
}

std::vector<std::string> host_mounts_mentioning(const std::string& needle) {
    std::vector<std::string> hits;
    for (const std::string& line : split_lines(read_text("/proc/self/mountinfo")))
        if (unescape_mountinfo(line).find(needle) != std::string::npos) hits.push_back(line);
    return hits;
}

std::vector<int> host_processes_mentioning(const std::string& needle) {
    std::vector<int> pids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        int pid = std::stoi(name);
        if (pid == getpid()) continue;
        std::string cmdline = read_text(e.path() / "cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        std::string root = fs::read_symlink(e.path() / "root", ec).string();
        std::string cwd = fs::read_symlink(e.path() / "cwd", ec).string();
        if (cmdline.find(needle) != std::string::npos || root.find(needle) != std::string::npos ||
            cwd.find(needle) != std::string::npos)
            pids.push_back(pid);
    }
    return pids;
}

std::vector<fs::path> host_cgroups_mentioning(const std::string& needle) {
    std::vector<fs::path> hits;
    std::error_code ec;
    // Shallow on purpose: runtimes put containers near the top (`/<id>`,
    // `/system.slice/<prefix>-<id>.scope`), and a full walk is slow.
    auto walk = [&](auto&& self, const fs::path& dir, int depth) -> void {
        if (depth > 3) return;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            if (!e.is_directory(ec) || e.is_symlink(ec)) continue;
            if (e.path().filename().string().find(needle) != std::string::npos) {
                hits.push_back(e.path());
                continue;
            }
            self(self, e.path(), depth + 1);
        }
    };
    walk(walk, "/sys/fs/cgroup", 0);
    return hits;
}

bool remove_tree(const fs::path& dir) {
    const std::string d = dir.string();
    for (int round = 0; round < 8; ++round) {
        std::vector<std::string> points;
        for (const std::string& p : host_mount_points())
            if (under(p, d)) points.push_back(p);
        if (points.empty()) break;
        std::sort(points.begin(), points.end(),
                  [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
        for (const std::string& p : points) umount2(p.c_str(), MNT_DETACH);
    }
    for (const std::string& p : host_mount_points())
        if (under(p, d)) return false;
    // FTW_MOUNT keeps the walk on the temp dir's own filesystem, so even a
    // mount we failed to see cannot lead the deletion into host files.
    nftw(d.c_str(), unlink_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    std::error_code ec;
    return !fs::exists(dir, ec);
}

// ---------------------------------------------------------------------------

std::string runtime_path() {
    std::string p;
    if (const char* env = getenv("HULL_RUNTIME"); env && *env)
        p = env;
    else
        p = HULL_DEFAULT_RUNTIME;
    if (p.find('/') == std::string::npos) {
        // A bare name such as `runc`: resolve it through PATH, because some
        // tests copy the binary.
        const char* path = getenv("PATH");
        std::istringstream dirs(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        std::string dir;
        while (std::getline(dirs, dir, ':')) {
            fs::path cand = fs::path(dir) / p;
            if (access(cand.c_str(), X_OK) == 0) return cand.string();
        }
    }
    return p;
}

bool runtime_is_runc() { return fs::path(runtime_path()).filename() == "runc"; }

std::string probe_path() {
    if (const char* env = getenv("HULL_PROBE"); env && *env) return env;
    return HULL_DEFAULT_PROBE;
}

std::string busybox_path() {
    for (const char* p : {"/bin/busybox", "/usr/bin/busybox"})
        if (access(p, X_OK) == 0) return p;
    return "/bin/busybox";
}

json default_spec() {
    // What `runc spec` writes, kept verbatim so that the tests start from the
    // configuration every runc user starts from.
    static const char* const text = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";
    return json::parse(text);
}

// ---------------------------------------------------------------------------

void RuntimeTest::SetUp() {
    if (geteuid() != 0) GTEST_SKIP() << "integration tests drive a container runtime and need root";
    runtime_ = runtime_path();
    ASSERT_EQ(access(runtime_.c_str(), X_OK), 0)
        << "runtime binary `" << runtime_ << "` is not executable; build hull or set HULL_RUNTIME";
    ASSERT_EQ(access(probe_path().c_str(), X_OK), 0)
        << "probe binary `" << probe_path() << "` is missing; build the hull-probe target or set HULL_PROBE";
    ASSERT_EQ(access(busybox_path().c_str(), X_OK), 0) << "busybox-static is not installed";

    char tmpl[] = "/tmp/hull-itest-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    base_ = tmpl;
    // Traversable by every uid, so that containers in a user namespace
    // (mapped to unprivileged host ids) can reach their rootfs.
    fs::permissions(base_, fs::perms(0755));
    root_ = base_ / "state";
    fs::create_directory(root_);
    fs::permissions(root_, fs::perms(0700));
    bundle_ = make_bundle("bundle");
    rootfs_ = bundle_ / "rootfs";
    spec_ = default_spec();
    spec_["process"]["terminal"] = false;
    set_probe_args({"report"});
}

void RuntimeTest::TearDown() {
    if (base_.empty()) return;
    for (auto it = ids_.rbegin(); it != ids_.rend(); ++it) {
        RunOptions o;
        o.timeout = 20s;
        rt({"delete", "--force", *it}, o);
    }
    // Anything still running from the bundle is a leak of the runtime under
    // test: report it, then kill it so it cannot disturb later tests.
    auto leftovers = host_processes_mentioning(base_.string());
    poll_until([&] { return (leftovers = host_processes_mentioning(base_.string())).empty(); }, 2s);
    for (int pid : leftovers) {
        ADD_FAILURE() << "process " << pid << " from the test bundle survived `delete --force`";
        kill(pid, SIGKILL);
    }
    for (const std::string& id : ids_) {
        // Depth first, so nested cgroups go before their parents.
        auto cgroups = host_cgroups_mentioning(id);
        std::sort(cgroups.begin(), cgroups.end(),
                  [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
        for (const fs::path& cg : cgroups) {
            ADD_FAILURE() << "cgroup " << cg << " survived `delete --force`";
            rmdir(cg.c_str());
        }
    }
    for (const std::string& ns : netns_mounts_) {
        umount2(ns.c_str(), MNT_DETACH);
        unlink(ns.c_str());
    }
    if (!remove_tree(base_)) ADD_FAILURE() << "could not remove " << base_ << " (mounts left below it)";
}

std::string RuntimeTest::new_id() {
    static int counter = 0;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? info->name() : "x";
    std::string clean;
    for (char c : name) {
        if (isalnum(static_cast<unsigned char>(c)))
            clean.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
        if (clean.size() >= 24) break;
    }
    std::string id = "hull-test-" + clean + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    ids_.push_back(id);
    return id;
}

fs::path RuntimeTest::make_bundle(const std::string& name) {
    fs::path bundle = base_ / name;
    fs::path rootfs = bundle / "rootfs";
    for (const char* d : {"bin", "dev", "proc", "sys", "tmp", "etc", "root", "mnt", "var", "home"})
        fs::create_directories(rootfs / d);
    fs::permissions(rootfs / "tmp", fs::perms(01777));
    fs::copy_file(busybox_path(), rootfs / "bin/busybox");
    fs::permissions(rootfs / "bin/busybox", fs::perms(0755));
    for (const char* applet : {"sh", "ls", "cat", "echo", "sleep", "true", "false", "mkdir", "rm", "touch",
                               "id", "env", "ps", "kill", "hostname", "mount", "grep", "test", "pwd",
                               "stat", "readlink", "ln", "chmod", "wc", "head", "tail"})
        fs::create_symlink("busybox", rootfs / "bin" / applet);
    fs::copy_file(probe_path(), rootfs / "probe");
    fs::permissions(rootfs / "probe", fs::perms(0755));
    write_text(rootfs / "etc/passwd",
               "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    write_text(rootfs / "etc/group", "root:x:0:\nnogroup:x:65534:\n");
    return bundle;
}

void RuntimeTest::write_spec(const fs::path& bundle, const json& spec) const {
    write_text(bundle / "config.json", spec.dump(2));
}

ProcResult RuntimeTest::rt(const std::vector<std::string>& args, const RunOptions& opts) const {
    std::vector<std::string> argv = {runtime_, "--root", root_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, opts);
}

void RuntimeTest::set_probe_args(json& spec, const std::vector<std::string>& args) const {
    json a = json::array({"/probe"});
    for (const std::string& s : args) a.push_back(s);
    spec["process"]["args"] = a;
}

void RuntimeTest::set_probe_args(const std::vector<std::string>& args) { set_probe_args(spec_, args); }

ProcResult RuntimeTest::run_bundle(const RunOptions& opts) {
    std::string id = new_id();
    write_spec();
    return rt({"run", "--bundle", bundle_.string(), id}, opts);
}

std::vector<json> RuntimeTest::run_probe_lines(const std::vector<std::string>& args) {
    set_probe_args(args);
    ProcResult r = run_bundle();
    if (!r.ok()) throw std::runtime_error("`run` of the probe failed: " + r.describe());
    auto lines = json_lines(r.out);
    if (lines.empty()) throw std::runtime_error("the probe printed no JSON: " + r.describe());
    return lines;
}

json RuntimeTest::run_probe(const std::vector<std::string>& args) { return run_probe_lines(args).front(); }

ProcResult RuntimeTest::create(const std::string& id, const fs::path& out_file,
                               const std::vector<std::string>& extra) {
    write_spec();
    std::vector<std::string> args = {"create", "--bundle", bundle_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    RunOptions o;
    o.stdout_file = out_file;
    return rt(args, o);
}

json RuntimeTest::state(const std::string& id) const {
    ProcResult r = rt({"state", id});
    if (!r.ok()) throw std::runtime_error("`state " + id + "` failed: " + r.describe());
    return json::parse(r.out);
}

std::optional<std::string> RuntimeTest::status(const std::string& id) const {
    ProcResult r = rt({"state", id});
    if (!r.ok()) return std::nullopt;
    json j = json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("status")) return std::nullopt;
    return j["status"].get<std::string>();
}

bool RuntimeTest::wait_status(const std::string& id, const std::string& want,
                              std::chrono::milliseconds timeout) const {
    return poll_until([&] { return status(id) == want; }, timeout);
}

std::vector<json> RuntimeTest::wait_json_lines(const fs::path& file, size_t n,
                                               std::chrono::milliseconds timeout) const {
    std::vector<json> lines;
    poll_until([&] { return (lines = json_lines(read_text(file))).size() >= n; }, timeout);
    return lines;
}

void RuntimeTest::expect_nothing_left(const std::string& id, const fs::path& bundle) const {
    std::error_code ec;
    EXPECT_FALSE(fs::exists(root_ / id, ec)) << "state dir left under --root for " << id;
    if (fs::exists(root_, ec)) {
        for (const auto& e : fs::recursive_directory_iterator(root_, ec)) {
            EXPECT_EQ(e.path().filename().string().find(id), std::string::npos)
                << "state entry left: " << e.path();
        }
    }
    auto mounts = host_mounts_mentioning(bundle.string());
    EXPECT_TRUE(mounts.empty()) << "host mount left for the bundle: " << mounts.front();
    auto cgroups = host_cgroups_mentioning(id);
    EXPECT_TRUE(cgroups.empty()) << "cgroup left: " << cgroups.front();
    std::vector<int> procs;
    // The runtime's helpers may take a moment to exit after reporting failure.
    poll_until([&] { return (procs = host_processes_mentioning(bundle.string())).empty(); }, 3s);
    EXPECT_TRUE(procs.empty()) << "process " << procs.front() << " left running in the bundle";
}

}  // namespace hull::itest
