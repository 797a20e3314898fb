// create / start / state / kill / delete / run / list / ps / pause / resume.
#include "runtime/container.hpp"

#include "cgroups/manager.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/syscalls.hpp"
#include "runtime/linux/console.hpp"
#include "runtime/linux/exe_guard.hpp"
#include "runtime/linux/hooks.hpp"
#include "runtime/linux/rootfs_overlay.hpp"
#include "runtime/process/spawn.hpp"
#include "runtime/process/supervise.hpp"
#include "runtime/state_store.hpp"
#include "runtime/container_util.hpp"
#include "runtime/launch.hpp"
#include "runtime/vm/oci.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <functional>

namespace hull::runtime {

using namespace detail;

namespace {

Result<std::string> real_path(const std::string& path, std::string_view what) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return fail_sys(cat(what, " ", q(path)));
    return std::string(buf);
}

std::string state_json(const Record& r, oci::Status status) {
    oci::State s;
    s.id = r.id;
    s.status = status;
    s.pid = status == oci::Status::stopped ? 0 : r.pid;
    s.bundle = r.bundle;
    if (r.config.contains("annotations") && r.config["annotations"].is_object())
        for (auto& [k, v] : r.config["annotations"].items())
            if (v.is_string()) s.annotations[k] = v.get<std::string>();
    return oci::to_json(s).dump();
}

std::vector<oci::Hook> hooks_of(const Record& r, const char* kind) {
    // The record keeps the spec as JSON; parse only the hooks we need.
    std::vector<oci::Hook> out;
    if (!r.config.contains("hooks")) return out;
    auto spec = oci::parse_config(r.config.dump());
    if (!spec || !spec->hooks) return out;
    const auto& h = *spec->hooks;
    std::string_view k = kind;
    if (k == "poststart") return h.poststart;
    if (k == "poststop") return h.poststop;
    return out;
}

// The user name for `uid` from /etc/passwd (hull is static: no NSS), else the number.
std::string user_name(uid_t uid) {
    auto text = fs::read_file("/etc/passwd");
    if (text) {
        for (const auto& line : split(*text, '\n')) {
            auto f = split(line, ':');
            if (f.size() > 2 && parse_int<uid_t>(f[2]) == uid) return f[0];
        }
    }
    return cat(uid);
}

struct Created {
    Record record;
    process::ChildProcess init;
    UniqueFd console_master;
    std::vector<oci::Hook> poststart;
};

// The state directory and cgroup of a container being created, shared by the container and
// vm paths: both are removed again unless finish() hands them over. Declare the init's
// ChildProcess after the Draft, so a failure kills the init before its cgroup goes.
class Draft {
public:
    Draft(const Globals& g, std::string id) : store(g.root), id_(std::move(id)) {}
    Draft(const Draft&) = delete;
    ~Draft() {
        if (done_) return;
        if (mgr) (void)mgr->destroy();
        if (dir_made_) (void)store.remove(id_);
    }

    Status begin(const Globals& g, const oci::Spec& spec) {
        HULL_TRY(store.create_dir(id_));
        dir_made_ = true;
        auto host = HULL_TRY(cgroups::detect_host());
        cgroups::Config cg{spec.linux->cgroups_path, id_, g.systemd_cgroup};
        auto m = HULL_TRY_CTX(cgroups::make_manager(host, cg), "cgroup");
        HULL_TRY_CTX(m->create(), "create cgroup");
        mgr = std::move(m);
        return {};
    }

    Record record(const std::string& bundle, const std::string& rootfs, pid_t pid, const oci::Spec& spec) const {
        Record rec;
        rec.id = id_;
        rec.bundle = bundle;
        rec.rootfs = rootfs;
        rec.pid = pid;
        rec.pid_start_time = process_start_time(pid);
        rec.created = now_rfc3339();
        rec.owner = ::geteuid();
        rec.cgroup = mgr->save();
        rec.config = oci::to_json(spec);
        return rec;
    }

    // Receives the pty master (when there is a console), saves the state, writes --pid-file,
    // and commits: from here on the container exists.
    Result<Created> finish(const CreateOptions& o, Record rec, process::ChildProcess init, const UniqueFd& console_ours,
                           const oci::Spec& spec) {
        Created c;
        if (console_ours) c.console_master = HULL_TRY(linux::recv_fd(console_ours.get()));
        HULL_TRY(store.save(rec));
        if (!o.pid_file.empty())
            HULL_TRY_CTX(fs::write_file_atomic(o.pid_file, cat(init.pid()), 0644), "write --pid-file");
        if (spec.hooks) c.poststart = spec.hooks->poststart;
        done_ = true;
        c.record = std::move(rec);
        c.init = std::move(init);
        return c;
    }

