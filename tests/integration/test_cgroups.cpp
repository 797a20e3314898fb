// Resource quotas that must hold under a hostile workload: memory, cpu, pids, cpuset, devices,
// io, freezing, live updates, stats and cleanup. Each is asserted from inside the container
// (what the workload could or could not do) and from outside (the cgroup's own files and
// counters), never from the runtime's account of itself.
//
// The same tests run on this v1/hybrid host and on pure cgroup v2 (tests/vm boots a guest for
// that); they read whichever files the host's hierarchy has, and skip, saying why, when a
// controller is missing. Every container gets its own absolute cgroupsPath named after its
// unique id, so the files are found without asking the runtime and leftovers are attributable.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "harness.hpp"

namespace hull::itest {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

bool unified_only() {
    struct statfs s {};
    return statfs(kCgroupRoot, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

std::string trim(std::string s) {
    while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t b = 0;
    while (b < s.size() && isspace(static_cast<unsigned char>(s[b]))) ++b;
    return s.substr(b);
}

// The value of `key` in a flat-keyed cgroup file (`key value` lines), or -1.
long long keyed_value(const std::string& text, const std::string& key) {
    std::istringstream in(text);
    std::string k;
    long long v;
    while (in >> k >> v)
        if (k == key) return v;
    return -1;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// A process running in the background with stdout and stderr going to a file, killed and
// reaped when it goes out of scope. For `events`, which streams until it is stopped.
class Background {
public:
    Background(const std::vector<std::string>& argv, const fs::path& out) {
        // Everything is prepared before fork: the child only dups and execs.
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) throw std::runtime_error("cannot open " + out.string());
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            int null = open("/dev/null", O_RDONLY);
            dup2(null, 0);
            execv(args[0], args.data());
            _exit(127);
        }
        close(fd);
        if (pid_ < 0) throw std::runtime_error("fork failed");
    }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;
    ~Background() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

private:
    pid_t pid_ = -1;
};

// A loop device over a file in the test's temp dir, detached in every case.
class LoopDevice {
public:
    explicit LoopDevice(const fs::path& backing) {
        {
            std::ofstream f(backing, std::ios::binary | std::ios::trunc);
        }
        fs::resize_file(backing, 32 << 20);
        ProcResult r = run_process({"losetup", "--find", "--show", backing.string()});
        if (r.ok()) path_ = trim(r.out);
        else error_ = r.describe();
    }
    LoopDevice(const LoopDevice&) = delete;
    LoopDevice& operator=(const LoopDevice&) = delete;
    ~LoopDevice() {
        if (!path_.empty()) run_process({"losetup", "--detach", path_});
    }
    const std::string& path() const { return path_; }
    const std::string& error() const { return error_; }

private:
    std::string path_;
    std::string error_;
};

class CgroupTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        v2_ = unified_only();
        id_ = new_id();
        spec_["linux"]["cgroupsPath"] = "/" + id_;
        // The host writes go-files into the rootfs and reads what the workload leaves there.
        spec_["root"]["readonly"] = false;
        out_ = base_ / "container.out";
    }

    // Whether `ctrl` (v2 name; "io" is v1's blkio) can be used for a new cgroup.
    bool has(const std::string& ctrl) const {
        if (v2_) {
            // Device rules are eBPF programs and freezing is core on v2: no controller to enable.
            if (ctrl == "devices" || ctrl == "freezer") return true;
            std::istringstream in(read_text(fs::path(kCgroupRoot) / "cgroup.controllers"));
            std::string c;
            while (in >> c)
                if (c == ctrl) return true;
            return false;
        }
        if (ctrl == "freezer" || ctrl == "devices") return fs::exists(fs::path(kCgroupRoot) / ctrl / "cgroup.procs");
        return fs::exists(fs::path(kCgroupRoot) / v1_name(ctrl) / "cgroup.procs");
    }

