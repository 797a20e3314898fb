// Stats: the parsers, runc's JSON shape, and Manager::stats()/oom_kill_count()/
// watch_memory_events() against fake v1, v2 and hybrid cgroupfs trees.
#include "cgroups/fs_manager.hpp"
#include "cgroups/stats_parse.hpp"
#include "cgroups/v1/controllers.hpp"
#include "cgroups/v2/controllers.hpp"
#include "common/strings.hpp"
#include "helpers.hpp"

#include <poll.h>

#include <limits>

namespace hull::cgroups {
namespace {

using testing::put;
using testing::TempDir;
using json = nlohmann::json;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST(CgroupsStatsParse, Values) {
    EXPECT_EQ(*parse_value("4096\n", "f"), 4096u);
    EXPECT_EQ(*parse_value("max\n", "f"), kMax);
    auto bad = parse_value("12k\n", "/x/memory.max");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "parse `/x/memory.max`: expected a number, found `12k`");
}

TEST(CgroupsStatsParse, Keyed) {
    auto m = parse_keyed("cache 12288\nrss 57344\n\ntotal_rss 1\n", "f");
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(*m, (std::map<std::string, uint64_t>{{"cache", 12288}, {"rss", 57344}, {"total_rss", 1}}));
    auto bad = parse_keyed("cache\n", "/m/memory.stat");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "parse `/m/memory.stat`: expected `key number`, found `cache`");
}

TEST(CgroupsStatsParse, CpuListAndNumbers) {
    EXPECT_EQ(*parse_cpu_list("0-3,8,10-11\n", "f"), (std::vector<uint16_t>{0, 1, 2, 3, 8, 10, 11}));
    EXPECT_EQ(*parse_cpu_list("\n", "f"), std::vector<uint16_t>{});
    EXPECT_FALSE(parse_cpu_list("3-1", "f"));
    EXPECT_FALSE(parse_cpu_list("a", "f"));
    EXPECT_EQ(*parse_numbers("6766671 2817203 \n", "f"), (std::vector<uint64_t>{6766671, 2817203}));
    EXPECT_FALSE(parse_numbers("1 x", "f"));
    CpuUsage u;
    ASSERT_TRUE(parse_usage_all("cpu user system\n0 10 4000000\n1 20 0\n", "f", u));
    EXPECT_EQ(u.percpu_user, (std::vector<uint64_t>{10, 20}));
    EXPECT_EQ(u.percpu_kernel, (std::vector<uint64_t>{4000000, 0}));
    EXPECT_FALSE(parse_usage_all("0 1 2\n", "f", u));
    EXPECT_FALSE(parse_usage_all("cpu user system\n0 1\n", "f", u));
}

TEST(CgroupsStatsParse, BlkioV1SkipsTotal) {
    auto e = parse_blkio_v1("8:0 Read 4096\n8:0 Write 512\n8:16 Total 4608\nTotal 4608\n", "f");
    ASSERT_TRUE(e) << e.error().message();
    ASSERT_EQ(e->size(), 3u);
    EXPECT_EQ((*e)[0].major, 8u);
    EXPECT_EQ((*e)[0].op, "Read");
    EXPECT_EQ((*e)[1].value, 512u);
    EXPECT_EQ((*e)[2].minor, 16u);
    EXPECT_EQ((*e)[2].op, "Total");
    auto sectors = parse_blkio_v1("253:1 72\n", "f");  // no op in the sectors/time files
    ASSERT_TRUE(sectors);
    EXPECT_EQ((*sectors)[0].op, "");
    EXPECT_EQ((*sectors)[0].value, 72u);
    EXPECT_FALSE(parse_blkio_v1("8-0 Read 1\n", "f"));
    EXPECT_FALSE(parse_blkio_v1("8:0 Read 1 2\n", "f"));
}

