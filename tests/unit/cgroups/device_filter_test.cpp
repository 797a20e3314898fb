// The cgroup v2 device filter: the program build_device_filter() emits is run in a small
// interpreter of the eBPF subset it uses, for many (type, major, minor, access) requests, and
// its verdict compared with a plain reference model of the rules (device_filter.hpp). Loading
// it through the kernel verifier is checked too; attaching is left to the v2 test guest.
#include "cgroups/manager.hpp"
#include "cgroups/v2/device_filter.hpp"
#include "common/syscalls.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace hull::cgroups::v2 {
namespace {

using oci::DeviceRule;

struct Request {
    uint32_t type;    // BPF_DEVCG_DEV_*
    uint32_t access;  // BPF_DEVCG_ACC_* bits
    uint32_t major, minor;
};

// Runs `prog` on one request. Only the instructions the builder emits are understood; anything
// else (or a jump out of the program, or a loop) fails the test.
int run(const std::vector<bpf_insn>& prog, const Request& req) {
    bpf_cgroup_dev_ctx ctx{.access_type = (req.access << 16) | req.type, .major = req.major, .minor = req.minor};
    uint64_t reg[11] = {};
    // r1 holds the context "pointer"; the interpreter only allows loads from it.
    bool r1_is_ctx = true;
    size_t pc = 0;
    for (int steps = 0; steps < 100000; ++steps) {
        if (pc >= prog.size()) {
            ADD_FAILURE() << "fell off the end of the program";
            return -1;
        }
        const bpf_insn& i = prog[pc++];
        auto jump = [&](bool taken) {
            if (!taken) return;
            EXPECT_GE(i.off, 0) << "backward jump";
            pc += static_cast<size_t>(i.off);
        };
        switch (i.code) {
        case BPF_LDX | BPF_MEM | BPF_W: {
            EXPECT_TRUE(i.src_reg == BPF_REG_1 && r1_is_ctx) << "load not from the context";
            EXPECT_TRUE(i.off >= 0 && i.off + 4 <= static_cast<int>(sizeof ctx) && i.off % 4 == 0);
            uint32_t v;
            std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);  // SAFETY: bounds checked above
            reg[i.dst_reg] = v;
            if (i.dst_reg == BPF_REG_1) r1_is_ctx = false;
            break;
        }
        case BPF_ALU | BPF_AND | BPF_K: reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg] & static_cast<uint32_t>(i.imm)); break;
        case BPF_ALU | BPF_RSH | BPF_K: reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg]) >> i.imm; break;
        case BPF_ALU | BPF_MOV | BPF_X:
            reg[i.dst_reg] = static_cast<uint32_t>(reg[i.src_reg]);
            if (i.dst_reg == BPF_REG_1) r1_is_ctx = false;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K: reg[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm)); break;
        case BPF_JMP | BPF_JEQ | BPF_K: jump(reg[i.dst_reg] == static_cast<uint64_t>(static_cast<int64_t>(i.imm))); break;
        case BPF_JMP | BPF_JNE | BPF_K: jump(reg[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))); break;
        case BPF_JMP | BPF_JA: jump(true); break;
        case BPF_JMP | BPF_EXIT: return static_cast<int>(reg[0]);
        default: ADD_FAILURE() << "unexpected opcode " << int(i.code) << " at " << pc - 1; return -1;
        }
    }
    ADD_FAILURE() << "did not terminate";
    return -1;
}

