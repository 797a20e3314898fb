// v2 device access control: the eBPF program of device_filter.cpp, loaded and attached to the
// container's cgroup (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI). On a second apply (`update`) the
// new program is attached before the old ones are detached, so the cgroup is never without a
// filter; in between both run and a request must pass each, which only ever denies more.
// (Hybrid and legacy hosts use v1/devices.cpp.)
#include "cgroups/v2/controllers.hpp"
#include "cgroups/v2/device_filter.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cstring>

namespace hull::cgroups::v2 {

namespace {

// SAFETY: bpf(2) takes user pointers as u64 fields; every pointee outlives the call.
uint64_t ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

int bpf_call(int cmd, bpf_attr& attr) { return sys::bpf(cmd, &attr, sizeof attr); }

// The verifier's log as one line: its last lines (where the reason is), newlines joined.
std::string one_line(std::string log) {
    log.resize(::strnlen(log.c_str(), log.size()));
    std::vector<std::string> lines;
    for (auto& l : split(log, '\n'))
        if (!trim(l).empty()) lines.emplace_back(trim(l));
    if (lines.size() > 6) lines.erase(lines.begin(), lines.end() - 6);
    return join(lines, "; ");
}

Result<UniqueFd> load(const std::vector<bpf_insn>& insns) {
    static const char kLicense[] = "Apache-2.0";
    auto attempt = [&](char* log, uint32_t size) {
        bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = ptr(insns.data());
        attr.insn_cnt = static_cast<uint32_t>(insns.size());
        attr.license = ptr(kLicense);
        attr.log_buf = ptr(log);
        attr.log_size = size;
        attr.log_level = log ? 1 : 0;
        return bpf_call(BPF_PROG_LOAD, attr);
    };
    // Without a log first (the kernel does less work); with one only to explain a failure.
    int fd = attempt(nullptr, 0);
    if (fd >= 0) return UniqueFd(fd);
    int err = errno;
    std::string log(1 << 16, '\0');
    fd = attempt(log.data(), static_cast<uint32_t>(log.size()));
    if (fd >= 0) return UniqueFd(fd);
    std::string why = one_line(std::move(log));
    return fail(Error(err, cat("load the device filter (BPF_PROG_LOAD)", why.empty() ? "" : cat(", verifier says: ", why))));
}

// The ids of the device programs attached to this cgroup itself (not inherited ones).
Result<std::vector<uint32_t>> attached(int cgroup, const std::string& shown) {
    std::vector<uint32_t> ids(16);
    for (int round = 0; round < 8; ++round) {
        bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.query.target_fd = static_cast<uint32_t>(cgroup);
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = ptr(ids.data());
        attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
        if (bpf_call(BPF_PROG_QUERY, attr) == 0) {
            ids.resize(attr.query.prog_cnt);
            return ids;
        }
        // ENOSPC: more programs than room; prog_cnt now says how many.
        if (errno != ENOSPC) return fail_sys(cat("list the device filters of ", q(shown), " (BPF_PROG_QUERY)"));
        ids.resize(std::max<size_t>(attr.query.prog_cnt, ids.size() * 2));
    }
    return fail_msg(cat("list the device filters of ", q(shown), ": the list keeps growing"));
}

Status attach(int cgroup, int prog, uint32_t flags) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup);
    attr.attach_bpf_fd = static_cast<uint32_t>(prog);
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = flags;
    if (bpf_call(BPF_PROG_ATTACH, attr) < 0) return fail_sys("attach the device filter (BPF_PROG_ATTACH)");
    return {};
}

Status detach(int cgroup, uint32_t id, const std::string& shown) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    int fd = bpf_call(BPF_PROG_GET_FD_BY_ID, attr);
    if (fd < 0) {
        if (errno == ENOENT) return {};  // gone meanwhile
        return fail_sys(cat("open the old device filter ", id, " of ", q(shown)));
    }
    UniqueFd prog(fd);
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup);
    attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (bpf_call(BPF_PROG_DETACH, attr) < 0 && errno != ENOENT)
        return fail_sys(cat("detach the old device filter ", id, " from ", q(shown)));
    return {};
}

}  // namespace

Status apply_devices(const Dir& d, const std::vector<oci::DeviceRule>& rules) {
    // No rules: nothing to enforce or to change (an update that does not touch devices).
    if (rules.empty()) return {};
    constexpr std::string_view where = "linux.resources.devices";
    auto insns = HULL_TRY(build_device_filter(rules));
    auto dir = HULL_TRY_CTX(open_dir(d, O_RDONLY | O_DIRECTORY), where);
    const std::string shown = d.path();
    struct statfs fs_info;
    if (::fstatfs(dir.get(), &fs_info) < 0) return fail_sys(cat(where, ": statfs ", q(shown)));
    if (fs_info.f_type != CGROUP2_SUPER_MAGIC)
        return fail_msg(cat(where, ": ", q(shown), " is not a cgroup2 directory; cannot attach the device filter"));

    auto prog = HULL_TRY_CTX(load(insns), where);
    auto old = HULL_TRY_CTX(attached(dir.get(), shown), where);
    if (auto r = attach(dir.get(), prog.get(), BPF_F_ALLOW_MULTI); !r) {
        // A single program attached without BPF_F_ALLOW_MULTI (by another manager) refuses
        // company; attaching without the flag replaces it in one step.
        if (r.error().code() != EPERM || old.size() != 1) return fail(std::move(r.error()).context(where));
        HULL_TRY_CTX(attach(dir.get(), prog.get(), 0), where);
        return {};
    }
    for (uint32_t id : old) HULL_TRY_CTX(detach(dir.get(), id, shown), where);
    log::debug(cat("devices: attached a ", insns.size(), "-instruction filter to ", q(shown),
                   old.empty() ? std::string() : cat(", replacing ", old.size())));
    return {};
}

}  // namespace hull::cgroups::v2