TEST(CgroupsStatsParse, IoStatV2AsRuncMapsIt) {
    auto s = parse_io_stat("8:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n259:1 rbytes=5 wbytes=6 rios=7 wios=8\n", "f");
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_EQ(s->io_service_bytes_recursive.size(), 4u);
    ASSERT_EQ(s->io_serviced_recursive.size(), 4u);
    auto& b = s->io_service_bytes_recursive;
    EXPECT_EQ(b[0].major, 8u);
    EXPECT_EQ(b[0].op, "Read");
    EXPECT_EQ(b[0].value, 100u);
    EXPECT_EQ(b[1].op, "Write");
    EXPECT_EQ(b[1].value, 200u);
    EXPECT_EQ(b[3].major, 259u);
    EXPECT_EQ(b[3].minor, 1u);
    EXPECT_EQ(b[3].value, 6u);
    EXPECT_EQ(s->io_serviced_recursive[2].value, 7u);
    EXPECT_TRUE(s->io_queued_recursive.empty());
    EXPECT_FALSE(parse_io_stat("8:0 rbytes\n", "f"));
}

TEST(CgroupsStatsParse, HugepageSizeNamesAsRunc) {
    EXPECT_EQ(hugepage_size_name("hugepages-2048kB"), "2MB");
    EXPECT_EQ(hugepage_size_name("hugepages-1048576kB"), "1GB");
    EXPECT_EQ(hugepage_size_name("hugepages-64kB"), "64KB");
    EXPECT_EQ(hugepage_size_name("hugepages-32768kB"), "32MB");
    EXPECT_EQ(hugepage_size_name("hugepages-16777216kB"), "16GB");
    EXPECT_EQ(hugepage_size_name("hugepages-1536kB"), "1.5MB");
    EXPECT_EQ(hugepage_size_name("hugepages-kB"), std::nullopt);
    EXPECT_EQ(hugepage_size_name("hugepages-2048"), std::nullopt);
    EXPECT_EQ(hugepage_size_name("."), std::nullopt);
    TempDir t;
    for (const char* d : {"hugepages-2048kB", "hugepages-1048576kB", "other"}) ASSERT_TRUE(fs::mkdir_p(t / d));
    EXPECT_EQ(hugepage_sizes(t.path()), (std::vector<std::string>{"1GB", "2MB"}));
    EXPECT_EQ(hugepage_sizes(t / "missing"), std::vector<std::string>{});
}

TEST(CgroupsStatsJson, EmptyStatsHaveRuncsShape) {
    // What runc 1.1.5 prints for a cgroup with nothing to report: nested objects always there,
    // omitempty numbers and lists gone.
    auto want = json::parse(R"({
        "cpu": {"usage": {"kernel": 0, "user": 0}, "throttling": {}},
        "cpuset": {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0, "memory_migrate": 0,
                   "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0,
                   "sched_load_balance": 0, "sched_relax_domain_level": 0},
        "memory": {"usage": {"limit": 0, "failcnt": 0}, "swap": {"limit": 0, "failcnt": 0},
                   "kernel": {"limit": 0, "failcnt": 0}, "kernelTCP": {"limit": 0, "failcnt": 0}},
        "pids": {}, "blkio": {}, "hugetlb": {}, "intel_rdt": {}, "network_interfaces": null})");
    EXPECT_EQ(to_runc_json(Stats{}), want) << to_runc_json(Stats{}).dump();
}

