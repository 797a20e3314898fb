// `exec`: a new process in a running container, in every one of its namespaces (user and
// cgroup included) and its cgroup, with the process's caps, seccomp, rlimits and user.
#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/container.hpp"
#include "runtime/linux/console.hpp"
#include "runtime/linux/exe_guard.hpp"
#include "runtime/process/spawn.hpp"
#include "runtime/process/supervise.hpp"
#include "runtime/state_store.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hull::runtime {
namespace {

// The container's spec with the process to exec in place of its own: --process FILE, or the
// container's process with the command line flags laid over it (as runc does).
Result<oci::Spec> exec_spec(const Record& rec, const ExecOptions& o) {
    nlohmann::json doc = rec.config;
    if (!o.process_file.empty()) {
        auto text = HULL_TRY_CTX(fs::read_file(o.process_file), "--process");
        auto pj = nlohmann::json::parse(text, nullptr, false);
        if (pj.is_discarded() || !pj.is_object()) return fail_msg(cat("--process ", q(o.process_file), ": invalid JSON"));
        doc["process"] = pj;
    } else {
        if (o.args.empty()) return fail_msg("exec: no command given (use arguments or --process)");
        auto& p = doc["process"];
        p["args"] = o.args;
        p["terminal"] = o.tty;
        if (!o.cwd.empty()) p["cwd"] = o.cwd;
        if (!o.env.empty()) {
            auto env = p.value("env", nlohmann::json::array());
            for (const auto& kv : o.env) {
                auto key = kv.substr(0, kv.find('='));
                bool replaced = false;
                for (auto& e : env)
                    if (e.is_string() && e.get<std::string>().substr(0, e.get<std::string>().find('=')) == key) {
                        e = kv;
                        replaced = true;
                    }
                if (!replaced) env.push_back(kv);
            }
            p["env"] = env;
        }
        if (!o.user.empty()) {
            auto parts = split(o.user, ':');
            auto uid = parse_int<uint32_t>(parts[0]);
            if (!uid || parts.size() > 2) return fail_msg(cat("--user ", q(o.user), ": expected uid[:gid]"));
            p["user"]["uid"] = *uid;
            if (parts.size() == 2) {
                auto gid = parse_int<uint32_t>(parts[1]);
                if (!gid) return fail_msg(cat("--user ", q(o.user), ": expected uid[:gid]"));
                p["user"]["gid"] = *gid;
            }
        }
        if (!o.additional_gids.empty()) p["user"]["additionalGids"] = o.additional_gids;
        if (!o.caps.empty()) {
            for (const char* set : {"bounding", "effective", "permitted", "inheritable"}) {
                auto& list = p["capabilities"][set];
                if (!list.is_array()) list = nlohmann::json::array();
                for (auto c : o.caps) {
                    for (auto& ch : c) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
                    if (!starts_with(c, "CAP_")) c = "CAP_" + c;
                    list.push_back(c);
                }
            }
        }
        if (o.no_new_privs) p["noNewPrivileges"] = true;
    }
    auto spec = oci::parse_config(doc.dump());
    if (!spec) {
        std::string m = spec.error().what();
        if (starts_with(m, "config.json: .process")) m = "process" + m.substr(21);
        return fail_msg(cat("exec: ", m));
    }
    return std::move(*spec);
}

// Namespaces of the container's init that differ from ours: the ones to join.
int namespaces_to_join(pid_t pid) {
    static const struct {
        const char* name;
        int flag;
    } kinds[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID}, {"net", CLONE_NEWNET},
                 {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};
    int flags = 0;
    for (const auto& k : kinds) {
        struct stat theirs, ours;
        if (::stat(cat("/proc/", pid, "/ns/", k.name).c_str(), &theirs) < 0) continue;
        if (::stat(cat("/proc/self/ns/", k.name).c_str(), &ours) < 0) continue;
        if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev) flags |= k.flag;
    }
    return flags;
}

[[noreturn]] void exec_child(process::ProcessPlan& plan, process::Channel& chan, int console, int preserve_fds,
                             bool userns, std::vector<int>& cgroup_tasks) {
    auto fail_with = [&](Error e) {
        chan.send_error(e);
        ::_exit(127);
    };
    if (auto r = process::join_cgroup_tasks(cgroup_tasks); !r) fail_with(r.error());
    if (auto m = chan.expect(process::Msg::cgroup_done, "cgroup setup"); !m) fail_with(m.error());
    if (userns && (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0))
        fail_with(Error::sys("become root of the user namespace"));
    if (plan.terminal) {
        if (auto r = linux::setup_console(console, plan.console_size, false); !r) fail_with(r.error());
        ::close(console);
    } else if (::setsid() < 0) {
        fail_with(Error::sys("setsid"));
    }
    if (auto r = process::become_process(plan, preserve_fds, {chan.fd()}); !r) fail_with(r.error());
    if (::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) fail_with(Error::sys("prctl(PR_SET_PDEATHSIG)"));
    fail_with(process::exec_process(plan, -1, ""));
    ::_exit(127);
}

}  // namespace

