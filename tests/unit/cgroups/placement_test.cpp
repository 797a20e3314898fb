#include "cgroups/placement.hpp"

#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace hull::cgroups {
namespace {

Host hybrid_host() {
    Host h;
    h.layout = Layout::hybrid;
    h.v1 = {{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"},
            {"memory", "/sys/fs/cgroup/memory"},
            {"pids", "/sys/fs/cgroup/pids"},
            {"name=systemd", "/sys/fs/cgroup/systemd"}};
    h.unified_mount = "/sys/fs/cgroup/unified";
    return h;
}

Host unified_host() {
    Host h;
    h.layout = Layout::unified;
    h.unified_mount = "/sys/fs/cgroup";
    return h;
}

// The kernel lists co-mounted controllers in its own order; ours must not matter.
constexpr std::string_view kProcSelfCgroup =
    "9:name=systemd:/\n"
    "8:pids:/\n"
    "4:memory:/process_api/9476fc\n"
    "2:cpuacct,cpu:/\n"
    "0::/user.slice/session-1.scope\n";

std::map<std::string, std::string> rels(const Placement& p) {
    std::map<std::string, std::string> out;
    for (auto& d : p.v1) out[d.controllers] = d.rel;
    if (p.v2) out["(v2)"] = p.v2->rel;
    return out;
}

TEST(CgroupsPlacement, AbsolutePathGoesUnderEveryHierarchyRoot) {
    auto p = resolve_placement(hybrid_host(), {"/hull/web", "web", false}, "");
    ASSERT_TRUE(p) << p.error().message();
    for (auto& [c, rel] : rels(*p)) EXPECT_EQ(rel, "/hull/web") << c;
    EXPECT_EQ(p->v1[1].path(), "/sys/fs/cgroup/memory/hull/web");
    EXPECT_EQ(p->v2->path(), "/sys/fs/cgroup/unified/hull/web");
    EXPECT_EQ(p->cgroup_path, "/hull/web");
}

TEST(CgroupsPlacement, AbsolutePathIsCleaned) {
    auto p = resolve_placement(hybrid_host(), {"//hull/./web/", "web", false}, "");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->v2->rel, "/hull/web");
}

TEST(CgroupsPlacement, RelativePathGoesUnderOwnCgroupPerHierarchy) {
    auto p = resolve_placement(hybrid_host(), {"hull/web", "web", false}, kProcSelfCgroup);
    ASSERT_TRUE(p) << p.error().message();
    auto r = rels(*p);
    EXPECT_EQ(r["cpu,cpuacct"], "/hull/web");
    EXPECT_EQ(r["memory"], "/process_api/9476fc/hull/web");
    EXPECT_EQ(r["pids"], "/hull/web");
    EXPECT_EQ(r["name=systemd"], "/hull/web");
    // Hybrid's cgroup2 holds no controllers, so the own cgroup itself is fine as the parent.
    EXPECT_EQ(r["(v2)"], "/user.slice/session-1.scope/hull/web");
    EXPECT_EQ(p->cgroup_path, "/user.slice/session-1.scope/hull/web");
}

TEST(CgroupsPlacement, RelativePathOnPureV2GoesUnderTheParentOfOwnCgroup) {
    auto p = resolve_placement(unified_host(), {"web", "web", false},
                               "0::/user.slice/user-0.slice/session-1.scope\n");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_TRUE(p->v1.empty());
    EXPECT_EQ(p->v2->rel, "/user.slice/user-0.slice/web");
}

TEST(CgroupsPlacement, EmptyPathUsesTheContainerIdLikeRunc) {
    auto p = resolve_placement(hybrid_host(), {"", "web", false}, kProcSelfCgroup);
    ASSERT_TRUE(p) << p.error().message();
    auto r = rels(*p);
    EXPECT_EQ(r["pids"], "/web");
    EXPECT_EQ(r["memory"], "/process_api/9476fc/web");
    auto bad = resolve_placement(hybrid_host(), {"", "a/b", false}, kProcSelfCgroup);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "container id `a/b`: not usable as a cgroup name");
}

TEST(CgroupsPlacement, MountRootIsStrippedFromOwnCgroup) {
    Host h = hybrid_host();
    h.mount_roots["/sys/fs/cgroup/memory"] = "/process_api";
    auto p = resolve_placement(h, {"web", "web", false}, kProcSelfCgroup);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(rels(*p)["memory"], "/9476fc/web");

    h.mount_roots["/sys/fs/cgroup/memory"] = "/elsewhere";
    auto bad = resolve_placement(h, {"web", "web", false}, kProcSelfCgroup);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("is outside the part of the hierarchy that is mounted"), std::string::npos);
}