TEST(CgroupsStatsJson, FullStats) {
    Stats s;
    s.cpu.usage = {.total = 9583874, .percpu = {6766671, 2817203}, .percpu_kernel = {4000000, 0},
                   .percpu_user = {0, 0}, .kernel = 10, .user = 20};
    s.cpu.throttling = {.periods = 2, .throttled_periods = 0, .throttled_time = 7};
    s.cpuset.cpus = {0, 1};
    s.cpuset.mems = {0};
    s.cpuset.sched_load_balance = 1;
    s.cpuset.sched_relax_domain_level = -1;
    s.memory.cache = 12288;
    s.memory.usage = {.limit = 99999744, .usage = 536576, .max = 2768896, .failcnt = 0};
    s.memory.kernel_tcp = {.limit = 9223372036854771712u, .usage = 0, .max = 0, .failcnt = 3};
    s.memory.raw = {{"cache", 12288}, {"rss", 0}};
    s.pids = {.current = 1, .limit = 50};
    s.blkio.io_service_bytes_recursive = {{8, 0, "Read", 4096}, {8, 0, "Total", 0}};
    s.blkio.io_queued_recursive = {{0, 0, "", 5}};
    s.hugetlb["2MB"] = {.usage = 0, .max = 0, .failcnt = 0};
    s.hugetlb["1GB"] = {.usage = 1073741824, .max = 1073741824, .failcnt = 2};
    auto want = json::parse(R"({
        "cpu": {"usage": {"total": 9583874, "percpu": [6766671, 2817203], "percpu_kernel": [4000000, 0],
                          "percpu_user": [0, 0], "kernel": 10, "user": 20},
                "throttling": {"periods": 2, "throttledTime": 7}},
        "cpuset": {"cpus": [0, 1], "cpu_exclusive": 0, "mems": [0], "mem_hardwall": 0, "mem_exclusive": 0,
                   "memory_migrate": 0, "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0,
                   "sched_load_balance": 1, "sched_relax_domain_level": -1},
        "memory": {"cache": 12288,
                   "usage": {"limit": 99999744, "usage": 536576, "max": 2768896, "failcnt": 0},
                   "swap": {"limit": 0, "failcnt": 0}, "kernel": {"limit": 0, "failcnt": 0},
                   "kernelTCP": {"limit": 9223372036854771712, "failcnt": 3},
                   "raw": {"cache": 12288, "rss": 0}},
        "pids": {"current": 1, "limit": 50},
        "blkio": {"ioServiceBytesRecursive": [{"major": 8, "op": "Read", "value": 4096}, {"major": 8, "op": "Total"}],
                  "ioQueueRecursive": [{"value": 5}]},
        "hugetlb": {"1GB": {"usage": 1073741824, "max": 1073741824, "failcnt": 2}, "2MB": {"failcnt": 0}},
        "intel_rdt": {}, "network_interfaces": null})");
    EXPECT_EQ(to_runc_json(s), want) << to_runc_json(s).dump();
}

