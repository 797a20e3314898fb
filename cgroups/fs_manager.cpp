// The cgroupfs driver. On a hybrid host the container gets a directory in every v1 hierarchy
// (limits) and in the cgroup2 mount (which tracks tasks, and which a cgroup namespace and
// systemd look at); on a unified host only the cgroup2 directory; on a legacy host only v1.
#include "cgroups/fs_manager.hpp"

#include "cgroups/convert.hpp"
#include "cgroups/stats_parse.hpp"
#include "cgroups/v1/controllers.hpp"
#include "cgroups/v2/controllers.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <set>

namespace hull::cgroups {

namespace {

// Undoes the directories create() made unless it got all the way through.
class CreatedDirs {
public:
    CreatedDirs() = default;
    CreatedDirs(const CreatedDirs&) = delete;
    CreatedDirs& operator=(const CreatedDirs&) = delete;
    ~CreatedDirs() {
        if (committed_) return;
        for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(it->c_str());
    }
    void add(std::string path) { dirs_.push_back(std::move(path)); }
    void commit() { committed_ = true; }

private:
    std::vector<std::string> dirs_;
    bool committed_ = false;
};

// mkdir each component of d.rel below the mount point, through fds opened with O_NOFOLLOW.
// `cpuset`: a v1 cpuset hierarchy, whose new cgroups need cpus/mems before tasks can join.
// `enable`: a pure v2 host, where each ancestor must delegate controllers to its children.
Status create_one(const Dir& d, CreatedDirs& made, bool cpuset, bool enable) {
    HULL_TRY(check_rel(d.rel));
    auto cur = HULL_TRY(fs::open(d.mount, O_PATH | O_DIRECTORY));
    std::string shown = d.mount;
    for (auto& part : split(std::string_view(d.rel).substr(1), '/')) {
        if (enable) v2::enable_controllers(cur, shown);
        shown = fs::join(shown, part);
        if (::mkdirat(cur.get(), part.c_str(), 0755) == 0)
            made.add(shown);
        else if (errno != EEXIST)
            return fail_sys(cat("mkdir ", q(shown)));
        int fd = ::openat(cur.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return fail(open_error(errno, shown));
        UniqueFd next(fd);
        if (cpuset) HULL_TRY(v1::inherit_cpuset(cur, next, shown));
        cur = std::move(next);
    }
    return {};
}

// The names of the child cgroups (subdirectories) of the directory `fd`, which it consumes.
Result<std::vector<std::string>> child_cgroups(UniqueFd fd, const std::string& shown) {
    DIR* dir = ::fdopendir(fd.get());
    if (!dir) return fail_sys(cat("opendir ", q(shown)));
    (void)fd.release();  // the DIR owns it now
    std::vector<std::string> children;
    while (auto* e = ::readdir(dir)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") continue;
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            is_dir = ::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) children.emplace_back(n);
    }
    ::closedir(dir);
    return children;
}

Status collect_pids(int dirfd, const std::string& shown, std::vector<pid_t>& out, int depth) {
    if (depth > 64) return fail_msg(cat("list processes: cgroup tree too deep at ", q(shown)));
    auto procs = read_at(FdRef(dirfd), "cgroup.procs", shown);
    if (!procs) {
        // Gone meanwhile (ENODEV once the kernel has removed the cgroup): no processes.
        if (procs.error().code() == ENOENT || procs.error().code() == ENODEV) return {};
        return fail(std::move(procs.error()));
    }
    for (auto& line : split(*procs, '\n')) {
        auto pid = parse_int<pid_t>(trim(line));
        // 0: a process outside our pid namespace; it has no number we could signal.
        if (pid && *pid > 0) out.push_back(*pid);
    }
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("open ", q(shown)));
    auto children = HULL_TRY(child_cgroups(UniqueFd(fd), shown));
    for (auto& c : children) {
        int cfd = ::openat(dirfd, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            if (errno == ENOENT) continue;  // removed meanwhile
            return fail_sys(cat("open ", q(fs::join(shown, c))));
        }
        UniqueFd child(cfd);
        HULL_TRY(collect_pids(child.get(), fs::join(shown, c), out, depth + 1));
    }
    return {};
}

// rmdir of `name` under `parent`, children first. cgroupfs lets a cgroup directory go with
// its control files in it, but not while it has child cgroups or tasks (EBUSY).
Status remove_tree_at(int parent, const std::string& name, const std::string& shown, int depth) {
    if (depth > 64) return fail_msg(cat("remove ", q(shown), ": cgroup tree too deep"));
    int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return {};
        return fail(open_error(errno, shown));
    }
    UniqueFd self(fd);
    int listing = ::dup(fd);
    if (listing < 0) return fail_sys(cat("dup ", q(shown)));
    auto children = HULL_TRY(child_cgroups(UniqueFd(listing), shown));
    for (auto& c : children) HULL_TRY(remove_tree_at(self.get(), c, fs::join(shown, c), depth + 1));
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) return fail_sys(cat("rmdir ", q(shown)));
    return {};
}

