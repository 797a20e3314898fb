// blockIO/io, hugetlb, rdma and network: the values computed for each cgroup file, then the
// manager writing them into fake v1, hybrid and v2 trees; update-time behaviour of cpu.max and
// of a v1 memory limit lowered below usage (the latter on this host's real v1 hierarchy).
#include "cgroups/convert.hpp"
#include "cgroups/fs_manager.hpp"
#include "cgroups/stats_parse.hpp"
#include "cgroups/v1/controllers.hpp"
#include "cgroups/v2/controllers.hpp"
#include "common/strings.hpp"
#include "helpers.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <random>

namespace hull::cgroups {
namespace {

using testing::get;
using testing::put;
using testing::TempDir;
using W = std::vector<Write>;

oci::BlockIo sample_block_io() {
    oci::BlockIo b;
    b.weight = 500;
    b.leaf_weight = 300;
    b.weight_device = {oci::WeightDevice{.major = 8, .minor = 0, .weight = 600, .leaf_weight = 200},
                       oci::WeightDevice{.major = 8, .minor = 16, .weight = std::nullopt, .leaf_weight = 100}};
    b.throttle_read_bps = {{8, 0, 1048576}, {253, 1, 0}};
    b.throttle_write_bps = {{8, 0, 2097152}};
    b.throttle_read_iops = {{8, 16, 100}};
    b.throttle_write_iops = {{8, 0, 50}};
    return b;
}

TEST(CgroupsResources, BlkioWeightToIoWeightIsRuncsLinearMap) {
    EXPECT_EQ(io_weight_from_blkio(0), 0u);
    EXPECT_EQ(io_weight_from_blkio(10), 1u);
    EXPECT_EQ(io_weight_from_blkio(100), 910u);
    EXPECT_EQ(io_weight_from_blkio(500), 4950u);
    EXPECT_EQ(io_weight_from_blkio(1000), 10000u);
    EXPECT_EQ(io_weight_from_blkio(5), 1u);  // clamped to blkio's range first: no wrap-around
}

TEST(CgroupsResources, IoMaxOneLinePerDevice) {
    EXPECT_EQ(io_max_lines(sample_block_io()),
              (std::vector<std::string>{"8:0 rbps=1048576 wbps=2097152 wiops=50", "253:1 rbps=max", "8:16 riops=100"}));
    EXPECT_TRUE(io_max_lines(oci::BlockIo{}).empty());
}

TEST(CgroupsResources, V2IoWrites) {
    auto b = sample_block_io();
    EXPECT_EQ(v2::io_writes(b, {.bfq_weight = false}),
              (W{{"io.weight", "4950"},
                 {"io.weight", "8:0 5960"},
                 {"io.max", "8:0 rbps=1048576 wbps=2097152 wiops=50"},
                 {"io.max", "253:1 rbps=max"},
                 {"io.max", "8:16 riops=100"}}));
    // BFQ takes blkio's scale as it is.
    EXPECT_EQ(v2::io_writes(b, {.bfq_weight = true}),
              (W{{"io.bfq.weight", "500"},
                 {"io.bfq.weight", "8:0 600"},
                 {"io.max", "8:0 rbps=1048576 wbps=2097152 wiops=50"},
                 {"io.max", "253:1 rbps=max"},
                 {"io.max", "8:16 riops=100"}}));
}

TEST(CgroupsResources, V1BlkioWrites) {
    EXPECT_EQ(v1::blkio_writes(sample_block_io(), false),
              (W{{"blkio.weight", "500"},
                 {"blkio.leaf_weight", "300"},
                 {"blkio.weight_device", "8:0 600"},
                 {"blkio.leaf_weight_device", "8:0 200"},
                 {"blkio.leaf_weight_device", "8:16 100"},
                 {"blkio.throttle.read_bps_device", "8:0 1048576"},
                 {"blkio.throttle.read_bps_device", "253:1 0"},
                 {"blkio.throttle.write_bps_device", "8:0 2097152"},
                 {"blkio.throttle.read_iops_device", "8:16 100"},
                 {"blkio.throttle.write_iops_device", "8:0 50"}}));
    oci::BlockIo w;
    w.weight = 200;
    w.weight_device = {oci::WeightDevice{.major = 8, .minor = 0, .weight = 300, .leaf_weight = std::nullopt}};
    EXPECT_EQ(v1::blkio_writes(w, true), (W{{"blkio.bfq.weight", "200"}, {"blkio.bfq.weight_device", "8:0 300"}}));
}

TEST(CgroupsResources, RdmaLines) {
    std::map<std::string, oci::Rdma> rdma{{"mlx4_0", {.hca_handles = 2, .hca_objects = 2000}},
                                          {"mlx5_1", {.hca_handles = std::nullopt, .hca_objects = 10}},
                                          {"unset", {}}};
    auto w = rdma_writes(rdma);
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_EQ(*w, (W{{"rdma.max", "mlx4_0 hca_handle=2 hca_object=2000"}, {"rdma.max", "mlx5_1 hca_object=10"}}));
    auto bad = rdma_writes({{"mlx4_0 hca_handle=1\nx", {.hca_handles = 1, .hca_objects = 1}}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "linux.resources.rdma: invalid device name `mlx4_0 hca_handle=1\nx`");
}

TEST(CgroupsResources, NetPrioWrites) {
    oci::Network n;
    n.priorities = {{"eth0", 5}, {"lo", 0}};
    EXPECT_EQ(*v1::net_prio_writes(n), (W{{"net_prio.ifpriomap", "eth0 5"}, {"net_prio.ifpriomap", "lo 0"}}));
    n.priorities = {{"eth0 1\nlo", 5}};
    auto bad = v1::net_prio_writes(n);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "linux.resources.network.priorities: invalid interface name `eth0 1\nlo`");
}

TEST(CgroupsResources, HugepageLimitsForSizesTheHostLacksAreDropped) {
    std::vector<oci::HugepageLimit> limits{{"2MB", 1 << 21}, {"1GB", 0}, {"64KB", 5}};
    std::vector<std::string> dropped;
    auto kept = hugepage_limits_for_host(limits, {"1GB", "2MB"}, &dropped);
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0].page_size, "2MB");
    EXPECT_EQ(kept[1].page_size, "1GB");
    EXPECT_EQ(dropped, std::vector<std::string>{"64KB"});
    EXPECT_TRUE(hugepage_limits_for_host(limits, {}).empty());
}

