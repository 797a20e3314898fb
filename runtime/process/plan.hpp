// Plan first, then execute: everything the container's init (or an exec'd process) will do
// is decided here, in the parent, from the validated spec and host facts. The child then
// walks the plan as a straight script without parsing anything.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"
#include "runtime/linux/caps.hpp"
#include "runtime/linux/mounts.hpp"
#include "runtime/linux/namespaces.hpp"
#include "runtime/linux/seccomp.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace hull::runtime::process {

// The part shared by a container's init and `exec`: who the process is and what it runs.
struct ProcessPlan {
    std::vector<std::string> args, env;
    std::string cwd = "/";
    std::string path_env;              // PATH from env, for the executable lookup
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    mode_t umask = 022;
    linux::PreparedCaps caps;
    std::optional<linux::SeccompProgram> seccomp;
    std::vector<oci::Rlimit> rlimits;
    bool no_new_privs = false;
    bool terminal = false;
    std::optional<oci::ConsoleSize> console_size;
    std::optional<unsigned long> personality;
    std::optional<oci::Scheduler> scheduler;
    std::optional<oci::IoPriority> io_priority;
    std::string exec_cpu_affinity;     // execCPUAffinity.initial, applied before exec
    std::string seccomp_listener_metadata;  // linux.seccomp.listenerMetadata

    // Filled in while executing the plan.
    std::string exec_path;             // args[0] resolved inside the container
    int seccomp_listener_fd = -1;      // notify listener, when the filter was installed early
};

Result<ProcessPlan> plan_process(const oci::Process& p);

struct ContainerPlan {
    std::string id;
    linux::NamespacePlan ns;
    linux::MountPlanPtr mounts;
    std::string hostname, domainname;
    bool set_hostname = false, set_domainname = false;
    std::vector<std::pair<std::string, std::string>> sysctl;   // /proc/sys path, value
    ProcessPlan process;
    std::vector<oci::Hook> create_container_hooks, start_container_hooks;
    bool runtime_hooks = false;        // prestart or createRuntime hooks: the child stops for them
    bool new_keyring = true;
    int preserve_fds = 0;
    bool has_process = true;
    // Set by spawn_container when the init cannot be cloned straight into its cgroup (v1 and
    // hybrid hosts): a new cgroup namespace is then made by the init only after the parent
    // has moved it, since a cgroup namespace's root is the cgroup its creator was in.
    bool late_cgroup_ns = false;
};

struct ContainerFacts {
    std::string id;
    std::string bundle;                // absolute
    std::string rootfs;                // absolute, symlinks resolved
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    bool has_process = true;           // false: create only; `start` will refuse
};

Result<ContainerPlan> plan_container(const oci::Spec& spec, const ContainerFacts& facts);

// Fds the init works with; everything else above the preserved range is closed before the
// container's cwd is entered (CVE-2024-21626).
struct InitFds {
    int channel = -1;        // sync channel to the parent
    int fifo = -1;           // exec.fifo opened for reading: the start gate
    int console = -1;        // --console-socket connection, when process.terminal
    int seccomp_listener = -1;  // connection to linux.seccomp.listenerPath, when used
    std::vector<int> cgroup_tasks;  // v1 `tasks` files the init writes "0" to (cgroups::SelfJoin)
    std::string state_json;  // what the listener gets with the notify fd
};

// Moves the calling (single-threaded) process into its v1 cgroups by writing "0" to each
// `tasks` fd, and closes them. See cgroups::SelfJoin for why.
Status join_cgroup_tasks(std::vector<int>& tasks);

// The container's init: runs in the cloned child and never returns.
[[noreturn]] void container_init(ContainerPlan& plan, InitFds& fds);

// Shared with exec: the steps from "namespaces entered" to "ready to execve": rlimits,
// capabilities, user, no_new_privs, seccomp (when it must precede the user switch), cwd.
// `keep` lists the fds to keep open beyond the preserved ones.
Status become_process(ProcessPlan& plan, int preserve_fds, std::initializer_list<int> keep);
// Installs seccomp when it was left for last (no_new_privs set) and execs the process.
// Returns only on failure.
Error exec_process(ProcessPlan& plan, int listener_sock, const std::string& state_json);
// Finds the executable the way execvp would, inside the container, with the final user.
Result<std::string> find_executable(const ProcessPlan& plan);

}  // namespace hull::runtime::process
