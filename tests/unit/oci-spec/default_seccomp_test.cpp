// The default seccomp profile: every name known to libseccomp, the capability groups, and a
// document both the config parser and the runtime's filter compiler accept.
#include "oci-spec/default_seccomp.hpp"
#include "oci-spec/spec.hpp"
#include "runtime/linux/seccomp.hpp"

#include <gtest/gtest.h>
#include <seccomp.h>

#include <algorithm>
#include <set>
#include <string>

namespace hull::oci {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kPodmanCaps = {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                              "CAP_KILL",   "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
                                              "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"};

// The syscalls a profile lets through unconditionally (rules without args).
std::set<std::string> allowed(const json& profile) {
    std::set<std::string> out;
    for (const json& r : profile["syscalls"])
        if (r["action"] == "SCMP_ACT_ALLOW" && !r.contains("args"))
            for (const json& n : r["names"]) out.insert(n.get<std::string>());
    return out;
}

const json* rule_for(const json& profile, std::string_view name, std::string_view action) {
    for (const json& r : profile["syscalls"])
        if (r["action"] == action)
            for (const json& n : r["names"])
                if (n == name) return &r;
    return nullptr;
}

TEST(DefaultSeccomp, EveryNameIsKnownToLibseccomp) {
    auto names = default_seccomp_syscall_names();
    ASSERT_GT(names.size(), 300u);
    for (std::string_view n : names) {
        std::string s(n);
        EXPECT_NE(seccomp_syscall_resolve_name(s.c_str()), __NR_SCMP_ERROR) << s;
    }
}

TEST(DefaultSeccomp, DeniesWithEpermByDefault) {
    json p = default_seccomp_profile(kPodmanCaps);
    EXPECT_EQ(p["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(p["defaultErrnoRet"], 1);
#if defined(__x86_64__)
    EXPECT_EQ(p["architectures"], json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#endif
}

TEST(DefaultSeccomp, OrdinaryWorkIsAllowed) {
    auto a = allowed(default_seccomp_profile(kPodmanCaps));
    for (const char* n : {"read", "write", "openat", "execve", "wait4", "mmap", "futex", "rt_sigaction", "getdents64",
                          "statx", "exit_group", "ptrace", "io_uring_setup", "setuid", "capset", "chown"})
        EXPECT_TRUE(a.contains(n)) << n;
#if defined(__x86_64__)
    EXPECT_TRUE(a.contains("arch_prctl"));
#endif
}

TEST(DefaultSeccomp, AdminSyscallsNeedCapSysAdmin) {
    const char* admin[] = {"mount", "umount2", "unshare", "setns", "fsopen", "open_tree", "bpf", "perf_event_open",
                           "sethostname", "syslog", "quotactl", "fanotify_init"};
    auto without = allowed(default_seccomp_profile(kPodmanCaps));
    for (const char* n : admin) EXPECT_FALSE(without.contains(n)) << n;
    // Never allowed without their capability, whatever the set.
    for (const char* n : {"keyctl", "add_key", "request_key", "kexec_load", "init_module", "reboot", "swapon",
                          "userfaultfd", "acct", "settimeofday", "open_by_handle_at", "iopl"})
        EXPECT_FALSE(without.contains(n)) << n;

    auto caps = kPodmanCaps;
    caps.push_back("CAP_SYS_ADMIN");
    auto with = allowed(default_seccomp_profile(caps));
    for (const char* n : admin) EXPECT_TRUE(with.contains(n)) << n;
    EXPECT_TRUE(with.contains("clone"));
    EXPECT_TRUE(with.contains("clone3"));
    EXPECT_FALSE(with.contains("keyctl"));
}

TEST(DefaultSeccomp, CapabilityGroups) {
    struct Case {
        const char* cap;
        std::vector<const char*> names;
    } cases[] = {
        {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise"}},
        {"CAP_SYS_BOOT", {"reboot"}},
        {"CAP_SYS_CHROOT", {"chroot"}},
        {"CAP_SYS_MODULE", {"init_module", "finit_module", "delete_module"}},
        {"CAP_SYS_PACCT", {"acct"}},
        {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
        {"CAP_SYS_TIME", {"settimeofday", "clock_settime"}},
        {"CAP_SYS_NICE", {"mbind", "set_mempolicy"}},
        {"CAP_SYSLOG", {"syslog"}},
        {"CAP_BPF", {"bpf"}},
        {"CAP_PERFMON", {"perf_event_open"}},
        {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    };
    auto none = allowed(default_seccomp_profile({}));
    for (const Case& c : cases) {
        auto with = allowed(default_seccomp_profile({c.cap}));
        for (const char* n : c.names) {
            EXPECT_FALSE(none.contains(n)) << n;
            EXPECT_TRUE(with.contains(n)) << c.cap << " " << n;
        }
    }
    // podman's set holds CAP_SYS_CHROOT.
    EXPECT_TRUE(allowed(default_seccomp_profile(kPodmanCaps)).contains("chroot"));
}

TEST(DefaultSeccomp, CloneWithoutNamespacesAndClone3Enosys) {
    json p = default_seccomp_profile(kPodmanCaps);
    const json* clone = rule_for(p, "clone", "SCMP_ACT_ALLOW");
    ASSERT_NE(clone, nullptr);
    ASSERT_EQ((*clone)["args"].size(), 1u);
    EXPECT_EQ((*clone)["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
    EXPECT_EQ((*clone)["args"][0]["index"], 0);
    EXPECT_EQ((*clone)["args"][0]["value"], 0x7E020000u);
    EXPECT_EQ((*clone)["args"][0]["valueTwo"], 0);
    const json* clone3 = rule_for(p, "clone3", "SCMP_ACT_ERRNO");
    ASSERT_NE(clone3, nullptr);
    EXPECT_EQ((*clone3)["errnoRet"], 38);

    auto caps = kPodmanCaps;
    caps.push_back("CAP_SYS_ADMIN");
    json admin = default_seccomp_profile(caps);
    EXPECT_EQ(rule_for(admin, "clone3", "SCMP_ACT_ERRNO"), nullptr);
}

TEST(DefaultSeccomp, PersonalityOnlyHarmlessValues) {
    std::set<uint64_t> values;
    const json profile = default_seccomp_profile(kPodmanCaps);
    for (const json& r : profile["syscalls"])
        if (r["names"] == json({"personality"})) {
            ASSERT_EQ(r["args"].size(), 1u);
            EXPECT_EQ(r["args"][0]["op"], "SCMP_CMP_EQ");
            values.insert(r["args"][0]["value"].get<uint64_t>());
        }
    EXPECT_EQ(values, (std::set<uint64_t>{0, 8, 0x20000, 0x20008, 0xffffffff}));
    const json* sock = rule_for(profile, "socket", "SCMP_ACT_ALLOW");
    ASSERT_NE(sock, nullptr);
    EXPECT_EQ((*sock)["args"][0]["value"], 40);  // AF_VSOCK
    EXPECT_EQ((*sock)["args"][0]["op"], "SCMP_CMP_NE");
}

TEST(DefaultSeccomp, ParsesAndCompiles) {
    json spec = default_spec(false);
    spec["linux"]["seccomp"] = default_seccomp_profile(kPodmanCaps);
    auto parsed = parse_config(spec.dump());
    ASSERT_TRUE(parsed) << parsed.error().message();
    ASSERT_TRUE(parsed->linux && parsed->linux->seccomp);
    auto prog = runtime::linux::compile_seccomp(*parsed->linux->seccomp);
    ASSERT_TRUE(prog) << prog.error().message();
    EXPECT_GT(prog->filter.size(), 100u);
}

}  // namespace
}  // namespace hull::oci