// A v1 cgroup directory as the kernel shows one, with the counters a short busybox run left
// (taken from this host's kernel).
void fake_v1_files(const TempDir& t, std::string_view rel, bool memsw) {
    auto f = [&](std::string_view hier, std::string_view file, std::string_view text) {
        put(t / cat(hier, rel, "/", file), text);
    };
    f("cpu", "cpuacct.usage", "9583874\n");
    f("cpu", "cpuacct.usage_percpu", "6766671 2817203 \n");
    f("cpu", "cpuacct.usage_all", "cpu user system\n0 0 4000000\n1 0 0\n");
    f("cpu", "cpuacct.stat", "user 3\nsystem 5\n");
    f("cpu", "cpu.stat", "nr_periods 2\nnr_throttled 1\nthrottled_time 1500\nnr_bursts 0\nburst_time 0\n");
    f("cpuset", "cpuset.cpus", "0-1\n");
    f("cpuset", "cpuset.mems", "0\n");
    for (const char* n : {"cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
                          "memory_spread_slab", "memory_pressure"})
        f("cpuset", cat("cpuset.", n), "0\n");
    f("cpuset", "cpuset.sched_load_balance", "1\n");
    f("cpuset", "cpuset.sched_relax_domain_level", "-1\n");
    f("memory", "memory.stat", "cache 12288\nrss 57344\ntotal_cache 12288\n");
    f("memory", "memory.usage_in_bytes", "536576\n");
    f("memory", "memory.max_usage_in_bytes", "2768896\n");
    f("memory", "memory.failcnt", "4\n");
    f("memory", "memory.limit_in_bytes", "99999744\n");
    if (memsw) {
        f("memory", "memory.memsw.usage_in_bytes", "600000\n");
        f("memory", "memory.memsw.max_usage_in_bytes", "2800000\n");
        f("memory", "memory.memsw.failcnt", "0\n");
        f("memory", "memory.memsw.limit_in_bytes", "199999488\n");
    }
    f("memory", "memory.kmem.usage_in_bytes", "253952\n");
    f("memory", "memory.kmem.max_usage_in_bytes", "692224\n");
    f("memory", "memory.kmem.failcnt", "0\n");
    // Linux 6.x dropped memory.kmem.limit_in_bytes: it reads as 0.
    f("memory", "memory.kmem.tcp.usage_in_bytes", "0\n");
    f("memory", "memory.kmem.tcp.max_usage_in_bytes", "0\n");
    f("memory", "memory.kmem.tcp.failcnt", "0\n");
    f("memory", "memory.kmem.tcp.limit_in_bytes", "9223372036854771712\n");
    f("memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    f("pids", "pids.current", "1\n");
    f("pids", "pids.max", "max\n");
    // BFQ files missing the debug set, so runc's second set (BFQ) wins over the throttle one.
    f("blkio", "blkio.bfq.io_serviced_recursive", "8:0 Read 2\n8:0 Write 3\nTotal 5\n");
    f("blkio", "blkio.bfq.io_service_bytes_recursive", "8:0 Read 8192\n8:0 Write 12288\nTotal 20480\n");
    f("blkio", "blkio.throttle.io_serviced_recursive", "8:0 Read 99\n");
    f("blkio", "blkio.throttle.io_service_bytes_recursive", "8:0 Read 99\n");
}

Host fake_v1_host(const TempDir& t, Layout layout) {
    Host h;
    h.layout = layout;
    for (auto [c, dir] : {std::pair{"cpu,cpuacct", "cpu"}, {"cpuset", "cpuset"}, {"memory", "memory"}, {"pids", "pids"},
                          {"blkio", "blkio"}, {"freezer", "freezer"}}) {
        EXPECT_TRUE(fs::mkdir_p(t / dir));
        h.v1.emplace_back(c, t / dir);
    }
    if (layout == Layout::hybrid) {
        h.unified_mount = t / "unified";
        EXPECT_TRUE(fs::mkdir_p(h.unified_mount));
    }
    return h;
}

std::unique_ptr<Manager> manager(const Host& h, std::string path) {
    auto m = make_manager(h, Config{std::move(path), "web", false}, "");
    EXPECT_TRUE(m) << m.error().message();
    return m ? std::move(*m) : nullptr;
}

void check_v1_stats(const Stats& s, bool memsw) {
    EXPECT_EQ(s.cpu.usage.total, 9583874u);
    EXPECT_EQ(s.cpu.usage.percpu, (std::vector<uint64_t>{6766671, 2817203}));
    EXPECT_EQ(s.cpu.usage.percpu_kernel, (std::vector<uint64_t>{4000000, 0}));
    EXPECT_EQ(s.cpu.usage.percpu_user, (std::vector<uint64_t>{0, 0}));
    long hz = ::sysconf(_SC_CLK_TCK);
    EXPECT_EQ(s.cpu.usage.user, uint64_t{3} * 1000000000u / static_cast<uint64_t>(hz));
    EXPECT_EQ(s.cpu.usage.kernel, uint64_t{5} * 1000000000u / static_cast<uint64_t>(hz));
    EXPECT_EQ(s.cpu.throttling.periods, 2u);
    EXPECT_EQ(s.cpu.throttling.throttled_periods, 1u);
    EXPECT_EQ(s.cpu.throttling.throttled_time, 1500u);
    EXPECT_EQ(s.cpuset.cpus, (std::vector<uint16_t>{0, 1}));
    EXPECT_EQ(s.cpuset.mems, (std::vector<uint16_t>{0}));
    EXPECT_EQ(s.cpuset.sched_load_balance, 1u);
    EXPECT_EQ(s.cpuset.sched_relax_domain_level, -1);
    EXPECT_EQ(s.memory.cache, 12288u);
    EXPECT_EQ(s.memory.raw.at("rss"), 57344u);
    EXPECT_EQ(s.memory.usage.usage, 536576u);
    EXPECT_EQ(s.memory.usage.max, 2768896u);
    EXPECT_EQ(s.memory.usage.failcnt, 4u);
    EXPECT_EQ(s.memory.usage.limit, 99999744u);
    if (memsw) {
        EXPECT_EQ(s.memory.swap.usage, 600000u);
        EXPECT_EQ(s.memory.swap.limit, 199999488u);
    } else {
        EXPECT_EQ(s.memory.swap.usage, 0u);
        EXPECT_EQ(s.memory.swap.limit, 0u);
    }
    EXPECT_EQ(s.memory.kernel.usage, 253952u);
    EXPECT_EQ(s.memory.kernel.max, 692224u);
    EXPECT_EQ(s.memory.kernel.limit, 0u);
    EXPECT_EQ(s.memory.kernel_tcp.limit, 9223372036854771712u);
    EXPECT_EQ(s.pids.current, 1u);
    EXPECT_EQ(s.pids.limit, 0u);  // "max"
    ASSERT_EQ(s.blkio.io_service_bytes_recursive.size(), 2u);
    EXPECT_EQ(s.blkio.io_service_bytes_recursive[1].op, "Write");
    EXPECT_EQ(s.blkio.io_service_bytes_recursive[1].value, 12288u);
    ASSERT_EQ(s.blkio.io_serviced_recursive.size(), 2u);
    EXPECT_EQ(s.blkio.io_serviced_recursive[0].value, 2u);
    EXPECT_TRUE(s.hugetlb.empty());
}

TEST(CgroupsStats, V1ReadsEveryHierarchy) {
    for (bool memsw : {true, false}) {
        TempDir t;
        auto m = manager(fake_v1_host(t, Layout::legacy), "/hull/web");
        ASSERT_TRUE(m);
        fake_v1_files(t, "/hull/web", memsw);
        auto s = m->stats();
        ASSERT_TRUE(s) << s.error().message();
        check_v1_stats(*s, memsw);
        auto ooms = m->oom_kill_count();
        ASSERT_TRUE(ooms) << ooms.error().message();
        EXPECT_EQ(*ooms, 3u);
    }
}

TEST(CgroupsStats, HybridReadsTheV1Hierarchies) {
    TempDir t;
    auto m = manager(fake_v1_host(t, Layout::hybrid), "/hull/web");
    ASSERT_TRUE(m);
    fake_v1_files(t, "/hull/web", true);
    // The cgroup2 directory of a hybrid host is for tracking; its files are not consulted.
    put(t / "unified/hull/web/memory.current", "1\n");
    put(t / "unified/hull/web/memory.events", "oom_kill 100\n");
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().message();
    check_v1_stats(*s, true);
    EXPECT_EQ(*m->oom_kill_count(), 3u);
}

TEST(CgroupsStats, V1BlkioFallsBackToTheThrottleFiles) {
    TempDir t;
    put(t / "c/blkio.throttle.io_serviced_recursive", "8:0 Read 7\nTotal 7\n");
    put(t / "c/blkio.throttle.io_service_bytes_recursive", "8:0 Read 28672\nTotal 28672\n");
    put(t / "c/blkio.bfq.io_serviced_recursive", "8:0 Read 1\n");  // half a BFQ set does not count
    BlkioStats b;
    auto r = v1::blkio_stats(Dir{"blkio", t.path(), "/c"}, b);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(b.io_serviced_recursive.size(), 1u);
    EXPECT_EQ(b.io_serviced_recursive[0].value, 7u);
    EXPECT_EQ(b.io_service_bytes_recursive[0].value, 28672u);
}

TEST(CgroupsStats, V1HugetlbPerSize) {
    TempDir t;
    for (auto [size, usage] : {std::pair{"2MB", "4194304"}, {"1GB", "0"}}) {
        put(t / cat("c/hugetlb.", size, ".usage_in_bytes"), cat(usage, "\n"));
        put(t / cat("c/hugetlb.", size, ".max_usage_in_bytes"), "6291456\n");
        put(t / cat("c/hugetlb.", size, ".failcnt"), "2\n");
    }
    std::map<std::string, HugetlbStats> h;
    auto r = v1::hugetlb_stats(Dir{"hugetlb", t.path(), "/c"}, {"1GB", "2MB"}, h);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(h["2MB"].usage, 4194304u);
    EXPECT_EQ(h["2MB"].max, 6291456u);
    EXPECT_EQ(h["1GB"].failcnt, 2u);
    // A size the host has but the hierarchy does not: an error with the path.
    r = v1::hugetlb_stats(Dir{"hugetlb", t.path(), "/c"}, {"64KB"}, h);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), cat("read `", t / "c/hugetlb.64KB.usage_in_bytes", "`: no such file or directory"));
}