    StateStore store;
    std::unique_ptr<cgroups::Manager> mgr;

private:
    std::string id_;
    bool dir_made_ = false;
    bool done_ = false;
};

Result<Created> create_vm_container(const Globals& g, const CreateOptions& o, bool foreground, const oci::Spec& spec,
                                    const std::string& bundle, const std::string& rootfs);

Result<Created> create_container(const Globals& g, const CreateOptions& o, bool foreground) {
    HULL_TRY(validate_id(o.id));
    std::string bundle = HULL_TRY(real_path(o.bundle, "bundle"));
    oci::Spec spec = HULL_TRY(oci::load_config(bundle + "/config.json"));
    // runtime-spec: process is only required by `start`. Without it the container is
    // created (namespaces, mounts, cgroup) and `start` refuses.
    if (!spec.process) spec.process.emplace();
    bool has_process = !spec.process->args.empty();
    if (spec.root.path.empty()) return fail_msg("config.json: .root.path: required");
    std::string root_path = spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path;
    std::string rootfs = HULL_TRY(real_path(root_path, "root.path"));
    if (HULL_TRY(vm::wants_vm(spec))) return create_vm_container(g, o, foreground, spec, bundle, rootfs);
    bool exe_reachable = linux::exe_reachable_from(spec, std::nullopt);
    if (exe_reachable) HULL_TRY(linux::run_from_sealed_copy());
    if (spec.process->terminal && o.console_socket.empty() && !foreground)
        return fail_msg("cannot allocate a tty for a detached container without --console-socket");

    Draft draft(g, o.id);
    HULL_TRY(draft.begin(g, spec));
    StateStore& store = draft.store;
    auto& mgr = draft.mgr;

    process::ContainerFacts facts{o.id, bundle, rootfs, o.no_pivot, o.no_new_keyring, o.preserve_fds, has_process};
    auto plan = HULL_TRY(process::plan_container(spec, facts));
    // In a user namespace the init may not idmap host mounts: the parent prepares them.
    HULL_TRY(linux::prepare_idmapped_sources(*plan.mounts));

    std::string fifo = store.fifo(o.id);
    if (::mkfifo(fifo.c_str(), 0600) < 0) return fail_sys(cat("mkfifo ", q(fifo)));
    UniqueFd fifo_fd = HULL_TRY(fs::open(fifo, O_RDONLY | O_NONBLOCK));

    linux::ConsoleEnds console;
    if (spec.process->terminal) console = HULL_TRY(linux::console_ends(o.console_socket));
    UniqueFd& console_ours = console.ours;
    UniqueFd& console_child = console.child;
    UniqueFd listener;
    if (spec.linux->seccomp && !spec.linux->seccomp->listener_path.empty())
        listener = HULL_TRY_CTX(linux::connect_console_socket(spec.linux->seccomp->listener_path),
                                "linux.seccomp.listenerPath");

    auto [chan, chan_child] = HULL_TRY(process::Channel::pair());
    process::InitFds fds;
    fds.fifo = fifo_fd.get();
    fds.console = console_child.get();
    fds.seccomp_listener = listener.get();
    auto join = HULL_TRY(mgr->self_join());
    const bool self_joins = join.usable();
    for (const auto& t : join.tasks) fds.cgroup_tasks.push_back(t.get());
    auto init = HULL_TRY(process::spawn_container(plan, fds, chan, chan_child, join.clone_into));
    fifo_fd.reset();
    console_child.reset();
    listener.reset();
    join.tasks.clear();

    Record rec = draft.record(bundle, rootfs, init.pid(), spec);
    rec.exe_reachable = exe_reachable;
    if (!has_process) rec.config.erase("process");

    if (spec.process->oom_score_adj)
        HULL_TRY_CTX(fs::write_file(cat("/proc/", init.pid(), "/oom_score_adj"), cat(*spec.process->oom_score_adj)),
                     "set process.oomScoreAdj");
    if (!self_joins) HULL_TRY_CTX(mgr->add_process(init.pid()), "join cgroup");
    HULL_TRY_CTX(mgr->apply(effective_resources(*spec.linux)), "linux.resources");
    HULL_TRY_CTX(linux::apply_rlimits_to(init.pid(), spec.process->rlimits), "process.rlimits");

    // Hooks see "creating" while the container is being made (createRuntime,
    // createContainer) and "created" from then on (startContainer). prestart hooks get
    // "created": runtime-spec 1.0 defined them as running after `start` was called, and the
    // OCI suite checks that.
    std::string creating = state_json(rec, oci::Status::creating);
    std::string created = state_json(rec, oci::Status::created);
    HULL_TRY(chan.send(process::Msg::cgroup_done, 0, creating));
    if (plan.runtime_hooks) {
        HULL_TRY(chan.expect(process::Msg::hooks_request, "container namespaces"));
        HULL_TRY(linux::run_hooks(spec.hooks->prestart, "prestart", created));
        HULL_TRY(linux::run_hooks(spec.hooks->create_runtime, "createRuntime", creating));
        HULL_TRY(chan.send(process::Msg::hooks_done));
    }
    HULL_TRY_CTX(chan.expect(process::Msg::ready, "container init"), "create container");
    return draft.finish(o, std::move(rec), std::move(init), console_ours, spec);
}

// ---- vm isolation (org.hull.isolation=vm; runtime/vm/oci.hpp) -------------------------------
// The same state dir, cgroup, exec.fifo and record as a container; in the init's place, hull's
// VMM, cloned into the cgroup and the spec's new namespaces, waits at exec.fifo with the VM built.
// start/state/kill/delete/run then need no VM-specific code.
Result<Created> create_vm_container(const Globals& g, const CreateOptions& o, bool foreground, const oci::Spec& spec,
                                    const std::string& bundle, const std::string& rootfs) {
    if (spec.process->terminal && o.console_socket.empty() && !foreground)
        return fail_msg("cannot allocate a tty for a detached container without --console-socket");
    if (spec.hooks && (!spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty() ||
                       !spec.hooks->create_container.empty() || !spec.hooks->start_container.empty()))
        return fail_msg("vm isolation runs only poststart and poststop hooks; the spec has others");
    // An overlay root (org.hull.rootfs.overlay): the VM's rootfs image is its layers' merged view.
    std::vector<std::string> layers;
    if (auto overlay = HULL_TRY(linux::parse_overlay_annotation(spec))) {
        if (overlay->upper == linux::OverlayUpper::dir)
            return fail_msg(cat("annotation `", linux::kOverlayAnnotation,
                                "`: vm isolation keeps a container's changes on its own disk; an upper directory is not supported"));
        layers = overlay->lower;
    }
    Draft draft(g, o.id);
    HULL_TRY(draft.begin(g, spec));
    StateStore& store = draft.store;
    auto& mgr = draft.mgr;
    oci::Resources resources = effective_resources(*spec.linux);
    vm::allow_vmm_devices(resources);
    HULL_TRY_CTX(mgr->apply(resources), "linux.resources");
    auto vm = HULL_TRY_CTX(vm::plan_oci_vm(spec, rootfs, store.dir(o.id), layers), "vm isolation");

    std::string fifo = store.fifo(o.id);
    if (::mkfifo(fifo.c_str(), 0600) < 0) return fail_sys(cat("mkfifo ", q(fifo)));
    UniqueFd fifo_fd = HULL_TRY(fs::open(fifo, O_RDONLY | O_NONBLOCK));
    linux::ConsoleEnds console;
    if (spec.process->terminal) console = HULL_TRY(linux::console_ends(o.console_socket));
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) < 0) return fail_sys("pipe");
    UniqueFd ready_rd(ready[0]), ready_wr(ready[1]);
    auto join = HULL_TRY(mgr->self_join());
    auto vmm = HULL_TRY_CTX(process::clone_child({.flags = vm.clone_flags, .cgroup_fd = join.clone_into}), "clone the vmm");
    if (vmm.pid() == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        std::vector<int> tasks;
        for (auto& t : join.tasks) tasks.push_back(t.release());
        if (auto r = process::join_cgroup_tasks(tasks); !r) {
            std::string m = r.error().message();
            (void)!::write(ready_wr.get(), m.data(), m.size());
            ::_exit(1);
        }
        if (console.child) {
            if (auto r = linux::setup_console(console.child.get(), spec.process->console_size, false); !r) {
                std::string m = r.error().message();
                (void)!::write(ready_wr.get(), m.data(), m.size());
                ::_exit(1);
            }
        }
        vm::vmm_main(vm, fifo_fd.get(), ready_wr.get());
    }
    ready_wr.reset();
    fifo_fd.reset();
    console.child.reset();
    if (!join.usable()) HULL_TRY_CTX(mgr->add_process(vmm.pid()), "join cgroup");
    std::string reply;
    char buf[512];
    for (ssize_t n; (n = ::read(ready_rd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys("read the vmm's report");
        reply.append(buf, static_cast<std::size_t>(n));
    }
    if (reply != "r") return fail_msg(reply.empty() ? std::string("the vmm died while setting up") : reply);

    Record rec = draft.record(bundle, rootfs, vmm.pid(), spec);
    return draft.finish(o, std::move(rec), std::move(vmm), console.ours, spec);
}
// ---- end of vm isolation ---------------------------------------------------------------------

// Opens the start gate and waits until the init has exec'd (its end of exec.fifo closes on
// execve), then runs the poststart hooks.
Status start_container(const StateStore& store, const Record& rec, const std::vector<oci::Hook>& poststart) {
    std::string fifo = store.fifo(rec.id);
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO) return fail_msg(cat("cannot start container ", q(rec.id), ": its init is gone"));
        return fail_sys(cat("open ", q(fifo)));
    }
    UniqueFd gate(fd);
    if (::write(fd, "0", 1) != 1) return fail_sys(cat("write ", q(fifo)));
    ::unlink(fifo.c_str());
    UniqueFd pidfd = open_init(rec);
    struct pollfd p[2] = {{fd, 0, 0}, {pidfd.get(), POLLIN, 0}};
    while (::poll(p, pidfd ? 2 : 1, -1) < 0 && errno == EINTR) {
    }
    linux::run_hooks_warn(poststart, "poststart", state_json(rec, oci::Status::running));
    return {};
}

}  // namespace