// Removes d's directory and everything below it, retrying for about a second while the
// kernel still counts exiting tasks (EBUSY).
Status remove_cgroup(const Dir& d) {
    std::string parent_rel = fs::dirname(d.rel);
    std::string leaf = d.rel.substr(d.rel.rfind('/') + 1);
    Result<UniqueFd> parent = parent_rel == "/" ? fs::open(d.mount, O_PATH | O_DIRECTORY)
                                                : open_dir(Dir{d.controllers, d.mount, parent_rel});
    if (!parent) {
        if (parent.error().code() == ENOENT) return {};
        return fail(std::move(parent.error()));
    }
    int wait_ms = 5, waited = 0;
    for (;;) {
        auto r = remove_tree_at(parent->get(), leaf, d.path(), 0);
        if (r || r.error().code() != EBUSY || waited >= 1000) return r;
        sleep_ms(wait_ms);
        waited += wait_ms;
        wait_ms = std::min(wait_ms * 2, 100);
    }
}

// Writes a pid to cgroup.procs. EINVAL can mean the task is still being set up by fork
// (TASK_NEW); runc retries a few times, and so do we.
Status join(const Dir& d, pid_t pid) {
    auto fd = HULL_TRY(open_dir(d));
    for (int attempt = 0;; ++attempt) {
        auto r = write_at(fd, "cgroup.procs", cat(pid), d.path());
        if (r || r.error().code() != EINVAL || attempt >= 4) return r;
        sleep_ms(30);
    }
}

bool memory_requested(const oci::Memory& m) {
    return m.limit.value_or(0) != 0 || m.reservation.value_or(0) != 0 || m.swap.value_or(0) != 0 || m.swappiness ||
           m.disable_oom_killer.value_or(false);
}

bool cpu_requested(const oci::Cpu& c) {
    return c.shares.value_or(0) != 0 || c.quota.value_or(0) != 0 || c.period.value_or(0) != 0 || c.burst ||
           c.realtime_runtime.value_or(0) != 0 || c.realtime_period.value_or(0) != 0 || c.idle;
}

bool block_io_requested(const oci::BlockIo& b) {
    return b.weight || b.leaf_weight || !b.weight_device.empty() || !b.throttle_read_bps.empty() ||
           !b.throttle_write_bps.empty() || !b.throttle_read_iops.empty() || !b.throttle_write_iops.empty();
}

// Kubernetes sends a limit for every page size it knows; those this host lacks are skipped,
// as runc skips them.
std::vector<oci::HugepageLimit> host_hugepage_limits(const std::vector<oci::HugepageLimit>& limits) {
    if (limits.empty()) return {};
    std::vector<std::string> dropped;
    auto kept = hugepage_limits_for_host(limits, hugepage_sizes(), &dropped);
    for (auto& size : dropped)
        log::debug(cat("linux.resources.hugepageLimits: page size ", q(size), " not available on this host; skipped"));
    return kept;
}

// Limits whose controller the host does not have. Kubernetes sends hugepage limits for every
// container, so refusing them would break ordinary use; say it loudly instead, as for the
// other controllers that are rarely mounted.
void warn_unmounted(std::string_view field, std::string_view controller) {
    log::warn(cat("linux.resources.", field, ": not applied: the ", q(controller), " cgroup controller is not mounted"));
}

class FsManager final : public Manager {
public:
    explicit FsManager(Placement p) : p_(std::move(p)) {}