    std::string skip_reason(const std::string& ctrl) const {
        return "no " + ctrl + " controller in this host's " + (v2_ ? "cgroup v2" : "cgroup v1") + " hierarchy";
    }

    static std::string v1_name(const std::string& ctrl) {
        if (ctrl == "io") return "blkio";
        return ctrl;
    }

    // The container's cgroup directory for `ctrl`.
    fs::path dir(const std::string& ctrl) const {
        if (v2_) return fs::path(kCgroupRoot) / id_;
        return fs::path(kCgroupRoot) / v1_name(ctrl) / id_;
    }

    // A file of the container's cgroup: `v2file` on cgroup v2, `v1file` (in `ctrl`'s
    // hierarchy) on v1.
    std::string cg_file(const std::string& ctrl, const std::string& v2file, const std::string& v1file) const {
        return trim(read_text(dir(ctrl) / (v2_ ? v2file : v1file)));
    }

    // CPU time used by the container's cgroup so far, in microseconds.
    long long cpu_usage_us() const {
        if (v2_) return keyed_value(read_text(dir("cpu") / "cpu.stat"), "usage_usec");
        std::string ns = trim(read_text(dir("cpuacct") / "cpuacct.usage"));
        return ns.empty() ? -1 : std::stoll(ns) / 1000;
    }

    // The container's share of one CPU over `window`, from its cgroup's counters.
    double cpu_share(std::chrono::milliseconds window) const {
        auto t0 = std::chrono::steady_clock::now();
        long long u0 = cpu_usage_us();
        std::this_thread::sleep_for(window);
        long long u1 = cpu_usage_us();
        auto t1 = std::chrono::steady_clock::now();
        EXPECT_GE(u0, 0) << "cannot read the cgroup's cpu usage";
        double wall_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
        return static_cast<double>(u1 - u0) / wall_us;
    }

    // `create` and `start` the container running `script` under /bin/sh; its stdout and
    // stderr go to out_.
    void start_sh(const std::string& script) {
        spec_["process"]["args"] = json::array({"/bin/sh", "-c", script});
        ProcResult c = create(id_, out_);
        ASSERT_TRUE(c.ok()) << "create: " << c.describe();
        ProcResult s = rt({"start", id_});
        ASSERT_TRUE(s.ok()) << "start: " << s.describe();
        ASSERT_TRUE(wait_status(id_, "running")) << "container did not reach `running`";
    }

    // Wait until the container's output holds `needle`.
    bool wait_output(const std::string& needle, std::chrono::milliseconds timeout = 30s) const {
        return poll_until([&] { return read_text(out_).find(needle) != std::string::npos; }, timeout);
    }

    void add_caps(const std::vector<std::string>& caps) {
        for (const char* set : {"bounding", "effective", "permitted"})
            for (const std::string& c : caps) spec_["process"]["capabilities"][set].push_back(c);
    }

    bool v2_ = false;
    std::string id_;
    fs::path out_;
};

#define REQUIRE_CONTROLLER(ctrl) \
    do {                         \
        if (!has(ctrl)) GTEST_SKIP() << skip_reason(ctrl); \
    } while (0)

// Allocates $1 bytes as a shell string (busybox ash keeps command substitutions in memory).
constexpr const char* kAllocScript = "x=$(head -c \"$1\" /dev/zero | busybox tr '\\0' a)\necho \"allocated ${#x}\"\n";
constexpr long long kMemLimit = 32LL << 20;

