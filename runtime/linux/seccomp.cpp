#include "runtime/linux/seccomp.hpp"

#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unix_socket.hpp"
#include "common/syscalls.hpp"
#include "common/unique_fd.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <array>
#include <cctype>
#include <climits>
#include <cstring>
#include <memory>

namespace hull::runtime::linux {
namespace {

using oci::SeccompAction;

// The kernel's seccomp syscall arguments: six, numbered 0..5.
constexpr uint32_t kMaxArgs = 6;

using FilterCtx = std::unique_ptr<void, void (*)(scmp_filter_ctx)>;

const char* action_name(SeccompAction a) {
    switch (a) {
    case SeccompAction::kill: return "SCMP_ACT_KILL";
    case SeccompAction::kill_process: return "SCMP_ACT_KILL_PROCESS";
    case SeccompAction::kill_thread: return "SCMP_ACT_KILL_THREAD";
    case SeccompAction::trap: return "SCMP_ACT_TRAP";
    case SeccompAction::errno_: return "SCMP_ACT_ERRNO";
    case SeccompAction::trace: return "SCMP_ACT_TRACE";
    case SeccompAction::allow: return "SCMP_ACT_ALLOW";
    case SeccompAction::log: return "SCMP_ACT_LOG";
    case SeccompAction::notify: return "SCMP_ACT_NOTIFY";
    }
    return "SCMP_ACT_?";
}

bool takes_errno(SeccompAction a) { return a == SeccompAction::errno_ || a == SeccompAction::trace; }

// `where` is the JSON path of the object holding the action, for messages.
Result<uint32_t> scmp_action(SeccompAction a, std::optional<uint32_t> errno_ret, const std::string& where,
                             const char* errno_field) {
    if (errno_ret && !takes_errno(a))
        return fail_msg(cat(where, ".", errno_field, ": ", q(action_name(a)), " takes no errno"));
    // SCMP_ACT_ERRNO/TRACE keep 16 bits of data; refuse what would be silently truncated.
    if (errno_ret && *errno_ret > 0xffff)
        return fail_msg(cat(where, ".", errno_field, ": ", *errno_ret, " is out of range (at most 65535)"));
    // Both runc and crun return EPERM when errnoRet is absent, for ERRNO and TRACE alike.
    uint32_t ret = errno_ret.value_or(EPERM);
    switch (a) {
    case SeccompAction::kill:  // the spec's SCMP_ACT_KILL is libseccomp's: kill the thread
    case SeccompAction::kill_thread: return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kill_process: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::trap: return SCMP_ACT_TRAP;
    case SeccompAction::errno_: return SCMP_ACT_ERRNO(ret);
    case SeccompAction::trace: return SCMP_ACT_TRACE(ret);
    case SeccompAction::allow: return SCMP_ACT_ALLOW;
    case SeccompAction::log: return SCMP_ACT_LOG;
    case SeccompAction::notify: return SCMP_ACT_NOTIFY;
    }
    return fail_msg(cat(where, ": unknown seccomp action"));
}

enum scmp_compare scmp_op(oci::SeccompOp op) {
    switch (op) {
    case oci::SeccompOp::ne: return SCMP_CMP_NE;
    case oci::SeccompOp::lt: return SCMP_CMP_LT;
    case oci::SeccompOp::le: return SCMP_CMP_LE;
    case oci::SeccompOp::eq: return SCMP_CMP_EQ;
    case oci::SeccompOp::ge: return SCMP_CMP_GE;
    case oci::SeccompOp::gt: return SCMP_CMP_GT;
    case oci::SeccompOp::masked_eq: return SCMP_CMP_MASKED_EQ;
    }
    return _SCMP_CMP_MIN;  // invalid: libseccomp rejects it with EINVAL
}

// "SCMP_ARCH_X86_64" -> libseccomp's token, through its own name table ("x86_64"), so every
// architecture this libseccomp knows is accepted. 0 when unknown.
uint32_t resolve_arch(std::string_view name) {
    constexpr std::string_view prefix = "SCMP_ARCH_";
    if (!starts_with(name, prefix)) return 0;
    std::string lower(name.substr(prefix.size()));
    if (lower.empty()) return 0;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return seccomp_arch_resolve_name(lower.c_str());
}

std::optional<unsigned> filter_flag(std::string_view name) {
    if (name == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
    if (name == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
    if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    if (name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#endif
    return std::nullopt;
}

// libseccomp writes the program to a descriptor only (seccomp_export_bpf_mem arrived in
// 2.6; Debian 12 has 2.5.4), so export into a memfd and read it back.
Result<std::vector<struct sock_filter>> export_bpf(scmp_filter_ctx ctx) {
    UniqueFd fd(memfd_create("hull-seccomp-bpf", MFD_CLOEXEC));
    if (!fd) return fail_sys("memfd_create for the seccomp program");
    if (int rc = seccomp_export_bpf(ctx, fd.get()); rc < 0) return fail(Error(-rc, "seccomp_export_bpf"));
    struct stat st;
    if (fstat(fd.get(), &st) < 0) return fail_sys("fstat the exported seccomp program");
    auto size = static_cast<size_t>(st.st_size);
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return fail_msg(cat("seccomp_export_bpf wrote ", size, " bytes, not a whole number of instructions"));
    std::vector<struct sock_filter> prog(size / sizeof(struct sock_filter));
    // SAFETY: sock_filter is a plain 8-byte struct; the bytes are the kernel ABI the export wrote.
    auto* out = reinterpret_cast<char*>(prog.data());
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys("read back the exported seccomp program");
        if (n == 0) return fail_msg("read back the exported seccomp program: unexpected end of file");
        done += static_cast<size_t>(n);
    }
    return prog;
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& spec) {
    const std::string root = ".linux.seccomp";
    SeccompProgram out;

    if (spec.default_action == SeccompAction::notify)
        // Every syscall would wait for an agent that cannot have the listener yet: the init
        // has to make syscalls to hand it over.
        return fail_msg(cat(root, ".defaultAction: `SCMP_ACT_NOTIFY` cannot be the default action"));
    uint32_t default_action = HULL_TRY(scmp_action(spec.default_action, spec.default_errno_ret, root, "defaultErrnoRet"));

    FilterCtx ctx(seccomp_init(default_action), seccomp_release);
    if (!ctx)
        return fail_msg(cat(root, ".defaultAction: libseccomp rejects ", q(action_name(spec.default_action)),
                            " (too old a kernel or libseccomp?)"));

    // We export the program and install it ourselves; these attributes only steer
    // seccomp_load. Off, so that nothing sets NNP or syncs threads behind the init's back.
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 0);

    // The native architecture stays in the filter whatever the list says, as in runc and
    // crun: a filter without it would kill the init on its first syscall (the bad-arch
    // action), which no profile means.
    for (size_t i = 0; i < spec.architectures.size(); ++i) {
        const std::string& name = spec.architectures[i];
        uint32_t token = resolve_arch(name);
        if (token == 0)
            return fail_msg(cat(root, ".architectures[", i, "]: unknown seccomp architecture ", q(name)));
        if (int rc = seccomp_arch_add(ctx.get(), token); rc < 0 && rc != -EEXIST)
            return fail(Error(-rc, cat(root, ".architectures[", i, "]: add architecture ", q(name))));
    }

    for (size_t i = 0; i < spec.flags.size(); ++i) {
        auto flag = filter_flag(spec.flags[i]);
        if (!flag) return fail_msg(cat(root, ".flags[", i, "]: unknown seccomp flag ", q(spec.flags[i])));
        out.flags |= *flag;
    }

    // libseccomp's binary-tree layout shortens long allow lists; runc turns it on above 32
    // rules (2.5.x misbehaves with it on an empty filter). Not fatal when unsupported.
    if (spec.syscalls.size() > 32) {
        if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
            log::debug(cat("seccomp binary tree optimization unavailable: ", std::strerror(-rc)));
    }

    bool uses_notify = false;
    for (size_t i = 0; i < spec.syscalls.size(); ++i) {
        const oci::SeccompRule& rule = spec.syscalls[i];
        const std::string where = cat(root, ".syscalls[", i, "]");
        uint32_t action = HULL_TRY(scmp_action(rule.action, rule.errno_ret, where, "errnoRet"));

        if (rule.names.empty()) return fail_msg(cat(where, ".names: must name at least one syscall"));
        if (rule.action == SeccompAction::notify) {
            uses_notify = true;
            for (const std::string& name : rule.names)
                // hull's init hands the listener over with sendmsg(2), after the filter is in
                // place; runc's reports it with write(2). Refuse both, as runc refuses write.
                if (name == "write" || name == "sendmsg")
                    return fail_msg(cat(where, ": `SCMP_ACT_NOTIFY` cannot be used for ", q(name),
                                        " (the listener is handed over after the filter is installed)"));
        }

        std::array<unsigned, kMaxArgs> per_index{};
        std::vector<struct scmp_arg_cmp> cmps;
        cmps.reserve(rule.args.size());
        for (size_t j = 0; j < rule.args.size(); ++j) {
            const oci::SeccompArg& a = rule.args[j];
            if (a.index >= kMaxArgs)
                return fail_msg(cat(where, ".args[", j, "].index: ", a.index, " is out of range (0 to 5)"));
            ++per_index[a.index];
            cmps.push_back(scmp_arg_cmp{a.index, scmp_op(a.op), a.value, a.value_two});
        }
        // libseccomp cannot AND two comparisons of one argument (EINVAL). runc and crun then
        // add one rule per comparison, so they OR: a profile listing `personality` values
        // one by one means "any of these".
        bool one_rule_per_cmp = false;
        for (unsigned n : per_index) one_rule_per_cmp |= n > 1;

        if (action == default_action) {
            log::debug(cat("seccomp: ", where, " has the default action; skipped"));
            continue;
        }

        for (const std::string& name : rule.names) {
            if (name.empty()) return fail_msg(cat(where, ".names: empty syscall name"));
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                log::debug(cat("seccomp: unknown syscall ", q(name), " ignored"));
                continue;
            }
            auto add = [&](unsigned count, const struct scmp_arg_cmp* array) -> Status {
                // Not the _exact variant: libseccomp may rewrite the rule for other listed
                // architectures (socketcall multiplexing on x86), as runc and crun let it.
                int rc = seccomp_rule_add_array(ctx.get(), action, nr, count, array);
                if (rc < 0) return fail(Error(-rc, cat(where, ": add seccomp rule for ", q(name))));
                return {};
            };
            if (cmps.empty() || !one_rule_per_cmp) {
                HULL_TRY(add(static_cast<unsigned>(cmps.size()), cmps.empty() ? nullptr : cmps.data()));
            } else {
                for (const auto& c : cmps) HULL_TRY(add(1, &c));
            }
            if (rule.action == SeccompAction::notify) out.wants_listener = true;
        }
    }

    if (uses_notify && spec.listener_path.empty())
        return fail_msg(cat(root, ".listenerPath: required when a rule uses `SCMP_ACT_NOTIFY`"));
    if (out.wants_listener && (out.flags & SECCOMP_FILTER_FLAG_TSYNC))
        // The kernel refuses TSYNC with NEW_LISTENER unless a failed sync reports ESRCH
        // instead of a thread id (the listener fd takes the return value).
        out.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    if (!out.wants_listener && (out.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
        // Meaningless without a listener, and the kernel refuses it then (EINVAL).
        log::debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without a notify rule; dropped");
        out.flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    }
#endif

    out.filter = HULL_TRY_CTX(export_bpf(ctx.get()), cat(root, ": compile"));
    if (out.filter.size() > BPF_MAXINSNS)
        return fail_msg(cat(root, ": the compiled filter has ", out.filter.size(),
                            " instructions, more than the kernel's limit of ", BPF_MAXINSNS));
    return out;
}

int install_seccomp(const SeccompProgram& prog) noexcept {
    if (prog.filter.empty() || prog.filter.size() > BPF_MAXINSNS) return -EINVAL;
    struct sock_fprog fprog {};
    fprog.len = static_cast<unsigned short>(prog.filter.size());
    // SAFETY: the kernel only reads the program; sock_fprog just lacks a pointer to const.
    fprog.filter = const_cast<struct sock_filter*>(prog.filter.data());
    unsigned flags = prog.flags | (prog.wants_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0u);
    int rc = sys::seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (rc < 0) return -errno;
    return prog.wants_listener ? rc : 0;
}

std::string seccomp_process_state_json(const nlohmann::json& state, int pid, const std::string& metadata) {
    nlohmann::json doc = nlohmann::json::object();
    doc["ociVersion"] = oci::kSpecVersion;
    doc["fds"] = nlohmann::json::array({"seccompFd"});
    doc["pid"] = pid;
    if (!metadata.empty()) doc["metadata"] = metadata;
    doc["state"] = state;
    // `replace`: never throw on bytes that are not UTF-8 (the metadata is opaque).
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status send_seccomp_listener(int sock, int listener_fd, const std::string& process_state_json) {
    if (process_state_json.empty()) return fail_msg("send the seccomp listener: empty container process state");
    HULL_TRY_CTX(send_with_fd(sock, process_state_json, listener_fd), "send the seccomp listener");
    return {};
}

}  // namespace hull::runtime::linux
