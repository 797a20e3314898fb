// Seccomp: the spec's filter compiled in the parent (libseccomp) to a BPF program that the
// container's init installs with one syscall, no allocation.
//
// Where the init installs it depends on no_new_privs, as in runc and crun:
//   - process.noNewPrivileges set: last, right before execve, after the uid/gid switch and
//     the capability drop. NNP lets an unprivileged task install a filter, and the filter
//     then does not have to allow the syscalls of the init's own setup.
//   - not set: before the uid switch and the capability drop, while the init still holds
//     CAP_SYS_ADMIN, which the kernel requires to install a filter without NNP. The
//     syscalls the rest of the setup makes then go through the filter.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <linux/filter.h>

#include <string>
#include <vector>

namespace hull::runtime::linux {

struct SeccompProgram {
    std::vector<struct sock_filter> filter;
    unsigned flags = 0;             // SECCOMP_FILTER_FLAG_* from linux.seccomp.flags
    bool wants_listener = false;    // some rule is SCMP_ACT_NOTIFY: install returns a listener fd
};

// Compiles linux.seccomp for the native architecture plus those listed (the native one is
// always kept, as runc and crun do). Unknown syscall names are skipped and logged at debug
// level (a profile names syscalls newer kernels add); rules whose action equals the default
// action are skipped (libseccomp rejects them). Errors, each naming the JSON path: unknown
// architecture or flag, errnoRet on an action that takes none, an argument index above 5,
// SCMP_ACT_NOTIFY as the default action, on `write` (see install_seccomp) or without
// listenerPath, and a program longer than the kernel accepts.
Result<SeccompProgram> compile_seccomp(const oci::Seccomp& spec);

// Child side, async-signal-safe: one seccomp(SECCOMP_SET_MODE_FILTER) call, adding
// SECCOMP_FILTER_FLAG_NEW_LISTENER when `wants_listener`. Returns the listener fd (> 0; the
// kernel opens it O_CLOEXEC), 0 when installed without one, or -errno.
// Every syscall after this one is filtered, the ones that hand the listener over included:
// a NOTIFY rule on them would wait for an agent that cannot have the listener yet.
// hull's init sends the fd with sendmsg(2) (send_seccomp_listener) over a connection made
// before the pivot; compile_seccomp refuses NOTIFY on `sendmsg`, and on `write` as runc does.
int install_seccomp(const SeccompProgram& prog) noexcept;

// Parent side: the runtime-spec "ContainerProcessState" document that goes with the fd:
//   {"ociVersion", "fds": ["seccompFd"], "pid", "metadata" (when non-empty), "state"}
// `state` is the container's state.json document (status "creating", as runc sends it).
std::string seccomp_process_state_json(const nlohmann::json& state, int pid, const std::string& metadata);

// Sends `process_state_json` with `listener_fd` in SCM_RIGHTS over `sock`, a stream
// connection to linux.seccomp.listenerPath (made with connect_unix before the init left the
// host's mount namespace), as runtime-spec "seccomp notify" describes. One state per connection.
Status send_seccomp_listener(int sock, int listener_fd, const std::string& process_state_json);

}  // namespace hull::runtime::linux
