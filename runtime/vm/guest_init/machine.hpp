// The guest init's machine-level steps, in the order init.cpp runs them: the first mounts, the
// drivers from the initramfs, the disks, the overlay root, the switch into it, and the end (the
// exit status to the VMM's port). Each returns an empty string on success or the message of
// what failed; nothing here runs in the test mode (HULL_GUEST_INIT_TEST=1).
#pragma once

#include "runtime/vm/guest_init/process_config.hpp"

#include <string>

namespace hull::vm::guest {

// Where the pieces are mounted in the initramfs before the switch.
inline constexpr const char* kLowerDir = "/hull/lower";  // /dev/vda, erofs, read-only
inline constexpr const char* kRwDir = "/hull/rw";        // /dev/vdb (ext4) or a tmpfs
inline constexpr const char* kRootDir = "/hull/root";    // the overlay: the container's root

// "<what>: <strerror(errno)>", lowercased the way hull's errors are.
std::string sys_error(const std::string& what, int err);

// devtmpfs on /dev, proc on /proc, sysfs on /sys; then makes sure fds 0-2 are the console.
std::string mount_early();
// finit_module for each module (already loaded or built in is fine), in order.
std::string load_modules(const GuestProcess& p);
// Waits for /dev/vda (and /dev/vdb with a writable disk): the drivers probe asynchronously.
std::string wait_for_disks(const GuestProcess& p);
// erofs root + upper (ext4 disk or tmpfs) -> overlay at kRootDir, with /dev, /proc, /sys moved
// in and /dev/pts, /dev/shm mounted; read-only when the spec's root is.
std::string assemble_root(const GuestProcess& p);
// switch_root: frees the initramfs's files, moves kRootDir onto / and chroots into it.
std::string switch_root();
// The console's termios: raw for a process without a terminal, so its bytes reach the
// container's stdout unchanged (no \n -> \r\n, no echo of host input).
std::string set_console_raw();
// The tty /dev/console stands for ("/dev/ttyS0"), for a process that wants a terminal.
std::string console_tty();

// Writes `status` to the VMM's exit-status port (0x501), then powers off in case the port is
// not there. Never returns.
[[noreturn]] void report_and_power_off(int status);

}  // namespace hull::vm::guest
