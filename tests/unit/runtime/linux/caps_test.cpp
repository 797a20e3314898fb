// Capabilities: plans computed from spec lists, then applied for real in a forked child
// that reads its own /proc/self/status.
#include "runtime/linux/caps.hpp"

#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

namespace hull::runtime::linux {
namespace {

uint64_t bits(std::initializer_list<int> caps) {
    uint64_t m = 0;
    for (int c : caps) m |= uint64_t{1} << c;
    return m;
}

TEST(Caps, HostLastCapMatchesProc) {
    FILE* f = std::fopen("/proc/sys/kernel/cap_last_cap", "r");
    if (!f) GTEST_SKIP() << "no /proc/sys/kernel/cap_last_cap here";
    int want = -1;
    ASSERT_EQ(std::fscanf(f, "%d", &want), 1);
    std::fclose(f);
    EXPECT_EQ(host_last_cap(), want);
    EXPECT_GE(host_last_cap(), CAP_AUDIT_READ);  // 37, Linux 3.16
}

TEST(Caps, PlanTurnsListsIntoMasks) {
    oci::Capabilities c;
    c.bounding = std::vector<int>{CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_KILL};
    c.effective = std::vector<int>{CAP_CHOWN};
    c.permitted = std::vector<int>{CAP_CHOWN, CAP_NET_BIND_SERVICE};
    c.inheritable = std::vector<int>{CAP_NET_BIND_SERVICE};
    c.ambient = std::vector<int>{CAP_NET_BIND_SERVICE};
    CapPlan p = plan_caps(c, 40);
    EXPECT_TRUE(p.present);
    EXPECT_EQ(p.last_cap, 40);
    EXPECT_EQ(p.bounding, bits({CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(p.effective, bits({CAP_CHOWN}));
    EXPECT_EQ(p.permitted, bits({CAP_CHOWN, CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(p.inheritable, bits({CAP_NET_BIND_SERVICE}));
    EXPECT_EQ(p.ambient, bits({CAP_NET_BIND_SERVICE}));
}

TEST(Caps, PlanIgnoresWhatTheKernelLacksAndUnraisableAmbient) {
    oci::Capabilities c;
    // A kernel that stops at 37 (CAP_AUDIT_READ): 38..40 are unknown to it.
    c.bounding = std::vector<int>{CAP_CHOWN, CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE};
    c.permitted = std::vector<int>{CAP_CHOWN, CAP_KILL};
    c.inheritable = std::vector<int>{CAP_KILL, CAP_SETUID};
    // CHOWN is not inheritable, SETUID not permitted: neither can be ambient.
    c.ambient = std::vector<int>{CAP_CHOWN, CAP_KILL, CAP_SETUID, CAP_BPF};
    CapPlan p = plan_caps(c, CAP_AUDIT_READ);
    EXPECT_EQ(p.bounding, bits({CAP_CHOWN}));
    EXPECT_EQ(p.ambient, bits({CAP_KILL}));
    EXPECT_EQ(p.effective, 0u);
}

TEST(Caps, AbsentCapabilitiesPlanNothing) {
    CapPlan p = plan_caps(std::nullopt, 40);
    EXPECT_FALSE(p.present);
    EXPECT_EQ(p.last_cap, 40);
    EXPECT_EQ(p.bounding | p.effective | p.inheritable | p.permitted | p.ambient, 0u);
    CapPlan host = plan_caps(std::nullopt);
    EXPECT_EQ(host.last_cap, host_last_cap());
}

// The five Cap* lines of /proc/self/status as numbers.
std::map<std::string, uint64_t> parse_caps(const std::string& status) {
    std::map<std::string, uint64_t> out;
    size_t pos = 0;
    while (pos < status.size()) {
        size_t end = status.find('\n', pos);
        if (end == std::string::npos) end = status.size();
        std::string line = status.substr(pos, end - pos);
        pos = end + 1;
        if (line.rfind("Cap", 0) != 0) continue;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        out[line.substr(0, colon)] = std::stoull(line.substr(colon + 1), nullptr, 16);
    }
    return out;
}

struct ChildCaps {
    int status = 0;
    std::map<std::string, uint64_t> caps;
};

// Forks; the child drops the bounding set, optionally switches to `uid` keeping its
// capabilities, applies the plan and sends its /proc/self/status back. Exit codes name the
// step that failed.
ChildCaps apply_in_child(const PreparedCaps& prepared, std::optional<uid_t> uid) {
    ChildCaps out;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return {-1, {}};
    UniqueFd r(fds[0]), w(fds[1]);
    pid_t pid = fork();
    if (pid == 0) {
        r.reset();
        if (prepared.drop_bounding() != 0) _exit(10);
        if (uid) {
            if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) _exit(11);
            if (setgroups(0, nullptr) != 0) _exit(12);
            if (setresgid(*uid, *uid, *uid) != 0) _exit(13);
            if (setresuid(*uid, *uid, *uid) != 0) _exit(14);
        }
        if (int rc = prepared.apply(); rc != 0) _exit(20 + (-rc % 100));
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0) _exit(15);
        char buf[8192];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            if (write(w.get(), buf, static_cast<size_t>(n)) != n) _exit(16);
        _exit(n == 0 ? 0 : 17);
    }
    w.reset();
    std::string status;
    char buf[4096];
    ssize_t n;
    while ((n = read(r.get(), buf, sizeof buf)) > 0) status.append(buf, static_cast<size_t>(n));
    waitpid(pid, &out.status, 0);
    out.caps = parse_caps(status);
    return out;
}

bool have_cap(int cap) {
    // CapEff of this process, via the bounding/effective state libcap reads.
    cap_t now = cap_get_proc();
    if (!now) return false;
    cap_flag_value_t v = CAP_CLEAR;
    cap_get_flag(now, cap, CAP_EFFECTIVE, &v);
    cap_free(now);
    return v == CAP_SET;
}

TEST(Caps, ChildAppliesAPlanAfterSwitchingToAnUnprivilegedUser) {
    for (int c : {CAP_SETPCAP, CAP_SETUID, CAP_SETGID})
        if (!have_cap(c)) GTEST_SKIP() << "needs CAP_SETPCAP, CAP_SETUID and CAP_SETGID";
    oci::Capabilities c;
    c.bounding = std::vector<int>{CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL,
                                  CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_NET_RAW};
    c.permitted = std::vector<int>{CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_NET_RAW};
    c.effective = std::vector<int>{CAP_CHOWN, CAP_NET_BIND_SERVICE};
    c.inheritable = std::vector<int>{CAP_KILL, CAP_NET_BIND_SERVICE};
    c.ambient = std::vector<int>{CAP_NET_BIND_SERVICE};
    CapPlan plan = plan_caps(c);
    PreparedCaps prepared(plan);

    ChildCaps got = apply_in_child(prepared, uid_t{1000});
    ASSERT_TRUE(WIFEXITED(got.status));
    ASSERT_EQ(WEXITSTATUS(got.status), 0);
    // The host may lack some of the bounding set already (this sandbox has no
    // CAP_SYS_RESOURCE); none of those chosen here.
    EXPECT_EQ(got.caps["CapBnd"], plan.bounding) << std::hex << got.caps["CapBnd"];
    EXPECT_EQ(got.caps["CapPrm"], plan.permitted) << std::hex << got.caps["CapPrm"];
    EXPECT_EQ(got.caps["CapEff"], plan.effective) << std::hex << got.caps["CapEff"];
    EXPECT_EQ(got.caps["CapInh"], plan.inheritable) << std::hex << got.caps["CapInh"];
    EXPECT_EQ(got.caps["CapAmb"], plan.ambient) << std::hex << got.caps["CapAmb"];
    EXPECT_EQ(got.caps["CapAmb"], 0x400u);
}

TEST(Caps, AbsentCapabilitiesLeaveTheProcessWithNone) {
    if (!have_cap(CAP_SETPCAP)) GTEST_SKIP() << "needs CAP_SETPCAP";
    PreparedCaps prepared(plan_caps(std::nullopt));
    EXPECT_FALSE(prepared.present());
    ChildCaps got = apply_in_child(prepared, std::nullopt);  // stays uid 0
    ASSERT_TRUE(WIFEXITED(got.status));
    ASSERT_EQ(WEXITSTATUS(got.status), 0);
    for (const char* k : {"CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"}) {
        ASSERT_TRUE(got.caps.count(k)) << k;
        EXPECT_EQ(got.caps[k], 0u) << k;
    }
}

TEST(Caps, ApplyFailsWhenEffectiveExceedsPermitted) {
    oci::Capabilities c;
    c.bounding = std::vector<int>{CAP_CHOWN, CAP_KILL};
    c.permitted = std::vector<int>{CAP_CHOWN};
    c.effective = std::vector<int>{CAP_CHOWN, CAP_KILL};
    PreparedCaps prepared(plan_caps(c));
    ChildCaps got = apply_in_child(prepared, std::nullopt);
    ASSERT_TRUE(WIFEXITED(got.status));
    EXPECT_EQ(WEXITSTATUS(got.status), 20 + EPERM);
}

TEST(Caps, MovedFromHandleReportsNoMemory) {
    PreparedCaps a(plan_caps(std::nullopt, 40));
    PreparedCaps b(std::move(a));
    EXPECT_EQ(a.apply(), -ENOMEM);  // NOLINT(bugprone-use-after-move): the point of the test
    PreparedCaps c;
    c = std::move(b);
    EXPECT_EQ(c.plan().last_cap, 40);
}

}  // namespace
}  // namespace hull::runtime::linux