std::unique_ptr<Manager> manager(const Host& h) {
    auto m = make_manager(h, Config{"/hull/web", "web", false}, "");
    EXPECT_TRUE(m) << m.error().message();
    return m ? std::move(*m) : nullptr;
}

Host v1_host(const TempDir& t, std::vector<std::pair<std::string, std::string>> hierarchies) {
    Host h;
    h.layout = Layout::legacy;
    for (auto& [controllers, dir] : hierarchies) {
        EXPECT_TRUE(fs::mkdir_p(t / dir));
        h.v1.emplace_back(controllers, t / dir);
    }
    return h;
}

TEST(CgroupsResources, V1ApplyWritesBlkioHugetlbNetAndRdma) {
    auto sizes = hugepage_sizes();
    TempDir t;
    auto h = v1_host(t, {{"blkio", "blkio"}, {"hugetlb", "hugetlb"}, {"net_cls,net_prio", "net"}, {"rdma", "rdma"}});
    auto m = manager(h);
    ASSERT_TRUE(m->create());
    for (const char* f : {"blkio.weight", "blkio.leaf_weight", "blkio.weight_device", "blkio.leaf_weight_device",
                          "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                          "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"})
        put(t / cat("blkio/hull/web/", f), "");
    for (auto& s : sizes) put(t / cat("hugetlb/hull/web/hugetlb.", s, ".limit_in_bytes"), "");
    for (const char* f : {"net_cls.classid", "net_prio.ifpriomap"}) put(t / cat("net/hull/web/", f), "");
    put(t / "rdma/hull/web/rdma.max", "");

    oci::Resources res;
    oci::BlockIo b;
    b.weight = 300;
    b.throttle_write_iops = {{8, 0, 50}};
    res.block_io = b;
    for (auto& s : sizes) res.hugepage_limits.push_back({s, 4u << 21});
    res.hugepage_limits.push_back({"3MB", 1});  // no such size here: skipped, not an error
    res.network = oci::Network{.class_id = 0x100001, .priorities = {{"eth0", 7}}};
    res.rdma["mlx4_0"] = oci::Rdma{.hca_handles = 3, .hca_objects = std::nullopt};
    auto r = m->apply(res);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "blkio/hull/web/blkio.weight"), "300");
    EXPECT_EQ(get(t / "blkio/hull/web/blkio.throttle.write_iops_device"), "8:0 50");
    for (auto& s : sizes) EXPECT_EQ(get(t / cat("hugetlb/hull/web/hugetlb.", s, ".limit_in_bytes")), "8388608") << s;
    EXPECT_FALSE(fs::exists(t / "hugetlb/hull/web/hugetlb.3MB.limit_in_bytes"));
    EXPECT_EQ(get(t / "net/hull/web/net_cls.classid"), "1048577");
    EXPECT_EQ(get(t / "net/hull/web/net_prio.ifpriomap"), "eth0 7");
    EXPECT_EQ(get(t / "rdma/hull/web/rdma.max"), "mlx4_0 hca_handle=3");
}

