// config.json made from an image config by images::make_runtime_spec, run by the real hull and
// checked from inside the container: podman's capabilities, the docker-equivalent seccomp
// profile, masked and read-only paths, users from the image's /etc/passwd, env, cwd,
// hostname, /etc/hosts, binds, devices and cgroup limits.
#include "harness.hpp"

#include "images/runtime_spec.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/sched.h>

namespace hull::itest {
namespace {

const std::vector<std::string> kDefaultCaps = {"CAP_CHOWN",       "CAP_DAC_OVERRIDE", "CAP_FOWNER",
                                               "CAP_FSETID",      "CAP_KILL",         "CAP_NET_BIND_SERVICE",
                                               "CAP_SETFCAP",     "CAP_SETGID",       "CAP_SETPCAP",
                                               "CAP_SETUID",      "CAP_SYS_CHROOT"};

// The probe lists capabilities in the kernel's order.
json sorted(json names) {
    std::sort(names.begin(), names.end());
    return names;
}

class ImageSpecTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        write_text(rootfs_ / "etc/passwd",
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "app:x:1500:1600:App:/home/app:/bin/sh\n");
        write_text(rootfs_ / "etc/group",
                   "root:x:0:\n"
                   "appgrp:x:1600:\n"
                   "audio:x:29:app\n"
                   "staff:x:50:app,root\n");
        fs::create_directories(rootfs_ / "srv/app");
        fs::create_directories(rootfs_ / "home/app");
        for (const char* applet : {"unshare", "wc", "id"})
            if (!fs::exists(rootfs_ / "bin" / applet)) fs::create_symlink("busybox", rootfs_ / "bin" / applet);

        image_.os = "linux";
        image_.architecture = "amd64";
        image_.config.cmd = std::vector<std::string>{"/probe", "report"};
        image_.config.env = {"IMGVAR=from-image"};
        image_.config.working_dir = "/srv/app";
        image_.config.stop_signal = "SIGQUIT";

        opts_.id = "imgspec";
        opts_.container_dir = bundle_.string();
        opts_.layers = {rootfs_.string()};
    }

    // Generates config.json from image_ and opts_ into spec_.
    void generate() {
        auto r = images::make_runtime_spec(image_, opts_);
        ASSERT_TRUE(r) << r.error().message();
        spec_ = *r;
    }

    // Runs `sh -c script` in the generated container; returns its stdout.
    std::string shell(const std::string& script) {
        spec_["process"]["args"] = json::array({"/bin/sh", "-c", script});
        ProcResult r = run_bundle();
        EXPECT_TRUE(r.ok()) << r.describe();
        return r.out;
    }

    json syscall_result(long nr, const std::vector<std::string>& args = {}) {
        std::vector<std::string> a = {"try-syscall", std::to_string(nr)};
        a.insert(a.end(), args.begin(), args.end());
        return run_probe(a);
    }

    oci::ImageConfig image_;
    images::SpecOptions opts_;
};

