// Shared plumbing for the integration tests: running processes with a
// timeout, building bundles, driving the runtime's runc-compatible CLI, and
// checking that nothing is left behind on the host.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hull::itest {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Processes.

struct ProcResult {
    int exit_code = -1;    // Exit status, or -1 if killed by a signal.
    int term_signal = 0;   // Signal that ended the process, if any.
    bool timed_out = false;
    std::string out;
    std::string err;

    bool ok() const { return exit_code == 0 && !timed_out; }
    std::string describe() const;  // For assertion messages.
};

struct RunOptions {
    // Passed as the child's stdin (through a file, so nothing can block).
    std::string stdin_data;
    // When set, stdout goes to this file (appended) and stays open in any
    // process that inherits it, e.g. a detached container's init. The file's
    // content at exit time is still returned in ProcResult::out.
    std::optional<fs::path> stdout_file;
    // Extra descriptors for the child: {fd in this process, fd number in the
    // child}. Everything else above 2 is closed before exec.
    std::vector<std::pair<int, int>> extra_fds;
    std::chrono::milliseconds timeout = 60s;
    // Run the child in a private mount namespace in which the host's `/` is
    // read-only and only this directory stays writable. Used for hostile
    // input, so a runtime bug cannot write outside the test's temp dir.
    std::optional<fs::path> sandbox_writable;
    // Extra environment entries (NAME=value) on top of this process's.
    std::vector<std::string> env;
};

ProcResult run_process(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Poll `pred` every few milliseconds until it returns true or `timeout`
// passes; returns the last result.
template <typename Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto delay = 1ms;
    for (;;) {
        if (pred()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(delay);
        delay = std::min<std::chrono::milliseconds>(delay * 2, 50ms);
    }
}

// ---------------------------------------------------------------------------
// Files and JSON.

std::string read_text(const fs::path& p);
void write_text(const fs::path& p, const std::string& data, fs::perms perms = fs::perms(0644));
// Every line of `text` that parses as a JSON object, in order.
std::vector<json> json_lines(const std::string& text);
// The first JSON object in `text`; throws with the text if there is none.
json first_json(const std::string& text);
std::vector<std::string> split_lines(const std::string& text);

// Lines of the host's /proc/self/mountinfo that mention `needle`.
std::vector<std::string> host_mounts_mentioning(const std::string& needle);
// Host pids (other than ours) whose cmdline, root or cwd mention `needle`.
std::vector<int> host_processes_mentioning(const std::string& needle);

// cgroup directories (up to three levels below /sys/fs/cgroup and each v1
// hierarchy) whose name contains `needle`.
std::vector<fs::path> host_cgroups_mentioning(const std::string& needle);

// Lazily unmount everything below `dir` (deepest first), then delete the
// tree without crossing into other filesystems. Returns false (and leaves
// the tree) if a mount below it could not be removed.
bool remove_tree(const fs::path& dir);

// ---------------------------------------------------------------------------
// Environment of the run.

std::string runtime_path();     // $HULL_RUNTIME or the built hull binary.
bool runtime_is_runc();         // The binary under test is runc.
std::string probe_path();       // $HULL_PROBE or the built probe.
std::string busybox_path();     // Debian's busybox-static.

// The config.json that `runc spec` writes, as a JSON value.
json default_spec();

// ---------------------------------------------------------------------------
// The fixture: a bundle in a unique temp dir, a unique --root, unique ids,
// and a teardown that deletes every container it created and removes every
// file, whether or not the test passed.

class RuntimeTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // A fresh container id (prefix `hull-test-`), remembered for teardown.
    std::string new_id();
    // Remember an id created some other way (e.g. a second bundle).
    void track_id(const std::string& id) { ids_.push_back(id); }

    // Build another bundle under the temp dir (rootfs + probe + busybox).
    fs::path make_bundle(const std::string& name);
    // Write spec_ (or `spec`) as `bundle`/config.json.
    void write_spec(const fs::path& bundle, const json& spec) const;
    void write_spec() const { write_spec(bundle_, spec_); }

    // Run the runtime: `<runtime> --root <root> args...`.
    ProcResult rt(const std::vector<std::string>& args, const RunOptions& opts = {}) const;

    // Set process.args to /probe followed by `args`.
    void set_probe_args(const std::vector<std::string>& args);
    void set_probe_args(json& spec, const std::vector<std::string>& args) const;

    // `run` the bundle with spec_ under a new id; returns the runtime's
    // result (stdout is the container's stdout).
    ProcResult run_bundle(const RunOptions& opts = {});
    // `run` the probe with `args`, expect exit 0, and return every JSON line
    // it printed. Throws with the runtime's output on failure.
    std::vector<json> run_probe_lines(const std::vector<std::string>& args);
    // Same, returning only the first JSON line (usually the report).
    json run_probe(const std::vector<std::string>& args);

    // `create` (spec_ written to bundle_) with stdout to `out_file`.
    ProcResult create(const std::string& id, const fs::path& out_file,
                      const std::vector<std::string>& extra = {});
    json state(const std::string& id) const;                 // Throws on failure.
    std::optional<std::string> status(const std::string& id) const;  // nullopt if unknown.
    bool wait_status(const std::string& id, const std::string& want,
                     std::chrono::milliseconds timeout = 10s) const;
    // Wait until `file` holds at least `n` JSON lines; returns them.
    std::vector<json> wait_json_lines(const fs::path& file, size_t n,
                                      std::chrono::milliseconds timeout = 10s) const;

    // Assert that a failed create of `id` left nothing behind: no state under
    // --root, no host mount mentioning the bundle, no process in the bundle.
    void expect_nothing_left(const std::string& id, const fs::path& bundle) const;

    fs::path base_;    // Unique temp dir holding everything below.
    fs::path root_;    // --root state dir.
    fs::path bundle_;  // Default bundle.
    fs::path rootfs_;  // bundle_/rootfs.
    json spec_;        // Config for bundle_; tests edit it, then write_spec().
    std::string runtime_;
    std::vector<std::string> ids_;
    std::vector<std::string> netns_mounts_;
};

// Skip the current test when the runtime is runc and `failing` holds, with
// the given reason printed; otherwise do nothing. For behaviour that the
// Debian runc on this host legitimately lacks.
#define HULL_SKIP_FOR_RUNC_IF(failing, reason)                                      \
    do {                                                                            \
        if ((failing) && ::hull::itest::runtime_is_runc()) GTEST_SKIP() << (reason); \
    } while (0)

}  // namespace hull::itest
