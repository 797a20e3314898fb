// hull-bench: times OCI runtimes side by side on one bundle.
//
// bench/run.sh prepares the bundle and the mount namespace and then execs this driver;
// see bench/README.md for what each number means.
#include "process.hpp"
#include "report.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace hull::bench {
namespace {

struct Options {
    std::string bundle;
    std::string work;      // scratch dir: state roots, logs, pid files
    std::string json_path; // empty: no JSON
    std::string floor_path = "/bin/busybox";
    std::string baseline = "hull";
    int rounds = 20;
    int sequential = 100;
    int concurrent = 20;
    double timeout_ms = 10000;
    std::vector<std::pair<std::string, std::string>> runtimes; // name, path (may be empty)
    std::vector<std::pair<std::string, std::string>> meta;
};

void usage(std::FILE* out)
{
    std::fprintf(out,
                 "usage: hull-bench --bundle DIR --work DIR --runtime NAME=PATH... [options]\n"
                 "  --rounds N        interleaved rounds (default 20)\n"
                 "  --seq N           runs in the sequential benchmark, 0 to skip (default 100)\n"
                 "  --par N           runs in the concurrent benchmark, 0 to skip (default 20)\n"
                 "  --timeout SEC     per command (default 10; the concurrent batch gets 3x)\n"
                 "  --json FILE       write the JSON summary there\n"
                 "  --floor PATH      static busybox for the bare `true` floor (default /bin/busybox)\n"
                 "  --baseline NAME   runtime the ratios divide by (default hull, else the first)\n"
                 "  --meta KEY=VALUE  extra fact for the report header and JSON host object\n"
                 "An empty PATH (NAME=) marks a runtime that was not found: it is reported as skipped.\n");
}

bool parse_int(const char* s, int& out)
{
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000000)
        return false;
    out = static_cast<int>(v);
    return true;
}

std::pair<std::string, std::string> split_kv(const std::string& s)
{
    auto eq = s.find('=');
    if (eq == std::string::npos)
        return {s, ""};
    return {s.substr(0, eq), s.substr(eq + 1)};
}

// Returns 0 to go on, else the exit code.
int parse_args(int argc, char** argv, Options& opt)
{
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return -1;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "hull-bench: `%s` needs a value\n", a.c_str());
            return 2;
        }
        const char* v = argv[++i];
        bool ok = true;
        if (a == "--bundle")
            opt.bundle = v;
        else if (a == "--work")
            opt.work = v;
        else if (a == "--json")
            opt.json_path = v;
        else if (a == "--floor")
            opt.floor_path = v;
        else if (a == "--baseline")
            opt.baseline = v;
        else if (a == "--rounds")
            ok = parse_int(v, opt.rounds) && opt.rounds > 0;
        else if (a == "--seq")
            ok = parse_int(v, opt.sequential);
        else if (a == "--par")
            ok = parse_int(v, opt.concurrent);
        else if (a == "--timeout") {
            int sec = 0;
            ok = parse_int(v, sec) && sec > 0;
            opt.timeout_ms = sec * 1000.0;
        } else if (a == "--runtime")
            opt.runtimes.push_back(split_kv(v));
        else if (a == "--meta")
            opt.meta.push_back(split_kv(v));
        else {
            std::fprintf(stderr, "hull-bench: unknown option `%s`\n", a.c_str());
            usage(stderr);
            return 2;
        }
        if (!ok) {
            std::fprintf(stderr, "hull-bench: bad value `%s` for `%s`\n", v, a.c_str());
            return 2;
        }
    }
    if (opt.bundle.empty() || opt.work.empty() || opt.runtimes.empty()) {
        usage(stderr);
        return 2;
    }
    return 0;
}

// Container IDs and file names may only hold [A-Za-z0-9_.-].
std::string sanitize(const std::string& s)
{
    std::string out;
    for (char c : s)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    return out;
}