TEST_F(ImageSpecTest, RootGetsPodmanDefaults) {
    generate();
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["uid"], 0);
    EXPECT_EQ(rep["gid"], 0);
    EXPECT_EQ(rep["groups"], json::array({50}));
    for (const char* set : {"effective", "permitted", "bounding"})
        EXPECT_EQ(sorted(rep["capabilities"][set]["names"]), json(kDefaultCaps)) << set;
    EXPECT_EQ(rep["capabilities"]["inheritable"]["hex"], "0000000000000000");
    EXPECT_EQ(rep["capabilities"]["ambient"]["hex"], "0000000000000000");
    EXPECT_EQ(rep["no_new_privs"], 0);
    EXPECT_EQ(rep["seccomp"], 2);  // filter mode
    EXPECT_EQ(rep["hostname"], "imgspec");
    EXPECT_EQ(rep["cwd"], "/srv/app");

    struct rlimit rl {};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    uint64_t nofile = std::min<uint64_t>(1048576, rl.rlim_max);
    EXPECT_EQ(rep["rlimits"]["RLIMIT_NOFILE"]["soft"], nofile);
    EXPECT_EQ(rep["rlimits"]["RLIMIT_NOFILE"]["hard"], nofile);

    std::vector<std::string> env = rep["env"];
    for (const char* e : {"IMGVAR=from-image", "HOSTNAME=imgspec", "HOME=/root",
                          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
        EXPECT_NE(std::find(env.begin(), env.end(), e), env.end()) << e;
}

TEST_F(ImageSpecTest, SeccompBlocksNamespacesMountsAndKeys) {
    generate();
    // busybox's unshare: a user namespace needs no capability in the kernel, so only the
    // filter can refuse it; a mount namespace needs CAP_SYS_ADMIN, which it lacks too.
    std::string out = shell(
        "unshare -U true 2>&1; echo rc=$?; unshare -m true 2>&1; echo rc=$?; "
        "mount -t tmpfs none /mnt 2>&1; echo rc=$?");
    EXPECT_EQ(out.find("rc=0"), std::string::npos) << out;
    EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;

    json user_ns = syscall_result(SYS_unshare, {std::to_string(CLONE_NEWUSER)});
    EXPECT_EQ(user_ns["error"], "EPERM") << user_ns;
    json keyctl = syscall_result(SYS_keyctl, {"0"});  // KEYCTL_GET_KEYRING_ID
    EXPECT_EQ(keyctl["error"], "EPERM") << keyctl;
    json add_key = syscall_result(SYS_add_key);
    EXPECT_EQ(add_key["error"], "EPERM") << add_key;
    // Without a filter clone3(NULL, 0) is EINVAL; ENOSYS sends libc back to clone.
    json clone3 = syscall_result(SYS_clone3, {"0", "0"});
    EXPECT_EQ(clone3["error"], "ENOSYS") << clone3;
    json setns = syscall_result(SYS_setns, {"0", "0"});
    EXPECT_EQ(setns["error"], "EPERM") << setns;
    // personality(0xffffffff) only asks; another persona is refused.
    EXPECT_EQ(syscall_result(SYS_personality, {"0xffffffff"})["ok"], true);
    EXPECT_EQ(syscall_result(SYS_personality, {"0x0400000"})["error"], "EPERM");  // READ_IMPLIES_EXEC

    // Ordinary work goes on: a shell, forks, ps, /proc.
    std::string ok = shell("ls / >/dev/null && ps >/dev/null && grep -c Cap /proc/self/status && echo ok");
    EXPECT_NE(ok.find("ok\n"), std::string::npos) << ok;
}

TEST_F(ImageSpecTest, MaskedAndReadonlyPaths) {
    generate();
    // Kernels differ in which of these exist (this one may lack kcore or sysrq): each one the
    // host has must read empty inside.
    const char* files[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/timer_stats",
                           "/proc/sched_debug", "/proc/latency_stats"};
    const char* dirs[] = {"/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
    std::string script, want;
    for (const char* f : files)
        if (fs::exists(f)) {
            script += std::string("echo ") + f + "=$(wc -c < " + f + "); ";
            want += std::string(f) + "=0\n";
        }
    for (const char* d : dirs)
        if (fs::exists(d)) {
            script += std::string("echo ") + d + "=$(ls -A " + d + " | wc -l); ";
            want += std::string(d) + "=0\n";
        }
    // Not vacuous: the host shows something at these.
    ASSERT_FALSE(read_text("/proc/timer_list").empty());
    ASSERT_FALSE(fs::is_empty("/sys/firmware"));
    EXPECT_EQ(shell(script), want);

    // Opened for writing only, never written: on the host these would act.
    for (const char* p : {"/proc/sysrq-trigger", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname",
                          "/proc/irq/default_smp_affinity"}) {
        if (!fs::exists(p)) continue;
        json r = run_probe({"try-open", p, "wronly"});
        EXPECT_EQ(r["error"], "EROFS") << p << " " << r;
    }
}

TEST_F(ImageSpecTest, NamedUserFromImagePasswd) {
    opts_.user = "app";
    generate();
    json rep = run_probe({"report"});
    EXPECT_EQ(rep["uid"], 1500);
    EXPECT_EQ(rep["gid"], 1600);
    EXPECT_EQ(rep["groups"], json::array({29, 50}));
    EXPECT_EQ(rep["capabilities"]["effective"]["hex"], "0000000000000000");
    EXPECT_EQ(rep["capabilities"]["permitted"]["hex"], "0000000000000000");
    EXPECT_EQ(sorted(rep["capabilities"]["bounding"]["names"]), json(kDefaultCaps));
    std::vector<std::string> env = rep["env"];
    EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/home/app"), env.end());

    opts_.user = "app:staff";
    generate();
    json grp = run_probe({"report"});
    EXPECT_EQ(grp["uid"], 1500);
    EXPECT_EQ(grp["gid"], 50);
    EXPECT_EQ(grp["groups"], json::array());
}

TEST_F(ImageSpecTest, EnvCwdHostnameAndHosts) {
    opts_.env = {"IMGVAR=overridden", "EXTRA=1"};
    opts_.workdir = "/home/app";
    opts_.hostname = "web-1";
    opts_.terminal = false;
    generate();
    json rep = run_probe({"report"});
    std::vector<std::string> env = rep["env"];
    EXPECT_NE(std::find(env.begin(), env.end(), "IMGVAR=overridden"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "EXTRA=1"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=web-1"), env.end());
    EXPECT_EQ(rep["cwd"], "/home/app");
    EXPECT_EQ(rep["hostname"], "web-1");

    std::string hosts = shell("cat /etc/hosts; echo ---; cat /etc/hostname");
    EXPECT_EQ(hosts.rfind("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb-1\n", 0), 0u)
        << hosts;
    EXPECT_NE(hosts.find("---\nweb-1\n"), std::string::npos) << hosts;
    EXPECT_EQ(read_text(bundle_ / "etc/hosts") + "---\nweb-1\n", hosts);
}

TEST_F(ImageSpecTest, NetworkNoneHasOnlyLoopback) {
    opts_.network = "none";
    generate();
    EXPECT_EQ(shell("ls /sys/class/net"), "lo\n");
}

TEST_F(ImageSpecTest, ImageVolumeBindAndDevice) {
    fs::path data = base_ / "data";
    fs::create_directories(data);
    write_text(data / "hello", "from the host\n");
    image_.config.volumes = {"/var/lib/store"};
    opts_.volumes = {data.string() + ":/mnt/data", data.string() + ":/mnt/ro:ro"};
    opts_.devices = {"/dev/zero:/dev/myzero:rw"};
    generate();
    std::string out = shell(
        "cat /mnt/data/hello; echo new > /mnt/data/made && echo rw=written; "
        "if touch /mnt/ro/no 2>/dev/null; then echo ro=written; else echo ro=refused; fi; "
        "echo v > /var/lib/store/file && echo vol=written; "
        "stat -c %t:%T /dev/myzero; head -c 4 /dev/myzero | wc -c");
    EXPECT_EQ(out, "from the host\nrw=written\nro=refused\nvol=written\n1:5\n4\n");
    EXPECT_EQ(read_text(data / "made"), "new\n");
    EXPECT_FALSE(fs::exists(data / "no"));
    EXPECT_EQ(read_text(bundle_ / "volumes/var%2Flib%2Fstore/file"), "v\n");
}

TEST_F(ImageSpecTest, MemoryAndPidsLimitsInTheContainersCgroup) {
    opts_.memory = 64 << 20;
    opts_.pids_limit = 42;
    opts_.cpus = 0.5;
    generate();
    // cgroup v1 (this host) or v2: whichever files the container's cgroup mount shows.
    std::string out = shell(
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max");
    EXPECT_EQ(out, std::to_string(64 << 20) + "\n42\n50000\n");
}

TEST_F(ImageSpecTest, ReadOnlyRoot) {
    opts_.read_only = true;
    generate();
    std::string out = shell(
        "if touch /newfile 2>/dev/null; then echo root=written; else echo root=refused; fi; "
        "echo ok > /etc/hosts && echo hosts=written");
    EXPECT_EQ(out, "root=refused\nhosts=written\n");
}

}  // namespace
}  // namespace hull::itest