Result<int> exec(const Globals& g, const ExecOptions& o) {
    HULL_TRY(validate_id(o.id));
    StateStore store(g.root);
    auto rec = HULL_TRY(store.load(o.id));
    auto host = HULL_TRY(cgroups::detect_host());
    auto mgr = HULL_TRY(cgroups::load_manager(host, rec.cgroup));
    bool frozen = false;
    if (auto f = mgr->frozen(); f) frozen = *f;
    auto st = live_status(store, rec, frozen);
    if (st == oci::Status::stopped) return fail_msg("cannot exec in a stopped container");
    if (st == oci::Status::paused) return fail_msg("cannot exec in a paused container");

    oci::Spec spec = HULL_TRY(exec_spec(rec, o));
    oci::Process& proc = *spec.process;
    if (proc.terminal && o.console_socket.empty() && o.detach)
        return fail_msg("cannot allocate a tty for a detached process without --console-socket");
    // The container's own processes (decided at create) or this one may hold CAP_SYS_PTRACE.
    if (rec.exe_reachable || linux::exe_reachable_from(spec, proc.capabilities))
        HULL_TRY(linux::run_from_sealed_copy());
    auto plan = HULL_TRY(process::plan_process(proc));
    if (spec.linux && spec.linux->seccomp) plan.seccomp = HULL_TRY(linux::compile_seccomp(*spec.linux->seccomp));

    UniqueFd init_pidfd(sys::pidfd_open(rec.pid, 0));
    if (!init_pidfd || process_start_time(rec.pid) != rec.pid_start_time) return fail_msg("container not running");
    int join = namespaces_to_join(rec.pid);

    linux::ConsoleEnds console;
    if (proc.terminal) console = HULL_TRY(linux::console_ends(o.console_socket));
    UniqueFd& console_ours = console.ours;
    UniqueFd& console_child = console.child;

    // The process joins the container's cgroup by itself (cgroups::SelfJoin says why), unless
    // it enters a cgroup namespace of the container's first: clone3(CLONE_INTO_CGROUP) then
    // fails, as the move would start from a cgroup outside that namespace.
    cgroups::SelfJoin cgroup_join;
    if (!(join & CLONE_NEWCGROUP)) cgroup_join = HULL_TRY(mgr->self_join());
    const bool self_joins = cgroup_join.usable();
    std::vector<int> cgroup_tasks;
    for (const auto& t : cgroup_join.tasks) cgroup_tasks.push_back(t.get());

    auto [chan, chan_child] = HULL_TRY(process::Channel::pair());
    auto stage1 = HULL_TRY_CTX(process::clone_child({}), "fork");
    if (stage1.pid() == 0) {
        ::close(chan.release());
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // CVE-2019-5736, as for the init
        if (join && ::setns(init_pidfd.get(), join) < 0) {
            chan_child.send_error(Error::sys("join the container's namespaces"));
            ::_exit(1);
        }
        // The pid namespace only applies to children: the process itself is our child,
        // made our parent's child so hull exec can wait for it.
        auto child = process::clone_child({.cgroup_fd = cgroup_join.clone_into, .parent = true});
        if (!child) {
            chan_child.send_error(child.error());
            ::_exit(1);
        }
        if (child->pid() == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            exec_child(plan, chan_child, console_child.get(), o.preserve_fds, (join & CLONE_NEWUSER) != 0,
                       cgroup_tasks);
        }
        (void)chan_child.send(process::Msg::init_pid, child->pid());
        child->release();
        ::_exit(0);
    }
    chan_child.close();
    console_child.reset();
    auto m = HULL_TRY(chan.expect(process::Msg::init_pid, "exec setup"));
    (void)stage1.wait();
    process::ChildProcess proc_child(m.value, UniqueFd(sys::pidfd_open(m.value, 0)));

    cgroup_join.tasks.clear();
    if (!self_joins) HULL_TRY_CTX(mgr->add_process(proc_child.pid()), "join the container's cgroup");
    HULL_TRY_CTX(linux::apply_rlimits_to(proc_child.pid(), proc.rlimits), "process.rlimits");
    HULL_TRY(chan.send(process::Msg::cgroup_done));
    UniqueFd master;
    if (console_ours) master = HULL_TRY(linux::recv_fd(console_ours.get()));
    // Until execve the child holds its end of the channel; EOF means the exec happened.
    auto outcome = chan.recv("exec");
    if (outcome && outcome->type == process::Msg::error)
        return fail(Error(outcome->value, std::move(outcome->text)));
    if (!o.pid_file.empty())
        HULL_TRY_CTX(fs::write_file_atomic(o.pid_file, cat(proc_child.pid()), 0644), "write --pid-file");
    if (o.detach) {
        proc_child.release();
        return 0;
    }

    return process::supervise(proc_child, master);
}

}  // namespace hull::runtime
