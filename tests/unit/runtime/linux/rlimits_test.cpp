// Rlimits: applied in a forked child (setrlimit on itself) and from the parent (prlimit on
// a child), then read back.
#include "runtime/linux/caps.hpp"

#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace hull::runtime::linux {
namespace {

oci::Rlimit limit(int resource, const char* name, uint64_t soft, uint64_t hard) {
    oci::Rlimit r;
    r.resource = resource;
    r.name = name;
    r.soft = soft;
    r.hard = hard;
    return r;
}

rlim_t host_nofile_hard() {
    struct rlimit l;
    getrlimit(RLIMIT_NOFILE, &l);
    return l.rlim_max;
}

bool have_sys_resource() {
    cap_t now = cap_get_proc();
    if (!now) return false;
    cap_flag_value_t v = CAP_CLEAR;
    cap_get_flag(now, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &v);
    cap_free(now);
    return v == CAP_SET;
}

// Forks a child that waits while the parent applies `rlimits` to it (as the runtime does, with
// prlimit), then runs `check` in the child; returns the child's exit status.
template <class F>
int in_child(const std::vector<oci::Rlimit>& rlimits, Status* applied, F check) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char c;
        (void)!read(fds[0], &c, 1);
        _exit(check());
    }
    close(fds[0]);
    *applied = apply_rlimits_to(pid, rlimits);
    close(fds[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

TEST(Rlimits, ChildLowersNofileSoftBelowHard) {
    rlim_t hard = host_nofile_hard();
    ASSERT_GT(hard, 4096u);
    std::vector<oci::Rlimit> rl = {limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", 1024, 4096),
                                   limit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0)};
    Status applied;
    int status = in_child(rl, &applied, []() -> int {
        struct rlimit l;
        if (getrlimit(RLIMIT_NOFILE, &l) != 0) return 2;
        if (l.rlim_cur != 1024 || l.rlim_max != 4096) return 3;
        if (getrlimit(RLIMIT_CORE, &l) != 0) return 4;
        if (l.rlim_cur != 0 || l.rlim_max != 0) return 5;
        return 0;
    });
    EXPECT_TRUE(applied) << applied.error().message();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Rlimits, RaisingTheHardLimitFailsNamingTheLimitWithoutCapSysResource) {
    if (have_sys_resource()) GTEST_SKIP() << "has CAP_SYS_RESOURCE: raising the hard limit would succeed";
    rlim_t hard = host_nofile_hard();
    std::vector<oci::Rlimit> rl = {limit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0),
                                   limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", 1024, hard + 1)};
    Status applied;
    int status = in_child(rl, &applied, []() -> int {
        struct rlimit l;
        // The limits before the failing one were applied.
        if (getrlimit(RLIMIT_CORE, &l) != 0 || l.rlim_max != 0) return 1;
        return 0;
    });
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().code(), EPERM);
    EXPECT_NE(applied.error().message().find("`RLIMIT_NOFILE`"), std::string::npos) << applied.error().message();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Rlimits, ParentSetsLimitsOnAChild) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    UniqueFd r(fds[0]), w(fds[1]);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        w.reset();
        char c;
        (void)!read(r.get(), &c, 1);  // wait for the parent
        struct rlimit l;
        getrlimit(RLIMIT_NOFILE, &l);
        _exit(l.rlim_cur == 512 && l.rlim_max == 2048 ? 0 : 1);
    }
    r.reset();
    auto st = apply_rlimits_to(pid, {limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", 512, 2048)});
    EXPECT_TRUE(st) << st.error().message();
    struct rlimit seen;
    ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, nullptr, &seen), 0);
    EXPECT_EQ(seen.rlim_cur, 512u);
    EXPECT_EQ(seen.rlim_max, 2048u);
    w.reset();  // let the child check and go
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);

    auto gone = apply_rlimits_to(pid, {limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", 512, 2048)});
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().message(),
              "set `RLIMIT_NOFILE` to soft 512, hard 2048 on pid " + std::to_string(pid) + ": no such process");
}

}  // namespace
}  // namespace hull::runtime::linux
