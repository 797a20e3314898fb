// Starting, timing and reaping the commands under test.
//
// Every command runs in its own process group so that a timeout or a Ctrl-C can kill the
// runtime together with whatever it forked, and is waited for through a pidfd so that a
// deadline is a plain poll() timeout. Wall time is taken with CLOCK_MONOTONIC just before
// fork() and just after wait4() returns, which is what a careful `time` would report.
#pragma once

#include <csignal>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hull::bench {

// Set by the SIGINT/SIGTERM/SIGHUP handler; every wait loop checks it.
extern volatile std::sig_atomic_t g_interrupted;

// Installs the handlers without SA_RESTART, so that poll() and read() return EINTR.
void install_signal_handlers();

// Monotonic clock in milliseconds.
double now_ms();

struct Command {
    std::vector<std::string> argv; // argv[0] is the path that is executed
    int stdout_fd = -1;            // -1 sends the stream to /dev/null
    int stderr_fd = -1;
};

enum class Status { ok, failed, timed_out, interrupted, spawn_error };

const char* to_string(Status status);

struct Outcome {
    Status status = Status::spawn_error;
    int wait_status = 0;  // raw status from wait4
    double start_ms = 0;  // before fork()
    double end_ms = 0;    // after wait4()
    long maxrss_kib = 0;  // ru_maxrss from wait4: the command and the descendants it reaped
    double cpu_ms = 0;    // ru_utime + ru_stime from wait4, same processes
    std::string error;    // set unless status is ok

    bool ok() const { return status == Status::ok; }
    double wall_ms() const { return end_ms - start_ms; }
};

// Runs one command to completion or until timeout_ms. When interruptible, a pending
// g_interrupted stops the wait (the command is killed); cleanup passes false.
Outcome run_one(const Command& cmd, double timeout_ms, bool interruptible = true);

// Starts every command back to back, then waits for all of them. One deadline covers the
// whole batch; whatever is still running at the deadline is killed and reported timed out.
std::vector<Outcome> run_all(const std::vector<Command>& cmds, double timeout_ms);

struct TreeOutcome {
    Outcome command;        // as run_one reports it, ru_maxrss included
    long tree_maxrss_kib = 0; // the largest ru_maxrss among every process reaped by the helper
    int orphans = 0;          // descendants that outlived the command and were reparented
    bool orphans_killed = false; // some were still alive at the deadline and were killed
};

// Runs the command from a short-lived helper that is a child subreaper
// (PR_SET_CHILD_SUBREAPER): anything the command leaves behind, e.g. a double-forked
// monitor, is reparented to the helper and reaped there, so the helper's RUSAGE_CHILDREN
// ru_maxrss covers the command's whole process tree, not only what the command reaped.
TreeOutcome run_tree(const Command& cmd, double timeout_ms);

// Waits up to timeout_ms for a process that is not necessarily our child to exit (pidfd
// poll) and reaps it if it is our child (we are a subreaper, so orphaned container inits
// are). Returns the ru_maxrss of the reaped process, 0 if it was not ours to reap, or -1
// when it did not exit in time.
long wait_foreign(pid_t pid, int pidfd, double timeout_ms);

// pidfd_open(2); -1 on error.
int pidfd_open(pid_t pid);

// Reaps any exited children without blocking (orphans reparented to the bench).
void reap_strays();

} // namespace hull::bench
