// Each validation error kind, one by one, with its exact message. A case is a JSON merge
// patch (RFC 7386: null deletes a member) over `runc spec`'s document.
#include "oci-spec/spec.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hull::oci {
namespace {

using json = nlohmann::json;

struct Case {
    const char* name;
    const char* patch;
    const char* error;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

class ConfigError : public testing::TestWithParam<Case> {};

TEST_P(ConfigError, IsReportedWithItsPath) {
    json doc = default_spec(false);
    doc.merge_patch(json::parse(GetParam().patch));
    auto r = parse_config(doc.dump());
    ASSERT_FALSE(r) << "accepted: " << GetParam().patch;
    EXPECT_EQ(r.error().message(), GetParam().error);
    EXPECT_EQ(r.error().code(), 0);
}

const Case kCases[] = {
    // Types, everywhere the same wording.
    {"VersionType", R"({"ociVersion": 1})", "config.json: .ociVersion: expected a string, got number"},
    {"VersionMissing", R"({"ociVersion": null})", "config.json: .ociVersion: is required"},
    {"VersionUnsupported", R"({"ociVersion": "2.0.0"})",
     "config.json: .ociVersion: unsupported version `2.0.0` (hull implements runtime-spec 1.x)"},
    {"BoolType", R"({"root": {"readonly": "yes"}})", "config.json: .root.readonly: expected a boolean, got string"},
    {"ObjectType", R"({"process": []})", "config.json: .process: expected an object, got array"},
    {"ArrayType", R"({"mounts": {}})", "config.json: .mounts: expected an array, got object"},
    {"ElementType", R"({"process": {"env": ["A=1", 2]}})", "config.json: .process.env[1]: expected a string, got number"},
    {"NullElement", R"({"process": {"args": ["sh", null]}})", "config.json: .process.args[1]: expected a string, got null"},
    {"MapValueType", R"({"annotations": {"a.b": 1}})", "config.json: .annotations[\"a.b\"]: expected a string, got number"},
    {"Fraction", R"({"process": {"user": {"gid": 1.5}}})", "config.json: .process.user.gid: expected an integer, got `1.5`"},
    {"Exponent", R"({"process": {"user": {"gid": 1e3}}})", "config.json: .process.user.gid: expected an integer, got `1000.0`"},
    {"NegativeUid", R"({"process": {"user": {"uid": -1}}})",
     "config.json: .process.user.uid: must be between 0 and 4294967295, got `-1`"},
    {"HugeUid", R"({"process": {"user": {"uid": 4294967296}}})",
     "config.json: .process.user.uid: must be between 0 and 4294967295, got `4294967296`"},
    {"AdditionalGid", R"({"process": {"user": {"additionalGids": [1, -5]}}})",
     "config.json: .process.user.additionalGids[1]: must be between 0 and 4294967295, got `-5`"},
    {"Umask", R"({"process": {"user": {"umask": 4096}}})", "config.json: .process.user.umask: must be between 0 and 4095, got `4096`"},

    // root
    {"RootMissing", R"({"root": null})", "config.json: .root: is required"},
    {"RootPathMissing", R"({"root": {"path": null}})", "config.json: .root.path: is required"},
    {"RootPathEmpty", R"({"root": {"path": ""}})", "config.json: .root.path: must not be empty"},

    // mounts
    {"MountDestinationEmpty", R"({"mounts": [{"destination": "/proc", "type": "proc"}, {"destination": ""}]})",
     "config.json: .mounts[1].destination: must not be empty"},
    {"MountDestinationMissing", R"({"mounts": [{"type": "tmpfs"}]})", "config.json: .mounts[0].destination: is required"},
    {"MountOptionType", R"({"mounts": [{"destination": "/x", "options": ["ro", true]}]})",
     "config.json: .mounts[0].options[1]: expected a string, got boolean"},
    {"MountIdmapOneSided", R"({"mounts": [{"destination": "/x", "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}]})",
     "config.json: .mounts[0].gidMappings: is required with `uidMappings`"},
    {"MappingSizeZero", R"({"mounts": [{"destination": "/x", "uidMappings": [{"containerID": 0, "hostID": 1, "size": 0}]}]})",
     "config.json: .mounts[0].uidMappings[0].size: must be between 1 and 4294967295, got `0`"},
    {"MappingFieldMissing", R"({"mounts": [{"destination": "/x", "uidMappings": [{"containerID": 0, "size": 1}]}]})",
     "config.json: .mounts[0].uidMappings[0].hostID: is required"},

    // process
    {"CwdRelative", R"({"process": {"cwd": "home"}})", "config.json: .process.cwd: must be an absolute path"},
    {"CwdMissing", R"({"process": {"cwd": null}})", "config.json: .process.cwd: is required"},
    {"ArgsEmpty", R"({"process": {"args": []}})", "config.json: .process.args: must not be empty"},
    {"ArgsMissing", R"({"process": {"args": null}})", "config.json: .process.args: is required"},
    {"EnvWithoutEquals", R"({"process": {"env": ["A=1", "FOO"]}})", "config.json: .process.env[1]: must be `KEY=value`, got `FOO`"},
    {"EnvEmptyKey", R"({"process": {"env": ["=x"]}})", "config.json: .process.env[0]: must be `KEY=value`, got `=x`"},
    {"ConsoleSize", R"({"process": {"consoleSize": {"height": 10}}})", "config.json: .process.consoleSize.width: is required"},
    {"UnknownCapability", R"({"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SYSLOG", "CAP_TEST"]}}})",
     "config.json: .process.capabilities.bounding[3]: unknown capability `CAP_TEST`"},
    {"LowercaseCapability", R"({"process": {"capabilities": {"ambient": ["cap_kill"]}}})",
     "config.json: .process.capabilities.ambient[0]: unknown capability `cap_kill`"},
    {"NumericCapability", R"({"process": {"capabilities": {"effective": ["12"]}}})",
     "config.json: .process.capabilities.effective[0]: unknown capability `12`"},
    {"UnknownRlimit", R"({"process": {"rlimits": [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]}})",
     "config.json: .process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`"},
    {"RlimitSoftAboveHard", R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]}})",
     "config.json: .process.rlimits[0].soft: `2048` exceeds the hard limit `1024`"},
    {"RlimitDuplicate",
     R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                                 {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}]}})",
     "config.json: .process.rlimits[2].type: duplicate rlimit `RLIMIT_NOFILE`"},
    {"RlimitHardMissing", R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1}]}})",
     "config.json: .process.rlimits[0].hard: is required"},
    {"OomScoreAdj", R"({"process": {"oomScoreAdj": 1001}})", "config.json: .process.oomScoreAdj: must be between -1000 and 1000, got `1001`"},
    {"SchedulerPolicy", R"({"process": {"scheduler": {"policy": "SCHED_FAST"}}})",
     "config.json: .process.scheduler.policy: unknown scheduler policy `SCHED_FAST`"},
    {"SchedulerPolicyMissing", R"({"process": {"scheduler": {"nice": 1}}})", "config.json: .process.scheduler.policy: is required"},
    {"SchedulerNice", R"({"process": {"scheduler": {"policy": "SCHED_OTHER", "nice": 20}}})",
     "config.json: .process.scheduler.nice: must be between -20 and 19, got `20`"},
    {"SchedulerFlag", R"({"process": {"scheduler": {"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_FAST"]}}})",
     "config.json: .process.scheduler.flags[0]: unknown scheduler flag `SCHED_FLAG_FAST`"},
    {"SchedulerPriority", R"({"process": {"scheduler": {"policy": "SCHED_BATCH", "priority": 5}}})",
     "config.json: .process.scheduler.priority: is only valid with `SCHED_FIFO` or `SCHED_RR`"},
    {"SchedulerDeadline", R"({"process": {"scheduler": {"policy": "SCHED_RR", "priority": 5, "deadline": 10}}})",
     "config.json: .process.scheduler.deadline: is only valid with `SCHED_DEADLINE`"},
    {"IoPriorityClass", R"({"process": {"ioPriority": {"class": "IOPRIO_CLASS_NONE"}}})",
     "config.json: .process.ioPriority.class: unknown io priority class `IOPRIO_CLASS_NONE`"},
    {"IoPriorityLevel", R"({"process": {"ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 8}}})",
     "config.json: .process.ioPriority.priority: must be between 0 and 7, got `8`"},
    {"CpuAffinity", R"({"process": {"execCPUAffinity": {"initial": "0-1,x"}}})",
     "config.json: .process.execCPUAffinity.initial: invalid cpu list `0-1,x`"},

    // hostname and hooks
    {"HostnameWithoutUts", R"({"linux": {"namespaces": [{"type": "pid"}]}})", "config.json: .hostname: requires a uts namespace"},
    {"HookPathRelative", R"({"hooks": {"poststop": [{"path": "/bin/true"}, {"path": "bin/true"}]}})",
     "config.json: .hooks.poststop[1].path: must be an absolute path"},
    {"HookTimeoutZero", R"({"hooks": {"createRuntime": [{"path": "/bin/true", "timeout": 0}]}})",
     "config.json: .hooks.createRuntime[0].timeout: must be greater than zero, got `0`"},
    {"AnnotationEmptyKey", R"({"annotations": {"": "x"}})", "config.json: .annotations[\"\"]: must not be an empty key"},

    // linux.namespaces and id mappings
    {"NamespaceType", R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "foo"}]}})",
     "config.json: .linux.namespaces[2].type: unknown namespace type `foo`"},
    {"NamespaceDuplicate", R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "pid", "path": "/proc/1/ns/pid"}]}})",
     "config.json: .linux.namespaces[2].type: duplicate namespace type `pid`"},
    {"NamespacePathRelative", R"({"linux": {"namespaces": [{"type": "uts"}, {"type": "network", "path": "run/netns/x"}]}})",
     "config.json: .linux.namespaces[1].path: must be an absolute path"},
    {"UserNamespaceWithoutMappings", R"({"linux": {"namespaces": [{"type": "uts"}, {"type": "user"}]}})",
     "config.json: .linux.uidMappings: is required with a new user namespace"},
    {"UserNamespaceWithoutGidMappings",
     R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "namespaces": [{"type": "uts"}, {"type": "user"}]}})",
     "config.json: .linux.gidMappings: is required with a new user namespace"},
    {"MappingsWithoutUserNamespace", R"({"linux": {"gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
     "config.json: .linux.gidMappings: requires a user namespace"},
    {"TimeOffsetClock", R"({"linux": {"timeOffsets": {"realtime": {"secs": 1}}}})",
     "config.json: .linux.timeOffsets.realtime: unknown clock `realtime` (expected `monotonic` or `boottime`)"},
    {"TimeOffsetNanos", R"({"linux": {"timeOffsets": {"boottime": {"nanosecs": 1000000000}}}})",
     "config.json: .linux.timeOffsets.boottime.nanosecs: must be between 0 and 999999999, got `1000000000`"},
    {"TimeOffsetWithoutTimeNamespace", R"({"linux": {"timeOffsets": {"boottime": {"secs": 1}}}})",
     "config.json: .linux.timeOffsets: requires a new time namespace"},
    {"SysctlEmptyKey", R"({"linux": {"sysctl": {"": "1"}}})", "config.json: .linux.sysctl[\"\"]: must not be an empty key"},
    {"SysctlValueType", R"({"linux": {"sysctl": {"net.ipv4.ip_forward": 1}}})",
     "config.json: .linux.sysctl[\"net.ipv4.ip_forward\"]: expected a string, got number"},

    // linux.devices
    {"DeviceType", R"({"linux": {"devices": [{"type": "x", "path": "/dev/x"}]}})",
     "config.json: .linux.devices[0].type: unknown device type `x` (expected c, b, u or p)"},
    {"DevicePathRelative", R"({"linux": {"devices": [{"type": "c", "path": "dev/fuse", "major": 10, "minor": 229}]}})",
     "config.json: .linux.devices[0].path: must be an absolute path"},
    {"DeviceMajorMissing", R"({"linux": {"devices": [{"type": "p", "path": "/dev/fifo"}, {"type": "b", "path": "/dev/sda", "minor": 0}]}})",
     "config.json: .linux.devices[1].major: is required for device type `b`"},

    // linux.resources
    {"DeviceRuleAllowMissing", R"({"linux": {"resources": {"devices": [{"access": "rwm"}]}}})",
     "config.json: .linux.resources.devices[0].allow: is required"},
    {"DeviceRuleAccess", R"({"linux": {"resources": {"devices": [{"allow": true, "access": "rwx"}]}}})",
     "config.json: .linux.resources.devices[0].access: invalid access `rwx` (expected letters from `rwm`)"},
    {"DeviceRuleType", R"({"linux": {"resources": {"devices": [{"allow": true, "type": "p"}]}}})",
     "config.json: .linux.resources.devices[0].type: unknown device type `p` (expected a, c or b)"},
    {"MemoryBelowUnlimited", R"({"linux": {"resources": {"memory": {"limit": -2}}}})",
     "config.json: .linux.resources.memory.limit: must be between -1 and 9223372036854775807, got `-2`"},
    {"MemoryType", R"({"linux": {"resources": {"memory": {"swap": "1G"}}}})",
     "config.json: .linux.resources.memory.swap: expected an integer, got string"},
    {"Swappiness", R"({"linux": {"resources": {"memory": {"swappiness": 101}}}})",
     "config.json: .linux.resources.memory.swappiness: must be between 0 and 100, got `101`"},
    {"CpuIdle", R"({"linux": {"resources": {"cpu": {"idle": 2}}}})", "config.json: .linux.resources.cpu.idle: must be between 0 and 1, got `2`"},
    {"CpuBurst", R"({"linux": {"resources": {"cpu": {"quota": 1000, "burst": 2000}}}})",
     "config.json: .linux.resources.cpu.burst: must not exceed quota `1000`, got `2000`"},
    {"PidsLimitType", R"({"linux": {"resources": {"pids": {"limit": "max"}}}})",
     "config.json: .linux.resources.pids.limit: expected an integer, got string"},
    {"BlkioWeight", R"({"linux": {"resources": {"blockIO": {"weight": 70000}}}})",
     "config.json: .linux.resources.blockIO.weight: must be between 0 and 65535, got `70000`"},
    {"WeightDeviceEmpty", R"({"linux": {"resources": {"blockIO": {"weightDevice": [{"major": 8, "minor": 0}]}}}})",
     "config.json: .linux.resources.blockIO.weightDevice[0]: must set `weight` or `leafWeight`"},
    {"ThrottleRateMissing", R"({"linux": {"resources": {"blockIO": {"throttleWriteIOPSDevice": [{"major": 8, "minor": 0}]}}}})",
     "config.json: .linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: is required"},
    {"HugepageSize", R"({"linux": {"resources": {"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}}})",
     "config.json: .linux.resources.hugepageLimits[0].pageSize: invalid page size `2M` (expected e.g. `2MB`)"},
    {"RdmaEmpty", R"({"linux": {"resources": {"rdma": {"mlx5_1": {}}}}})",
     "config.json: .linux.resources.rdma.mlx5_1: must set `hcaHandles` or `hcaObjects`"},
    {"UnifiedEscapes", R"({"linux": {"resources": {"unified": {"../../cgroup.procs": "1"}}}})",
     "config.json: .linux.resources.unified[\"../../cgroup.procs\"]: invalid cgroup file name"},

    // linux.seccomp
    {"SeccompDefaultAction", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_DENY"}}})",
     "config.json: .linux.seccomp.defaultAction: unknown seccomp action `SCMP_ACT_DENY`"},
    {"SeccompDefaultActionMissing", R"({"linux": {"seccomp": {"architectures": ["SCMP_ARCH_X86_64"]}}})",
     "config.json: .linux.seccomp.defaultAction: is required"},
    {"SeccompDefaultNotify", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/x.sock"}}})",
     "config.json: .linux.seccomp.defaultAction: `SCMP_ACT_NOTIFY` cannot be the default action"},
    {"SeccompRuleAction", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "ALLOW"}]}}})",
     "config.json: .linux.seccomp.syscalls[0].action: unknown seccomp action `ALLOW`"},
    {"SeccompRuleNamesEmpty", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_LOG"}]}}})",
     "config.json: .linux.seccomp.syscalls[0].names: must not be empty"},
    {"SeccompOperator",
     R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_LIKE"}]}]}}})",
     "config.json: .linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator `SCMP_CMP_LIKE`"},
    {"SeccompArgIndex",
     R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 9, "op": "SCMP_CMP_EQ"}]}]}}})",
     "config.json: .linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5, got `6`"},
    {"SeccompArch", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]}}})",
     "config.json: .linux.seccomp.architectures[1]: unknown seccomp architecture `SCMP_ARCH_Z80`"},
    {"SeccompFlag", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}}})",
     "config.json: .linux.seccomp.flags[0]: unknown seccomp flag `SECCOMP_FILTER_FLAG_NEW_LISTENER`"},
    {"SeccompNotifyWithoutListener",
     R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}}})",
     "config.json: .linux.seccomp.listenerPath: is required when `SCMP_ACT_NOTIFY` is used"},
    {"SeccompMetadataWithoutListener", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}}})",
     "config.json: .linux.seccomp.listenerMetadata: is only valid with `listenerPath`"},
    {"SeccompErrnoRetWithAllow",
     R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}}})",
     "config.json: .linux.seccomp.syscalls[0].errnoRet: is not valid with action `SCMP_ACT_ALLOW`"},
    {"SeccompDefaultErrnoRetWithKill", R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}}})",
     "config.json: .linux.seccomp.defaultErrnoRet: is not valid with action `SCMP_ACT_KILL`"},

    // the rest of linux
    {"RootfsPropagation", R"({"linux": {"rootfsPropagation": "recursive"}})",
     "config.json: .linux.rootfsPropagation: unknown propagation `recursive`"},
    {"MaskedPathRelative", R"({"linux": {"maskedPaths": ["/proc/kcore", "proc/keys"]}})",
     "config.json: .linux.maskedPaths[1]: must be an absolute path"},
    {"ReadonlyPathRelative", R"({"linux": {"readonlyPaths": ["sys"]}})", "config.json: .linux.readonlyPaths[0]: must be an absolute path"},
    {"PersonalityDomain", R"({"linux": {"personality": {"domain": "LINUX64"}}})",
     "config.json: .linux.personality.domain: unknown personality domain `LINUX64`"},
    {"IntelRdtMemBw", R"({"linux": {"intelRdt": {"memBwSchema": "L3:0=20"}}})",
     "config.json: .linux.intelRdt.memBwSchema: must be one line starting with `MB:`"},
    {"IntelRdtClosId", R"({"linux": {"intelRdt": {"closID": "../x"}}})",
     "config.json: .linux.intelRdt.closID: invalid class of service `../x`"},
};