TEST(CgroupsResources, V1BlkioWeightWithoutAWeightFileIsAClearError) {
    TempDir t;
    auto m = manager(v1_host(t, {{"blkio", "blkio"}}));
    ASSERT_TRUE(m->create());
    // A 5.x+ kernel without BFQ: throttle files only.
    put(t / "blkio/hull/web/blkio.throttle.read_bps_device", "");
    oci::Resources res;
    res.block_io = oci::BlockIo{.weight = 300};
    auto r = m->apply(res);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), cat("linux.resources.blockIO: this kernel has no `blkio.weight` in `", t / "blkio/hull/web",
                                       "` (block I/O weights need the BFQ or CFQ I/O scheduler)"));
}

TEST(CgroupsResources, V1ControllersNotMountedAreWarnedAboutNotFatal) {
    TempDir t;
    auto m = manager(v1_host(t, {{"pids", "pids"}}));
    ASSERT_TRUE(m->create());
    oci::Resources res;
    res.block_io = oci::BlockIo{.weight = 300};
    res.hugepage_limits = {{"2MB", 0}};
    res.network = oci::Network{.class_id = 1, .priorities = {}};
    res.rdma["mlx4_0"] = oci::Rdma{.hca_handles = 3, .hca_objects = 4};
    auto r = m->apply(res);
    EXPECT_TRUE(r) << r.error().message();
}

TEST(CgroupsResources, V2ApplyWritesIoHugetlbRdma) {
    auto sizes = hugepage_sizes();
    TempDir t;
    auto m = manager(testing::fake_unified(t));
    ASSERT_TRUE(m->create());
    for (const char* f : {"io.weight", "io.max", "rdma.max"}) put(t / cat("v2/hull/web/", f), "");
    for (auto& s : sizes) put(t / cat("v2/hull/web/hugetlb.", s, ".max"), "");
    if (!sizes.empty()) put(t / cat("v2/hull/web/hugetlb.", sizes[0], ".rsvd.max"), "");
    oci::Resources res;
    res.block_io = oci::BlockIo{.weight = 1000, .throttle_read_bps = {{8, 0, 4096}}};
    for (auto& s : sizes) res.hugepage_limits.push_back({s, 2u << 30});
    res.rdma["mlx4_0"] = oci::Rdma{.hca_handles = 3, .hca_objects = 9};
    auto r = m->apply(res);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "v2/hull/web/io.weight"), "10000");
    EXPECT_EQ(get(t / "v2/hull/web/io.max"), "8:0 rbps=4096");
    EXPECT_EQ(get(t / "v2/hull/web/rdma.max"), "mlx4_0 hca_handle=3 hca_object=9");
    for (auto& s : sizes) EXPECT_EQ(get(t / cat("v2/hull/web/hugetlb.", s, ".max")), "2147483648");
    if (!sizes.empty()) {
        EXPECT_EQ(get(t / cat("v2/hull/web/hugetlb.", sizes[0], ".rsvd.max")), "2147483648");
    }

    // With BFQ: its own file and scale.
    put(t / "v2/hull/web/io.bfq.weight", "");
    res = {};
    res.block_io = oci::BlockIo{.weight = 1000};
    ASSERT_TRUE(m->apply(res));
    EXPECT_EQ(get(t / "v2/hull/web/io.bfq.weight"), "1000");
}

TEST(CgroupsResources, V2ControllersNotEnabledAreWarnedAboutNotFatal) {
    TempDir t;
    auto m = manager(testing::fake_unified(t));
    ASSERT_TRUE(m->create());
    oci::Resources res;
    res.block_io = oci::BlockIo{.weight = 1000};
    res.hugepage_limits = {{"2MB", 0}, {"1GB", 0}};
    res.rdma["mlx4_0"] = oci::Rdma{.hca_handles = 3, .hca_objects = 9};
    res.network = oci::Network{.class_id = 1, .priorities = {}};
    auto r = m->apply(res);
    EXPECT_TRUE(r) << r.error().message();
    EXPECT_FALSE(fs::exists(t / "v2/hull/web/io.weight"));
    EXPECT_FALSE(fs::exists(t / "v2/hull/web/rdma.max"));
}