    Status create() override {
        CreatedDirs made;
        for (auto& d : p_.v1) HULL_TRY_CTX(create_one(d, made, d.has("cpuset"), false), "create cgroup");
        if (p_.v2) HULL_TRY_CTX(create_one(*p_.v2, made, false, pure_v2()), "create cgroup");
        // An existing cgroup is reused (runc does too), but not one with processes in it: those
        // would be killed and counted as the container's.
        auto pids = HULL_TRY_CTX(this->pids(), "create cgroup");
        if (!pids.empty())
            return fail_msg(cat("create cgroup: ", q(path()), " already has ", pids.size(),
                                " process(es) in it (another container's?)"));
        if (pure_v2()) open_v2_fd();
        made.commit();
        return {};
    }

    Status add_process(pid_t pid) override {
        for (auto* d : all()) HULL_TRY_CTX(join(*d, pid), cat("move process ", pid, " into its cgroup"));
        return {};
    }

    Result<SelfJoin> self_join() const override {
        SelfJoin j;
        // bench/run.sh compares the two ways of joining: HULL_CGROUP_JOIN=pid makes the parent
        // write the pid, as runc does.
        if (const char* how = ::getenv("HULL_CGROUP_JOIN"); how && std::string_view(how) == "pid") return j;
        if (p_.v2) {
            if (!v2_fd_) open_v2_fd();
            if (!v2_fd_) return SelfJoin{};
            j.clone_into = v2_fd_.get();
        }
        for (const auto& d : p_.v1) {
            auto dir = HULL_TRY_CTX(open_dir(d), "join cgroup");
            int fd = ::openat(dir.get(), "tasks", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) return fail_sys(cat("open ", q(d.file("tasks"))));
            j.tasks.emplace_back(fd);
        }
        return j;
    }

    int clone_into_fd() const override {
        if (!pure_v2()) return -1;
        if (!v2_fd_) open_v2_fd();
        return v2_fd_ ? v2_fd_.get() : -1;
    }

