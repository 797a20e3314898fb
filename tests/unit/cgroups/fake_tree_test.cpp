// The manager against fake cgroupfs trees: plain directories and files in a temp dir. The
// kernel's side (control files appearing in new cgroups) is played by the test where needed.
#include "cgroups/fs_manager.hpp"

#include "common/strings.hpp"
#include "helpers.hpp"

#include <unistd.h>

namespace hull::cgroups {
namespace {

using testing::fake_hybrid;
using testing::fake_unified;
using testing::get;
using testing::is_dir;
using testing::put;
using testing::TempDir;

std::unique_ptr<Manager> manager(const Host& h, std::string path, std::string_view own = "") {
    auto m = make_manager(h, Config{std::move(path), "web", false}, own);
    EXPECT_TRUE(m) << m.error().message();
    return m ? std::move(*m) : nullptr;
}

TEST(CgroupsFakeTree, CreateMakesTheDirectoryInEveryHierarchy) {
    TempDir t;
    auto m = manager(fake_hybrid(t), "/hull/web");
    ASSERT_TRUE(m);
    auto r = m->create();
    ASSERT_TRUE(r) << r.error().message();
    for (const char* c : {"cpu", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"})
        EXPECT_TRUE(is_dir(t / cat(c, "/hull/web"))) << c;
    EXPECT_EQ(m->path(), "/hull/web");
    EXPECT_EQ(m->clone_into_fd(), -1);  // hybrid: clone3 cannot place the child in v1
    // Creating again reuses the (empty) cgroup, like runc.
    EXPECT_TRUE(m->create());
}

TEST(CgroupsFakeTree, CreateCopiesCpusetFromTheParent) {
    TempDir t;
    Host h = fake_hybrid(t);
    put(t / "cpuset/cpuset.cpus", "0-3\n");
    put(t / "cpuset/cpuset.mems", "0\n");
    // The kernel's part: a new cpuset cgroup comes with empty files.
    put(t / "cpuset/hull/cpuset.cpus", "\n");
    put(t / "cpuset/hull/cpuset.mems", "");
    put(t / "cpuset/hull/web/cpuset.cpus", "");
    put(t / "cpuset/hull/web/cpuset.mems", "1\n");  // already set: kept
    auto m = manager(h, "/hull/web");
    auto r = m->create();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "cpuset/hull/cpuset.cpus"), "0-3");
    EXPECT_EQ(get(t / "cpuset/hull/cpuset.mems"), "0");
    EXPECT_EQ(get(t / "cpuset/hull/web/cpuset.cpus"), "0-3");
    EXPECT_EQ(get(t / "cpuset/hull/web/cpuset.mems"), "1\n");
}

TEST(CgroupsFakeTree, FailedCreateRemovesWhatItMade) {
    TempDir t;
    Host h = fake_hybrid(t);
    put(t / "broken", "not a directory");
    h.v1.emplace_back("blkio", t / "broken");  // the last hierarchy fails
    auto m = manager(h, "/hull/web");
    auto r = m->create();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), cat("create cgroup: open `", t / "broken", "`: not a directory"));
    for (const char* c : {"cpu", "cpuset", "pids", "systemd"}) EXPECT_FALSE(is_dir(t / cat(c, "/hull"))) << c;
}

TEST(CgroupsFakeTree, FailedCreateKeepsDirectoriesThatAlreadyExisted) {
    TempDir t;
    Host h = fake_hybrid(t);
    ASSERT_TRUE(fs::mkdir_p(t / "cpu/hull"));
    put(t / "broken", "");
    h.v1.emplace_back("blkio", t / "broken");
    ASSERT_FALSE(manager(h, "/hull/web")->create());
    EXPECT_TRUE(is_dir(t / "cpu/hull"));
    EXPECT_FALSE(is_dir(t / "cpu/hull/web"));
}

TEST(CgroupsFakeTree, SymlinksInThePathAreRefused) {
    TempDir t;
    Host h = fake_hybrid(t);
    ASSERT_TRUE(fs::mkdir_p(t / "elsewhere"));
    ASSERT_EQ(::symlink((t / "elsewhere").c_str(), (t / "pids/hull").c_str()), 0);
    auto r = manager(h, "/hull/web")->create();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              cat("create cgroup: cgroup `", t / "pids/hull",
                  "` is a symlink or not a directory; cgroup paths must be plain directories"));
    EXPECT_FALSE(is_dir(t / "elsewhere/web"));
    EXPECT_FALSE(is_dir(t / "cpu/hull"));  // undone
}