TEST_F(CgroupTest, MemoryLimitOomKillsOverAllocationAndEventsReportIt) {
    REQUIRE_CONTROLLER("memory");
    spec_["linux"]["resources"]["memory"] = {{"limit", kMemLimit}};
    write_text(rootfs_ / "alloc.sh", kAllocScript, fs::perms(0755));
    // The allocating child waits for the host's go, so that `events` is watching first; the
    // init survives it to report the child's fate.
    start_sh("while [ ! -e /tmp/go ]; do sleep 0.1; done; sh /alloc.sh " + std::to_string(3 * kMemLimit) +
             "; echo \"child exit $?\"; sleep 1000");

    EXPECT_EQ(cg_file("memory", "memory.max", "memory.limit_in_bytes"), std::to_string(kMemLimit));

    fs::path events_out = base_ / "events.out";
    Background events({runtime_, "--root", root_.string(), "events", "--interval", "1s", id_}, events_out);
    // The first stats line shows the stream is up (runc registers for OOM before it).
    ASSERT_FALSE(wait_json_lines(events_out, 1, 30s).empty()) << "`events` printed nothing: " << read_text(events_out);
    write_text(rootfs_ / "tmp/go", "");

    ASSERT_TRUE(wait_output("child exit", 120s)) << "the allocation neither finished nor died: " << read_text(out_);
    std::string out = read_text(out_);
    EXPECT_NE(out.find("child exit 137"), std::string::npos) << "the over-allocation was not SIGKILLed: " << out;
    EXPECT_EQ(out.find("allocated"), std::string::npos) << "3x the memory limit was allocated: " << out;

    std::string counters = v2_ ? read_text(dir("memory") / "memory.events") : read_text(dir("memory") / "memory.oom_control");
    EXPECT_GE(keyed_value(counters, "oom_kill"), 1) << counters;

    bool saw_oom = poll_until(
        [&] {
            for (const json& e : json_lines(read_text(events_out)))
                if (e.value("type", "") == "oom") return true;
            return false;
        },
        15s);
    EXPECT_TRUE(saw_oom) << "`events` reported no oom event:\n" << read_text(events_out);
    for (const json& e : json_lines(read_text(events_out))) EXPECT_EQ(e.value("id", ""), id_) << e.dump();
}

TEST_F(CgroupTest, RunSaysTheContainerWasOomKilled) {
    REQUIRE_CONTROLLER("memory");
    HULL_SKIP_FOR_RUNC_IF(true, "runc 1.1 does not say on stderr of `run` that the container was OOM-killed");
    spec_["linux"]["resources"]["memory"] = {{"limit", kMemLimit}};
    write_text(rootfs_ / "alloc.sh", kAllocScript, fs::perms(0755));
    spec_["process"]["args"] = json::array({"/bin/sh", "/alloc.sh", std::to_string(3 * kMemLimit)});
    write_spec();
    RunOptions o;
    o.timeout = 120s;
    ProcResult r = rt({"run", "--bundle", bundle_.string(), id_}, o);
    EXPECT_FALSE(r.timed_out) << r.describe();
    EXPECT_EQ(r.exit_code, 137) << r.describe();
    EXPECT_EQ(r.out.find("allocated"), std::string::npos) << r.describe();
    EXPECT_NE(lower(r.err).find("oom"), std::string::npos) << "stderr does not mention the OOM kill: " << r.describe();
}

TEST_F(CgroupTest, CpuQuotaHoldsABusyLoop) {
    REQUIRE_CONTROLLER("cpu");
    if (!v2_ && !has("cpuacct")) GTEST_SKIP() << skip_reason("cpuacct");
    spec_["linux"]["resources"]["cpu"] = {{"quota", 20000}, {"period", 100000}};
    start_sh("while :; do :; done");

    if (v2_) {
        EXPECT_EQ(cg_file("cpu", "cpu.max", ""), "20000 100000");
    } else {
        EXPECT_EQ(cg_file("cpu", "", "cpu.cfs_quota_us"), "20000");
        EXPECT_EQ(cg_file("cpu", "", "cpu.cfs_period_us"), "100000");
    }
    std::this_thread::sleep_for(500ms);
    double share = cpu_share(2s);
    EXPECT_GE(share, 0.15) << "a busy loop under a 20% quota got " << share * 100 << "% of a CPU";
    EXPECT_LE(share, 0.25) << "a busy loop under a 20% quota got " << share * 100 << "% of a CPU";
    // The kernel's own account of the throttling it did.
    std::string stat = read_text(dir("cpu") / "cpu.stat");
    EXPECT_GT(keyed_value(stat, "nr_throttled"), 0) << stat;
}

