// The eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that enforces linux.resources.devices on
// cgroup v2, built from the rules alone. Pure computation; loading and attaching are in
// devices.cpp. Internal to cgroups/ (and its unit tests, which run the program in a small
// interpreter against a reference model of the rules).
//
// Semantics, those of the v1 devices whitelist that runc's and crun's filters reproduce:
// - A rule of type `a` with no major, no minor and every access (`rwm` or empty) resets the
//   state: after an allow, everything is allowed; after a deny, nothing. Before any such rule
//   nothing is allowed (hull's v1 writes start with "deny a" too).
// - Every other rule covers its type (`a`: both `b` and `c`), its major and minor (absent or
//   negative: any), and only the access bits it names. Later rules override earlier ones, bit
//   by bit: a request (which may ask for several bits at once, as an O_RDWR open does) is
//   allowed only when each bit it asks for is allowed by the last rule covering that bit of
//   that device, or by the reset state when no rule covers it. So a later `deny c 1:3 w` also
//   stops an open for read+write, and a wildcard allow followed by a narrower deny holds.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"

#include <linux/bpf.h>

#include <vector>

namespace hull::cgroups::v2 {

// Errors on an access letter other than r, w, m, a type other than a, b, c, or a device
// number that does not fit the kernel's 32-bit context fields.
Result<std::vector<bpf_insn>> build_device_filter(const std::vector<oci::DeviceRule>& rules);

}  // namespace hull::cgroups::v2