TEST(CgroupsStats, V1MissingRequiredFileIsAnErrorWithThePath) {
    TempDir t;
    auto m = manager(fake_v1_host(t, Layout::legacy), "/hull/web");
    fake_v1_files(t, "/hull/web", true);
    ASSERT_EQ(::unlink((t / "memory/hull/web/memory.usage_in_bytes").c_str()), 0);
    auto s = m->stats();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(),
              cat("cgroup stats: read `", t / "memory/hull/web/memory.usage_in_bytes", "`: no such file or directory"));
}

TEST(CgroupsStats, V1WithoutMemoryHierarchy) {
    TempDir t;
    Host h;
    h.layout = Layout::legacy;
    ASSERT_TRUE(fs::mkdir_p(t / "pids"));
    h.v1.emplace_back("pids", t / "pids");
    auto m = manager(h, "/hull/web");
    put(t / "pids/hull/web/pids.current", "3\n");
    put(t / "pids/hull/web/pids.max", "64\n");
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->pids.current, 3u);
    EXPECT_EQ(s->pids.limit, 64u);
    EXPECT_EQ(s->memory.usage.usage, 0u);
    EXPECT_EQ(*m->oom_kill_count(), 0u);
    auto w = m->watch_memory_events();
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().message(), "watch memory events: this host has no memory cgroup controller");
}