TEST_F(CgroupTest, PidsLimitStopsAForkBomb) {
    REQUIRE_CONTROLLER("pids");
    spec_["linux"]["resources"]["pids"] = {{"limit", 16}};
    // A bounded bomb, so that a broken limit cannot take the host down: 64 children against a
    // limit of 16, forked by a child shell (ash gives up at the first failed fork). The init
    // forks its keep-alive first, since it cannot fork once the bomb has gone off.
    start_sh("sleep 1000 & keep=$!; "
             "sh -c 'i=0; while [ $i -lt 64 ]; do sleep 1000 & i=$((i+1)); done' 2>/tmp/bomb.err; "
             "echo bombed >/tmp/bombed; wait $keep");
    ASSERT_TRUE(poll_until([&] { return fs::exists(rootfs_ / "tmp/bombed"); }, 60s)) << read_text(out_);

    EXPECT_EQ(cg_file("pids", "pids.max", "pids.max"), "16");
    long long current = std::stoll(cg_file("pids", "pids.current", "pids.current"));
    EXPECT_LE(current, 16);
    EXPECT_GE(current, 8) << "the bomb should have filled most of the limit";
    EXPECT_GE(keyed_value(read_text(dir("pids") / "pids.events"), "max"), 1) << read_text(dir("pids") / "pids.events");
    std::string err = read_text(rootfs_ / "tmp/bomb.err");
    EXPECT_NE(err.find("fork"), std::string::npos) << "no fork failed inside the container: " << err;
}

TEST_F(CgroupTest, CpusetPinsTheContainer) {
    REQUIRE_CONTROLLER("cpuset");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 2) GTEST_SKIP() << "pinning needs at least 2 online CPUs, have " << ncpu;
    std::string last = std::to_string(ncpu - 1);
    spec_["linux"]["resources"]["cpu"] = {{"cpus", last}};
    // busybox nproc counts sched_getaffinity's mask.
    start_sh("grep Cpus_allowed_list /proc/self/status; echo \"nproc $(busybox nproc)\"; echo ready; sleep 1000");
    ASSERT_TRUE(wait_output("ready")) << read_text(out_);
    std::string out = read_text(out_);
    EXPECT_NE(out.find("Cpus_allowed_list:\t" + last + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("nproc 1\n"), std::string::npos) << out;
    EXPECT_EQ(cg_file("cpuset", "cpuset.cpus", "cpuset.cpus"), last);
}

TEST_F(CgroupTest, DeniedDeviceCannotBeOpenedOrCreatedAllowedOneCan) {
    REQUIRE_CONTROLLER("devices");
    // With CAP_MKNOD, only the devices controller stands between the container and mknod.
    // /dev/kmsg opened write-only needs no capability, so EPERM on it is the controller's.
    add_caps({"CAP_MKNOD"});
    // The node is made inside the container rather than listed in linux.devices, since hull
    // (unlike runc) also allows what linux.devices lists. runc and crun allow creating any
    // node (`c *:* m`, `b *:* m` among their default rules), so a denied device may be
    // mknod'ed: the node it makes must not open.
    const std::vector<std::string> args = {"try-mknod", "/dev/hull-kmsg", "1", "11", "+", "try-open", "/dev/hull-kmsg",
                                           "wronly", "+", "try-mknod", "/dev/hull-null", "1", "3", "+", "try-open",
                                           "/dev/hull-null", "rdwr"};
    json base_spec = spec_;

    auto denied = run_probe_lines(args);
    ASSERT_EQ(denied.size(), 4u);
    if (denied[0]["error"] == "OK") {
        EXPECT_EQ(denied[1]["error"], "EPERM") << "a denied device opened: " << denied[1].dump();
    } else {
        EXPECT_EQ(denied[0]["error"], "EPERM") << denied[0].dump();
    }
    EXPECT_EQ(denied[2]["error"], "OK") << "an allowed default device not created: " << denied[2].dump();
    EXPECT_EQ(denied[3]["error"], "OK") << "an allowed default device did not open: " << denied[3].dump();

    spec_ = base_spec;
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "rwm"}});
    auto allowed = run_probe_lines(args);
    ASSERT_EQ(allowed.size(), 4u);
    EXPECT_EQ(allowed[0]["error"], "OK") << "allowed device not created: " << allowed[0].dump();
    EXPECT_EQ(allowed[1]["error"], "OK") << "allowed device not opened: " << allowed[1].dump();

    // A later deny rule wins over an earlier allow.
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", false}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "w"}});
    auto redenied = run_probe_lines(args);
    ASSERT_EQ(redenied.size(), 4u);
    EXPECT_EQ(redenied[0]["error"], "OK") << "mknod stays allowed: " << redenied[0].dump();
    EXPECT_EQ(redenied[1]["error"], "EPERM") << "write access denied by a later rule: " << redenied[1].dump();
}

