// User namespaces with id mappings, and joining an existing namespace by path.

#include <sys/stat.h>

#include "harness.hpp"

namespace hull::itest {
namespace {

using NamespaceTest = RuntimeTest;

json host_namespaces() { return first_json(run_process({probe_path(), "report"}).out)["namespaces"]; }

std::string squash_spaces(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == ' ' || c == '\t') {
            if (!o.empty() && o.back() != ' ' && o.back() != '\n') o.push_back(' ');
        } else if (c == '\n') {
            if (!o.empty() && o.back() == ' ') o.pop_back();
            o.push_back('\n');
        } else {
            o.push_back(c);
        }
    }
    // Leading blanks of each line.
    std::string r;
    bool start = true;
    for (char c : o) {
        if (start && c == ' ') continue;
        start = c == '\n';
        r.push_back(c);
    }
    return r;
}

void add_userns(json& spec) {
    spec["linux"]["namespaces"].push_back({{"type", "user"}});
    spec["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    spec["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
}

TEST_F(NamespaceTest, UserNamespaceWithMappings) {
    add_userns(spec_);
    json host = host_namespaces();
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["uid"], 0);
    EXPECT_EQ(rep["gid"], 0);
    EXPECT_NE(rep["namespaces"]["user"], host["user"]);
    EXPECT_EQ(squash_spaces(rep["uid_map"]), "0 100000 65536\n");
    EXPECT_EQ(squash_spaces(rep["gid_map"]), "0 200000 65536\n");
}

TEST_F(NamespaceTest, UserNamespaceProcessRunsAsMappedHostIds) {
    add_userns(spec_);
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    int pid = state(id)["pid"];
    struct stat st;
    ASSERT_EQ(stat(("/proc/" + std::to_string(pid)).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 100000u);
    EXPECT_EQ(st.st_gid, 200000u);
}

TEST_F(NamespaceTest, UserNamespaceNonRootUserInside) {
    add_userns(spec_);
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["uid"], 1000);
    EXPECT_EQ(rep["gid"], 1000);
}

TEST_F(NamespaceTest, JoinExistingNetworkNamespaceByPath) {
    // A network namespace of our own, pinned by a bind mount in the temp
    // dir; the fixture unmounts it on teardown.
    fs::path nsfile = base_ / "netns";
    write_text(nsfile, "");
    netns_mounts_.push_back(nsfile.string());
    ProcResult u = run_process({"unshare", "--net=" + nsfile.string(), "true"});
    ASSERT_TRUE(u.ok()) << u.describe();
    ProcResult up = run_process({"nsenter", "--net=" + nsfile.string(), "ip", "link", "set", "lo", "up"});
    ASSERT_TRUE(up.ok()) << up.describe();
    struct stat st;
    ASSERT_EQ(stat(nsfile.c_str(), &st), 0);

    for (json& ns : spec_["linux"]["namespaces"])
        if (ns["type"] == "network") ns["path"] = nsfile.string();
    json host = host_namespaces();
    auto lines = run_probe_lines({"report", "+", "ls", "/sys/class/net"});
    EXPECT_EQ(lines[0]["namespaces"]["net"].get<unsigned long long>(), st.st_ino);
    EXPECT_NE(lines[0]["namespaces"]["net"], host["net"]);
    // Still new namespaces for everything not joined.
    EXPECT_NE(lines[0]["namespaces"]["uts"], host["uts"]);
    EXPECT_NE(lines[0]["namespaces"]["pid"], host["pid"]);
    // Only the loopback of our namespace is visible.
    std::vector<std::string> ifaces;
    for (const json& e : lines[1]["entries"]) ifaces.push_back(e["name"]);
    EXPECT_EQ(ifaces, std::vector<std::string>{"lo"});
}

TEST_F(NamespaceTest, NewNetworkNamespaceHasOnlyLoopback) {
    auto lines = run_probe_lines({"ls", "/sys/class/net"});
    std::vector<std::string> ifaces;
    for (const json& e : lines[0]["entries"]) ifaces.push_back(e["name"]);
    EXPECT_EQ(ifaces, std::vector<std::string>{"lo"});
}

TEST_F(NamespaceTest, SharingHostNamespacesWhenNotListed) {
    // Without uts and ipc entries, the container keeps the host's.
    json& nss = spec_["linux"]["namespaces"];
    json kept = json::array();
    for (const json& ns : nss)
        if (ns["type"] != "uts" && ns["type"] != "ipc") kept.push_back(ns);
    nss = kept;
    spec_.erase("hostname");
    json host = host_namespaces();
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["namespaces"]["uts"], host["uts"]);
    EXPECT_EQ(rep["namespaces"]["ipc"], host["ipc"]);
    EXPECT_NE(rep["namespaces"]["pid"], host["pid"]);
}

TEST_F(NamespaceTest, CgroupNamespace) {
    spec_["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    json host = host_namespaces();
    json rep = run_probe({"report"});
    EXPECT_NE(rep["namespaces"]["cgroup"], host["cgroup"]);
    // The namespace's root is the container's own cgroup, so every hierarchy the container is
    // in reads as "/" from inside, as under runc. (Made before the init joined its cgroup, the
    // root would be the caller's cgroup and the paths would name the container's.)
    ASSERT_TRUE(rep["cgroup"].is_array());
    ASSERT_FALSE(rep["cgroup"].empty());
    for (const auto& entry : rep["cgroup"]) {
        std::string line = entry;
        EXPECT_EQ(line.substr(line.rfind(':') + 1), "/") << line;
    }
}

}  // namespace
}  // namespace hull::itest