TEST(CgroupsFakeTree, CreateRefusesACgroupThatHasProcesses) {
    TempDir t;
    Host h = fake_hybrid(t);
    put(t / "pids/hull/web/cgroup.procs", "4242\n");
    auto r = manager(h, "/hull/web")->create();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "create cgroup: `/hull/web` already has 1 process(es) in it (another container's?)");
}

TEST(CgroupsFakeTree, AddProcessWritesEveryHierarchyAndPidsReadsBack) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    // The kernel's part: every cgroup directory has cgroup.procs.
    std::vector<std::string> procs;
    for (auto& [c, mount] : h.v1) procs.push_back(fs::join(mount, "hull/web/cgroup.procs"));
    procs.push_back(t / "unified/hull/web/cgroup.procs");
    for (auto& p : procs) put(p, "");
    auto r = m->add_process(4242);
    ASSERT_TRUE(r) << r.error().message();
    for (auto& p : procs) EXPECT_EQ(get(p), "4242") << p;
    // pids() walks child cgroups the container made, too.
    put(t / "pids/hull/web/sub/cgroup.procs", "77\n4242\n");
    auto pids = m->pids();
    ASSERT_TRUE(pids) << pids.error().message();
    EXPECT_EQ(*pids, (std::vector<pid_t>{77, 4242}));
}

TEST(CgroupsFakeTree, PidsOfAMissingCgroupIsEmpty) {
    TempDir t;
    auto pids = manager(fake_hybrid(t), "/hull/web")->pids();
    ASSERT_TRUE(pids) << pids.error().message();
    EXPECT_TRUE(pids->empty());
}

TEST(CgroupsFakeTree, DestroyRemovesTheLeafAndChildCgroupsButNotTheParent) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    ASSERT_TRUE(fs::mkdir_p(t / "memory/hull/web/child/grandchild"));
    auto r = m->destroy();
    ASSERT_TRUE(r) << r.error().message();
    for (const char* c : {"cpu", "cpuset", "devices", "freezer", "memory", "pids", "systemd", "unified"}) {
        EXPECT_FALSE(is_dir(t / cat(c, "/hull/web"))) << c;
        EXPECT_TRUE(is_dir(t / cat(c, "/hull"))) << c;  // as runc: only the container's own cgroup goes
    }
    // Missing directories are fine.
    EXPECT_TRUE(m->destroy());
}

TEST(CgroupsFakeTree, DestroyDoesNotFollowSymlinks) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    ASSERT_TRUE(fs::mkdir_p(t / "outside/keep"));
    ASSERT_EQ(::symlink((t / "outside").c_str(), (t / "pids/hull/web/link").c_str()), 0);
    // A symlink is no cgroup: rmdir of web then fails (on a real cgroupfs it cannot exist).
    EXPECT_FALSE(m->destroy());
    EXPECT_TRUE(is_dir(t / "outside/keep"));
}

TEST(CgroupsFakeTree, V1FreezerWritesAndReadsFreezerState) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    put(t / "freezer/hull/web/freezer.state", "THAWED\n");
    auto f = m->frozen();
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_FALSE(*f);
    auto r = m->set_frozen(true);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "freezer/hull/web/freezer.state"), "FROZEN");
    EXPECT_TRUE(*m->frozen());
    // Frozen only because an ancestor is: not paused.
    put(t / "freezer/hull/web/freezer.self_freezing", "0\n");
    EXPECT_FALSE(*m->frozen());
    ASSERT_TRUE(m->set_frozen(false));
    EXPECT_EQ(get(t / "freezer/hull/web/freezer.state"), "THAWED");
}