    Result<std::vector<pid_t>> pids() const override {
        const Dir& d = listing_dir();
        auto fd = open_dir(d, O_RDONLY | O_DIRECTORY);
        if (!fd) {
            if (fd.error().code() == ENOENT) return std::vector<pid_t>{};
            return fail(std::move(fd.error()).context("list processes"));
        }
        std::vector<pid_t> out;
        HULL_TRY_CTX(collect_pids(fd->get(), d.path(), out, 0), "list processes");
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    Status kill_all(int sig) override {
        if (pure_v2() && sig == SIGKILL && v2::has_kill(*p_.v2)) return v2::kill(*p_.v2);

        // Freeze first so nothing forks between listing and signalling; then signal, list
        // again, and stop when a round finds no one new (the fallback when freezing fails).
        bool was_frozen = false, froze = false;
        if (freezer() != Freezer::none) {
            was_frozen = frozen().value_or(false);
            if (!was_frozen) {
                if (auto r = set_frozen(true); r)
                    froze = true;
                else
                    log::debug(cat("kill: could not freeze first (", r.error().message(), "); signalling anyway"));
            }
        }
        std::set<pid_t> signalled;
        Status result;
        for (int round = 0; round < 100 && result; ++round) {
            auto list = pids();
            if (!list) {
                result = fail(std::move(list.error()).context("kill"));
                break;
            }
            bool fresh = false;
            for (pid_t pid : *list) {
                if (!signalled.insert(pid).second) continue;
                fresh = true;
                if (::kill(pid, sig) < 0 && errno != ESRCH) result = fail_sys(cat("kill: signal ", sig, " to pid ", pid));
            }
            if (!fresh) break;
        }
        // Thaw so the signal is acted on; a paused container stays paused unless killed.
        if (froze || (was_frozen && sig == SIGKILL))
            if (auto r = set_frozen(false); !r && result) result = std::move(r);
        return result;
    }

    // Every write is idempotent, so `update` calls this again with the merged resources.
    Status apply(const oci::Resources& r) override {
        auto hugepages = host_hugepage_limits(r.hugepage_limits);
        bool network = r.network && (r.network->class_id || !r.network->priorities.empty());
        if (pure_v2()) {
            const Dir& d = *p_.v2;
            if (r.pids) HULL_TRY(v2::apply_pids(d, *r.pids));
            if (r.memory) HULL_TRY(v2::apply_memory(d, *r.memory));
            if (r.cpu) {
                HULL_TRY(v2::apply_cpu(d, *r.cpu));
                HULL_TRY(v2::apply_cpuset(d, *r.cpu));
            }
            if (r.block_io && block_io_requested(*r.block_io)) HULL_TRY(v2::apply_io(d, *r.block_io));
            HULL_TRY(v2::apply_hugetlb(d, hugepages));
            if (!r.rdma.empty()) HULL_TRY(v2::apply_rdma(d, r.rdma));
            if (network) log::warn("linux.resources.network: cgroup v2 has no net_cls or net_prio; ignored");
            HULL_TRY(v2::apply_devices(d, r.devices));
            HULL_TRY(v2::apply_unified(d, r.unified));
            return {};
        }
        if (!r.unified.empty())
            return fail_msg(cat("linux.resources.unified: needs a cgroup v2 host; this one is ", to_string(p_.layout)));
        auto need = [&](const char* controller, std::string_view field) -> Result<const Dir*> {
            if (auto* d = v1_dir(controller)) return d;
            return fail_msg(cat("linux.resources.", field, ": the ", q(controller), " cgroup controller is not mounted"));
        };
        // Device restrictions are a security boundary; never drop them silently.
        if (!r.devices.empty()) HULL_TRY(v1::apply_devices(*HULL_TRY(need("devices", "devices")), r.devices));
        if (r.pids && pids_max(r.pids->limit.value_or(0))) HULL_TRY(v1::apply_pids(*HULL_TRY(need("pids", "pids")), *r.pids));
        if (r.memory) {
            if (memory_requested(*r.memory)) HULL_TRY(v1::apply_memory(*HULL_TRY(need("memory", "memory")), *r.memory));
            else if (auto* d = v1_dir("memory")) HULL_TRY(v1::apply_memory(*d, *r.memory));  // warnings only
        }
        if (r.cpu) {
            if (cpu_requested(*r.cpu)) HULL_TRY(v1::apply_cpu(*HULL_TRY(need("cpu", "cpu")), *r.cpu));
            if (!r.cpu->cpus.empty() || !r.cpu->mems.empty())
                HULL_TRY(v1::apply_cpuset(*HULL_TRY(need("cpuset", "cpu.cpus")), *r.cpu));
        }
        if (r.block_io && block_io_requested(*r.block_io)) {
            if (auto* d = v1_dir("blkio")) HULL_TRY(v1::apply_blkio(*d, *r.block_io));
            else warn_unmounted("blockIO", "blkio");
        }
        if (!hugepages.empty()) {
            if (auto* d = v1_dir("hugetlb")) HULL_TRY(v1::apply_hugetlb(*d, hugepages));
            else warn_unmounted("hugepageLimits", "hugetlb");
        }
        if (network && r.network->class_id) {
            if (auto* d = v1_dir("net_cls")) HULL_TRY(v1::apply_net_cls(*d, *r.network->class_id));
            else warn_unmounted("network.classID", "net_cls");
        }
        if (network && !r.network->priorities.empty()) {
            if (auto* d = v1_dir("net_prio")) HULL_TRY(v1::apply_net_prio(*d, *r.network));
            else warn_unmounted("network.priorities", "net_prio");
        }
        if (!r.rdma.empty()) {
            if (auto* d = v1_dir("rdma")) HULL_TRY(v1::apply_rdma(*d, r.rdma));
            else warn_unmounted("rdma", "rdma");
        }
        return {};
    }

    Status set_frozen(bool frozen) override {
        switch (freezer()) {
        case Freezer::v1: return v1::set_frozen(*v1_dir("freezer"), frozen);
        case Freezer::v2: return v2::set_frozen(*p_.v2, frozen);
        case Freezer::none: break;
        }
        return fail_msg(cat(frozen ? "freeze" : "thaw", ": this host has no cgroup freezer (no v1 `freezer` hierarchy, no ",
                            "cgroup2 `cgroup.freeze`)"));
    }

    Result<bool> frozen() const override {
        switch (freezer()) {
        case Freezer::v1: return v1::frozen(*v1_dir("freezer"));
        case Freezer::v2: return v2::frozen(*p_.v2);
        case Freezer::none: break;
        }
        return false;
    }

    Result<Stats> stats() const override {
        Stats s;
        auto sizes = hugepage_sizes();
        if (pure_v2()) {
            HULL_TRY_CTX(v2::stats(*p_.v2, sizes, s), "cgroup stats");
            return s;
        }
        // v1 and hybrid hosts: the v1 hierarchies, as runc reads them (a hybrid host's cgroup2
        // directory tracks tasks but has no controllers enabled for the container).
        if (auto* d = v1_dir("cpuacct")) HULL_TRY_CTX(v1::cpuacct_stats(*d, s.cpu), "cgroup stats");
        if (auto* d = v1_dir("cpu")) HULL_TRY_CTX(v1::cpu_stats(*d, s.cpu), "cgroup stats");
        if (auto* d = v1_dir("cpuset")) HULL_TRY_CTX(v1::cpuset_stats(*d, s.cpuset), "cgroup stats");
        if (auto* d = v1_dir("memory")) HULL_TRY_CTX(v1::memory_stats(*d, s.memory), "cgroup stats");
        if (auto* d = v1_dir("pids")) HULL_TRY_CTX(v1::pids_stats(*d, s.pids), "cgroup stats");
        if (auto* d = v1_dir("blkio")) HULL_TRY_CTX(v1::blkio_stats(*d, s.blkio), "cgroup stats");
        if (auto* d = v1_dir("hugetlb")) HULL_TRY_CTX(v1::hugetlb_stats(*d, sizes, s.hugetlb), "cgroup stats");
        return s;
    }

    Result<uint64_t> oom_kill_count() const override {
        if (pure_v2()) return HULL_TRY_CTX(v2::oom_kill_count(*p_.v2), "count OOM kills");
        if (auto* d = v1_dir("memory")) return HULL_TRY_CTX(v1::oom_kill_count(*d), "count OOM kills");
        return uint64_t{0};
    }

    Result<UniqueFd> watch_memory_events() const override {
        if (pure_v2()) return HULL_TRY_CTX(v2::watch_memory_events(*p_.v2), "watch memory events");
        if (auto* d = v1_dir("memory")) return HULL_TRY_CTX(v1::watch_oom(*d), "watch memory events");
        return fail_msg("watch memory events: this host has no memory cgroup controller");
    }

    Status destroy() override {
        v2_fd_.reset();
        Status result;
        for (auto* d : all())
            if (auto r = remove_cgroup(*d); !r && result) result = fail(std::move(r.error()).context("remove cgroup"));
        return result;
    }

    nlohmann::json save() const override {
        auto entry = [](const Dir& d) {
            nlohmann::json e = {{"mount", d.mount}, {"dir", d.path()}};
            if (!d.is_v2()) e["controllers"] = d.controllers;
            return e;
        };
        nlohmann::json j = {{"driver", "cgroupfs"}, {"layout", to_string(p_.layout)}, {"path", p_.cgroup_path}};
        j["v1"] = nlohmann::json::array();
        for (auto& d : p_.v1) j["v1"].push_back(entry(d));
        if (p_.v2) j["v2"] = entry(*p_.v2);
        return j;
    }

    std::string path() const override { return p_.cgroup_path; }

private:
    enum class Freezer { none, v1, v2 };

    bool pure_v2() const { return p_.layout == Layout::unified; }

    std::vector<const Dir*> all() const {
        std::vector<const Dir*> out;
        for (auto& d : p_.v1) out.push_back(&d);
        if (p_.v2) out.push_back(&*p_.v2);
        return out;
    }

    const Dir* v1_dir(std::string_view controller) const {
        for (auto& d : p_.v1)
            if (d.has(controller)) return &d;
        return nullptr;
    }

    // A hierarchy every task of the container is in; pids or freezer on v1 (both cover every
    // task; the named systemd one might not be writable everywhere), else the cgroup2 dir.
    const Dir& listing_dir() const {
        if (pure_v2()) return *p_.v2;
        for (const char* c : {"pids", "freezer"})
            if (auto* d = v1_dir(c)) return *d;
        if (p_.v2) return *p_.v2;
        return p_.v1.front();
    }

    Freezer freezer() const {
        if (!pure_v2() && v1_dir("freezer")) return Freezer::v1;
        if (p_.v2 && (pure_v2() || v2::has_freeze(*p_.v2))) return Freezer::v2;
        return Freezer::none;
    }

    void open_v2_fd() const {
        auto fd = open_dir(*p_.v2, O_PATH | O_DIRECTORY);
        if (fd)
            v2_fd_ = std::move(*fd);
        else
            log::debug(cat("CLONE_INTO_CGROUP unavailable: ", fd.error().message()));
    }

    Placement p_;
    mutable UniqueFd v2_fd_;  // for clone3(CLONE_INTO_CGROUP); owned here, lent to callers
};

Result<Dir> load_dir(const nlohmann::json& e, bool v2, std::string_view where) {
    auto str = [&](const char* key) -> Result<std::string> {
        auto it = e.find(key);
        if (it == e.end() || !it->is_string()) return fail_msg(cat(where, ".", key, ": missing or not a string"));
        return it->get<std::string>();
    };
    if (!e.is_object()) return fail_msg(cat(where, ": not an object"));
    Dir d;
    if (!v2) {
        d.controllers = HULL_TRY(str("controllers"));
        if (d.controllers.empty()) return fail_msg(cat(where, ".controllers: empty"));
    }
    d.mount = HULL_TRY(str("mount"));
    std::string dir = HULL_TRY(str("dir"));
    if (d.mount.empty() || d.mount[0] != '/' || fs::clean(d.mount) != d.mount)
        return fail_msg(cat(where, ".mount: ", q(d.mount), " is not a clean absolute path"));
    std::string prefix = d.mount == "/" ? std::string() : d.mount;
    if (!starts_with(dir, prefix + "/")) return fail_msg(cat(where, ".dir: ", q(dir), " is not below ", q(d.mount)));
    d.rel = dir.substr(prefix.size());
    HULL_TRY_CTX(check_rel(d.rel), cat(where, ".dir"));
    return d;
}

}  // namespace