uint32_t access_bits(const std::string& access) {
    if (access.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
    uint32_t bits = 0;
    for (char c : access)
        bits |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    return bits;
}

// The reference: each requested access bit is decided by the last rule covering the device
// and that bit; a type-`a` rule with wildcards and every access covers everything; nothing
// covering a bit means deny.
bool reference(const std::vector<DeviceRule>& rules, const Request& req) {
    for (uint32_t bit : {1u, 2u, 4u}) {
        if (!(req.access & bit)) continue;
        bool allowed = false;
        for (auto& r : rules) {
            bool type = r.type == 'a' || (r.type == 'c' && req.type == BPF_DEVCG_DEV_CHAR) ||
                        (r.type == 'b' && req.type == BPF_DEVCG_DEV_BLOCK);
            bool major = !r.major || *r.major < 0 || static_cast<uint32_t>(*r.major) == req.major;
            bool minor = !r.minor || *r.minor < 0 || static_cast<uint32_t>(*r.minor) == req.minor;
            if (type && major && minor && (access_bits(r.access) & bit)) allowed = r.allow;
        }
        if (!allowed) return false;
    }
    return true;
}

DeviceRule rule(bool allow, char type, std::optional<int64_t> major, std::optional<int64_t> minor, std::string access) {
    return DeviceRule{.allow = allow, .type = type, .major = major, .minor = minor, .access = std::move(access)};
}

// Requests over the numbers the rules name, their neighbours and a few others, every type
// (and an unknown one) and every combination of access bits.
std::vector<Request> requests_for(const std::vector<DeviceRule>& rules) {
    std::vector<uint32_t> numbers{0, 1, 2, 3, 5, 7, 8, 9, 10, 136, 200, 254, 4095, 1048575};
    for (auto& r : rules)
        for (auto& v : {r.major, r.minor})
            if (v && *v >= 0) {
                numbers.push_back(static_cast<uint32_t>(*v));
                numbers.push_back(static_cast<uint32_t>(*v) + 1);
            }
    std::vector<Request> out;
    for (uint32_t type : {uint32_t{BPF_DEVCG_DEV_CHAR}, uint32_t{BPF_DEVCG_DEV_BLOCK}, 4u})
        for (uint32_t access = 1; access <= 7; ++access)
            for (uint32_t major : numbers)
                for (uint32_t minor : numbers) out.push_back({type, access, major, minor});
    return out;
}

void check(const std::vector<DeviceRule>& rules) {
    auto prog = build_device_filter(rules);
    ASSERT_TRUE(prog) << prog.error().message();
    int mismatches = 0;
    for (auto& req : requests_for(rules)) {
        int got = run(*prog, req);
        bool want = reference(rules, req);
        if (got != (want ? 1 : 0) && ++mismatches <= 5)
            ADD_FAILURE() << "type " << req.type << " access " << req.access << " " << req.major << ":" << req.minor
                          << ": program says " << got << ", the rules say " << want;
    }
    EXPECT_EQ(mismatches, 0);
}

TEST(CgroupsDeviceFilter, RuncsDefaultList) {
    std::vector<DeviceRule> rules{rule(false, 'a', std::nullopt, std::nullopt, "rwm")};
    for (auto& r : default_device_rules({})) rules.push_back(r);
    check(rules);
    auto prog = build_device_filter(rules);
    ASSERT_TRUE(prog);
    auto allowed = [&](uint32_t type, uint32_t access, uint32_t major, uint32_t minor) {
        return run(*prog, {type, access, major, minor}) == 1;
    };
    constexpr uint32_t C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK, M = BPF_DEVCG_ACC_MKNOD, R = BPF_DEVCG_ACC_READ,
                       W = BPF_DEVCG_ACC_WRITE;
    EXPECT_TRUE(allowed(C, R | W, 1, 3));     // /dev/null
    EXPECT_TRUE(allowed(C, R | W, 136, 42));  // a pty
    EXPECT_TRUE(allowed(C, M, 8, 0));         // mknod of anything
    EXPECT_TRUE(allowed(B, M, 8, 0));
    EXPECT_FALSE(allowed(B, R, 8, 0));        // reading a disk
    EXPECT_FALSE(allowed(C, R | M, 8, 0));    // mknod is allowed, read is not
    EXPECT_FALSE(allowed(C, W, 1, 1));        // /dev/mem
}

TEST(CgroupsDeviceFilter, LaterRulesOverrideEarlierOnesBitByBit) {
    check({rule(true, 'c', 1, 3, "rwm"), rule(false, 'c', 1, 3, "w")});
    check({rule(true, 'c', std::nullopt, std::nullopt, "rwm"), rule(false, 'c', 1, 3, "w")});  // a hole in a wildcard
    check({rule(false, 'a', std::nullopt, std::nullopt, ""), rule(true, 'a', 1, std::nullopt, "r"),
           rule(false, 'b', 1, 5, "r"), rule(true, 'c', -1, 9, "wm")});
    // An allow-all reset in the middle forgets everything before it; a deny-all after it too.
    check({rule(false, 'c', 1, 3, "r"), rule(true, 'a', std::nullopt, std::nullopt, "rwm"), rule(false, 'c', 1, 5, "m")});
    check({rule(true, 'a', std::nullopt, std::nullopt, "rwm"), rule(false, 'a', -1, -1, "mrw")});
    // Narrow `a` rules are not resets: both types, only those bits.
    check({rule(true, 'a', std::nullopt, std::nullopt, "rw"), rule(false, 'a', 4, std::nullopt, "r")});
    check({});
    // Split allows for one device: each bit from its own rule.
    check({rule(true, 'c', 1, std::nullopt, "r"), rule(true, 'c', 1, 3, "w")});

    // The deny of a write also stops an open for read and write (one request with both bits).
    auto prog = build_device_filter({rule(true, 'c', std::nullopt, std::nullopt, "rwm"), rule(false, 'c', 1, 3, "w")});
    ASSERT_TRUE(prog);
    EXPECT_EQ(run(*prog, {BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE, 1, 3}), 0);
    EXPECT_EQ(run(*prog, {BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 3}), 1);
}

TEST(CgroupsDeviceFilter, RandomRuleLists) {
    std::mt19937 rng(20240611);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const char types[] = {'a', 'b', 'c'};
    const std::optional<int64_t> nums[] = {std::nullopt, -1, 1, 3, 5, 136};
    const char* accesses[] = {"", "r", "w", "m", "rw", "rm", "wm", "rwm", "mwr"};
    for (int round = 0; round < 150; ++round) {
        std::vector<DeviceRule> rules;
        int n = pick(9);
        for (int i = 0; i < n; ++i)
            rules.push_back(rule(pick(2) == 0, types[pick(3)], nums[pick(6)], nums[pick(6)], accesses[pick(9)]));
        SCOPED_TRACE(round);
        check(rules);
        if (HasFailure()) break;
    }
}

TEST(CgroupsDeviceFilter, BadRulesAreRefused) {
    auto e = build_device_filter({rule(true, 'x', 1, 3, "r")});
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(), "linux.resources.devices[0].type: unknown device type `x`");
    e = build_device_filter({rule(true, 'c', 1, 3, "r"), rule(true, 'c', 1, 3, "rx")});
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(), "linux.resources.devices[1].access: unknown access `x`");
    e = build_device_filter({rule(true, 'c', int64_t{1} << 33, 3, "r")});
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(), "linux.resources.devices[0].major: 8589934592 is out of range");
}

