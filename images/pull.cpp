#include "images/pull.hpp"

#include "common/install_paths.hpp"
#include "images/reference.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <vector>

extern char** environ;

namespace hull::images {
namespace {

// The helper's pid while pull_image waits for it; signals that would end hull are passed on,
// so Ctrl-C, `kill` or a hangup stop the download too (and the helper's status says so).
std::atomic<pid_t> g_helper{0};

void forward_signal(int sig) {
    pid_t p = g_helper.load();
    if (p > 0) ::kill(p, sig);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

class ForwardSignals {
public:
    explicit ForwardSignals(pid_t child) {
        g_helper.store(child);
        struct sigaction sa{};
        sa.sa_handler = forward_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < std::size(kForwarded); ++i) {
            ::sigaction(kForwarded[i], nullptr, &old_[i]);
            // An ignored signal stays ignored (nohup, a shell's background job): the helper
            // inherited that too.
            if (old_[i].sa_handler != SIG_IGN) ::sigaction(kForwarded[i], &sa, nullptr);
        }
    }
    ~ForwardSignals() {
        for (size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &old_[i], nullptr);
        g_helper.store(0);
    }
    ForwardSignals(const ForwardSignals&) = delete;
    ForwardSignals& operator=(const ForwardSignals&) = delete;

private:
    struct sigaction old_[std::size(kForwarded)]{};
};

std::string signal_name(int sig) {
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    default: return cat("signal ", sig);
    }
}

class SpawnActions {
public:
    SpawnActions() { ::posix_spawn_file_actions_init(&fa_); }
    ~SpawnActions() { ::posix_spawn_file_actions_destroy(&fa_); }
    SpawnActions(const SpawnActions&) = delete;
    SpawnActions& operator=(const SpawnActions&) = delete;
    posix_spawn_file_actions_t* get() { return &fa_; }

private:
    posix_spawn_file_actions_t fa_;
};

}  // namespace

Result<std::string> fetch_helper_path() { return find_helper("hull-fetch", "HULL_FETCH"); }

Result<ImageRecord> pull_image(const std::string& ref, const PullOptions& opts) {
    if (opts.store_root.empty() || opts.store_root.front() != '/')
        return fail_msg(cat("image store `", opts.store_root, "` is not an absolute path"));
    // Bad references fail here, without a process.
    HULL_TRY(parse_reference(ref));
    const std::string helper = HULL_TRY(fetch_helper_path());

    std::vector<std::string> args = {helper, "--store", opts.store_root, "--status-fd", "3"};
    if (!opts.tls_verify) args.push_back("--tls-verify=false");
    if (!opts.authfile.empty()) args.insert(args.end(), {"--authfile", opts.authfile});
    if (!opts.platform.empty()) args.insert(args.end(), {"--platform", opts.platform});
    if (!opts.cert_dir.empty()) args.insert(args.end(), {"--cert-dir", opts.cert_dir});
    if (opts.quiet) args.push_back("--quiet");
    args.insert(args.end(), {"--", ref});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // The environment minus any inherited HULL_FETCH_CREDS, plus ours: credentials travel in
    // the environment (readable by the owner only), not on the world-readable command line.
    std::vector<std::string> env_store;
    for (char** e = environ; e && *e; ++e)
        if (!std::string_view(*e).starts_with("HULL_FETCH_CREDS=")) env_store.emplace_back(*e);
    if (!opts.creds.empty()) env_store.push_back(cat("HULL_FETCH_CREDS=", opts.creds));
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fail_sys("pull: pipe");
    UniqueFd rd(p[0]), wr_low(p[1]);
    // Above the descriptors the child's 0-3 are made from, so no dup2 clobbers another's source.
    UniqueFd wr(::fcntl(wr_low.get(), F_DUPFD_CLOEXEC, 10));
    if (!wr) return fail_sys("pull: dup the status pipe");
    wr_low = UniqueFd();
    UniqueFd progress(::fcntl(opts.progress_fd, F_DUPFD_CLOEXEC, 10));
    if (!progress) return fail_sys(cat("pull: progress fd ", opts.progress_fd));

    SpawnActions fa;
    ::posix_spawn_file_actions_addopen(fa.get(), 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(fa.get(), progress.get(), 1);
    ::posix_spawn_file_actions_adddup2(fa.get(), progress.get(), 2);
    ::posix_spawn_file_actions_adddup2(fa.get(), wr.get(), 3);

    pid_t pid = -1;
    int err = ::posix_spawn(&pid, helper.c_str(), fa.get(), nullptr, argv.data(), envp.data());
    if (err != 0) {
        errno = err;
        return fail_sys(cat("pull: run `", helper, "`"));
    }
    wr = UniqueFd();
    progress = UniqueFd();

    std::string status;
    int wait_status = 0;
    {
        const ForwardSignals forward(pid);
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(rd.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            if (status.size() < (64 << 10)) status.append(buf, static_cast<size_t>(n));
        }
        while (::waitpid(pid, &wait_status, 0) < 0) {
            if (errno == EINTR) continue;
            return fail_sys(cat("pull: wait for `", helper, "`"));
        }
    }
    if (auto nl = status.find('\n'); nl != std::string::npos) status.resize(nl);

    if (WIFSIGNALED(wait_status)) {
        int sig = WTERMSIG(wait_status);
        return fail_msg(cat("pull `", ref, "`: ", sig == SIGINT ? "interrupted" : "hull-fetch was killed",
                            " (", signal_name(sig), ")"));
    }
    const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    if (status.starts_with("error\t")) return fail_msg(status.substr(6));
    if (code != 0 || !status.starts_with("ok\t"))
        return fail_msg(cat("pull `", ref, "`: `", helper, "` exited with status ", code, " and no result"));

    const std::vector<std::string> fields = split(status, '\t');
    if (fields.size() != 4) return fail_msg(cat("pull `", ref, "`: unexpected result from `", helper, "`: ", q(status)));
    Store store = HULL_TRY(Store::open(opts.store_root));
    ImageRecord rec = HULL_TRY_CTX(store.find_image(fields[1]), cat("pull `", ref, "`"));
    return rec;
}

}  // namespace hull::images