void fake_v2_files(const TempDir& t, std::string_view rel, bool swap) {
    auto f = [&](std::string_view file, std::string_view text) { put(t / cat("v2", rel, "/", file), text); };
    f("cgroup.procs", "1\n2\n");
    f("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2000\n"
                  "nr_bursts 0\nburst_usec 0\n");
    f("memory.current", "8192000\n");
    f("memory.max", "104857600\n");
    f("memory.stat", "anon 4096\nfile 12288\nkernel 100\n");
    f("memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n");
    if (swap) {
        f("memory.swap.current", "4096\n");
        f("memory.swap.max", "max\n");
    }
    f("pids.current", "2\n");
    f("pids.max", "100\n");
    f("io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
    f("hugetlb.2MB.current", "2097152\n");
    f("hugetlb.2MB.max", "max\n");
    f("hugetlb.2MB.events", "max 5\n");
}

TEST(CgroupsStats, V2ReadsTheControllerFiles) {
    TempDir t;
    auto m = manager(testing::fake_unified(t), "/hull/web");
    ASSERT_TRUE(m);
    fake_v2_files(t, "/hull/web", true);
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->cpu.usage.total, 1500000u);
    EXPECT_EQ(s->cpu.usage.user, 1000000u);
    EXPECT_EQ(s->cpu.usage.kernel, 500000u);
    EXPECT_TRUE(s->cpu.usage.percpu.empty());
    EXPECT_EQ(s->cpu.throttling.periods, 10u);
    EXPECT_EQ(s->cpu.throttling.throttled_periods, 4u);
    EXPECT_EQ(s->cpu.throttling.throttled_time, 2000000u);
    EXPECT_EQ(s->memory.usage.usage, 8192000u);
    EXPECT_EQ(s->memory.usage.limit, 104857600u);
    EXPECT_EQ(s->memory.cache, 12288u);
    EXPECT_EQ(s->memory.raw.at("anon"), 4096u);
    // v1's meaning: memory+swap. Unlimited swap stays unlimited.
    EXPECT_EQ(s->memory.swap.usage, 8192000u + 4096u);
    EXPECT_EQ(s->memory.swap.limit, kMax);
    EXPECT_EQ(s->pids.current, 2u);
    EXPECT_EQ(s->pids.limit, 100u);
    ASSERT_EQ(s->blkio.io_service_bytes_recursive.size(), 2u);
    EXPECT_EQ(s->blkio.io_service_bytes_recursive[1].value, 8192u);
    EXPECT_EQ(*m->oom_kill_count(), 1u);
    // The JSON of a v2 cgroup: no percpu lists, an unlimited swap as UINT64_MAX like runc.
    auto j = to_runc_json(*s);
    EXPECT_EQ(j["cpu"]["usage"], json::parse(R"({"total":1500000,"kernel":500000,"user":1000000})"));
    EXPECT_EQ(j["memory"]["swap"]["limit"], kMax);
}