TEST(CgroupsDeviceFilter, ManyRulesStillBuild) {
    std::vector<DeviceRule> rules{rule(false, 'a', std::nullopt, std::nullopt, "rwm")};
    for (int i = 0; i < 2000; ++i) rules.push_back(rule(i % 3 != 0, 'c', i % 300, i, "rw"));
    auto prog = build_device_filter(rules);
    ASSERT_TRUE(prog) << prog.error().message();
    EXPECT_EQ(run(*prog, {BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 1}), 1);
    EXPECT_EQ(run(*prog, {BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 0, 0}), 0);
}

// The kernel's verifier accepts what we build (loading only; nothing is attached here).
TEST(CgroupsDeviceFilter, TheKernelVerifierAcceptsIt) {
    std::vector<DeviceRule> rules{rule(false, 'a', std::nullopt, std::nullopt, "rwm")};
    for (auto& r : default_device_rules({})) rules.push_back(r);
    rules.push_back(rule(false, 'c', 1, 3, "w"));
    auto prog = build_device_filter(rules);
    ASSERT_TRUE(prog);
    static const char license[] = "Apache-2.0";
    std::string log(1 << 16, '\0');
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    // SAFETY: bpf(2) takes user pointers as u64; all outlive the call.
    attr.insns = reinterpret_cast<uintptr_t>(prog->data());
    attr.insn_cnt = static_cast<uint32_t>(prog->size());
    attr.license = reinterpret_cast<uintptr_t>(license);
    attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
    int fd = sys::bpf(BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd < 0 && (errno == EPERM || errno == ENOSYS)) {
        GTEST_SKIP() << "cannot load BPF programs here: " << std::strerror(errno);
    }
    EXPECT_GE(fd, 0) << std::strerror(errno) << "\n" << log.c_str();
    if (fd >= 0) ::close(fd);
}

}  // namespace
}  // namespace hull::cgroups::v2