TEST_F(CgroupTest, IoThrottleLimitsWritesToALoopDevice) {
    REQUIRE_CONTROLLER("io");
    LoopDevice loop(base_ / "disk.img");
    if (loop.path().empty()) GTEST_SKIP() << "no loop device: " << loop.error();
    struct stat st {};
    ASSERT_EQ(stat(loop.path().c_str(), &st), 0);
    const unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    constexpr long long rate = 1 << 20;
    spec_["linux"]["devices"] = json::array(
        {{{"path", "/dev/hull-disk"}, {"type", "b"}, {"major", maj}, {"minor", min}, {"fileMode", 0600}, {"uid", 0}, {"gid", 0}}});
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "b"}, {"major", maj}, {"minor", min}, {"access", "rw"}});
    spec_["linux"]["resources"]["blockIO"]["throttleWriteBpsDevice"] =
        json::array({{{"major", maj}, {"minor", min}, {"rate", rate}}});
    // 4 MiB of direct writes (buffered ones would only throttle at writeback) at 1 MiB/s.
    start_sh("while [ ! -e /tmp/go ]; do sleep 0.1; done; "
             "busybox dd if=/dev/zero of=/dev/hull-disk bs=65536 count=64 oflag=direct 2>/tmp/dd.err; "
             "echo \"dd exit $?\"; sleep 1000");

    std::string dev = std::to_string(maj) + ":" + std::to_string(min);
    if (v2_) {
        std::string max = cg_file("io", "io.max", "");
        EXPECT_NE(max.find(dev + " "), std::string::npos) << max;
        EXPECT_NE(max.find("wbps=" + std::to_string(rate)), std::string::npos) << max;
    } else {
        EXPECT_EQ(cg_file("io", "", "blkio.throttle.write_bps_device"), dev + " " + std::to_string(rate));
    }

    auto t0 = std::chrono::steady_clock::now();
    write_text(rootfs_ / "tmp/go", "");
    ASSERT_TRUE(wait_output("dd exit", 60s)) << read_text(out_);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(read_text(out_).find("dd exit 0"), std::string::npos)
        << read_text(out_) << read_text(rootfs_ / "tmp/dd.err");
    // 4 MiB at 1 MiB/s: at least ~3 s once the throttle's first slice is spent.
    EXPECT_GE(secs, 2.5) << "4 MiB went through a 1 MiB/s throttle in " << secs << " s";
}