TEST(CgroupsFakeTree, V1ApplyWritesTheControllerFiles) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    for (const char* f : {"pids/hull/web/pids.max", "devices/hull/web/devices.allow", "devices/hull/web/devices.deny",
                          "memory/hull/web/memory.limit_in_bytes", "memory/hull/web/memory.memsw.limit_in_bytes",
                          "memory/hull/web/memory.soft_limit_in_bytes", "cpu/hull/web/cpu.shares",
                          "cpu/hull/web/cpu.cfs_quota_us", "cpu/hull/web/cpu.cfs_period_us",
                          "cpuset/hull/web/cpuset.cpus", "cpuset/hull/web/cpuset.mems"})
        put(t / f, "");
    put(t / "memory/hull/web/memory.limit_in_bytes", "9223372036854771712\n");
    oci::Resources res;
    res.pids = oci::Pids{.limit = 32};
    res.devices = {oci::DeviceRule{.allow = false, .type = 'a', .access = "rwm"},
                   oci::DeviceRule{.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
                   oci::DeviceRule{.allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w"}};
    oci::Memory mem;
    mem.limit = 64 << 20;
    mem.swap = 128 << 20;
    mem.reservation = 32 << 20;
    res.memory = mem;
    oci::Cpu cpu;
    cpu.shares = 512;
    cpu.quota = 50000;
    cpu.period = 100000;
    cpu.cpus = "0-1";
    cpu.mems = "0";
    res.cpu = cpu;
    // cpu.shares is read back to catch the kernel's clamping; a fake file just keeps the value.
    auto r = m->apply(res);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "pids/hull/web/pids.max"), "32");
    // Each write replaced the fake file; the last of each kind is what remains.
    EXPECT_EQ(get(t / "devices/hull/web/devices.allow"), "c 1:3 rwm");
    EXPECT_EQ(get(t / "devices/hull/web/devices.deny"), "c 1:3 w");
    EXPECT_EQ(get(t / "memory/hull/web/memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(get(t / "memory/hull/web/memory.memsw.limit_in_bytes"), "134217728");
    EXPECT_EQ(get(t / "memory/hull/web/memory.soft_limit_in_bytes"), "33554432");
    EXPECT_EQ(get(t / "cpu/hull/web/cpu.shares"), "512");
    EXPECT_EQ(get(t / "cpu/hull/web/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(get(t / "cpu/hull/web/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(get(t / "cpuset/hull/web/cpuset.cpus"), "0-1");
    EXPECT_EQ(get(t / "cpuset/hull/web/cpuset.mems"), "0");
}

TEST(CgroupsFakeTree, V1ApplyRefusesWhatItCannotPlace) {
    TempDir t;
    Host h = fake_hybrid(t);
    std::erase_if(h.v1, [](auto& e) { return e.first == "devices"; });
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    oci::Resources res;
    res.devices = {oci::DeviceRule{.allow = false, .type = 'a', .access = "rwm"}};
    auto r = m->apply(res);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "linux.resources.devices: the `devices` cgroup controller is not mounted");
    oci::Resources unified;
    unified.unified["memory.high"] = "1G";
    auto u = m->apply(unified);
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().message(), "linux.resources.unified: needs a cgroup v2 host; this one is hybrid");
    // Nothing asked: nothing to do.
    EXPECT_TRUE(m->apply(oci::Resources{}));
}

TEST(CgroupsFakeTree, PureV2CreateEnablesControllersInAncestorsOnly) {
    TempDir t;
    Host h = fake_unified(t);
    put(t / "v2/cgroup.controllers", "cpuset cpu io memory pids\n");
    put(t / "v2/cgroup.subtree_control", "cpu\n");
    auto m = make_manager(h, Config{"web", "web", false}, "0::/user.slice/session-1.scope\n");
    ASSERT_TRUE(m) << m.error().message();
    auto r = (*m)->create();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(is_dir(t / "v2/user.slice/web"));
    EXPECT_EQ(get(t / "v2/cgroup.subtree_control"), "+cpuset +io +memory +pids");
    EXPECT_FALSE(fs::exists(t / "v2/user.slice/web/cgroup.subtree_control"));
    EXPECT_GE((*m)->clone_into_fd(), 0);
    EXPECT_EQ((*m)->path(), "/user.slice/web");
}

TEST(CgroupsFakeTree, PureV2ApplyWritesConvertedValues) {
    TempDir t;
    Host h = fake_unified(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    for (const char* f : {"pids.max", "memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max",
                          "cpuset.cpus", "memory.high"})
        put(t / cat("v2/hull/web/", f), "");
    oci::Resources res;
    res.pids = oci::Pids{.limit = -1};
    oci::Memory mem;
    mem.limit = 100 << 20;
    mem.swap = 300 << 20;
    mem.reservation = 50 << 20;
    res.memory = mem;
    oci::Cpu cpu;
    cpu.shares = 1024;
    cpu.quota = 20000;
    cpu.period = 100000;
    cpu.cpus = "1";
    res.cpu = cpu;
    res.unified["memory.high"] = "90000000";
    auto r = m->apply(res);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "v2/hull/web/pids.max"), "max");
    EXPECT_EQ(get(t / "v2/hull/web/memory.max"), "104857600");
    EXPECT_EQ(get(t / "v2/hull/web/memory.swap.max"), "209715200");
    EXPECT_EQ(get(t / "v2/hull/web/memory.low"), "52428800");
    EXPECT_EQ(get(t / "v2/hull/web/cpu.weight"), "39");
    EXPECT_EQ(get(t / "v2/hull/web/cpu.max"), "20000 100000");
    EXPECT_EQ(get(t / "v2/hull/web/cpuset.cpus"), "1");
    EXPECT_EQ(get(t / "v2/hull/web/memory.high"), "90000000");

    // The device filter needs a real cgroup2 directory (device_filter_test.cpp covers the
    // program; attaching it is tested in the v2 guest).
    oci::Resources devices;
    devices.devices = {oci::DeviceRule{.allow = false, .type = 'a', .access = "rwm"}};
    auto d = m->apply(devices);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().message(), cat("linux.resources.devices: `", t / "v2/hull/web",
                                       "` is not a cgroup2 directory; cannot attach the device filter"));
    devices.devices.push_back(oci::DeviceRule{.allow = true, .type = 'q', .access = "r"});
    d = m->apply(devices);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().message(), "linux.resources.devices[1].type: unknown device type `q`");

    oci::Resources bad;
    bad.unified["../memory.max"] = "1";
    EXPECT_FALSE(m->apply(bad));
    oci::Resources missing;
    missing.unified["hugetlb.2MB.max"] = "0";
    auto e = m->apply(missing);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("is the `hugetlb` controller enabled"), std::string::npos);
}