std::unique_ptr<Manager> make_fs_manager(Placement placement) {
    return std::make_unique<FsManager>(std::move(placement));
}

Result<std::unique_ptr<Manager>> make_manager(const Host& host, const Config& config, std::string_view proc_self_cgroup) {
    auto placement = HULL_TRY_CTX(resolve_placement(host, config, proc_self_cgroup), "cgroup");
    return make_fs_manager(std::move(placement));
}

Result<std::unique_ptr<Manager>> make_manager(const Host& host, const Config& config) {
    std::string own;
    bool absolute = config.systemd || (!config.cgroups_path.empty() && config.cgroups_path[0] == '/');
    if (auto text = fs::read_file("/proc/self/cgroup"))
        own = std::move(*text);
    else if (!absolute)
        return fail(std::move(text.error()).context("cgroup: find the runtime's own cgroup"));
    return make_manager(host, config, own);
}

Result<std::unique_ptr<Manager>> load_manager(const Host& host, const nlohmann::json& saved) {
    (void)host;  // the saved paths are complete; the host is only what they were made on
    constexpr std::string_view where = "saved cgroup state";
    if (!saved.is_object()) return fail_msg(cat(where, ": not an object"));
    if (auto it = saved.find("driver"); it != saved.end() && *it != "cgroupfs")
        return fail_msg(cat(where, ".driver: unknown driver ", q(it->dump())));
    Placement p;
    auto layout = saved.find("layout");
    if (layout == saved.end() || !layout->is_string()) return fail_msg(cat(where, ".layout: missing or not a string"));
    if (*layout == "unified") p.layout = Layout::unified;
    else if (*layout == "hybrid") p.layout = Layout::hybrid;
    else if (*layout == "legacy") p.layout = Layout::legacy;
    else return fail_msg(cat(where, ".layout: unknown layout ", q(layout->dump())));
    if (auto path = saved.find("path"); path != saved.end() && path->is_string()) p.cgroup_path = path->get<std::string>();
    else return fail_msg(cat(where, ".path: missing or not a string"));

    if (auto v1 = saved.find("v1"); v1 != saved.end()) {
        if (!v1->is_array()) return fail_msg(cat(where, ".v1: not an array"));
        for (size_t i = 0; i < v1->size(); ++i) p.v1.push_back(HULL_TRY(load_dir((*v1)[i], false, cat(where, ".v1[", i, "]"))));
    }
    if (auto v2 = saved.find("v2"); v2 != saved.end() && !v2->is_null()) p.v2 = HULL_TRY(load_dir(*v2, true, cat(where, ".v2")));
    bool ok = p.layout == Layout::unified ? p.v2 && p.v1.empty()
            : p.layout == Layout::hybrid  ? p.v2 && !p.v1.empty()
                                          : !p.v2 && !p.v1.empty();
    if (!ok) return fail_msg(cat(where, ": the directories do not match the ", to_string(p.layout), " layout"));
    return make_fs_manager(std::move(p));
}

}  // namespace hull::cgroups