Status create(const Globals& g, const CreateOptions& opts) {
    auto c = HULL_TRY(create_container(g, opts, false));
    // The init outlives us; whoever is our subreaper (the shim, conmon) reaps it.
    c.init.release();
    return {};
}

Status start(const Globals& g, const std::string& id) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto lock = HULL_TRY(store.lock(id));
    auto rec = HULL_TRY(store.load(id));
    auto mgr = manager_for(rec);
    auto st = status_of(store, rec, mgr ? mgr->get() : nullptr);
    if (st == oci::Status::stopped) return fail_msg("cannot start a container that has stopped");
    if (st != oci::Status::created) return fail_msg("cannot start an already running container");
    if (!rec.config.contains("process") || !rec.config["process"].contains("args"))
        return fail_msg(cat("cannot start container ", q(id), ": its config.json has no process"));
    return start_container(store, rec, hooks_of(rec, "poststart"));
}

Result<ContainerInfo> state(const Globals& g, const std::string& id) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto rec = HULL_TRY(store.load(id));
    auto mgr = manager_for(rec);
    ContainerInfo info;
    info.state.id = rec.id;
    info.state.status = status_of(store, rec, mgr ? mgr->get() : nullptr);
    info.state.pid = info.state.status == oci::Status::stopped ? 0 : rec.pid;
    info.state.bundle = rec.bundle;
    if (rec.config.contains("annotations") && rec.config["annotations"].is_object())
        for (auto& [k, v] : rec.config["annotations"].items())
            if (v.is_string()) info.state.annotations[k] = v.get<std::string>();
    info.created = rec.created;
    info.rootfs = rec.rootfs;
    info.owner = user_name(rec.owner);
    return info;
}