TEST_F(CgroupTest, PauseFreezesAndResumeContinues) {
    REQUIRE_CONTROLLER(v2_ ? "cpu" : "freezer");
    if (!v2_ && !has("cpuacct")) GTEST_SKIP() << skip_reason("cpuacct");
    start_sh("i=0; while :; do i=$((i+1)); echo $i >>/tmp/count; done");
    // Progress is the file's size: it only grows, so no read can catch it half-written (a file
    // rewritten in place read empty for 30 s on a loaded machine).
    auto count = [&] {
        std::error_code ec;
        auto n = fs::file_size(rootfs_ / "tmp/count", ec);
        return ec ? -1LL : static_cast<long long>(n);
    };
    ASSERT_TRUE(poll_until([&] { return count() > 0; }, 30s)) << read_text(out_);

    ProcResult p = rt({"pause", id_});
    ASSERT_TRUE(p.ok()) << "pause: " << p.describe();
    EXPECT_EQ(status(id_), "paused");
    if (v2_) {
        EXPECT_EQ(keyed_value(read_text(dir("freezer") / "cgroup.events"), "frozen"), 1);
    } else {
        EXPECT_EQ(cg_file("freezer", "", "freezer.state"), "FROZEN");
    }

    long long c1 = count();
    long long u1 = cpu_usage_us();
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(count(), c1) << "the workload made progress while paused";
    EXPECT_LT(cpu_usage_us() - u1, 20000) << "a paused container used CPU";

    ProcResult r = rt({"resume", id_});
    ASSERT_TRUE(r.ok()) << "resume: " << r.describe();
    EXPECT_EQ(status(id_), "running");
    if (v2_) {
        EXPECT_EQ(keyed_value(read_text(dir("freezer") / "cgroup.events"), "frozen"), 0);
    } else {
        EXPECT_EQ(cg_file("freezer", "", "freezer.state"), "THAWED");
    }
    long long u2 = cpu_usage_us();
    EXPECT_TRUE(poll_until([&] { return count() > c1; }, 10s)) << "the workload did not continue after resume";
    // On a loaded host the loop's share varies; that it runs again is the point.
    EXPECT_TRUE(poll_until([&] { return cpu_usage_us() - u2 > 20000; }, 10s)) << "a resumed busy loop used no CPU";
}

TEST_F(CgroupTest, UpdateChangesLimitsOfARunningContainer) {
    REQUIRE_CONTROLLER("cpu");
    REQUIRE_CONTROLLER("memory");
    REQUIRE_CONTROLLER("pids");
    if (!v2_ && !has("cpuacct")) GTEST_SKIP() << skip_reason("cpuacct");
    spec_["linux"]["resources"]["cpu"] = {{"quota", 80000}, {"period", 100000}};
    spec_["linux"]["resources"]["memory"] = {{"limit", 128LL << 20}};
    spec_["linux"]["resources"]["pids"] = {{"limit", 64}};
    start_sh("while :; do :; done");

    ProcResult u = rt({"update", "--cpu-quota", "10000", "--cpu-period", "100000", "--memory", std::to_string(96LL << 20),
                       "--pids-limit", "32", id_});
    ASSERT_TRUE(u.ok()) << "update: " << u.describe();

    if (v2_) {
        EXPECT_EQ(cg_file("cpu", "cpu.max", ""), "10000 100000");
    } else {
        EXPECT_EQ(cg_file("cpu", "", "cpu.cfs_quota_us"), "10000");
        EXPECT_EQ(cg_file("cpu", "", "cpu.cfs_period_us"), "100000");
    }
    EXPECT_EQ(cg_file("memory", "memory.max", "memory.limit_in_bytes"), std::to_string(96LL << 20));
    EXPECT_EQ(cg_file("pids", "pids.max", "pids.max"), "32");

    // The effect: the loop that had 80% now gets at most 10% (+ 5 for measuring).
    std::this_thread::sleep_for(300ms);
    double share = cpu_share(2s);
    EXPECT_LE(share, 0.15) << "after update to a 10% quota the loop got " << share * 100 << "% of a CPU";

    // `-r resources.json` takes the runtime-spec's resources shape.
    write_text(base_ / "resources.json", json({{"pids", {{"limit", 24}}}}).dump());
    ProcResult ur = rt({"update", "-r", (base_ / "resources.json").string(), id_});
    ASSERT_TRUE(ur.ok()) << "update -r: " << ur.describe();
    EXPECT_EQ(cg_file("pids", "pids.max", "pids.max"), "24");
}

