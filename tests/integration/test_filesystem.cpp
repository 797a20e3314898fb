// The container's filesystem as seen from inside: the root, mounts and
// devices.

#include <algorithm>

#include "harness.hpp"

namespace hull::itest {
namespace {

using FilesystemTest = RuntimeTest;

// The mount entry with this mount point (the topmost one if stacked).
json find_mount(const json& report, const std::string& point) {
    json found;
    for (const json& m : report["mounts"])
        if (m["mount_point"] == point) found = m;
    return found;
}

bool has(const json& list, const std::string& item) {
    return std::find(list.begin(), list.end(), json(item)) != list.end();
}

TEST_F(FilesystemTest, ReadonlyRoot) {
    spec_["root"]["readonly"] = true;
    auto lines = run_probe_lines({"report", "+", "try-write", "/newfile", "+", "try-write", "/tmp/newfile"});
    ASSERT_EQ(lines.size(), 3u);
    json root = find_mount(lines[0], "/");
    ASSERT_FALSE(root.is_null()) << "no mount at / inside the container";
    EXPECT_TRUE(has(root["options"], "ro")) << root.dump();
    EXPECT_EQ(lines[1]["error"], "EROFS") << lines[1].dump();
    EXPECT_EQ(lines[2]["error"], "EROFS") << lines[2].dump();
    EXPECT_FALSE(fs::exists(rootfs_ / "newfile"));
}

TEST_F(FilesystemTest, WritableRoot) {
    spec_["root"]["readonly"] = false;
    auto lines = run_probe_lines({"report", "+", "try-write", "/newfile", "from-container"});
    json root = find_mount(lines[0], "/");
    EXPECT_TRUE(has(root["options"], "rw")) << root.dump();
    EXPECT_EQ(lines[1]["error"], "OK") << lines[1].dump();
    EXPECT_EQ(read_text(rootfs_ / "newfile"), "from-container");
}

TEST_F(FilesystemTest, RootfsContentIsTheBundle) {
    write_text(rootfs_ / "etc/marker", "bundle-marker");
    auto lines = run_probe_lines({"try-read", "/etc/marker", "+", "ls", "/"});
    EXPECT_EQ(lines[0]["data"], "bundle-marker");
    std::vector<std::string> names;
    for (const json& e : lines[1]["entries"]) names.push_back(e["name"]);
    for (const char* want : {"bin", "etc", "probe", "proc", "dev", "sys"})
        EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << "missing /" << want;
}

TEST_F(FilesystemTest, DefaultMounts) {
    json rep = run_probe({"report"});
    struct Want {
        const char* point;
        const char* fstype;
        std::vector<const char*> options;
    };
    for (const Want& w : std::vector<Want>{
             {"/proc", "proc", {}},
             {"/dev", "tmpfs", {"nosuid"}},
             {"/dev/pts", "devpts", {"nosuid", "noexec"}},
             {"/dev/shm", "tmpfs", {"nosuid", "noexec", "nodev"}},
             {"/dev/mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
             {"/sys", "sysfs", {"ro", "nosuid", "noexec", "nodev"}},
         }) {
        json m = find_mount(rep, w.point);
        ASSERT_FALSE(m.is_null()) << "no mount at " << w.point;
        EXPECT_EQ(m["fstype"], w.fstype) << m.dump();
        for (const char* o : w.options) EXPECT_TRUE(has(m["options"], o)) << w.point << " lacks " << o;
    }
    json shm = find_mount(rep, "/dev/shm");
    EXPECT_TRUE(has(shm["super_options"], "size=65536k")) << shm.dump();
    json pts = find_mount(rep, "/dev/pts");
    EXPECT_TRUE(has(pts["super_options"], "ptmxmode=666")) << pts.dump();
    EXPECT_TRUE(has(pts["super_options"], "mode=620")) << pts.dump();
    EXPECT_TRUE(has(pts["super_options"], "gid=5")) << pts.dump();
    // A proc mount from the container's own pid namespace.
    EXPECT_EQ(rep["pid"], 1);
}

TEST_F(FilesystemTest, TmpfsWithOptions) {
    spec_["mounts"].push_back({{"destination", "/mnt/scratch"},
                               {"type", "tmpfs"},
                               {"source", "tmpfs"},
                               {"options", {"nosuid", "nodev", "noexec", "size=2048k", "mode=0710"}}});
    auto lines = run_probe_lines({"report", "+", "stat", "/mnt/scratch", "+", "try-write", "/mnt/scratch/f"});
    json m = find_mount(lines[0], "/mnt/scratch");
    ASSERT_FALSE(m.is_null());
    EXPECT_EQ(m["fstype"], "tmpfs");
    for (const char* o : {"nosuid", "nodev", "noexec", "rw"}) EXPECT_TRUE(has(m["options"], o)) << o;
    EXPECT_TRUE(has(m["super_options"], "size=2048k")) << m.dump();
    EXPECT_TRUE(has(m["super_options"], "mode=710")) << m.dump();
    EXPECT_EQ(lines[1]["mode"], 0710);
    EXPECT_EQ(lines[2]["error"], "OK");
    // The mount point was created inside the bundle's rootfs, nowhere else.
    EXPECT_TRUE(fs::is_directory(rootfs_ / "mnt/scratch"));
}

TEST_F(FilesystemTest, BindMounts) {
    fs::path ro_src = base_ / "ro-src";
    fs::path rw_src = base_ / "rw-src";
    fs::create_directories(ro_src);
    fs::create_directories(rw_src);
    write_text(ro_src / "marker", "ro-marker");
    write_text(base_ / "single-file", "file-marker");
    spec_["mounts"].push_back(
        {{"destination", "/mnt/ro"}, {"type", "bind"}, {"source", ro_src.string()}, {"options", {"rbind", "ro"}}});
    spec_["mounts"].push_back(
        {{"destination", "/mnt/rw"}, {"type", "bind"}, {"source", rw_src.string()}, {"options", {"bind", "rw"}}});
    spec_["mounts"].push_back({{"destination", "/etc/single-file"},
                               {"type", "bind"},
                               {"source", (base_ / "single-file").string()},
                               {"options", {"bind", "ro"}}});
    auto lines = run_probe_lines({"report", "+", "try-read", "/mnt/ro/marker", "+", "try-write", "/mnt/ro/new",
                                  "+", "try-write", "/mnt/rw/new", "written", "+", "try-read",
                                  "/etc/single-file"});
    ASSERT_EQ(lines.size(), 5u);
    json ro = find_mount(lines[0], "/mnt/ro");
    ASSERT_FALSE(ro.is_null());
    EXPECT_TRUE(has(ro["options"], "ro")) << ro.dump();
    EXPECT_EQ(lines[1]["data"], "ro-marker");
    EXPECT_EQ(lines[2]["error"], "EROFS") << lines[2].dump();
    EXPECT_EQ(lines[3]["error"], "OK") << lines[3].dump();
    EXPECT_EQ(read_text(rw_src / "new"), "written");
    EXPECT_FALSE(fs::exists(ro_src / "new"));
    EXPECT_EQ(lines[4]["data"], "file-marker");
}

TEST_F(FilesystemTest, ExtraProcSysfsMqueueDevptsMounts) {
    spec_["mounts"].push_back({{"destination", "/mnt/proc2"}, {"type", "proc"}, {"source", "proc"}});
    spec_["mounts"].push_back({{"destination", "/mnt/sys2"},
                               {"type", "sysfs"},
                               {"source", "sysfs"},
                               {"options", {"nosuid", "noexec", "nodev", "ro"}}});
    spec_["mounts"].push_back({{"destination", "/mnt/mq2"},
                               {"type", "mqueue"},
                               {"source", "mqueue"},
                               {"options", {"nosuid", "noexec", "nodev"}}});
    json rep = run_probe({"report"});
    EXPECT_EQ(find_mount(rep, "/mnt/proc2")["fstype"], "proc");
    json sys2 = find_mount(rep, "/mnt/sys2");
    EXPECT_EQ(sys2["fstype"], "sysfs");
    EXPECT_TRUE(has(sys2["options"], "ro")) << sys2.dump();
    EXPECT_EQ(find_mount(rep, "/mnt/mq2")["fstype"], "mqueue");
}

TEST_F(FilesystemTest, DefaultDevices) {
    std::vector<std::string> args;
    struct Dev {
        const char* path;
        int major, minor;
    };
    const std::vector<Dev> devs = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                                   {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
    const std::vector<std::pair<const char*, const char*>> links = {{"/dev/fd", "/proc/self/fd"},
                                                                    {"/dev/stdin", "/proc/self/fd/0"},
                                                                    {"/dev/stdout", "/proc/self/fd/1"},
                                                                    {"/dev/stderr", "/proc/self/fd/2"},
                                                                    {"/dev/ptmx", "pts/ptmx"}};
    for (const Dev& d : devs) args.insert(args.end(), {"stat", d.path, "+"});
    for (const auto& l : links) args.insert(args.end(), {"stat", l.first, "+"});
    args.insert(args.end(), {"stat", "/dev/pts", "+", "stat", "/dev/shm", "+", "try-open", "/dev/null", "rdwr",
                             "+", "try-read", "/dev/zero", "4", "+", "try-read", "/dev/urandom", "8", "+",
                             "try-open", "/dev/tty", "rdwr"});
    auto lines = run_probe_lines(args);
    ASSERT_EQ(lines.size(), devs.size() + links.size() + 6);
    size_t i = 0;
    for (const Dev& d : devs) {
        const json& l = lines[i++];
        EXPECT_EQ(l["type"], "char") << l.dump();
        EXPECT_EQ(l["rdev_major"], d.major) << l.dump();
        EXPECT_EQ(l["rdev_minor"], d.minor) << l.dump();
        EXPECT_EQ(l["mode"], 0666) << l.dump();
    }
    for (const auto& [path, target] : links) {
        const json& l = lines[i++];
        EXPECT_EQ(l["type"], "symlink") << l.dump();
        EXPECT_EQ(l["link"], target) << l.dump();
    }
    EXPECT_EQ(lines[i++]["type"], "dir");
    EXPECT_EQ(lines[i++]["type"], "dir");
    EXPECT_EQ(lines[i]["error"], "OK") << "devices cgroup must allow /dev/null: " << lines[i].dump();
    ++i;
    EXPECT_EQ(lines[i]["bytes"], 4);
    EXPECT_EQ(lines[i]["data"], std::string("\0\0\0\0", 4));
    ++i;
    EXPECT_EQ(lines[i]["bytes"], 8) << lines[i].dump();
    ++i;
    // Without a terminal there is no controlling tty: ENXIO, but never EPERM
    // from the devices cgroup.
    EXPECT_EQ(lines[i]["error"], "ENXIO") << lines[i].dump();
}

TEST_F(FilesystemTest, NoHostDevicesLeakIntoDev) {
    json ls = run_probe_lines({"ls", "/dev"})[0];
    std::vector<std::string> names;
    for (const json& e : ls["entries"]) names.push_back(e["name"]);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
        static const std::vector<std::string> allowed = {"console", "core", "fd", "full", "mqueue", "null",
                                                         "ptmx", "pts", "random", "shm", "stderr", "stdin",
                                                         "stdout", "tty", "urandom", "zero"};
        EXPECT_NE(std::find(allowed.begin(), allowed.end(), n), allowed.end()) << "unexpected /dev/" << n;
    }
}

TEST_F(FilesystemTest, LinuxDevices) {
    spec_["linux"]["devices"] = {{{"path", "/dev/hull-null"},
                                  {"type", "c"},
                                  {"major", 1},
                                  {"minor", 3},
                                  {"fileMode", 0640},
                                  {"uid", 0},
                                  {"gid", 0}},
                                 {{"path", "/dev/sub/hull-zero"},
                                  {"type", "c"},
                                  {"major", 1},
                                  {"minor", 5},
                                  {"fileMode", 0600},
                                  {"uid", 1000},
                                  {"gid", 1000}}};
    spec_["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}});
    auto lines = run_probe_lines({"stat", "/dev/hull-null", "+", "stat", "/dev/sub/hull-zero", "+", "try-open",
                                  "/dev/hull-null", "rdwr"});
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["type"], "char");
    EXPECT_EQ(lines[0]["rdev_major"], 1);
    EXPECT_EQ(lines[0]["rdev_minor"], 3);
    EXPECT_EQ(lines[0]["mode"], 0640);
    EXPECT_EQ(lines[1]["type"], "char");
    EXPECT_EQ(lines[1]["rdev_minor"], 5);
    EXPECT_EQ(lines[1]["uid"], 1000);
    EXPECT_EQ(lines[1]["gid"], 1000);
    EXPECT_EQ(lines[1]["mode"], 0600);
    EXPECT_EQ(lines[2]["error"], "OK") << lines[2].dump();
}

}  // namespace
}  // namespace hull::itest
