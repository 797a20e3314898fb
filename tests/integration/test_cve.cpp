// Regression tests for known container-escape classes. Each one attacks the
// runtime the way the published exploit did, but only ever against this
// test's temp dir (and, for CVE-2019-5736, a copy of the runtime binary).

#include <iostream>

#include <fcntl.h>
#include <unistd.h>

#include "harness.hpp"

namespace hull::itest {
namespace {

using CveTest = RuntimeTest;

json find_mount(const json& report, const std::string& point) {
    json found;
    for (const json& m : report["mounts"])
        if (m["mount_point"] == point) found = m;
    return found;
}

// CVE-2019-5736: a process in the container opens the runtime's own binary
// through /proc/PID/exe while the runtime is inside the container (during
// `exec`) and writes to it once the runtime exits. The runtime must never
// expose a writable handle to its host binary.
TEST_F(CveTest, Cve2019_5736_RuntimeBinaryCannotBeOverwritten) {
    fs::path copy_dir = base_ / "runtime-copy";
    fs::create_directories(copy_dir);
    fs::path copy = copy_dir / fs::path(runtime_).filename();
    fs::copy_file(runtime_, copy);
    fs::permissions(copy, fs::perms(0755));
    const std::string original = read_text(runtime_);
    ASSERT_EQ(read_text(copy), original);
    // Run everything below with the copy, never the real binary.
    runtime_ = copy.string();

    // The classic trigger: the container's "shell" re-executes whatever
    // binary is running it, i.e. the runtime during `exec`.
    write_text(rootfs_ / "bin/evil", "#!/proc/self/exe\n", fs::perms(0755));
    // CAP_SYS_PTRACE lets the container look at the runtime's helper even
    // when that helper made itself non-dumpable, so the test exercises the
    // protection of the binary itself and not only the dumpable flag.
    for (const char* set : {"bounding", "effective", "permitted"})
        spec_["process"]["capabilities"][set].push_back("CAP_SYS_PTRACE");
    set_probe_args({"attack-exe", "3000"});
    std::string id = new_id();
    fs::path out = base_ / "attack.out";
    ProcResult c = create(id, out);
    ASSERT_TRUE(c.ok()) << c.describe();
    ASSERT_TRUE(rt({"start", id}).ok());
    for (int i = 0; i < 5; ++i) {
        rt({"exec", id, "/probe", "exit", "0"});
        rt({"exec", id, "/bin/evil"});
    }
    ASSERT_TRUE(wait_status(id, "stopped", 20s)) << read_text(out);
    auto lines = json_lines(read_text(out));
    ASSERT_EQ(lines.size(), 1u) << read_text(out);
    std::cerr << "attack-exe saw: " << lines[0].dump() << "\n";
    EXPECT_EQ(lines[0]["writes_succeeded"], 0) << "the container wrote to a foreign executable";
    EXPECT_TRUE(read_text(copy) == original) << "the runtime binary was modified from inside the container";
    ProcResult v = run_process({copy.string(), "--version"});
    EXPECT_TRUE(v.ok()) << v.describe();
}

// CVE-2024-21626: a host directory fd leaked into the container lets
// process.cwd = /proc/self/fd/N put the process in a host directory.
TEST_F(CveTest, Cve2024_21626_CwdThroughLeakedFdStaysInside) {
    // Hand the runtime a few host directory fds without CLOEXEC, as a
    // careless caller might; they must not be usable from inside either.
    int host_dir = open(base_.c_str(), O_RDONLY | O_DIRECTORY);
    int slash = open("/", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(host_dir, 0);
    ASSERT_GE(slash, 0);
    RunOptions o;
    o.extra_fds = {{host_dir, 3}, {slash, 4}, {host_dir, 5}};
    for (int n = 3; n <= 12; ++n) {
        SCOPED_TRACE("cwd /proc/self/fd/" + std::to_string(n));
        spec_["process"]["cwd"] = "/proc/self/fd/" + std::to_string(n);
        set_probe_args({"report", "+", "ls", "."});
        std::string id = new_id();
        write_spec();
        ProcResult r = rt({"run", "--bundle", bundle_.string(), id}, o);
        auto lines = json_lines(r.out);
        if (r.exit_code != 0 && lines.empty()) continue;  // Refused: fine.
        ASSERT_FALSE(lines.empty()) << r.describe();
        const json& rep = lines[0];
        EXPECT_TRUE(rep["cwd_reaches_root"].get<bool>()) << "cwd is outside the container root: " << rep["cwd"];
        if (rep["cwd"].is_string()) {
            EXPECT_FALSE(rep["cwd"].get<std::string>().starts_with("(unreachable)")) << rep["cwd"];
        }
        std::vector<int> fds;
        for (const json& f : rep["fds"]) fds.push_back(f["fd"]);
        EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << rep["fds"].dump();
        if (lines.size() > 1) {
            for (const json& e : lines[1]["entries"])
                EXPECT_NE(e["name"], "state") << "the cwd lists the test's host temp dir";
        }
    }
    close(host_dir);
    close(slash);
}

TEST_F(CveTest, Cve2024_21626_ExecCwdThroughFdStaysInside) {
    set_probe_args({"sleep", "60"});
    std::string id = new_id();
    ASSERT_TRUE(create(id, base_ / "out").ok());
    ASSERT_TRUE(rt({"start", id}).ok());
    for (int n = 3; n <= 10; ++n) {
        SCOPED_TRACE("exec --cwd /proc/self/fd/" + std::to_string(n));
        ProcResult r = rt({"exec", "--cwd", "/proc/self/fd/" + std::to_string(n), id, "/probe", "report"});
        auto lines = json_lines(r.out);
        if (r.exit_code != 0 && lines.empty()) continue;
        ASSERT_FALSE(lines.empty()) << r.describe();
        EXPECT_TRUE(lines[0]["cwd_reaches_root"].get<bool>()) << lines[0]["cwd"];
        std::vector<int> fds;
        for (const json& f : lines[0]["fds"]) fds.push_back(f["fd"]);
        EXPECT_EQ(fds, (std::vector<int>{0, 1, 2})) << lines[0]["fds"].dump();
    }
}

// CVE-2021-30465 style: a mount destination that is a symlink in the rootfs
// pointing outside of it must be resolved inside the rootfs.
TEST_F(CveTest, MountTargetSymlinkPointingOutsideStaysInside) {
    fs::path host_abs = base_ / "host-abs";
    fs::path host_rel = base_ / "host-rel";
    fs::path src = base_ / "src";
    for (const fs::path& d : {host_abs, host_rel, src}) fs::create_directories(d);
    write_text(host_abs / "marker", "host");
    write_text(host_rel / "marker", "host");
    write_text(src / "src-marker", "src");
    fs::create_symlink(host_abs, rootfs_ / "escape-abs");
    std::string up;
    for (int i = 0; i < 16; ++i) up += "../";
    fs::create_symlink(up + host_rel.relative_path().string(), rootfs_ / "escape-rel");
    spec_["mounts"].push_back({{"destination", "/escape-abs"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    spec_["mounts"].push_back(
        {{"destination", "/escape-rel"}, {"type", "bind"}, {"source", src.string()}, {"options", {"bind", "ro"}}});
    set_probe_args({"report", "+", "ls", host_rel.string()});
    ProcResult r = run_bundle();
    // Host side: the host directories are untouched and carry no mount.
    EXPECT_EQ(read_text(host_abs / "marker"), "host");
    EXPECT_EQ(read_text(host_rel / "marker"), "host");
    EXPECT_EQ(std::distance(fs::directory_iterator(host_abs), fs::directory_iterator()), 1);
    EXPECT_EQ(std::distance(fs::directory_iterator(host_rel), fs::directory_iterator()), 1);
    EXPECT_TRUE(host_mounts_mentioning(host_abs.string()).empty());
    EXPECT_TRUE(host_mounts_mentioning(host_rel.string()).empty());
    if (!r.ok()) {
        // Refusing such a destination is acceptable.
        EXPECT_TRUE(json_lines(r.out).empty());
        return;
    }
    // Container side: the mounts landed where the symlinks resolve when the
    // rootfs is taken as `/`.
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.describe();
    json m_abs = find_mount(lines[0], host_abs.string());
    EXPECT_EQ(m_abs["fstype"], "tmpfs") << "tmpfs through /escape-abs is not inside the rootfs";
    json m_rel = find_mount(lines[0], host_rel.string());
    EXPECT_FALSE(m_rel.is_null()) << "bind through /escape-rel is not inside the rootfs";
    ASSERT_EQ(lines[1]["entries"].size(), 1u) << lines[1].dump();
    EXPECT_EQ(lines[1]["entries"][0]["name"], "src-marker");
    EXPECT_TRUE(fs::is_directory(rootfs_ / host_abs.relative_path()));
}

// CVE-2025-31133 style: the rootfs's /dev/null (used to mask files) is
// replaced by a symlink. Masking must not bind the symlink's target over the
// masked paths, which would expose it (read-write) to the container.
//
// The published exploit points the symlink at a sensitive procfs file such
// as /proc/sys/kernel/core_pattern. A vulnerable runtime then also hands
// that file to the container as its /dev/null, and whatever the container
// writes to /dev/null lands in it, so this test points the symlink at bait
// files of its own instead: one at that absolute path on the host, one at
// the same path inside the rootfs. Either one showing up behind a masked
// path is the vulnerability.
TEST_F(CveTest, Cve2025_31133_DevNullSymlinkDoesNotExposeItsTarget) {
    fs::path bait = base_ / "bait";
    write_text(bait, "host-bait");
    fs::create_directories(rootfs_ / base_.relative_path());
    write_text(rootfs_ / bait.relative_path(), "rootfs-bait");
    // Without a /dev tmpfs the runtime populates the rootfs's own /dev. A
    // writable root keeps the read-only remount from failing for unrelated
    // reasons, so the masking itself is what gets exercised.
    json mounts = json::array();
    for (const json& m : spec_["mounts"])
        if (m["destination"] != "/dev") mounts.push_back(m);
    spec_["mounts"] = mounts;
    spec_["root"]["readonly"] = false;
    fs::create_symlink(bait, rootfs_ / "dev/null");
    write_text(rootfs_ / "masked-file", "secret");
    spec_["linux"]["maskedPaths"].push_back("/masked-file");
    std::vector<std::string> args = {"try-read", "/masked-file", "+", "stat", "/masked-file"};
    std::vector<std::string> masked;
    for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list"})
        if (fs::exists(p)) masked.push_back(p);
    for (const std::string& p : masked) args.insert(args.end(), {"+", "try-read", p, "256"});
    set_probe_args(args);
    ProcResult r = run_bundle();
    const std::string host_bait = read_text(bait);
    const std::string rootfs_bait = read_text(rootfs_ / bait.relative_path());
    auto lines = json_lines(r.out);
    if (r.exit_code != 0 && lines.empty()) return;  // Refused: fine.
    std::string detail = r.describe() + "\nhost bait now: " + host_bait + "\nrootfs bait now: " + rootfs_bait;
    bool exposed = lines.size() != 2 + masked.size() || host_bait != "host-bait" || rootfs_bait != "rootfs-bait";
    if (!exposed) {
        exposed = lines[0]["bytes"] != 0 || lines[1]["type"] != "char" || lines[1]["rdev_major"] != 1 ||
                  lines[1]["rdev_minor"] != 3;
        for (size_t i = 0; i < masked.size(); ++i) exposed = exposed || lines[2 + i]["bytes"] != 0;
    }
    HULL_SKIP_FOR_RUNC_IF(exposed, "Debian's runc 1.1.5 is vulnerable to CVE-2025-31133 (fixed in runc "
                                   "1.2.8/1.3.3): it binds the symlink's target over masked paths\n" + detail);
    EXPECT_FALSE(exposed) << "a masked path shows something other than /dev/null:\n" << detail;
}

// A masked path that is itself a symlink to a host path must be masked (or
// refused) inside the rootfs, never resolved against the host.
TEST_F(CveTest, MaskedPathSymlinkToHostPathStaysInside) {
    fs::path host_secret = base_ / "host-secret";
    write_text(host_secret, "host-secret");
    // The same path inside the rootfs, so masking that resolves the symlink
    // within the rootfs has something to cover.
    fs::create_directories(rootfs_ / base_.relative_path());
    write_text(rootfs_ / host_secret.relative_path(), "rootfs-copy");
    fs::create_symlink(host_secret, rootfs_ / "masklink");
    fs::path host_dir = base_ / "host-dir";
    fs::create_directories(host_dir);
    write_text(host_dir / "file", "host");
    fs::create_symlink(host_dir, rootfs_ / "rolink");
    spec_["root"]["readonly"] = false;
    spec_["linux"]["maskedPaths"].push_back("/masklink");
    spec_["linux"]["readonlyPaths"].push_back("/rolink");
    set_probe_args({"try-read", "/masklink", "+", "try-write", "/rolink/new", "+", "try-read", "/rolink/file"});
    ProcResult r = run_bundle();
    EXPECT_EQ(read_text(host_secret), "host-secret");
    EXPECT_EQ(read_text(host_dir / "file"), "host");
    EXPECT_FALSE(fs::exists(host_dir / "new")) << "the container wrote into a host directory";
    EXPECT_TRUE(host_mounts_mentioning(host_secret.string()).empty());
    EXPECT_TRUE(host_mounts_mentioning(host_dir.string()).empty());
    if (r.exit_code != 0 && json_lines(r.out).empty()) return;  // Refused: fine.
    auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.describe();
    EXPECT_NE(lines[0]["data"], "host-secret") << "a host file is visible in the container";
    EXPECT_NE(lines[0]["data"], "rootfs-copy") << "the masked path was not masked";
    EXPECT_NE(lines[2]["data"], "host") << "a host directory is visible in the container";
}

}  // namespace
}  // namespace hull::itest