TEST(CgroupsStats, V2SwapLimitIsReportedAsMemoryPlusSwap) {
    TempDir t;
    auto m = manager(testing::fake_unified(t), "/hull/web");
    fake_v2_files(t, "/hull/web", true);
    put(t / "v2/hull/web/memory.swap.max", "1048576\n");
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->memory.swap.limit, 104857600u + 1048576u);
    put(t / "v2/hull/web/memory.max", "max\n");
    s = m->stats();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->memory.usage.limit, kMax);
    EXPECT_EQ(s->memory.swap.limit, kMax);
}

TEST(CgroupsStats, V2HugetlbPerSize) {
    TempDir t;
    fake_v2_files(t, "/c", false);
    Stats s;
    auto r = v2::stats(Dir{"", t / "v2", "/c"}, {"1GB", "2MB"}, s);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(s.hugetlb.size(), 1u);  // 1GB has no files: left out
    EXPECT_EQ(s.hugetlb["2MB"].usage, 2097152u);
    EXPECT_EQ(s.hugetlb["2MB"].failcnt, 5u);
    EXPECT_EQ(s.hugetlb["2MB"].max, 0u);
    EXPECT_EQ(s.memory.swap.usage, 0u);  // no swap accounting
}

TEST(CgroupsStats, V2ControllersNotEnabledAreLeftOut) {
    TempDir t;
    auto m = manager(testing::fake_unified(t), "/hull/web");
    // Only the core files: cpu.stat's usage part and cgroup.procs.
    put(t / "v2/hull/web/cgroup.procs", "10\n11\n12\n");
    put(t / "v2/hull/web/cpu.stat", "usage_usec 3\nuser_usec 2\nsystem_usec 1\n");
    auto s = m->stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->cpu.usage.total, 3000u);
    EXPECT_EQ(s->pids.current, 3u);  // counted from cgroup.procs, as runc does
    EXPECT_EQ(s->pids.limit, 0u);
    EXPECT_TRUE(s->memory.raw.empty());
    EXPECT_EQ(*m->oom_kill_count(), 0u);
    auto w = m->watch_memory_events();
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().message(), cat("watch memory events: no `memory.events` in `",
                                       t / "v2/hull/web", "` (memory controller not enabled)"));
}

TEST(CgroupsStats, StatsOfAMissingCgroupIsAnError) {
    TempDir t;
    auto m = manager(testing::fake_unified(t), "/hull/web");
    auto s = m->stats();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(), cat("cgroup stats: open cgroup `", t / "v2/hull", "`: no such file or directory"));
}

TEST(CgroupsStats, V2WatchSignalsWhenMemoryEventsChange) {
    TempDir t;
    auto m = manager(testing::fake_unified(t), "/hull/web");
    fake_v2_files(t, "/hull/web", false);
    auto w = m->watch_memory_events();
    ASSERT_TRUE(w) << w.error().message();
    pollfd p{w->get(), POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0);
    // The kernel's part: a counter changes.
    auto r = fs::write_file(t / "v2/hull/web/memory.events", "oom_kill 2\n", O_WRONLY | O_TRUNC);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(::poll(&p, 1, 1000), 1);
    char buf[4096];
    EXPECT_GT(::read(w->get(), buf, sizeof buf), 0);
    EXPECT_EQ(::read(w->get(), buf, sizeof buf), -1);  // drained, and never blocks
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_EQ(*m->oom_kill_count(), 2u);
}

}  // namespace
}  // namespace hull::cgroups
