// Stats, the OOM counter and its notification on this machine's real v1 hierarchies, under a
// uniquely named `hull-stats-test-<random>` cgroup that is always removed. Needs root; skips
// otherwise (a pure cgroup v2 host is covered by tests/vm).
#include "cgroups/manager.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <random>

namespace hull::cgroups {
namespace {

struct Guard {
    Host host;
    std::string name;
    std::unique_ptr<Manager> manager;
    pid_t child = -1;
    ~Guard() {
        if (child > 0) {
            ::kill(child, SIGKILL);
            ::waitpid(child, nullptr, 0);
        }
        if (manager) {
            (void)manager->kill_all(SIGKILL);
            (void)manager->destroy();
        }
        for (auto& [c, mount] : host.v1) ::rmdir(fs::join(mount, name).c_str());
        if (!host.unified_mount.empty()) ::rmdir(fs::join(host.unified_mount, name).c_str());
    }
};

bool has_v1(const Host& h, std::string_view controller) {
    for (auto& [list, mount] : h.v1)
        for (auto& c : split(list, ','))
            if (c == controller) return true;
    return false;
}

TEST(CgroupsRealHostStats, OomKillIsCountedAndSignalled) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to create cgroups";
    }
    auto host = detect_host();
    ASSERT_TRUE(host) << host.error().message();
    if (host->layout == Layout::unified) {
        GTEST_SKIP() << "pure cgroup v2 host: covered by tests/vm";
    }
    if (!has_v1(*host, "memory")) {
        GTEST_SKIP() << "no v1 memory hierarchy";
    }

    Guard g{*host, cat("hull-stats-test-", std::random_device{}() % 1000000000u, "-", ::getpid()), nullptr};
    auto m = make_manager(*host, Config{"/" + g.name, g.name, false});
    ASSERT_TRUE(m) << m.error().message();
    g.manager = std::move(*m);
    Manager& mgr = *g.manager;
    ASSERT_TRUE(mgr.create());

    constexpr int64_t kLimit = 16 << 20;
    oci::Resources res;
    res.memory = oci::Memory{.limit = kLimit, .swap = kLimit};  // no swap: the OOM killer must act
    res.pids = oci::Pids{.limit = 32};
    auto r = mgr.apply(res);
    ASSERT_TRUE(r) << r.error().message();

    auto before = mgr.oom_kill_count();
    ASSERT_TRUE(before) << before.error().message();
    EXPECT_EQ(*before, 0u);
    auto watch = mgr.watch_memory_events();
    ASSERT_TRUE(watch) << watch.error().message();
    pollfd p{watch->get(), POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0);

    int gate[2];
    ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
    g.child = ::fork();
    ASSERT_GE(g.child, 0);
    if (g.child == 0) {
        ::close(gate[1]);
        char c;
        if (::read(gate[0], &c, 1) != 1) ::_exit(1);
        // 8x the limit, touched page by page.
        size_t size = 8 * kLimit;
        void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) ::_exit(2);
        std::memset(mem, 1, size);
        ::_exit(0);
    }
    ::close(gate[0]);
    r = mgr.add_process(g.child);
    if (!r) ::close(gate[1]);
    ASSERT_TRUE(r) << r.error().message();

    auto running = mgr.stats();
    ASSERT_TRUE(running) << running.error().message();
    EXPECT_EQ(running->memory.usage.limit, static_cast<uint64_t>(kLimit));
    EXPECT_EQ(running->pids.current, 1u);
    EXPECT_EQ(running->pids.limit, 32u);

    ASSERT_EQ(::write(gate[1], "x", 1), 1);
    ::close(gate[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(g.child, &status, 0), g.child);
    g.child = -1;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;

    EXPECT_EQ(::poll(&p, 1, 5000), 1);
    uint64_t n = 0;
    EXPECT_EQ(::read(watch->get(), &n, sizeof n), static_cast<ssize_t>(sizeof n));
    EXPECT_GE(n, 1u);
    auto after = mgr.oom_kill_count();
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(*after, 1u);

    auto s = mgr.stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_GE(s->memory.usage.max, static_cast<uint64_t>(kLimit) - (1 << 20));  // it got up to the limit
    EXPECT_EQ(s->memory.swap.limit, static_cast<uint64_t>(kLimit));
    EXPECT_FALSE(s->memory.raw.empty());
    EXPECT_EQ(s->pids.current, 0u);
    if (has_v1(*host, "cpuacct")) {
        EXPECT_GT(s->cpu.usage.total, 0u);  // the memset took some CPU time
        EXPECT_FALSE(s->cpu.usage.percpu.empty());
    }
    if (has_v1(*host, "cpuset")) {
        EXPECT_FALSE(s->cpuset.cpus.empty());
    }
    auto j = to_runc_json(*s);
    EXPECT_EQ(j["memory"]["usage"]["limit"], kLimit);
    EXPECT_TRUE(j.contains("blkio") && j.contains("hugetlb") && j.contains("cpuset"));
}

}  // namespace
}  // namespace hull::cgroups
