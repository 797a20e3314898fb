// A Linux image under `org.hull.isolation=vm` without `org.hull.vm.kernel`: hull boots the host
// kernel named in its configuration (config.hpp, `vm.kernel`) with its own small static guest
// init (guest_init/, `hull-guest-init`) as PID 1, which runs the OCI process and reports its
// exit status on the VMM's port 0x501.
//
// The initrd is a newc cpio archive in two parts, concatenated (the kernel unpacks each in turn):
//   - the machine part, cached in the image cache (rootfs_image.hpp) as
//     `initramfs-<key>.cpio`, the key hashing the identity (path, size, mtime, inode) of the
//     guest init and of every module file: /init, /dev/console, the modules under /lib/modules;
//   - the container part, built per create: /hull/process.json (guest_init/process_config.hpp).
// The whole goes to `<state>/vm-initrd.cpio`, removed with the state dir by `delete`.
//
// The root: /dev/vda is the erofs image of the rootfs, as for any VM container; /dev/vdb, when
// root.readonly is false, the container's sparse writable disk, here formatted ext4 on the host
// (mkfs.ext4, no journal: the disk lives only as long as the container) for the overlay's upper
// layer, so what the process writes costs disk, not guest memory.
#pragma once

#include "common/result.hpp"
#include "oci-spec/spec.hpp"
#include "runtime/vm/config.hpp"
#include "runtime/vm/guest_init/process_config.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hull::vm {

inline constexpr std::string_view kGuestInitName = "hull-guest-init";
// What hull puts before `org.hull.vm.cmdline` (the VMM appends its virtio_mmio.device= list).
// earlyprintk=serial: the kernel's log from its first line, not only once the 8250 driver is up,
// so a guest that dies early says where (the kernel drops the early console, without repeats,
// when the real one registers; `quiet` in org.hull.vm.cmdline silences both). panic=-1: a
// kernel that panics reboots at once, which ends the VM, rather than hanging.
inline constexpr std::string_view kLinuxCmdline = "console=ttyS0 earlyprintk=serial panic=-1 rdinit=/init";

// A newc ("070701") cpio archive built in memory, as the kernel's initramfs unpacker reads it:
// 110-byte ASCII-hex headers, names and data padded to 4 bytes, a TRAILER!!! entry at the end.
// Paths are relative ("init", "lib/modules"); parents must be added before their children.
class CpioWriter {
public:
    void add_directory(std::string_view path, std::uint32_t mode = 0755);
    void add_file(std::string_view path, std::string_view data, std::uint32_t mode = 0644);
    void add_char_device(std::string_view path, unsigned major, unsigned minor, std::uint32_t mode = 0600);
    void add_symlink(std::string_view path, std::string_view target);
    // Appends the trailer and returns the archive; the writer is empty afterwards.
    std::string finish();

private:
    void add(std::string_view path, std::uint32_t mode, std::string_view data, unsigned rmajor = 0, unsigned rminor = 0);
    std::string out_;
    std::uint32_t next_ino_ = 1;
};

// The guest init binary: $HULL_GUEST_INIT, else `hull-guest-init` next to hull's own binary,
// else in `../libexec/hull` from it.
Result<std::string> find_guest_init();

// The module files (paths relative to `moddir`, in load order: dependencies first, each once)
// for `wanted` module names, from `moddir`/modules.dep. A name in modules.builtin needs no file;
// a name in neither is an error unless `optional` has it.
Result<std::vector<std::string>> resolve_modules(const std::string& moddir, std::span<const std::string> wanted,
                                                 std::span<const std::string> optional = {});

// What the guest init gets from the spec: process (args, env, cwd, user, rlimits, terminal,
// noNewPrivileges), hostname, root.readonly.
guest::GuestProcess guest_process_for(const oci::Spec& spec);

// A planned Linux guest: host paths for the jail, the command line, the sizes.
struct LinuxGuest {
    std::string kernel;       // host path, from vm.kernel
    std::string initrd;       // host path, `<state>/vm-initrd.cpio`
    std::string cmdline;      // kLinuxCmdline + org.hull.vm.cmdline
    std::string config_path;  // for messages: where vm.kernel was read
    std::uint64_t memory = 0; // vm.memory: guest memory when the spec sets no limit; 0: not set
    unsigned cpus = 0;        // vm.cpus: vCPUs when the spec sets no CPU quota or cpuset; 0: not set
};

// Loads hull's configuration (missing: the one-line "needs a host kernel" error), checks the
// kernel is a readable file, resolves the modules and writes the initrd. `writable_disk`: the
// container gets /dev/vdb (format it with format_writable_disk).
Result<LinuxGuest> plan_linux_guest(const oci::Spec& spec, const std::string& state_dir, bool writable_disk);

// Puts an empty ext4 filesystem (no journal, root-owned root) on the sparse file at `path`.
Status format_writable_disk(const std::string& path);

}  // namespace hull::vm
