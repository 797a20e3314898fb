// `hull launch`: image -> bundle under the store -> run(), and nothing left when it fails.
#include "runtime/launch.hpp"

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "images/pull.hpp"
#include "images/resolve.hpp"
#include "images/runtime_spec.hpp"
#include "images/store.hpp"
#include "oci-spec/image.hpp"
#include "runtime/state_store.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace hull::runtime {

namespace {

using json = nlohmann::json;

Result<std::string> random_id() {
    unsigned char b[6];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys("getrandom");
        }
        got += static_cast<size_t>(n);
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char c : b) {
        id.push_back(hex[c >> 4]);
        id.push_back(hex[c & 15]);
    }
    return id;
}

Result<std::string> real_path(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return fail_sys(cat("resolve ", q(path)));
    return std::string(buf);
}

// Our fds 0-2 pointed elsewhere while the container is created (its init inherits them), and
// put back on destruction, so a library caller's stdio is what it was.
class StdioSwap {
public:
    StdioSwap() = default;
    StdioSwap(const StdioSwap&) = delete;
    StdioSwap& operator=(const StdioSwap&) = delete;
    ~StdioSwap() { restore(); }

    Status redirect(int target, FdRef to) {
        int saved = ::fcntl(target, F_DUPFD_CLOEXEC, 3);
        if (saved < 0 && errno != EBADF) return fail_sys(cat("save fd ", target));
        if (::dup2(to.get(), target) < 0) {
            if (saved >= 0) ::close(saved);
            return fail_sys(cat("redirect fd ", target));
        }
        saved_.push_back({target, UniqueFd(saved)});
        return {};
    }

    void restore() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            if (it->second) (void)::dup2(it->second.get(), it->first);
            else ::close(it->first);
        }
        saved_.clear();
    }

private:
    std::vector<std::pair<int, UniqueFd>> saved_;
};

// Everything a launch made, undone on destruction unless keep()-ed: the container (only if
// its state names our bundle: an id taken by someone else is never touched), the pin and the
// bundle directory. Idempotent with remove()'s own clean-up through remove_launch_leftovers.
class LaunchDraft {
public:
    LaunchDraft(const Globals& g, images::Store& store, std::string id, std::string bundle)
        : g_(g), store_(store), id_(std::move(id)), bundle_(std::move(bundle)) {}
    LaunchDraft(const LaunchDraft&) = delete;
    LaunchDraft& operator=(const LaunchDraft&) = delete;
    ~LaunchDraft() {
        if (!kept_) undo();
    }

    void keep() { kept_ = true; }
    bool dir_made = false;
    bool pinned = false;
    bool ran = false;

private:
    void undo() {
        if (ran) {
            if (auto info = state(g_, id_); info && info->state.bundle == bundle_) {
                if (auto r = remove(g_, id_, true); !r) log::warn(r.error().message());
            }
        }
        if (pinned) {
            if (auto r = store_.unpin(id_); !r) log::warn(r.error().message());
        }
        if (dir_made) {
            if (auto r = fs::remove_tree(bundle_); !r) log::warn(r.error().message());
        }
    }

    const Globals& g_;
    images::Store& store_;
    std::string id_;
    std::string bundle_;
    bool kept_ = false;
};

// Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT) while the bundle is being made must not kill us halfway
// and leave it behind: those signals wait, blocked, until just before run(), and one that came
// in the meantime ends the launch there, cleanly. run() takes over from then on (it forwards
// them to the container). The old mask is back before the container's init is cloned, since
// the init would inherit it.
class DeferredSignals {
public:
    DeferredSignals() {
        sigemptyset(&set_);
        for (int s : kSignals) sigaddset(&set_, s);
        blocked_ = ::sigprocmask(SIG_BLOCK, &set_, &old_) == 0;
    }
    DeferredSignals(const DeferredSignals&) = delete;
    DeferredSignals& operator=(const DeferredSignals&) = delete;
    ~DeferredSignals() { release(); }