TEST(CgroupsResources, V2PeriodAloneKeepsTheQuota) {
    TempDir t;
    auto m = manager(testing::fake_unified(t));
    ASSERT_TRUE(m->create());
    put(t / "v2/hull/web/cpu.max", "20000 100000\n");
    oci::Resources res;
    res.cpu = oci::Cpu{.period = 50000};
    ASSERT_TRUE(m->apply(res));
    EXPECT_EQ(get(t / "v2/hull/web/cpu.max"), "20000 50000");
    put(t / "v2/hull/web/cpu.max", "max 100000\n");
    ASSERT_TRUE(m->apply(res));
    EXPECT_EQ(get(t / "v2/hull/web/cpu.max"), "max 50000");
    // A quota alone is written alone: the kernel keeps the period.
    res.cpu = oci::Cpu{.quota = 30000};
    ASSERT_TRUE(m->apply(res));
    EXPECT_EQ(get(t / "v2/hull/web/cpu.max"), "30000");
    res.cpu = oci::Cpu{.quota = -1, .period = 100000};
    ASSERT_TRUE(m->apply(res));
    EXPECT_EQ(get(t / "v2/hull/web/cpu.max"), "max 100000");
}

// On this host's v1 memory hierarchy: an update lowering memory.limit_in_bytes below what
// locked (unreclaimable) memory needs fails with the numbers, and the old limit stays.
TEST(CgroupsResources, RealV1LoweringTheLimitBelowUsageIsAClearError) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to create cgroups";
    }
    auto host = detect_host();
    ASSERT_TRUE(host) << host.error().message();
    if (host->layout == Layout::unified) {
        GTEST_SKIP() << "pure cgroup v2 host: covered by tests/vm";
    }
    bool memory = false;
    for (auto& [c, mount] : host->v1) memory = memory || c == "memory";
    if (!memory) {
        GTEST_SKIP() << "no v1 memory hierarchy";
    }
    std::string name = cat("hull-res-test-", std::random_device{}() % 1000000000u, "-", ::getpid());
    auto made = make_manager(*host, Config{"/" + name, name, false});
    ASSERT_TRUE(made) << made.error().message();
    auto mgr = std::move(*made);
    pid_t child = -1;
    char c = 0;
    struct Cleanup {
        Manager& m;
        pid_t& child;
        const Host& host;
        const std::string& name;
        ~Cleanup() {
            if (child > 0) {
                ::kill(child, SIGKILL);
                ::waitpid(child, nullptr, 0);
            }
            (void)m.kill_all(SIGKILL);
            (void)m.destroy();
            for (auto& [c, mount] : host.v1) ::rmdir(fs::join(mount, name).c_str());
            if (!host.unified_mount.empty()) ::rmdir(fs::join(host.unified_mount, name).c_str());
        }
    } cleanup{*mgr, child, *host, name};
    ASSERT_TRUE(mgr->create());
    oci::Resources res;
    res.memory = oci::Memory{.limit = 64 << 20};
    ASSERT_TRUE(mgr->apply(res));

    int gate[2], ready[2];
    ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(ready[0]);
        ::close(gate[1]);
        // Allocate only once moved, so the memory is charged to the test cgroup.
        if (::read(gate[0], &c, 1) != 1) ::_exit(1);
        size_t size = 24 << 20;
        void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED || ::mlock(mem, size) != 0) ::_exit(2);
        std::memset(mem, 1, size);
        (void)!::write(ready[1], "x", 1);
        for (;;) ::pause();
    }
    ::close(ready[1]);
    ::close(gate[0]);
    auto r = mgr->add_process(child);
    if (!r) ::close(gate[1]);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(::write(gate[1], "x", 1), 1);
    ::close(gate[1]);
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);

    res.memory = oci::Memory{.limit = 8 << 20};
    r = mgr->apply(res);
    ASSERT_FALSE(r);
    EXPECT_TRUE(starts_with(r.error().message(), "linux.resources.memory.limit: cannot lower the limit to 8388608 bytes: the container uses "))
        << r.error().message();
    auto s = mgr->stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->memory.usage.limit, 64u << 20);  // unchanged
}

}  // namespace
}  // namespace hull::cgroups
