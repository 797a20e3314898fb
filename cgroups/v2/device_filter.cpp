// Builds the cgroup v2 device filter program; see device_filter.hpp for the semantics.
//
// Layout: load the request into r2 (device type), r3 (access bits), r4 (major), r5 (minor);
// then one section per access bit (m, r, w). A section is skipped when the request does not
// ask for its bit; otherwise it walks the rules naming that bit from the last to the first
// (those before the last reset rule can never decide) and the first that matches the device
// decides: allow goes on to the next section, deny returns 0. No match: the reset state
// decides. Past the last section every requested bit was allowed: return 1.
#include "cgroups/v2/device_filter.hpp"

#include "common/strings.hpp"

#include <cstdint>
#include <limits>

namespace hull::cgroups::v2 {

namespace {

// A tiny assembler: instructions plus jumps to labels resolved at the end.
class Assembler {
public:
    int new_label() {
        labels_.push_back(-1);
        return static_cast<int>(labels_.size()) - 1;
    }
    void bind(int label) { labels_[static_cast<size_t>(label)] = static_cast<int>(insns_.size()); }

    void load_ctx_word(uint8_t dst, int16_t off) { emit(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0); }
    void alu32_imm(uint8_t op, uint8_t dst, int32_t imm) { emit(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
    void mov32_reg(uint8_t dst, uint8_t src) { emit(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
    void jump_imm(uint8_t op, uint8_t reg, int32_t imm, int label) {
        fixups_.push_back({insns_.size(), label});
        emit(BPF_JMP | op | BPF_K, reg, 0, 0, imm);
    }
    void jump(int label) {
        fixups_.push_back({insns_.size(), label});
        emit(BPF_JMP | BPF_JA, 0, 0, 0, 0);
    }
    void ret(int32_t value) {
        emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, value);
        emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }

    Result<std::vector<bpf_insn>> finish() {
        for (auto [at, label] : fixups_) {
            int target = labels_[static_cast<size_t>(label)];
            long off = static_cast<long>(target) - static_cast<long>(at) - 1;
            if (target < 0 || off < 0 || off > std::numeric_limits<int16_t>::max())
                return fail_msg("linux.resources.devices: too many rules for one device filter program");
            insns_[at].off = static_cast<int16_t>(off);
        }
        return std::move(insns_);
    }

private:
    void emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
        bpf_insn i{};
        i.code = code;
        i.dst_reg = dst & 0xf;
        i.src_reg = src & 0xf;
        i.off = off;
        i.imm = imm;
        insns_.push_back(i);
    }

    std::vector<bpf_insn> insns_;
    std::vector<int> labels_;
    std::vector<std::pair<size_t, int>> fixups_;
};

struct Rule {
    bool allow;
    int32_t type;  // BPF_DEVCG_DEV_*, or 0 for both
    std::optional<int32_t> major, minor;
    uint32_t access;  // BPF_DEVCG_ACC_* bits
};

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

Result<std::optional<int32_t>> device_number(const std::optional<int64_t>& v, size_t i, const char* field) {
    if (!v || *v < 0) return std::optional<int32_t>();
    if (*v > std::numeric_limits<int32_t>::max())
        return fail_msg(cat("linux.resources.devices[", i, "].", field, ": ", *v, " is out of range"));
    return std::optional<int32_t>(static_cast<int32_t>(*v));
}

}  // namespace

Result<std::vector<bpf_insn>> build_device_filter(const std::vector<oci::DeviceRule>& rules) {
    // Turn the rules into their bits, keeping only those after the last reset.
    bool default_allow = false;
    std::vector<Rule> live;
    for (size_t i = 0; i < rules.size(); ++i) {
        const auto& r = rules[i];
        Rule out{.allow = r.allow, .type = 0, .major = {}, .minor = {}, .access = 0};
        switch (r.type) {
        case 'a': out.type = 0; break;
        case 'b': out.type = BPF_DEVCG_DEV_BLOCK; break;
        case 'c': out.type = BPF_DEVCG_DEV_CHAR; break;
        default: return fail_msg(cat("linux.resources.devices[", i, "].type: unknown device type ", q(std::string(1, r.type))));
        }
        out.major = HULL_TRY(device_number(r.major, i, "major"));
        out.minor = HULL_TRY(device_number(r.minor, i, "minor"));
        for (char c : r.access) {
            if (c == 'r') out.access |= BPF_DEVCG_ACC_READ;
            else if (c == 'w') out.access |= BPF_DEVCG_ACC_WRITE;
            else if (c == 'm') out.access |= BPF_DEVCG_ACC_MKNOD;
            else return fail_msg(cat("linux.resources.devices[", i, "].access: unknown access ", q(std::string(1, c))));
        }
        if (r.access.empty()) out.access = kAllAccess;
        if (out.type == 0 && !out.major && !out.minor && out.access == kAllAccess) {
            default_allow = out.allow;
            live.clear();
            continue;
        }
        live.push_back(out);
    }

    Assembler a;
    a.load_ctx_word(BPF_REG_2, offsetof(bpf_cgroup_dev_ctx, access_type));
    a.alu32_imm(BPF_AND, BPF_REG_2, 0xffff);
    a.load_ctx_word(BPF_REG_3, offsetof(bpf_cgroup_dev_ctx, access_type));
    a.alu32_imm(BPF_RSH, BPF_REG_3, 16);
    a.load_ctx_word(BPF_REG_4, offsetof(bpf_cgroup_dev_ctx, major));
    a.load_ctx_word(BPF_REG_5, offsetof(bpf_cgroup_dev_ctx, minor));
    int deny = a.new_label();
    for (uint32_t bit : {uint32_t{BPF_DEVCG_ACC_MKNOD}, uint32_t{BPF_DEVCG_ACC_READ}, uint32_t{BPF_DEVCG_ACC_WRITE}}) {
        int next_section = a.new_label();
        // r1 (the context pointer is no longer needed) = the request's bit.
        a.mov32_reg(BPF_REG_1, BPF_REG_3);
        a.alu32_imm(BPF_AND, BPF_REG_1, static_cast<int32_t>(bit));
        a.jump_imm(BPF_JEQ, BPF_REG_1, 0, next_section);
        for (auto it = live.rbegin(); it != live.rend(); ++it) {
            if (!(it->access & bit)) continue;
            int next_rule = a.new_label();
            if (it->type != 0) a.jump_imm(BPF_JNE, BPF_REG_2, it->type, next_rule);
            if (it->major) a.jump_imm(BPF_JNE, BPF_REG_4, *it->major, next_rule);
            if (it->minor) a.jump_imm(BPF_JNE, BPF_REG_5, *it->minor, next_rule);
            a.jump(it->allow ? next_section : deny);
            a.bind(next_rule);
        }
        if (!default_allow) a.jump(deny);
        a.bind(next_section);
    }
    a.ret(1);
    a.bind(deny);
    a.ret(0);
    return a.finish();
}

}  // namespace hull::cgroups::v2