std::string one_line(std::string s, size_t max)
{
    for (char& c : s)
        if (c == '\n' || c == '\r')
            c = ' ';
    while (!s.empty() && s.back() == ' ')
        s.pop_back();
    if (s.size() > max)
        s = "..." + s.substr(s.size() - max);
    return s;
}

std::string read_fd_from(int fd, off_t from)
{
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, from);
        if (n <= 0)
            break;
        out.append(buf, static_cast<size_t>(n));
        from += n;
    }
    return out;
}

off_t fd_size(int fd)
{
    struct stat st {};
    return fstat(fd, &st) == 0 ? st.st_size : 0;
}

// The first three fields of /proc/loadavg: other load on the host skews wall times.
std::string loadavg()
{
    std::string s;
    if (std::FILE* f = std::fopen("/proc/loadavg", "re")) {
        double a = 0, b = 0, c = 0;
        if (std::fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
            s = buf;
        }
        std::fclose(f);
    }
    return s;
}

struct Runtime {
    size_t series; // index into Report::runtimes
    std::string root; // the runtime's --root
    std::string tag;  // for container IDs
    int log_fd = -1;  // the runtime's stderr, appended
};

class Bench {
public:
    explicit Bench(Options opt) : opt_(std::move(opt)) {}

    int run();

private:
    Series& series(const Runtime& rt) { return report_.runtimes[rt.series]; }
    std::string new_id(const Runtime& rt, const char* what);
    Command command(const Runtime& rt, std::vector<std::string> args) const;
    std::string why(const Runtime& rt, off_t log_from, const Outcome& o) const;
    bool state_exists(const Runtime& rt, const std::string& id) const;
    void force_delete(Runtime& rt, const std::string& id);
    void sweep(Runtime& rt);
    bool preflight(Runtime& rt);

    void bench_floor();
    void bench_run(Runtime& rt);
    void bench_split(Runtime& rt);
    void bench_sequential(Runtime& rt);
    void bench_concurrent(Runtime& rt);

    Options opt_;
    Report report_;
    std::vector<Runtime> active_;
    unsigned long counter_ = 0;
};

std::string Bench::new_id(const Runtime& rt, const char* what)
{
    return "hull-bench-" + std::to_string(getpid()) + "-" + rt.tag + "-" + what + "-" + std::to_string(++counter_);
}

Command Bench::command(const Runtime& rt, std::vector<std::string> args) const
{
    Command c;
    c.argv = {report_.runtimes[rt.series].path, "--root", rt.root};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.stderr_fd = rt.log_fd;
    return c;
}

std::string Bench::why(const Runtime& rt, off_t log_from, const Outcome& o) const
{
    std::string msg = o.error;
    std::string err = one_line(read_fd_from(rt.log_fd, log_from), 300);
    if (!err.empty())
        msg += ": " + err;
    return msg;
}

bool Bench::state_exists(const Runtime& rt, const std::string& id) const
{
    return access((rt.root + "/" + id).c_str(), F_OK) == 0;
}

void Bench::force_delete(Runtime& rt, const std::string& id)
{
    run_one(command(rt, {"delete", "--force", id}), opt_.timeout_ms, /*interruptible=*/false);
}

// Force-deletes whatever is left in the runtime's state root. runc and crun keep one
// directory per container there; for a runtime that does not, the deletes fail harmlessly.
void Bench::sweep(Runtime& rt)
{
    DIR* d = opendir(rt.root.c_str());
    if (!d)
        return;
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.rfind("hull-bench-", 0) == 0)
            names.push_back(n);
    }
    closedir(d);
    for (const auto& n : names)
        force_delete(rt, n);
    reap_strays();
}