TEST(CgroupsPlacement, MissingHierarchyInProcSelfCgroupIsAnError) {
    auto p = resolve_placement(hybrid_host(), {"web", "web", false}, "8:pids:/\n0::/\n");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "`/proc/self/cgroup` has no line for the `cpu,cpuacct` hierarchy");
}

TEST(CgroupsPlacement, DotDotAndRootAreRefused) {
    for (const char* path : {"/a/../b", "../x", "a/..", "/..", "a/../../etc"}) {
        auto p = resolve_placement(hybrid_host(), {path, "web", false}, kProcSelfCgroup);
        ASSERT_FALSE(p) << path;
        EXPECT_EQ(p.error().message(), cat("linux.cgroupsPath `", path, "`: `..` components are not allowed"));
    }
}

TEST(CgroupsPlacement, RootAndSelfAreRefused) {
    auto root = clean_cgroups_path("/");
    ASSERT_FALSE(root);
    EXPECT_EQ(root.error().message(), "linux.cgroupsPath `/`: names the root cgroup, not one for the container");
    auto self = clean_cgroups_path("./");
    ASSERT_FALSE(self);
    EXPECT_EQ(self.error().message(), "linux.cgroupsPath `./`: names the runtime's own cgroup, not one for the container");
    EXPECT_FALSE(clean_cgroups_path(std::string("/a\0b", 4)));
}

TEST(CgroupsPlacement, SystemdRefusedWhenSystemdIsNotRunning) {
    auto p = resolve_placement(hybrid_host(), {"system.slice:docker:abc", "abc", true}, "");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "--systemd-cgroup: systemd is not running on this host");
}

TEST(CgroupsPlacement, SystemdFormBecomesTheScopePathUnderTheSlice) {
    Host h = hybrid_host();
    h.systemd_running = true;
    auto p = resolve_placement(h, {"system.slice:docker:abc", "abc", true}, "");
    ASSERT_TRUE(p) << p.error().message();
    for (auto& [c, rel] : rels(*p)) EXPECT_EQ(rel, "/system.slice/docker-abc.scope") << c;

    EXPECT_EQ(*systemd_cgroup_path("", "abc"), "/system.slice/hull-abc.scope");
    EXPECT_EQ(*systemd_cgroup_path(":crio:abc", "x"), "/system.slice/crio-abc.scope");
    EXPECT_EQ(*systemd_cgroup_path("user-1000.slice:podman:abc", "x"), "/user.slice/user-1000.slice/podman-abc.scope");
    EXPECT_EQ(*systemd_cgroup_path("machine.slice::abc", "x"), "/machine.slice/abc.scope");
    EXPECT_EQ(*systemd_cgroup_path("-.slice:p:n", "x"), "/p-n.scope");
    EXPECT_EQ(*systemd_cgroup_path("kubepods.slice:p:kubepods-burstable.slice", "x"),
              "/kubepods.slice/kubepods-burstable.slice");

    auto parts = systemd_cgroup_path("system.slice:abc", "x");
    ASSERT_FALSE(parts);
    EXPECT_EQ(parts.error().message(),
              "linux.cgroupsPath `system.slice:abc`: expected \"slice:prefix:name\" with --systemd-cgroup");
    EXPECT_FALSE(systemd_cgroup_path("system.slice:p:../x", "x"));
    EXPECT_FALSE(systemd_cgroup_path("system.slice:p:", "x"));
    auto slice = systemd_cgroup_path("foo:p:n", "x");
    ASSERT_FALSE(slice);
    EXPECT_EQ(slice.error().message(), "linux.cgroupsPath `foo:p:n`: systemd slice `foo`: not a valid slice name");
}

TEST(CgroupsPlacement, ExpandSlice) {
    EXPECT_EQ(*expand_slice("system.slice"), "/system.slice");
    EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
    EXPECT_EQ(*expand_slice("-.slice"), "/");
    for (const char* bad : {".slice", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", "a.scope"})
        EXPECT_FALSE(expand_slice(bad)) << bad;
}

TEST(CgroupsPlacement, ProcSelfCgroupParsing) {
    auto m = parse_proc_cgroup("3:cpuacct,cpu:/a:b\n0::/\n1:name=systemd:/x\n");
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->at("cpu,cpuacct"), "/a:b");
    EXPECT_EQ(m->at(""), "/");
    EXPECT_EQ(m->at("name=systemd"), "/x");
    EXPECT_FALSE(parse_proc_cgroup("garbage\n"));
}

}  // namespace
}  // namespace hull::cgroups
