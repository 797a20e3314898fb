#include "runtime/process/plan.hpp"

#include "common/strings.hpp"

#include <sched.h>
#include <stdlib.h>
#include <sys/personality.h>

namespace hull::runtime::process {

Result<ProcessPlan> plan_process(const oci::Process& p) {
    ProcessPlan plan;
    plan.args = p.args;
    plan.env = p.env;
    plan.cwd = p.cwd.empty() ? "/" : p.cwd;
    for (const auto& e : p.env)
        if (starts_with(e, "PATH=")) plan.path_env = e.substr(5);
    plan.uid = p.user.uid;
    plan.gid = p.user.gid;
    plan.groups.assign(p.user.additional_gids.begin(), p.user.additional_gids.end());
    if (p.user.umask) plan.umask = static_cast<mode_t>(*p.user.umask);
    plan.caps = linux::PreparedCaps(linux::plan_caps(p.capabilities));
    plan.rlimits = p.rlimits;
    plan.no_new_privs = p.no_new_privileges;
    plan.terminal = p.terminal;
    plan.console_size = p.console_size;
    plan.scheduler = p.scheduler;
    plan.io_priority = p.io_priority;
    if (p.exec_cpu_affinity) plan.exec_cpu_affinity = p.exec_cpu_affinity->initial;
    if (plan.args.empty()) return fail_msg("process.args: must not be empty");
    return plan;
}

Result<ContainerPlan> plan_container(const oci::Spec& spec, const ContainerFacts& facts) {
    if (!spec.linux) return fail_msg("config.json: .linux: required on this platform");
    const oci::Linux& lx = *spec.linux;

    ContainerPlan plan;
    plan.id = facts.id;
    plan.ns = HULL_TRY(linux::plan_namespaces(lx));

    linux::RootfsFacts rf;
    rf.rootfs = facts.rootfs;
    rf.bundle = facts.bundle;
    rf.user_ns = plan.ns.has(CLONE_NEWUSER);
    rf.new_mount_ns = plan.ns.has(CLONE_NEWNS);
    rf.new_cgroup_ns = plan.ns.creates(CLONE_NEWCGROUP);
    rf.no_pivot = facts.no_pivot;
    rf.terminal = spec.process->terminal;
    // A test knob (README): the overlay root takes the mount(2) path that pre-6.8 kernels need.
    const char* legacy = ::getenv("HULL_OVERLAY_LEGACY");
    rf.overlay_legacy = legacy && std::string_view(legacy) == "1";
    plan.mounts = HULL_TRY(linux::plan_rootfs(spec, rf));

    if (!spec.hostname.empty()) {
        if (!plan.ns.has(CLONE_NEWUTS)) return fail_msg("hostname: setting it needs a private UTS namespace");
        plan.hostname = spec.hostname;
        plan.set_hostname = true;
    }
    if (!spec.domainname.empty()) {
        if (!plan.ns.has(CLONE_NEWUTS)) return fail_msg("domainname: setting it needs a private UTS namespace");
        plan.domainname = spec.domainname;
        plan.set_domainname = true;
    }
    for (const auto& [key, value] : lx.sysctl) {
        auto path = HULL_TRY(linux::validate_sysctl(key, plan.ns));
        plan.sysctl.emplace_back(std::move(path), value);
    }

    plan.has_process = facts.has_process;
    if (plan.has_process) plan.process = HULL_TRY(plan_process(*spec.process));
    if (lx.seccomp) {
        plan.process.seccomp = HULL_TRY(linux::compile_seccomp(*lx.seccomp));
        plan.process.seccomp_listener_metadata = lx.seccomp->listener_metadata;
    }
    if (lx.personality) {
        if (lx.personality->domain == "LINUX") plan.process.personality = PER_LINUX;
        else if (lx.personality->domain == "LINUX32") plan.process.personality = PER_LINUX32;
        else return fail_msg(cat("linux.personality.domain: unknown domain ", q(lx.personality->domain)));
        if (!lx.personality->flags.empty()) return fail_msg("linux.personality.flags: not supported");
    }

    if (spec.hooks) {
        plan.create_container_hooks = spec.hooks->create_container;
        plan.start_container_hooks = spec.hooks->start_container;
        plan.runtime_hooks = !spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty();
    }
    plan.new_keyring = !facts.no_new_keyring;
    plan.preserve_fds = facts.preserve_fds;
    return plan;
}

}  // namespace hull::runtime::process