bool Bench::preflight(Runtime& rt)
{
    Series& s = series(rt);
    if (s.path.empty()) {
        s.skip_reason = "not found (no path given, not in PATH)";
        return false;
    }
    if (access(s.path.c_str(), X_OK) != 0) {
        s.skip_reason = "`" + s.path + "`: " + std::strerror(errno);
        return false;
    }
    int out = memfd_create("version", MFD_CLOEXEC);
    Command version {{s.path, "--version"}, out, out};
    if (run_one(version, opt_.timeout_ms).ok()) {
        std::string text = read_fd_from(out, 0);
        s.version = one_line(text.substr(0, text.find('\n')), 120);
    }
    close(out);
    if (mkdir(rt.root.c_str(), 0700) != 0 && errno != EEXIST) {
        s.skip_reason = "mkdir `" + rt.root + "`: " + std::strerror(errno);
        return false;
    }
    std::string log = opt_.work + "/" + rt.tag + ".stderr";
    rt.log_fd = open(log.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    // Two untimed runs: the first proves the runtime works here, the second warms caches.
    for (int i = 0; i < 2; ++i) {
        std::string id = new_id(rt, "warmup");
        off_t from = fd_size(rt.log_fd);
        Outcome o = run_one(command(rt, {"run", "--bundle", opt_.bundle, id}), opt_.timeout_ms);
        if (state_exists(rt, id))
            force_delete(rt, id);
        if (!o.ok()) {
            s.skip_reason = "`run` of the bench bundle failed: " + why(rt, from, o);
            return false;
        }
    }
    return true;
}

void Bench::bench_floor()
{
    Command c {{opt_.floor_path, "true"}};
    TreeOutcome t = run_tree(c, opt_.timeout_ms);
    if (t.command.status == Status::interrupted)
        return;
    if (!t.command.ok()) {
        report_.floor.fail("run_ms", t.command.error);
        return;
    }
    report_.floor.add("run_ms", t.command.wall_ms());
    report_.floor.add("run_cpu_ms", t.command.cpu_ms);
    report_.floor.add("run_rss_kib", static_cast<double>(t.command.maxrss_kib));
    report_.floor.add("run_tree_rss_kib", static_cast<double>(t.tree_maxrss_kib));
}

void Bench::bench_run(Runtime& rt)
{
    Series& s = series(rt);
    std::string id = new_id(rt, "run");
    off_t from = fd_size(rt.log_fd);
    TreeOutcome t = run_tree(command(rt, {"run", "--bundle", opt_.bundle, id}), opt_.timeout_ms);
    if (t.command.status != Status::interrupted) {
        if (t.command.ok()) {
            s.add("run_ms", t.command.wall_ms());
            s.add("run_cpu_ms", t.command.cpu_ms);
            s.add("run_rss_kib", static_cast<double>(t.command.maxrss_kib));
            s.add("run_tree_rss_kib", static_cast<double>(t.tree_maxrss_kib));
            s.orphans += t.orphans;
        } else {
            s.fail("run_ms", why(rt, from, t.command));
        }
    }
    if (state_exists(rt, id)) {
        if (t.command.ok())
            ++s.leftover_states;
        force_delete(rt, id);
    }
}

void Bench::bench_split(Runtime& rt)
{
    Series& s = series(rt);
    std::string id = new_id(rt, "split");
    std::string pid_file = opt_.work + "/" + id + ".pid";
    off_t from = fd_size(rt.log_fd);
    auto give_up = [&](const char* key, const Outcome* o, const std::string& msg) {
        if (!o || o->status != Status::interrupted)
            s.fail(key, o ? why(rt, from, *o) : msg);
        force_delete(rt, id);
        unlink(pid_file.c_str());
    };

    Outcome create = run_one(command(rt, {"create", "--bundle", opt_.bundle, "--pid-file", pid_file, id}),
                             opt_.timeout_ms);
    if (!create.ok())
        return give_up("create_ms", &create, "");

    // The init is alive and waiting to be started; it was reparented to us (a subreaper)
    // when `create` exited. A pidfd taken now lets us wait for its exit after `start`.
    pid_t pid = 0;
    if (std::FILE* f = std::fopen(pid_file.c_str(), "re")) {
        if (std::fscanf(f, "%d", &pid) != 1)
            pid = 0;
        std::fclose(f);
    }
    if (pid <= 0)
        return give_up("create_ms", nullptr, "no pid in the --pid-file");
    int pidfd = pidfd_open(pid);

    Outcome start = run_one(command(rt, {"start", id}), opt_.timeout_ms);
    if (!start.ok()) {
        if (pidfd >= 0)
            close(pidfd);
        return give_up("start_ms", &start, "");
    }
    // `delete` of a container that has not stopped yet is an error, so wait for /bin/true
    // to exit (untimed) before timing `delete`.
    long init_rss = wait_foreign(pid, pidfd, opt_.timeout_ms);
    if (pidfd >= 0)
        close(pidfd);
    if (init_rss < 0)
        return give_up("start_ms", nullptr, "the container's /bin/true did not exit in time");

    from = fd_size(rt.log_fd);
    Outcome del = run_one(command(rt, {"delete", id}), opt_.timeout_ms);
    if (!del.ok())
        return give_up("delete_ms", &del, "");
    unlink(pid_file.c_str());

    s.add("create_ms", create.wall_ms());
    s.add("start_ms", start.wall_ms());
    s.add("delete_ms", del.wall_ms());
    s.add("split_total_ms", create.wall_ms() + start.wall_ms() + del.wall_ms());
    s.add("create_rss_kib", static_cast<double>(create.maxrss_kib));
    s.add("start_rss_kib", static_cast<double>(start.maxrss_kib));
    s.add("delete_rss_kib", static_cast<double>(del.maxrss_kib));
    if (init_rss > 0)
        s.add("init_rss_kib", static_cast<double>(init_rss));
}

void Bench::bench_sequential(Runtime& rt)
{
    Series& s = series(rt);
    std::vector<std::string> ids;
    off_t from = fd_size(rt.log_fd);
    double first_start = 0;
    double last_end = 0;
    bool ok = true;
    for (int i = 0; i < opt_.sequential; ++i) {
        ids.push_back(new_id(rt, "seq"));
        Outcome o = run_one(command(rt, {"run", "--bundle", opt_.bundle, ids.back()}), opt_.timeout_ms);
        if (i == 0)
            first_start = o.start_ms;
        last_end = o.end_ms;
        if (!o.ok()) {
            if (o.status != Status::interrupted)
                s.fail("seq_total_ms", "run " + std::to_string(i + 1) + ": " + why(rt, from, o));
            ok = false;
            break;
        }
    }
    if (ok)
        s.add("seq_total_ms", last_end - first_start);
    for (const auto& id : ids) {
        if (state_exists(rt, id)) {
            s.leftover_states += ok;
            force_delete(rt, id);
        }
    }
}

void Bench::bench_concurrent(Runtime& rt)
{
    Series& s = series(rt);
    std::vector<std::string> ids;
    std::vector<Command> cmds;
    for (int i = 0; i < opt_.concurrent; ++i) {
        ids.push_back(new_id(rt, "par"));
        cmds.push_back(command(rt, {"run", "--bundle", opt_.bundle, ids.back()}));
    }
    off_t from = fd_size(rt.log_fd);
    std::vector<Outcome> outs = run_all(cmds, opt_.timeout_ms * 3);
    double first_start = outs.front().start_ms;
    double last_end = 0;
    int failed = 0;
    const Outcome* first_failure = nullptr;
    for (const auto& o : outs) {
        last_end = std::max(last_end, o.end_ms);
        if (!o.ok()) {
            ++failed;
            if (!first_failure)
                first_failure = &o;
        }
    }
    if (!failed)
        s.add("par_total_ms", last_end - first_start);
    else if (first_failure->status != Status::interrupted)
        s.fail("par_total_ms", std::to_string(failed) + " of " + std::to_string(outs.size()) +
                                   " runs failed, first: " + why(rt, from, *first_failure));
    for (const auto& id : ids) {
        if (state_exists(rt, id)) {
            s.leftover_states += !failed;
            force_delete(rt, id);
        }
    }
}

int Bench::run()
{
    // Orphans (container inits after `create`) must come to us, not to the host's init.
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    report_.rounds = opt_.rounds;
    report_.sequential = opt_.sequential;
    report_.concurrent = opt_.concurrent;
    report_.timeout_ms = opt_.timeout_ms;
    report_.bundle = opt_.bundle;
    report_.metrics = metric_defs(opt_.sequential, opt_.concurrent);
    struct utsname u {};
    uname(&u);
    report_.meta.push_back({"kernel", u.release});
    report_.meta.push_back({"cpus", std::to_string(sysconf(_SC_NPROCESSORS_ONLN))});
    report_.meta.push_back({"loadavg_start", loadavg()});
    for (const auto& m : opt_.meta)
        report_.meta.push_back(m);
    report_.floor.name = "floor";
    report_.floor.path = opt_.floor_path + " true";

    std::vector<Runtime> all;
    for (const auto& [name, path] : opt_.runtimes) {
        Series s;
        s.name = name;
        s.path = path;
        report_.runtimes.push_back(s);
        Runtime rt;
        rt.series = report_.runtimes.size() - 1;
        rt.tag = sanitize(name);
        rt.root = opt_.work + "/state-" + rt.tag;
        all.push_back(rt);
    }
    for (auto& rt : all) {
        if (g_interrupted)
            break;
        std::fprintf(stderr, "hull-bench: checking %s\n", series(rt).name.c_str());
        if (preflight(rt))
            active_.push_back(rt);
        else
            std::fprintf(stderr, "hull-bench: skipping %s: %s\n", series(rt).name.c_str(),
                         series(rt).skip_reason.c_str());
        sweep(rt);
    }
    if (active_.empty() && !g_interrupted) {
        std::fprintf(stderr, "hull-bench: no runtime could run the bundle\n");
        print_table(report_, stdout);
        return 1;
    }
    report_.baseline = active_.empty() ? opt_.baseline : series(active_.front()).name;
    for (const auto& rt : active_)
        if (report_.runtimes[rt.series].name == opt_.baseline)
            report_.baseline = opt_.baseline;

    for (int round = 0; round < opt_.rounds && !g_interrupted; ++round) {
        std::vector<Runtime*> order;
        for (size_t i = 0; i < active_.size(); ++i)
            order.push_back(&active_[(i + static_cast<size_t>(round)) % active_.size()]);
        std::fprintf(stderr, "hull-bench: round %d/%d:", round + 1, opt_.rounds);
        for (Runtime* rt : order)
            std::fprintf(stderr, " %s", series(*rt).name.c_str());
        std::fprintf(stderr, "\n");

        bench_floor();
        for (Runtime* rt : order)
            if (!g_interrupted)
                bench_run(*rt);
        for (Runtime* rt : order)
            if (!g_interrupted)
                bench_split(*rt);
        for (Runtime* rt : order)
            if (!g_interrupted && opt_.sequential > 0)
                bench_sequential(*rt);
        for (Runtime* rt : order)
            if (!g_interrupted && opt_.concurrent > 0)
                bench_concurrent(*rt);
        reap_strays();
        if (!g_interrupted)
            report_.rounds_done = round + 1;
    }

    report_.interrupted = g_interrupted != 0;
    report_.meta.insert(report_.meta.begin() + 3, {"loadavg_end", loadavg()});
    if (g_interrupted)
        std::fprintf(stderr, "hull-bench: interrupted, cleaning up\n");
    for (auto& rt : active_)
        sweep(rt);
    for (auto& rt : all)
        if (rt.log_fd >= 0)
            close(rt.log_fd);

    print_table(report_, stdout);
    if (!opt_.json_path.empty()) {
        std::string err = write_json(report_, opt_.json_path);
        if (!err.empty())
            std::fprintf(stderr, "hull-bench: %s\n", err.c_str());
        else
            std::printf("\nJSON summary: %s\n", opt_.json_path.c_str());
    }
    return g_interrupted ? 130 : 0;
}

} // namespace
} // namespace hull::bench

int main(int argc, char** argv)
{
    using namespace hull::bench;
    Options opt;
    if (int rc = parse_args(argc, argv, opt))
        return rc < 0 ? 0 : rc;
    install_signal_handlers();
    return Bench(std::move(opt)).run();
}
