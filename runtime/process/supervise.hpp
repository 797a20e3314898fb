// The foreground side of `run` and `exec`: forward signals to the process, copy its
// terminal, and return its exit code once it exits.
#pragma once

#include "common/result.hpp"
#include "runtime/process/spawn.hpp"

namespace hull::runtime::process {

// Exit code as a shell reports it: the status, or 128 + the signal that killed it.
int exit_code(int wait_status);

// Waits for `child`, forwarding every catchable signal but SIGCHLD to it (SIGWINCH resizes
// the pty), and proxying `master` to our stdio when it is open.
Result<int> supervise(ChildProcess& child, UniqueFd& master);

}  // namespace hull::runtime::process