INSTANTIATE_TEST_SUITE_P(Kinds, ConfigError, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(ConfigError, MalformedJsonNamesLineAndColumn) {
    auto r = parse_config("{\n  \"ociVersion\": \"1.2.0\",\n  \"root\" {}\n}");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              "config.json: invalid JSON at line 3, column 10: syntax error while parsing object separator - "
              "unexpected '{'; expected ':'");
}

TEST(ConfigError, EmptyInput) {
    auto r = parse_config("");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              "config.json: invalid JSON at line 1, column 1: syntax error while parsing value - "
              "unexpected end of input; expected '[', '{', or a literal");
}

TEST(ConfigError, InvalidUtf8StaysOneLine) {
    auto r = parse_config("{\"ociVersion\": \"\xff\n\"}");
    ASSERT_FALSE(r);
    const std::string msg = r.error().message();
    EXPECT_TRUE(msg.starts_with("config.json: invalid JSON at line 1, column 17: ")) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(ConfigError, NumberTooLargeForJson) {
    auto r = parse_config(R"({"ociVersion": 1e999})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "config.json: invalid JSON: number overflow parsing '1e999'");
}

TEST(ConfigError, DocumentMustBeAnObject) {
    auto r = parse_config("[1]");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "config.json: expected an object, got array");
}

TEST(ConfigError, TrailingGarbage) {
    auto r = parse_config(default_spec(false).dump() + " x");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().message().starts_with("config.json: invalid JSON at line 1, column ")) << r.error().message();
}

}  // namespace
}  // namespace hull::oci