Status kill(const Globals& g, const std::string& id, int sig, bool all) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto rec = HULL_TRY(store.load(id));
    auto mgr = manager_for(rec);
    auto st = status_of(store, rec, mgr ? mgr->get() : nullptr);
    if (st == oci::Status::stopped) return fail_msg("container not running");
    if (all) {
        if (!mgr) return fail(std::move(mgr.error()));
        return (*mgr)->kill_all(sig);
    }
    UniqueFd pidfd = open_init(rec);
    if (!pidfd) return fail_msg("container not running");
    if (sys::pidfd_send_signal(pidfd.get(), sig, nullptr, 0) < 0) return fail_sys(cat("send signal ", sig));
    return {};
}

Status remove(const Globals& g, const std::string& id, bool force) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto lock = store.lock(id);
    if (!lock) {
        if (force && !fs::exists(store.dir(id))) return {};
        return fail(std::move(lock.error()));
    }
    auto loaded = store.load(id);
    if (!loaded) {
        // A directory without a readable state is what a crashed create leaves: --force clears it.
        if (force) return store.remove(id);
        return fail(std::move(loaded.error()));
    }
    Record rec = std::move(*loaded);
    auto mgr = manager_for(rec);
    auto st = status_of(store, rec, mgr ? mgr->get() : nullptr);
    if (st != oci::Status::stopped) {
        if (!force)
            return fail_msg(cat("cannot delete container ", q(id), " that is not stopped: ", oci::to_string(st)));
        UniqueFd pidfd = open_init(rec);
        if (mgr) (void)(*mgr)->kill_all(SIGKILL);
        if (pidfd) {
            sys::pidfd_send_signal(pidfd.get(), SIGKILL, nullptr, 0);
            if (mgr && st == oci::Status::paused) (void)(*mgr)->set_frozen(false);
            if (!wait_exit(pidfd.get(), 10000)) return fail_msg(cat("container ", q(id), " did not die after SIGKILL"));
        }
    }
    if (mgr) HULL_TRY_CTX((*mgr)->destroy(), "remove cgroup");
    HULL_TRY(store.remove(id));
    linux::run_hooks_warn(hooks_of(rec, "poststop"), "poststop", state_json(rec, oci::Status::stopped));
    // A container `hull launch` made: its layers' pin and its bundle go with it.
    return remove_launch_leftovers(id, rec.bundle, rec.config);
}