    // A signal that arrived while deferred (and was not blocked before), consumed; 0 if none.
    int take_pending() {
        if (!blocked_) return 0;
        sigset_t pending;
        if (::sigpending(&pending) < 0) return 0;
        for (int s : kSignals) {
            if (!sigismember(&pending, s) || sigismember(&old_, s)) continue;
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, s);
            struct timespec now {};
            (void)::sigtimedwait(&one, nullptr, &now);
            return s;
        }
        return 0;
    }

    void release() {
        if (blocked_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
        blocked_ = false;
    }

private:
    static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    sigset_t set_, old_;
    bool blocked_ = false;
};

Result<images::ImageRecord> resolve_image(images::Store& store, const LaunchOptions& o) {
    if (auto local = HULL_TRY(images::find_local_image(store, o.image))) return std::move(*local);
    images::PullOptions pull;
    pull.store_root = store.root();
    pull.tls_verify = o.tls_verify;
    return HULL_TRY_CTX(images::pull_image(o.image, pull), cat("image ", q(o.image), " is not stored locally; pull"));
}

Status check_options(const LaunchOptions& o) {
    if (o.image.empty()) return fail_msg("no image given");
    if (o.store_root.empty() || o.store_root[0] != '/')
        return fail_msg(cat("the image store ", q(o.store_root), " must be an absolute path"));
    if (!o.name.empty()) HULL_TRY(validate_id(o.name));
    if (o.detach && o.terminal)
        return fail_msg("-t and -d cannot be combined: a detached container has no terminal to attach to");
    if (o.detach && o.remove)
        return fail_msg("--rm and -d cannot be combined: nothing stays behind to remove a detached container");
    if (o.network != "host" && o.network != "none")
        return fail_msg(cat("invalid --network ", q(o.network), ": want host or none"));
    return {};
}

}  // namespace

