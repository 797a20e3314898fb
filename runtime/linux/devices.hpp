// Device nodes in the container's /dev: the runtime-spec default devices, linux.devices, the
// /dev symlinks and /dev/ptmx. Planned in the parent, created by the init before pivot_root.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace hull::runtime::linux {

struct DeviceNode {
    std::string path;        // clean, absolute, inside the container
    mode_t type = 0;         // S_IFCHR, S_IFBLK or S_IFIFO
    dev_t rdev = 0;
    mode_t mode = 0666;      // permission bits
    uid_t uid = 0;
    gid_t gid = 0;
    bool is_default = false; // one of runtime-spec's default devices, not from linux.devices
};

// runtime-spec "default devices": /dev/null, zero, full, random, urandom, tty, each a 0666
// character device owned by root. /dev/ptmx is the symlink setup_ptmx makes.
std::vector<DeviceNode> default_devices();

// linux.devices, validated (errors name the JSON path: ".linux.devices[2].type: ..."), followed
// by the default devices the spec does not itself list. /dev/ptmx is left to setup_ptmx.
Result<std::vector<DeviceNode>> plan_devices(const std::vector<oci::Device>& devices);

// Creates every node inside `root` with umask 0: mknod, or, when `bind` (a user namespace, where
// mknod is not allowed) or mknod is refused, an empty file with the host's node of the same path
// bind-mounted over it. An existing node of the right type and number is kept; a spec device
// whose path holds something else is an error (runtime-spec), a default device's is replaced.
Status create_devices(FdRef root, const std::vector<DeviceNode>& devices, bool bind);

// /dev/fd -> /proc/self/fd, /dev/std{in,out,err} -> /proc/self/fd/{0,1,2}, and /dev/core ->
// /proc/kcore when the host has /proc/kcore. Existing entries are left alone.
Status create_dev_symlinks(FdRef root);

// /dev/ptmx -> pts/ptmx, replacing whatever was there (the devpts instance's own ptmx).
Status setup_ptmx(FdRef root);

}  // namespace hull::runtime::linux
