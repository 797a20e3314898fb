// Privilege controls seen from inside: capabilities, no_new_privs, rlimits,
// seccomp, masked and read-only paths.

#include <set>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstring>

#include "harness.hpp"

namespace hull::itest {
namespace {

using SecurityTest = RuntimeTest;

std::set<std::string> cap_names(const json& set) {
    std::set<std::string> s;
    for (const json& n : set["names"]) s.insert(n.get<std::string>());
    return s;
}

std::set<std::string> as_set(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

TEST_F(SecurityTest, CapabilitiesAllFiveSetsForNonRootUser) {
    // For a non-root user without file capabilities, execve keeps the
    // bounding and inheritable sets and turns permitted and effective into
    // the ambient set. Ambient can only hold capabilities that were in both
    // permitted and inheritable before execve, so seeing it proves those
    // sets were applied too.
    spec_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    spec_["process"]["noNewPrivileges"] = false;
    spec_["process"]["capabilities"] = {
        {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETUID"}},
        {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}},
        {"effective", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}},
        {"inheritable", {"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}},
        {"ambient", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
    };
    json caps = run_probe({"report"})["capabilities"];
    EXPECT_EQ(cap_names(caps["bounding"]),
              as_set({"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETUID"}));
    EXPECT_EQ(cap_names(caps["inheritable"]), as_set({"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}));
    EXPECT_EQ(cap_names(caps["ambient"]), as_set({"CAP_KILL", "CAP_NET_BIND_SERVICE"}));
    EXPECT_EQ(cap_names(caps["permitted"]), as_set({"CAP_KILL", "CAP_NET_BIND_SERVICE"}));
    EXPECT_EQ(cap_names(caps["effective"]), as_set({"CAP_KILL", "CAP_NET_BIND_SERVICE"}));
}

TEST_F(SecurityTest, CapabilitiesForRootWithNoNewPrivileges) {
    // For uid 0 execve would grant permitted = bounding | inheritable, but
    // under no_new_privs it cannot grow the permitted set, so the spec's
    // permitted set is what the process keeps; effective becomes permitted
    // (legacy root semantics) and ambient is cleared.
    spec_["process"]["noNewPrivileges"] = true;
    spec_["process"]["capabilities"] = {
        {"bounding", {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL"}},
        {"permitted", {"CAP_CHOWN", "CAP_KILL"}},
        {"effective", {"CAP_CHOWN"}},
        {"inheritable", {"CAP_KILL"}},
        {"ambient", json::array()},
    };
    json caps = run_probe({"report"})["capabilities"];
    EXPECT_EQ(cap_names(caps["bounding"]), as_set({"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL"}));
    EXPECT_EQ(cap_names(caps["inheritable"]), as_set({"CAP_KILL"}));
    EXPECT_EQ(cap_names(caps["permitted"]), as_set({"CAP_CHOWN", "CAP_KILL"}));
    EXPECT_EQ(cap_names(caps["effective"]), as_set({"CAP_CHOWN", "CAP_KILL"}));
    EXPECT_EQ(caps["ambient"]["hex"], "0000000000000000");
}

TEST_F(SecurityTest, EmptyCapabilitySets) {
    spec_["process"]["capabilities"] = {{"bounding", json::array()},    {"permitted", json::array()},
                                        {"effective", json::array()},   {"inheritable", json::array()},
                                        {"ambient", json::array()}};
    json caps = run_probe({"report"})["capabilities"];
    for (const char* set : {"bounding", "permitted", "effective", "inheritable", "ambient"})
        EXPECT_EQ(caps[set]["hex"], "0000000000000000") << set << ": " << caps[set].dump();
}

TEST_F(SecurityTest, DefaultCapabilitiesOfRuncSpec) {
    json caps = run_probe({"report"})["capabilities"];
    auto want = as_set({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
    EXPECT_EQ(cap_names(caps["bounding"]), want);
    EXPECT_EQ(cap_names(caps["permitted"]), want);
    EXPECT_EQ(cap_names(caps["effective"]), want);
}

TEST_F(SecurityTest, MknodIsDeniedWithoutCapMknod) {
    spec_["root"]["readonly"] = false;
    json r = run_probe({"try-mknod", "/tmp/node"});
    EXPECT_EQ(r["error"], "EPERM") << r.dump();
}

TEST_F(SecurityTest, NoNewPrivileges) {
    spec_["process"]["noNewPrivileges"] = true;
    EXPECT_EQ(run_probe({"report"})["no_new_privs"], 1);
    spec_["process"]["noNewPrivileges"] = false;
    EXPECT_EQ(run_probe({"report"})["no_new_privs"], 0);
}

TEST_F(SecurityTest, Rlimits) {
    // Values stay below this host's hard limits: lowering needs no privilege.
    spec_["process"]["rlimits"] = {
        {{"type", "RLIMIT_NOFILE"}, {"soft", 256}, {"hard", 512}},
        {{"type", "RLIMIT_CORE"}, {"soft", 1234}, {"hard", 5678}},
        {{"type", "RLIMIT_NPROC"}, {"soft", 300}, {"hard", 400}},
        {{"type", "RLIMIT_MSGQUEUE"}, {"soft", 4096}, {"hard", 8192}},
        {{"type", "RLIMIT_STACK"}, {"soft", 4194304}, {"hard", 16777216}},
        {{"type", "RLIMIT_CPU"}, {"soft", 100}, {"hard", 200}},
    };
    json lim = run_probe({"report"})["rlimits"];
    auto expect = [&](const char* name, unsigned long long soft, unsigned long long hard) {
        EXPECT_EQ(lim[name]["soft"].get<unsigned long long>(), soft) << name;
        EXPECT_EQ(lim[name]["hard"].get<unsigned long long>(), hard) << name;
    };
    expect("RLIMIT_NOFILE", 256, 512);
    expect("RLIMIT_CORE", 1234, 5678);
    expect("RLIMIT_NPROC", 300, 400);
    expect("RLIMIT_MSGQUEUE", 4096, 8192);
    expect("RLIMIT_STACK", 4194304, 16777216);
    expect("RLIMIT_CPU", 100, 200);
}

json mkdir_seccomp_profile() {
    return {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
        {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}}}},
    };
}

// /scratch is a writable tmpfs so that mkdir would succeed without the filter.
void add_scratch_tmpfs(json& spec) {
    spec["mounts"].push_back({{"destination", "/scratch"},
                              {"type", "tmpfs"},
                              {"source", "tmpfs"},
                              {"options", {"nosuid", "nodev", "size=1024k"}}});
}

TEST_F(SecurityTest, WithoutSeccompMkdirWorks) {
    add_scratch_tmpfs(spec_);
    auto lines = run_probe_lines({"report", "+", "try-mkdir", "/scratch/dir"});
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["seccomp"], 0);
    EXPECT_EQ(lines[1]["error"], "OK") << lines[1].dump();
}

TEST_F(SecurityTest, SeccompFilterModeAndDefaultErrnoIsEperm) {
    add_scratch_tmpfs(spec_);
    spec_["linux"]["seccomp"] = mkdir_seccomp_profile();
    auto lines = run_probe_lines({"report", "+", "try-mkdir", "/scratch/dir", "+", "try-write", "/scratch/f"});
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["seccomp"], 2);
    EXPECT_GE(lines[0]["seccomp_filters"].get<int>(), 1);
    EXPECT_EQ(lines[1]["error"], "EPERM") << lines[1].dump();
    EXPECT_EQ(lines[2]["error"], "OK") << "syscalls outside the filter must be allowed: " << lines[2].dump();
}

TEST_F(SecurityTest, SeccompErrnoRet) {
    add_scratch_tmpfs(spec_);
    json profile = mkdir_seccomp_profile();
    profile["syscalls"][0]["errnoRet"] = 28;  // ENOSPC
    spec_["linux"]["seccomp"] = profile;
    auto lines = run_probe_lines({"try-mkdir", "/scratch/dir"});
    EXPECT_EQ(lines[0]["errno"], 28) << lines[0].dump();
}

TEST_F(SecurityTest, MaskedPathsHideContent) {
    fs::create_directories(rootfs_ / "secret-dir");
    write_text(rootfs_ / "secret-dir/key", "top secret");
    write_text(rootfs_ / "secret-file", "top secret");
    spec_["linux"]["maskedPaths"].push_back("/secret-dir");
    spec_["linux"]["maskedPaths"].push_back("/secret-file");
    std::vector<std::string> args = {"try-read", "/secret-file", "+", "stat", "/secret-file", "+",
                                     "ls", "/secret-dir"};
    // Which default masked paths exist depends on the kernel's config; check
    // those this host has.
    std::vector<std::string> files, dirs;
    for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/latency_stats",
                          "/proc/timer_stats", "/proc/sched_debug"})
        if (fs::exists(p)) files.push_back(p);
    for (const char* p : {"/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware"})
        if (fs::exists(p)) dirs.push_back(p);
    for (const std::string& f : files) args.insert(args.end(), {"+", "try-read", f, "64"});
    for (const std::string& d : dirs) args.insert(args.end(), {"+", "ls", d});
    auto lines = run_probe_lines(args);
    ASSERT_EQ(lines.size(), 3 + files.size() + dirs.size());
    EXPECT_EQ(lines[0]["bytes"], 0) << lines[0].dump();
    EXPECT_EQ(lines[1]["type"], "char") << "a masked file is covered by /dev/null: " << lines[1].dump();
    EXPECT_EQ(lines[1]["rdev_major"], 1);
    EXPECT_EQ(lines[1]["rdev_minor"], 3);
    EXPECT_EQ(lines[2]["entries"], json::array()) << lines[2].dump();
    for (size_t i = 0; i < files.size(); ++i) {
        const json& l = lines[3 + i];
        EXPECT_TRUE(l["ok"] == true && l["bytes"] == 0) << "masked file is readable: " << l.dump();
    }
    for (size_t i = 0; i < dirs.size(); ++i) {
        const json& l = lines[3 + files.size() + i];
        EXPECT_EQ(l["entries"], json::array()) << "masked directory is visible: " << l.dump();
    }
    // The bundle's files are untouched.
    EXPECT_EQ(read_text(rootfs_ / "secret-file"), "top secret");
    EXPECT_EQ(read_text(rootfs_ / "secret-dir/key"), "top secret");
}

TEST_F(SecurityTest, ReadonlyPaths) {
    spec_["root"]["readonly"] = false;
    fs::create_directories(rootfs_ / "ro-dir");
    fs::create_directories(rootfs_ / "rw-dir");
    spec_["linux"]["readonlyPaths"].push_back("/ro-dir");
    // Opening for writing is enough to see EROFS: nothing is ever written to
    // the procfs files.
    std::vector<std::string> args = {"try-open", "/proc/sys/kernel/hostname", "wronly", "+",
                                     "try-open", "/proc/sys/vm/drop_caches", "wronly", "+",
                                     "try-write", "/ro-dir/x", "+", "try-write", "/rw-dir/x", "+",
                                     "try-read", "/proc/sys/kernel/ostype"};
    bool sysrq = fs::exists("/proc/sysrq-trigger");
    if (sysrq) args.insert(args.end(), {"+", "try-open", "/proc/sysrq-trigger", "wronly"});
    auto lines = run_probe_lines(args);
    ASSERT_EQ(lines.size(), sysrq ? 6u : 5u);
    EXPECT_EQ(lines[0]["error"], "EROFS") << lines[0].dump();
    EXPECT_EQ(lines[1]["error"], "EROFS") << lines[1].dump();
    EXPECT_EQ(lines[2]["error"], "EROFS") << lines[2].dump();
    EXPECT_EQ(lines[3]["error"], "OK") << lines[3].dump();
    EXPECT_EQ(lines[4]["data"], "Linux\n") << "read-only paths must stay readable: " << lines[4].dump();
    if (sysrq) {
        EXPECT_EQ(lines[5]["error"], "EROFS") << lines[5].dump();
    }
}

TEST_F(SecurityTest, OomScoreAdj) {
    spec_["process"]["oomScoreAdj"] = 123;
    EXPECT_EQ(run_probe({"report"})["oom_score_adj"], 123);
}

}  // namespace
}  // namespace hull::itest

namespace hull::itest {
namespace {

// SCMP_ACT_NOTIFY: the runtime hands the listener fd to linux.seccomp.listenerPath with the
// container process state (runtime-spec "seccomp notify"); a listener that closes the fd
// makes the notified syscall fail with ENOSYS, which the probe sees.
class SeccompNotifyTest : public RuntimeTest {};

TEST_F(SeccompNotifyTest, ListenerGetsTheFdAndTheProcessState) {
    HULL_SKIP_FOR_RUNC_IF(true, "checked against hull only: the payload format is what runtime-spec 1.2 defines");
    add_scratch_tmpfs(spec_);
    std::string sock_path = (base_ / "agent.sock").string();
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(srv, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
    memcpy(addr.sun_path, sock_path.c_str(), sock_path.size());
    ASSERT_EQ(bind(srv, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(srv, 1), 0);
    // accept(2) honours SO_RCVTIMEO: a runtime that never sends fails the test, not hangs it.
    struct timeval tv = {10, 0};
    ASSERT_EQ(setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    std::string payload;
    int received_fd = -1;
    std::thread agent([&] {
        int c = accept4(srv, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char buf[65536];
        struct iovec iov = {buf, sizeof buf};
        alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        struct msghdr mh = {};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = control;
        mh.msg_controllen = sizeof control;
        ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
        if (n > 0) payload.assign(buf, static_cast<size_t>(n));
        for (struct cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_type == SCM_RIGHTS) memcpy(&received_fd, CMSG_DATA(cm), sizeof(int));
        // Closing the listener makes every pending and later notification fail with ENOSYS.
        if (received_fd >= 0) close(received_fd);
        close(c);
    });
    spec_["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                 {"listenerPath", sock_path},
                                 {"listenerMetadata", "hull-test-metadata"},
                                 {"syscalls", json::array({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}})}};
    auto lines = run_probe_lines({"try-mkdir", "/scratch/dir"});
    agent.join();
    close(srv);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["error"], "ENOSYS") << lines[0].dump();
    EXPECT_GE(received_fd, 0) << "no fd arrived with the state";
    json st = json::parse(payload, nullptr, false);
    ASSERT_TRUE(st.is_object()) << payload;
    EXPECT_EQ(st["fds"], json::array({"seccompFd"}));
    EXPECT_EQ(st["metadata"], "hull-test-metadata");
    EXPECT_GT(st["pid"].get<int>(), 1);
    EXPECT_EQ(st["state"]["pid"], st["pid"]);
}

}  // namespace
}  // namespace hull::itest