namespace {

// `run` says on stderr when the OOM killer struck, since a bare "Killed" exit status (137) does
// not tell a memory limit from a `kill -9`.
void report_oom_kills(const Record& rec) {
    auto mgr = manager_for(rec);
    if (!mgr) return;
    auto n = (*mgr)->oom_kill_count();
    if (!n || *n == 0) return;
    std::string limit;
    if (auto st = (*mgr)->stats(); st && st->memory.usage.limit && st->memory.usage.limit < (uint64_t{1} << 62))
        limit = cat(" (memory limit ", st->memory.usage.limit, " bytes)");
    std::string msg = cat("container ", q(rec.id), ": the OOM killer killed ", *n, *n == 1 ? " process" : " processes", limit);
    log::warn(msg);
    if (log::to_file()) {
        std::string line = cat("hull: ", msg, "\n");
        (void)!::write(STDERR_FILENO, line.data(), line.size());
    }
}

}  // namespace

Result<int> run(const Globals& g, const RunOptions& opts) {
    auto c = HULL_TRY(create_container(g, opts, !opts.detach));
    StateStore store(g.root);
    if (auto r = start_container(store, c.record, c.poststart); !r) {
        c.init.kill_and_reap();
        (void)remove(g, opts.id, true);
        return fail(std::move(r.error()));
    }
    if (opts.detach) {
        c.init.release();
        return 0;
    }
    auto code = process::supervise(c.init, c.console_master);
    report_oom_kills(c.record);
    if (!opts.keep) {
        if (auto r = remove(g, opts.id, true); !r) log::warn(r.error().message());
    }
    return code;
}

Result<std::vector<ContainerInfo>> list(const Globals& g) {
    StateStore store(g.root);
    std::vector<ContainerInfo> out;
    for (const auto& id : HULL_TRY(store.ids())) {
        auto info = state(g, id);
        if (info) out.push_back(std::move(*info));
    }
    return out;
}

Result<std::vector<pid_t>> pids(const Globals& g, const std::string& id) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto rec = HULL_TRY(store.load(id));
    auto mgr = HULL_TRY(manager_for(rec));
    return mgr->pids();
}

Status pause(const Globals& g, const std::string& id) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto rec = HULL_TRY(store.load(id));
    auto mgr = HULL_TRY(manager_for(rec));
    auto st = status_of(store, rec, mgr.get());
    if (st != oci::Status::running) return fail_msg(cat("container ", q(id), " is not running"));
    return mgr->set_frozen(true);
}

Status resume(const Globals& g, const std::string& id) {
    HULL_TRY(validate_id(id));
    StateStore store(g.root);
    auto rec = HULL_TRY(store.load(id));
    auto mgr = HULL_TRY(manager_for(rec));
    auto st = status_of(store, rec, mgr.get());
    if (st != oci::Status::paused) return fail_msg(cat("container ", q(id), " is not paused"));
    return mgr->set_frozen(false);
}

}  // namespace hull::runtime
