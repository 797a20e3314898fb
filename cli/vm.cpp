// `hull vm run --kernel FILE ...`: boots a kernel in hull's own KVM micro-VM with COM1 on stdio.
// The tool for debugging guests, and what the OCI VM mode runs underneath.
#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/units.hpp"
#include "runtime/vm/cache.hpp"
#include "runtime/vm/rootfs_image.hpp"
#include "runtime/vm/vm.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iterator>
#include <memory>
#include <optional>

namespace hull::cli {
namespace {

struct VmFlags {
    std::string kernel;
    std::string initrd;
    std::optional<std::string> cmdline;
    std::string memory = "128M";
    unsigned cpus = 1;
    std::vector<std::string> disks;
    double timeout = 0;
    std::string older_than;  // prune
    bool dry_run = false;    // prune
};

// A terminal on stdin goes raw for the guest (its line editing, its ^C) and comes back as it was.
class RawTerminal {
public:
    RawTerminal() {
        if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        raw.c_oflag = saved_.c_oflag;  // keep the terminal's own newline handling for output
        active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) (void)::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

const vm::StopSource* g_stop = nullptr;

void on_signal(int sig) {
    if (g_stop) g_stop->forward_signal(sig);
}

// The signals a guest may hear, for as long as the VM runs; the previous handlers return after.
// Until the guest says it listens (kReady on the control channel), SIGTERM, SIGINT, SIGHUP and
// SIGQUIT stop the VM and the others are dropped; after, each goes to the guest
// (StopSource::forward_signal), and only SIGKILL ends a guest that does not exit.
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

class GuestSignals {
public:
    explicit GuestSignals(const vm::StopSource& stop) {
        g_stop = &stop;
        struct sigaction sa{};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (std::size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &sa, &old_[i]);
        sa.sa_handler = SIG_IGN;  // a closed stdout loses guest output; it must not kill the VMM
        ::sigaction(SIGPIPE, &sa, &old_pipe_);
    }
    ~GuestSignals() {
        for (std::size_t i = 0; i < std::size(kForwarded); ++i) ::sigaction(kForwarded[i], &old_[i], nullptr);
        ::sigaction(SIGPIPE, &old_pipe_, nullptr);
        g_stop = nullptr;
    }
    GuestSignals(const GuestSignals&) = delete;
    GuestSignals& operator=(const GuestSignals&) = delete;

private:
    struct sigaction old_[std::size(kForwarded)]{}, old_pipe_{};
};

Result<vm::VmConfig> to_config(const VmFlags& f) {
    vm::VmConfig c;
    if (f.kernel.empty()) return fail_msg("--kernel is required");
    c.kernel = f.kernel;
    c.initrd = f.initrd;
    c.cmdline = f.cmdline.value_or("console=ttyS0");
    c.memory = HULL_TRY(vm::parse_memory_size(f.memory));
    c.cpus = f.cpus;
    for (const std::string& d : f.disks) {
        vm::DiskConfig disk{d, false};
        if (d.size() > 3 && d.ends_with(":ro")) {
            disk.path = d.substr(0, d.size() - 3);
            disk.read_only = true;
        } else if (d.size() > 3 && d.ends_with(":rw")) {
            disk.path = d.substr(0, d.size() - 3);
        }
        if (disk.path.empty()) return fail_msg(cat("--disk ", q(d), " names no file"));
        c.disks.push_back(std::move(disk));
    }
    if (f.timeout < 0 || std::isnan(f.timeout) || f.timeout > 1e9)
        return fail_msg(cat("--timeout must be a positive number of seconds"));
    c.timeout_ms = static_cast<std::uint64_t>(std::ceil(f.timeout * 1000));
    return c;
}

// `hull vm prune`: the image cache's entries no VM holds (runtime/vm/cache.hpp), one line each.
Result<int> prune(const VmFlags& f) {
    vm::PruneOptions o;
    o.dry_run = f.dry_run;
    if (!f.older_than.empty())
        o.older_than = std::chrono::duration_cast<std::chrono::seconds>(
            HULL_TRY_CTX(parse_go_duration(f.older_than), "--older-than"));
    const std::string dir = vm::image_cache_dir();
    const vm::PruneReport r = HULL_TRY_CTX(vm::prune_image_cache(dir, o), "vm prune");
    const auto size = [](std::uint64_t b) { return format_size(static_cast<std::int64_t>(b)); };
    std::string out;
    for (const vm::PrunedFile& p : r.removed)
        out += cat(o.dry_run ? "would remove " : "removed ", fs::join(dir, p.name), " (", size(p.bytes),
                   p.temporary ? ", stale temporary file" : "", ")\n");
    out += cat(o.dry_run ? "Would free " : "Freed ", size(r.bytes_freed), " (", r.removed.size(),
               r.removed.size() == 1 ? " file" : " files", "; ", r.in_use, " in use and ", r.recent,
               " recently used kept)\n");
    write_stdout(out);
    return 0;
}

Action setup(CLI::App& app) {
    auto f = std::make_shared<VmFlags>();
    app.add_option("--kernel", f->kernel, "kernel to boot: ELF with a PVH note, ELF vmlinux, or bzImage")
        ->type_name("FILE");
    app.add_option("--initrd", f->initrd, "initial ramdisk")->type_name("FILE");
    app.add_option("--cmdline", f->cmdline, "kernel command line (default: \"console=ttyS0\")")->type_name("STR");
    app.add_option("--memory", f->memory, "guest memory, with K, M or G suffix (default: 128M)")->type_name("SIZE");
    app.add_option("--cpus", f->cpus, "number of vCPUs (default: 1)")->type_name("N");
    add_repeatable(app, "--disk", f->disks, "virtio-blk disk backed by FILE, read-only with :ro; repeatable")
        ->type_name("FILE[:ro]");
    app.add_option("--timeout", f->timeout, "stop the guest and fail after this many seconds")->type_name("SECONDS");
    app.add_option("--older-than", f->older_than, "prune: only images last used longer ago than this (90m, 24h)")
        ->type_name("DURATION");
    app.add_flag("--dry-run", f->dry_run, "prune: list what would be removed, remove nothing");
    return [f](Context& ctx) -> Result<int> {
        if (!ctx.args.empty() && ctx.args[0] == "prune") {
            if (ctx.args.size() > 1) return fail_msg(cat("\"vm prune\" takes no arguments, got ", q(ctx.args[1])));
            return prune(*f);
        }
        if (ctx.args.empty() || ctx.args[0] != "run")
            return fail_msg(ctx.args.empty() ? std::string("\"vm\" requires a subcommand: run or prune")
                                             : cat("unknown vm subcommand ", q(ctx.args[0]), " (want run or prune)"));
        if (ctx.args.size() > 1) return fail_msg(cat("\"vm run\" takes no arguments, got ", q(ctx.args[1])));
        const vm::VmConfig config = HULL_TRY_CTX(to_config(*f), "vm");
        vm::Vm machine = HULL_TRY_CTX(vm::Vm::create(config), "vm");
        const vm::StopSource stop = HULL_TRY_CTX(vm::StopSource::create(), "vm");
        const GuestSignals signals(stop);
        const RawTerminal terminal;
        return HULL_TRY_CTX(machine.run(&stop), "vm");
    };
}

}  // namespace

extern const Command vm_command{
    "vm",
    "boot a kernel in hull's own KVM micro-VM, console on stdio",
    "run --kernel FILE [--initrd FILE] [--cmdline STR] [--memory SIZE] [--cpus N] [--disk FILE[:ro]]... "
    "[--timeout SECONDS] | prune [--older-than DURATION] [--dry-run]",
    "Boots the kernel with COM1 (8250 UART) on stdin/stdout and, in this order, a virtio-mmio\n"
    "virtio-blk device per --disk, a virtio-console writing to stdout and a second one, the\n"
    "control channel (signals and window sizes for the guest), each declared on the kernel\n"
    "command line (virtio_mmio.device=4K@0xd0000000:5, ...) and in ACPI.\n\n"
    "SIGNALS:\n"
    "   Until the guest says on the control channel that it listens, SIGTERM, SIGINT, SIGHUP\n"
    "   and SIGQUIT stop the VM (exit 128 + the signal) and SIGUSR1, SIGUSR2, SIGWINCH are\n"
    "   dropped. After, all seven go to the guest (SIGWINCH with the terminal's size) and the\n"
    "   VM ends when the guest does; SIGKILL always ends hull.\n\n"
    "EXIT STATUS:\n"
    "   N     the guest wrote byte N to I/O port 0x501\n"
    "   0     the guest reset through the i8042 (0xfe to port 0x64) or powered off\n"
    "   1     hull or the guest failed: triple fault, KVM emulation error, an access to memory\n"
    "         that is neither RAM nor a device, --timeout expired, or bad input; one line on\n"
    "         stderr says which (with the guest's rip where known)\n"
    "   130   SIGINT stopped the VM before the guest listened for signals (143 for SIGTERM:\n"
    "         128 + the signal number)\n\n"
    "Guest memory is an anonymous memfd: nothing is left behind, even after SIGKILL.\n\n"
    "prune removes the VM image cache's entries ($HULL_VM_CACHE, else /var/cache/hull/vm: the\n"
    "rootfs and layer images and initramfs parts VM containers boot from) that no running VM\n"
    "holds, and temporary files of interrupted builds; --older-than keeps those used more\n"
    "recently. They are rebuilt when next needed.",
    setup,
};

}  // namespace hull::cli