TEST(CgroupsFakeTree, PureV2FreezeWaitsForCgroupEvents) {
    TempDir t;
    Host h = fake_unified(t);
    auto m = manager(h, "/hull/web");
    ASSERT_TRUE(m->create());
    put(t / "v2/hull/web/cgroup.freeze", "0\n");
    put(t / "v2/hull/web/cgroup.events", "populated 1\nfrozen 1\n");
    auto r = m->set_frozen(true);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(get(t / "v2/hull/web/cgroup.freeze"), "1");
    EXPECT_TRUE(*m->frozen());
}

TEST(CgroupsFakeTree, SaveAndLoadRoundTrip) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto m = manager(h, "/hull/web");
    auto saved = m->save();
    EXPECT_EQ(saved["layout"], "hybrid");
    EXPECT_EQ(saved["v1"][0]["dir"], t / "cpu/hull/web");
    EXPECT_EQ(saved["v2"]["dir"], t / "unified/hull/web");
    auto loaded = load_manager(h, saved);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ((*loaded)->save(), saved);
    EXPECT_EQ((*loaded)->path(), "/hull/web");

    // A loaded manager works like the original: destroy removes what create made.
    ASSERT_TRUE(m->create());
    ASSERT_TRUE((*loaded)->destroy());
    EXPECT_FALSE(is_dir(t / "pids/hull/web"));
}

TEST(CgroupsFakeTree, LoadRefusesPathsOutsideTheirMount) {
    TempDir t;
    Host h = fake_hybrid(t);
    auto saved = manager(h, "/hull/web")->save();
    auto escape = saved;
    escape["v1"][0]["dir"] = t / "cpu/hull/../../etc";
    auto r = load_manager(h, escape);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              cat("saved cgroup state.v1[0].dir: cgroup path `/hull/../../etc`: not a clean path"));
    auto outside = saved;
    outside["v2"]["dir"] = "/etc";
    EXPECT_FALSE(load_manager(h, outside));
    auto no_layout = saved;
    no_layout.erase("layout");
    EXPECT_FALSE(load_manager(h, no_layout));
    EXPECT_FALSE(load_manager(h, nlohmann::json::array()));
    auto mismatch = saved;
    mismatch["layout"] = "legacy";
    EXPECT_FALSE(load_manager(h, mismatch));
}

}  // namespace
}  // namespace hull::cgroups