TEST_F(CgroupTest, EventsStatsPrintsRuncsShape) {
    REQUIRE_CONTROLLER("memory");
    REQUIRE_CONTROLLER("pids");
    spec_["linux"]["resources"]["memory"] = {{"limit", 128LL << 20}};
    spec_["linux"]["resources"]["pids"] = {{"limit", 64}};
    // Some CPU time and memory to report, then idle.
    start_sh("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000 & sleep 1000 & echo ready; wait");
    ASSERT_TRUE(wait_output("ready")) << read_text(out_);

    ProcResult r = rt({"events", "--stats", id_});
    ASSERT_TRUE(r.ok()) << r.describe();
    json e = first_json(r.out);
    EXPECT_EQ(e.value("type", ""), "stats") << e.dump();
    EXPECT_EQ(e.value("id", ""), id_) << e.dump();
    ASSERT_TRUE(e.contains("data") && e["data"].is_object()) << e.dump();
    const json& d = e["data"];
    ASSERT_TRUE(d.contains("cpu") && d.contains("memory") && d.contains("pids")) << d.dump();
    EXPECT_GT(d["cpu"]["usage"]["total"].get<long long>(), 0) << d["cpu"].dump();
    EXPECT_GT(d["memory"]["usage"]["usage"].get<long long>(), 0) << d["memory"].dump();
    EXPECT_EQ(d["memory"]["usage"]["limit"].get<long long>(), 128LL << 20) << d["memory"].dump();
    EXPECT_EQ(d["pids"]["current"].get<long long>(), 3) << d["pids"].dump();
    EXPECT_EQ(d["pids"]["limit"].get<long long>(), 64) << d["pids"].dump();
    EXPECT_TRUE(d.contains("blkio")) << d.dump();
}

TEST_F(CgroupTest, KillAllLeavesNoCgroupBehind) {
    REQUIRE_CONTROLLER("pids");
    start_sh("sleep 1000 & sleep 1000 & echo ready; wait");
    ASSERT_TRUE(wait_output("ready")) << read_text(out_);
    ASSERT_TRUE(fs::exists(dir("pids"))) << "no cgroup at " << dir("pids");
    EXPECT_EQ(std::stoll(cg_file("pids", "pids.current", "pids.current")), 3);

    ProcResult k = rt({"kill", "--all", id_, "KILL"});
    ASSERT_TRUE(k.ok()) << "kill --all: " << k.describe();
    ASSERT_TRUE(wait_status(id_, "stopped")) << "container not stopped after kill --all";
    ProcResult d = rt({"delete", id_});
    ASSERT_TRUE(d.ok()) << "delete: " << d.describe();
    EXPECT_TRUE(poll_until([&] { return host_cgroups_mentioning(id_).empty(); }, 5s))
        << "cgroup left: " << host_cgroups_mentioning(id_).front();
    EXPECT_TRUE(host_processes_mentioning(base_.string()).empty());
}

TEST_F(CgroupTest, DeleteForceLeavesNoCgroupBehind) {
    REQUIRE_CONTROLLER("pids");
    start_sh("sleep 1000 & sleep 1000 & echo ready; wait");
    ASSERT_TRUE(wait_output("ready")) << read_text(out_);
    ASSERT_TRUE(fs::exists(dir("pids"))) << "no cgroup at " << dir("pids");

    ProcResult d = rt({"delete", "--force", id_});
    ASSERT_TRUE(d.ok()) << "delete --force: " << d.describe();
    EXPECT_FALSE(status(id_).has_value()) << "container still known after delete --force";
    EXPECT_TRUE(host_cgroups_mentioning(id_).empty()) << "cgroup left: " << host_cgroups_mentioning(id_).front();
    EXPECT_TRUE(poll_until([&] { return host_processes_mentioning(base_.string()).empty(); }, 5s))
        << "processes of the container survived delete --force";
}

}  // namespace
}  // namespace hull::itest
