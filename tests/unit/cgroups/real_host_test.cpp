// The manager on this machine's real cgroup hierarchies, under uniquely named
// `hull-test-<random>` cgroups that are always removed. Needs root; skips otherwise. A pure
// cgroup v2 host is covered by tests/vm instead.
#include "cgroups/manager.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <random>
#include <thread>

namespace hull::cgroups {
namespace {

std::string unique_name() {
    std::random_device rd;
    return cat("hull-test-", rd() % 1000000000u, "-", ::getpid());
}

// Skips unless root on a host with v1 hierarchies; returns the host otherwise.
std::optional<Host> real_v1_host(std::string& why) {
    if (::geteuid() != 0) {
        why = "needs root to create cgroups";
        return std::nullopt;
    }
    auto h = detect_host();
    if (!h) {
        why = cat("no cgroup layout: ", h.error().message());
        return std::nullopt;
    }
    if (h->layout == Layout::unified) {
        why = "pure cgroup v2 host: covered by tests/vm";
        return std::nullopt;
    }
    return *h;
}

// Whatever happens in the test: kill and reap the children, then remove the cgroups (through
// the manager, and directly as a last resort).
class Cleanup {
public:
    Cleanup(const Host& host, std::string name) : host_(host), name_(std::move(name)) {}
    ~Cleanup() {
        if (manager) {
            (void)manager->kill_all(SIGKILL);
            (void)manager->set_frozen(false);
        }
        for (pid_t pid : children) ::kill(pid, SIGKILL);
        reap_all(std::chrono::seconds(5));
        if (subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
        if (manager) (void)manager->destroy();
        for (auto& [c, mount] : host_.v1) ::rmdir(fs::join(mount, name_).c_str());
        if (!host_.unified_mount.empty()) ::rmdir(fs::join(host_.unified_mount, name_).c_str());
    }
    // Reaps every child (and, as subreaper, every orphaned descendant) until none is left.
    void reap_all(std::chrono::milliseconds limit) {
        auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            pid_t p = ::waitpid(-1, nullptr, WNOHANG);
            if (p < 0 && errno == ECHILD) return;
            if (p == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    std::unique_ptr<Manager> manager;
    std::vector<pid_t> children;
    bool subreaper = false;

private:
    Host host_;
    std::string name_;
};

// A child that waits on a pipe (so it is moved before it does anything), then runs `body`.
pid_t spawn_gated(int gate_read, int gate_write, void (*body)()) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(gate_write);
        char c;
        if (::read(gate_read, &c, 1) != 1) ::_exit(1);
        body();
        ::_exit(0);
    }
    ::close(gate_read);
    return pid;
}

void sleep_forever() {
    for (;;) ::pause();
}

// Every process keeps forking; only pids.max stops it.
void fork_loop() {
    for (;;)
        if (::fork() < 0) ::usleep(1000);
}

TEST(CgroupsRealHost, PlaceListFreezeKillDestroy) {
    std::string why;
    auto host = real_v1_host(why);
    if (!host) {
        GTEST_SKIP() << why;
    }
    std::string name = unique_name();
    Cleanup cleanup(*host, name);
    auto m = make_manager(*host, Config{"/" + name, name, false});
    ASSERT_TRUE(m) << m.error().message();
    cleanup.manager = std::move(*m);
    Manager& mgr = *cleanup.manager;

    auto r = mgr.create();
    ASSERT_TRUE(r) << r.error().message();
    for (auto& [c, mount] : host->v1) EXPECT_TRUE(fs::exists(fs::join(mount, name))) << c;
    if (host->layout == Layout::hybrid) {
        EXPECT_TRUE(fs::exists(fs::join(host->unified_mount, name)));
    }
    EXPECT_EQ(mgr.clone_into_fd(), -1);

    int gate[2];
    ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
    pid_t child = spawn_gated(gate[0], gate[1], sleep_forever);
    ASSERT_GT(child, 0);
    cleanup.children.push_back(child);
    r = mgr.add_process(child);
    // Released either way: a byte lets it run on, EOF (if the write failed) makes it exit.
    (void)!::write(gate[1], "x", 1);
    ::close(gate[1]);
    ASSERT_TRUE(r) << r.error().message();

    auto pids = mgr.pids();
    ASSERT_TRUE(pids) << pids.error().message();
    EXPECT_EQ(*pids, std::vector<pid_t>{child});
    auto own = fs::read_file(cat("/proc/", child, "/cgroup"));
    ASSERT_TRUE(own);
    EXPECT_NE(own->find(cat(":pids:/", name, "\n")), std::string::npos) << *own;

    ASSERT_TRUE(mgr.set_frozen(true));
    EXPECT_TRUE(*mgr.frozen());
    ASSERT_TRUE(mgr.set_frozen(false));
    EXPECT_FALSE(*mgr.frozen());

    r = mgr.kill_all(SIGKILL);
    ASSERT_TRUE(r) << r.error().message();
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    cleanup.children.clear();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    r = mgr.destroy();
    ASSERT_TRUE(r) << r.error().message();
    for (auto& [c, mount] : host->v1) EXPECT_FALSE(fs::exists(fs::join(mount, name))) << c;
    if (!host->unified_mount.empty()) {
        EXPECT_FALSE(fs::exists(fs::join(host->unified_mount, name)));
    }
}

TEST(CgroupsRealHost, KillAllCatchesAForkLoop) {
    std::string why;
    auto host = real_v1_host(why);
    if (!host) {
        GTEST_SKIP() << why;
    }
    bool has_pids = false;
    for (auto& [c, mount] : host->v1) has_pids = has_pids || c == "pids";
    if (!has_pids) {
        GTEST_SKIP() << "no v1 pids hierarchy to bound the fork loop";
    }
    std::string name = unique_name();
    Cleanup cleanup(*host, name);
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // orphans come back to us to be reaped
    cleanup.subreaper = true;
    auto m = make_manager(*host, Config{"/" + name, name, false});
    ASSERT_TRUE(m) << m.error().message();
    cleanup.manager = std::move(*m);
    Manager& mgr = *cleanup.manager;
    ASSERT_TRUE(mgr.create());
    oci::Resources limits;
    limits.pids = oci::Pids{.limit = 24};
    auto r = mgr.apply(limits);
    ASSERT_TRUE(r) << r.error().message();

    int gate[2];
    ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
    pid_t child = spawn_gated(gate[0], gate[1], fork_loop);
    ASSERT_GT(child, 0);
    cleanup.children.push_back(child);
    r = mgr.add_process(child);
    if (!r) ::close(gate[1]);  // never let the loop start outside the bounded cgroup
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(::write(gate[1], "x", 1), 1);
    ::close(gate[1]);

    // Let it fill up to pids.max.
    size_t peak = 0;
    for (int i = 0; i < 400 && peak < 20; ++i) {
        if (auto p = mgr.pids()) peak = std::max(peak, p->size());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GE(peak, 20u) << "the fork loop never got going";
    r = mgr.kill_all(SIGKILL);
    ASSERT_TRUE(r) << r.error().message();
    cleanup.reap_all(std::chrono::seconds(5));
    auto left = mgr.pids();
    ASSERT_TRUE(left) << left.error().message();
    EXPECT_TRUE(left->empty()) << left->size() << " process(es) escaped kill_all";
    r = mgr.destroy();
    EXPECT_TRUE(r) << r.error().message();
}

TEST(CgroupsRealHost, ApplyWritesWhatTheKernelAccepts) {
    std::string why;
    auto host = real_v1_host(why);
    if (!host) {
        GTEST_SKIP() << why;
    }
    std::string name = unique_name();
    Cleanup cleanup(*host, name);
    auto m = make_manager(*host, Config{"/" + name, name, false});
    ASSERT_TRUE(m) << m.error().message();
    cleanup.manager = std::move(*m);
    Manager& mgr = *cleanup.manager;
    ASSERT_TRUE(mgr.create());

    oci::Resources res;
    res.devices = {oci::DeviceRule{.allow = false, .type = 'a', .access = "rwm"}};
    for (auto& d : default_device_rules({})) res.devices.push_back(d);
    res.pids = oci::Pids{.limit = 42};
    oci::Memory mem;
    mem.limit = 64 << 20;
    mem.swap = 128 << 20;
    res.memory = mem;
    oci::Cpu cpu;
    cpu.shares = 512;
    cpu.quota = 50000;
    cpu.period = 100000;
    cpu.cpus = "0";
    cpu.mems = "0";
    res.cpu = cpu;
    auto r = mgr.apply(res);
    ASSERT_TRUE(r) << r.error().message();

    auto read = [&](const char* controller, const char* file) -> std::string {
        for (auto& [c, mount] : host->v1)
            for (auto& part : split(c, ','))
                if (part == controller) {
                    auto text = fs::read_file(fs::join(fs::join(mount, name), file));
                    return text ? std::string(text->substr(0, text->find_last_not_of('\n') + 1)) : "<unreadable>";
                }
        return "<no hierarchy>";
    };
    EXPECT_EQ(read("pids", "pids.max"), "42");
    auto devices = read("devices", "devices.list");
    EXPECT_EQ(devices.find("a *:* rwm"), std::string::npos) << devices;
    EXPECT_NE(devices.find("c 1:3 rwm"), std::string::npos) << devices;
    EXPECT_NE(devices.find("c 136:* rwm"), std::string::npos) << devices;
    EXPECT_EQ(read("memory", "memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(read("memory", "memory.memsw.limit_in_bytes"), "134217728");
    EXPECT_EQ(read("cpu", "cpu.shares"), "512");
    EXPECT_EQ(read("cpu", "cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(read("cpuset", "cpuset.cpus"), "0");

    // The kernel's clamping is reported, not silently accepted.
    oci::Resources too_many;
    too_many.cpu = oci::Cpu{};
    too_many.cpu->shares = 1u << 20;
    auto clamp = mgr.apply(too_many);
    ASSERT_FALSE(clamp);
    EXPECT_EQ(clamp.error().message(), "linux.resources.cpu.shares: 1048576 is above the maximum 262144");

    r = mgr.destroy();
    ASSERT_TRUE(r) << r.error().message();
}

}  // namespace
}  // namespace hull::cgroups