Result<LaunchResult> launch(const Globals& g, const LaunchOptions& o) {
    HULL_TRY(check_options(o));
    auto store = HULL_TRY(images::Store::open(o.store_root));
    const std::string store_root = HULL_TRY(real_path(store.root()));
    // Held from the image lookup until the pin is written, so gc cannot take the layers away
    // in between; the pin keeps them afterwards.
    auto lease = std::make_unique<images::Lease>(HULL_TRY(store.lease()));

    auto image = HULL_TRY(resolve_image(store, o));
    auto config_text = HULL_TRY_CTX(store.read_blob(image.config_digest), cat("image ", q(image.name)));
    auto config = HULL_TRY_CTX(oci::parse_image_config(config_text), cat("image ", q(image.name)));
    auto lowers = HULL_TRY(store.lower_dirs(image));
    const std::string image_name = image.name.empty() ? image.manifest_digest.str() : image.name;

    std::string kernel;
    const bool vm = o.vm || config.os != "linux";
    if (config.os != "linux") {
        auto it = config.config.labels.find(kAnnotationVmKernel);
        if (it == config.config.labels.end() || it->second.empty())
            return fail_msg(cat("image ", q(image_name), " is for os ", q(config.os), " and has no label ",
                                q(kAnnotationVmKernel), " naming the kernel to boot it with"));
        kernel = it->second;
    }

    DeferredSignals deferred;
    const std::string id = o.name.empty() ? HULL_TRY(random_id()) : o.name;
    const std::string containers = cat(store_root, "/containers");
    const std::string bundle = cat(containers, "/", id);
    auto in_use = [&] { return fail_msg(cat("name ", q(id), " is already in use by a container")); };
    if (fs::exists(StateStore(g.root).dir(id))) return in_use();
    HULL_TRY(fs::mkdir_p(containers, 0700));
    // mkdir is the claim on the name: of two launches with one --name, only one gets here.
    if (::mkdir(bundle.c_str(), 0700) < 0) {
        if (errno == EEXIST) return in_use();
        return fail_sys(cat("mkdir ", q(bundle)));
    }
    LaunchDraft draft(g, store, id, bundle);
    draft.dir_made = true;

    HULL_TRY(fs::mkdir_p(bundle + "/rootfs", 0755));
    // A named container that is kept keeps its changes; any other gets a fresh tmpfs. So does a
    // --read-only one: the runtime creates the mount points the image lacks (/etc/hosts, a
    // volume's target) in it before it makes the root read-only (root.readonly). A VM keeps its
    // changes on its own disk, and the VM path takes no upper directory.
    json overlay = {{"lower", lowers}};
    if (!o.name.empty() && !o.remove && !o.read_only && !vm) {
        HULL_TRY(fs::mkdir_p(bundle + "/upper", 0755));
        HULL_TRY(fs::mkdir_p(bundle + "/work", 0700));
        overlay["upper"] = bundle + "/upper";
        overlay["work"] = bundle + "/work";
    } else {
        overlay["upper"] = "tmpfs";
    }

    images::SpecOptions so;
    so.id = id;
    so.hostname = o.hostname;
    so.entrypoint = o.entrypoint;
    so.cmd = o.cmd;
    so.env = o.env;
    so.workdir = o.workdir;
    so.user = o.user;
    so.terminal = o.terminal;
    so.read_only = o.read_only;
    so.volumes = o.volumes;
    so.devices = o.devices;
    so.memory = o.memory;
    so.cpus = o.cpus;
    so.pids_limit = o.pids_limit;
    so.network = o.network;
    so.layers = lowers;
    so.container_dir = bundle;
    json spec = HULL_TRY(images::make_runtime_spec(config, so));
    if (!spec.contains("annotations") || !spec["annotations"].is_object()) spec["annotations"] = json::object();
    json& ann = spec["annotations"];
    ann[kAnnotationOverlay] = overlay.dump();
    ann[kAnnotationLaunchStore] = store_root;
    ann[kAnnotationLaunchImage] = image_name;
    if (vm) ann[kAnnotationIsolation] = "vm";
    if (!kernel.empty()) ann[kAnnotationVmKernel] = kernel;
    if (o.terminal) {
        // The pty starts at our terminal's size; later changes follow (SIGWINCH) only with -i,
        // where our stdin is that terminal.
        struct winsize ws {};
        for (int fd : {STDIN_FILENO, STDOUT_FILENO}) {
            if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
                spec["process"]["consoleSize"] = {{"height", ws.ws_row}, {"width", ws.ws_col}};
                break;
            }
        }
    }
    HULL_TRY(fs::write_file(bundle + "/config.json", spec.dump(2) + "\n", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));

    std::vector<oci::Digest> chain;
    for (const auto& l : image.layers) chain.push_back(l.chain_id);
    HULL_TRY(store.pin(id, chain));
    draft.pinned = true;
    lease.reset();

    // The container's stdio: ours, but stdin only with -i; detached, a log file in the bundle.
    StdioSwap stdio;
    if (!o.interactive || o.detach) {
        auto null = HULL_TRY(fs::open("/dev/null", O_RDONLY | O_CLOEXEC));
        HULL_TRY(stdio.redirect(STDIN_FILENO, null));
    }
    if (o.detach) {
        std::string log_path = bundle + "/output.log";
        auto out = HULL_TRY(fs::open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
        HULL_TRY(stdio.redirect(STDOUT_FILENO, out));
        HULL_TRY(stdio.redirect(STDERR_FILENO, out));
    }

    if (int sig = deferred.take_pending())
        return fail_msg(cat("interrupted by signal ", sig, " (", ::sigabbrev_np(sig), ") before the container started"));
    deferred.release();

    RunOptions ro;
    ro.id = id;
    ro.bundle = bundle;
    ro.detach = o.detach;
    ro.keep = !o.remove;
    draft.ran = true;
    auto code = run(g, ro);
    stdio.restore();
    if (!code) return fail(std::move(code.error()));
    if (!o.remove) draft.keep();
    return LaunchResult{id, *code};
}

}  // namespace hull::runtime
