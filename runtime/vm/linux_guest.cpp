#include "runtime/vm/linux_guest.hpp"

#include "common/fs.hpp"
#include "common/install_paths.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"
#include "runtime/vm/host_tools.hpp"
#include "runtime/vm/oci.hpp"
#include "runtime/vm/rootfs_image.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace hull::vm {
namespace {

using detail::Fnv64;

// Bumped whenever the machine part's layout changes, so cached archives are not reused.
constexpr std::string_view kInitramfsFormat = "initramfs-v1";

// Drivers the guest init needs: the virtio-mmio transport (found through the ACPI table the VMM
// writes); virtio-console for the VMM's control channel (/dev/hvc1; loaded before the disks'
// drivers so its ports exist by the time the process runs); virtio-blk, erofs (libcrc32c,
// which erofs needs, finds crc32c through the crypto API, which cannot load a module itself in
// a guest without modprobe, hence crc32c_generic first) and overlay to reach the root; ext4 for
// the writable disk. Built-in ones need no file. A kernel without virtio-console still boots:
// the guest init says the channel is missing and the VMM stops the VM on SIGTERM & co. itself.
const std::vector<std::string> kRootModules = {"virtio_mmio", "virtio_console", "virtio_blk", "crc32c_generic", "erofs",
                                               "overlay"};
const std::vector<std::string> kWritableModules = {"ext4"};
const std::vector<std::string> kOptionalModules = {"crc32c_generic", "virtio_console"};

// A file's identity for the cache key: a replaced or rebuilt file changes its inode, size or
// mtime, as make and rsync trust.
Status add_identity(Fnv64& h, const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return fail_sys(cat("stat ", q(path)));
    h.add(path);
    h.add_num(st.st_dev);
    h.add_num(st.st_ino);
    h.add_num(st.st_size);
    h.add_num(st.st_mtim.tv_sec);
    h.add_num(st.st_mtim.tv_nsec);
    return {};
}

// "kernel/fs/ext4/ext4.ko.xz" -> "ext4"; '-' and '_' are the same in module names.
std::string module_name(std::string_view rel) {
    auto slash = rel.rfind('/');
    std::string_view base = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
    auto dot = base.find(".ko");
    std::string name(base.substr(0, dot));
    for (auto& c : name)
        if (c == '-') c = '_';
    return name;
}

std::string normalize(std::string_view name) {
    std::string s(name);
    for (auto& c : s)
        if (c == '-') c = '_';
    return s;
}

// The machine part of the initrd (see the header), from the cache or built into it.
Result<CacheEntry> machine_archive(const std::string& init, const std::string& moddir,
                                   const std::vector<std::string>& modules) {
    Fnv64 h;
    h.add(kInitramfsFormat);
    HULL_TRY(add_identity(h, init));
    for (const auto& m : modules) HULL_TRY(add_identity(h, moddir + "/" + m));
    std::string path = cat(image_cache_dir(), "/initramfs-", h.hex(), ".cpio");
    if (auto hit = HULL_TRY_CTX(open_cache_entry(path), "image cache")) return std::move(*hit);

    CpioWriter w;
    w.add_directory("dev");
    // The kernel opens /dev/console for init before anything can mount devtmpfs.
    w.add_char_device("dev/console", 5, 1, 0600);
    for (const char* d : {"proc", "sys", "hull", "lib", "lib/modules"}) w.add_directory(d);
    std::set<std::string> dirs;
    for (const auto& m : modules) {
        for (std::size_t at = m.find('/'); at != std::string::npos; at = m.find('/', at + 1))
            if (dirs.insert(m.substr(0, at)).second) w.add_directory("lib/modules/" + m.substr(0, at));
        std::string data = HULL_TRY(fs::read_file(moddir + "/" + m));
        w.add_file("lib/modules/" + m, data, 0644);
    }
    std::string binary = HULL_TRY(fs::read_file(init));
    w.add_file("init", binary, 0755);
    std::string archive = w.finish();

    CacheBuild build = HULL_TRY_CTX(CacheBuild::start(path), "image cache");
    HULL_TRY_CTX(fs::write_fd(FdRef(build.fd()), archive), cat("write ", q(build.tmp_path())));
    return HULL_TRY_CTX(build.publish(), "image cache");
}

// Copies the cache entry `src` (from its start, whatever its fd's offset) to the end of `dst`.
Status append_file(int dst, const CacheEntry& src_entry) {
    const std::string& src = src_entry.path;
    const int in = src_entry.fd.get();
    loff_t off = 0;
    for (;;) {
        // In-kernel copy where the filesystems allow it, a plain read/write loop where not.
        ssize_t n = ::copy_file_range(in, &off, dst, nullptr, 1 << 30, 0);
        if (n == 0) return {};
        if (n > 0) continue;
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return fail_sys(cat("copy ", q(src)));
        break;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::pread(in, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys(cat("read ", q(src)));
        if (n == 0) return {};
        off += n;
        HULL_TRY(fs::write_fd(FdRef(dst), std::string_view(buf, static_cast<std::size_t>(n))));
    }
}

}  // namespace

// ---- cpio -------------------------------------------------------------------------------

void CpioWriter::add(std::string_view path, std::uint32_t mode, std::string_view data, unsigned rmajor, unsigned rminor) {
    char header[111];
    std::uint32_t nlink = (mode & S_IFMT) == S_IFDIR ? 2 : 1;
    std::uint32_t ino = path == "TRAILER!!!" ? 0 : next_ino_++;
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
    // rdevminor, namesize (with the NUL), check.
    std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u,
                  0u, nlink, 0u, static_cast<unsigned>(data.size()), 0u, 0u, rmajor, rminor,
                  static_cast<unsigned>(path.size() + 1), 0u);
    out_.append(header, 110);
    out_.append(path);
    out_.push_back('\0');
    out_.append((4 - out_.size() % 4) % 4, '\0');
    out_.append(data);
    out_.append((4 - out_.size() % 4) % 4, '\0');
}

void CpioWriter::add_directory(std::string_view path, std::uint32_t mode) { add(path, S_IFDIR | (mode & 07777), {}); }

void CpioWriter::add_file(std::string_view path, std::string_view data, std::uint32_t mode) {
    add(path, S_IFREG | (mode & 07777), data);
}

void CpioWriter::add_char_device(std::string_view path, unsigned major, unsigned minor, std::uint32_t mode) {
    add(path, S_IFCHR | (mode & 07777), {}, major, minor);
}

void CpioWriter::add_symlink(std::string_view path, std::string_view target) { add(path, S_IFLNK | 0777, target); }

std::string CpioWriter::finish() {
    add("TRAILER!!!", 0, {});
    next_ino_ = 1;
    return std::exchange(out_, {});
}

// ---- the pieces --------------------------------------------------------------------------

Result<std::string> find_guest_init() {
    return HULL_TRY_CTX(find_helper(kGuestInitName, "HULL_GUEST_INIT"), "vm isolation of a linux image needs hull's guest init");
}

Result<std::vector<std::string>> resolve_modules(const std::string& moddir, std::span<const std::string> wanted,
                                                 std::span<const std::string> optional) {
    std::string where = cat("vm.modules ", q(moddir));
    auto dep_text = fs::read_file(moddir + "/modules.dep");
    if (!dep_text) return fail(std::move(dep_text.error()).context(cat(where, " (run depmod for it)")));
    struct Entry {
        std::string rel;
        std::vector<std::string> deps;
    };
    std::map<std::string, Entry> by_name;
    std::map<std::string, std::vector<std::string>> deps_of;
    for (const auto& line : split(*dep_text, '\n')) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        Entry e;
        e.rel = line.substr(0, colon);
        for (const auto& d : split(std::string_view(line).substr(colon + 1), ' '))
            if (!d.empty()) e.deps.push_back(d);
        deps_of[e.rel] = e.deps;
        by_name.emplace(module_name(e.rel), std::move(e));
    }
    std::set<std::string> builtin;
    if (auto text = fs::read_file(moddir + "/modules.builtin"))
        for (const auto& line : split(*text, '\n'))
            if (!line.empty()) builtin.insert(module_name(line));

    std::vector<std::string> order;
    std::set<std::string> seen;
    // Depth first, dependencies before dependents; modules.dep lists each module's whole
    // closure, so the recursion only orders it.
    auto visit = [&](auto& self, const std::string& rel, int depth) -> Status {
        if (seen.contains(rel)) return {};
        if (depth > 64) return fail_msg(cat(where, ": dependency loop at ", q(rel)));
        seen.insert(rel);
        auto it = deps_of.find(rel);
        if (it == deps_of.end()) return fail_msg(cat(where, ": ", q(rel), " is a dependency but not in modules.dep"));
        for (const auto& d : it->second) HULL_TRY(self(self, d, depth + 1));
        if (rel.find("..") != std::string::npos || rel.empty() || rel[0] == '/')
            return fail_msg(cat(where, ": modules.dep names ", q(rel), ", not a path below the module tree"));
        order.push_back(rel);
        return {};
    };
    for (const auto& w : wanted) {
        std::string name = normalize(w);
        if (auto it = by_name.find(name); it != by_name.end()) {
            HULL_TRY(visit(visit, it->second.rel, 0));
            continue;
        }
        if (builtin.contains(name)) continue;
        bool opt = false;
        for (const auto& o : optional) opt = opt || normalize(o) == name;
        if (!opt) return fail_msg(cat(where, ": no module ", q(w), " in modules.dep or modules.builtin"));
    }
    return order;
}

guest::GuestProcess guest_process_for(const oci::Spec& spec) {
    guest::GuestProcess p;
    if (spec.process) {
        const oci::Process& proc = *spec.process;
        p.args = proc.args;
        p.env = proc.env;
        if (!proc.cwd.empty()) p.cwd = proc.cwd;
        p.uid = proc.user.uid;
        p.gid = proc.user.gid;
        p.additional_gids = proc.user.additional_gids;
        p.umask = proc.user.umask;
        p.terminal = proc.terminal;
        p.no_new_privileges = proc.no_new_privileges;
        for (const auto& r : proc.rlimits) p.rlimits.push_back({r.resource, r.soft, r.hard});
    }
    p.hostname = spec.hostname;
    p.readonly_root = spec.root.readonly;
    return p;
}

Result<LinuxGuest> plan_linux_guest(const oci::Spec& spec, const std::string& state_dir, bool writable_disk) {
    LinuxGuest g;
    g.config_path = config_path();
    auto loaded = HULL_TRY(load_hull_config());
    if (!loaded || !loaded->vm)
        return fail_msg(cat("vm isolation of a linux image needs a host kernel: set vm.kernel in ", q(g.config_path)));
    const HostKernelConfig& host = *loaded->vm;
    g.memory = host.memory;
    g.cpus = host.cpus;
    g.kernel = host.kernel;
    {
        // Opened here for the error; the VMM opens it again in its own mount namespace.
        UniqueFd k = HULL_TRY_CTX(fs::open(host.kernel, O_RDONLY | O_NOCTTY | O_NONBLOCK),
                                  cat("vm.kernel in ", q(g.config_path)));
        struct stat st;
        if (::fstat(k.get(), &st) < 0 || !S_ISREG(st.st_mode))
            return fail_msg(cat("vm.kernel in ", q(g.config_path), ": ", q(host.kernel), " is not a regular file"));
    }
    std::string init = HULL_TRY(find_guest_init());

    guest::GuestProcess proc = guest_process_for(spec);
    if (proc.args.empty()) return fail_msg("process.args: a linux vm needs a program to run");
    proc.writable_disk = writable_disk;
    proc.control = std::string(guest::kControlDevice);
    if (!host.modules.empty()) {
        std::vector<std::string> wanted = kRootModules;
        if (writable_disk) wanted.insert(wanted.end(), kWritableModules.begin(), kWritableModules.end());
        proc.modules = HULL_TRY(resolve_modules(host.modules, wanted, kOptionalModules));
    }
    CacheEntry machine = HULL_TRY_CTX(machine_archive(init, host.modules, proc.modules), "the guest's initramfs");

    // The container part: the process.
    CpioWriter w;
    w.add_file(guest::kProcessConfigPath.substr(1), guest::to_json(proc), 0600);
    std::string container = w.finish();
    g.initrd = state_dir + "/vm-initrd.cpio";
    UniqueFd out = HULL_TRY(fs::open(g.initrd, O_WRONLY | O_CREAT | O_EXCL, 0600));
    HULL_TRY_CTX(append_file(out.get(), machine), cat("write ", q(g.initrd)));
    HULL_TRY_CTX(fs::write_fd(out, container), cat("write ", q(g.initrd)));

    g.cmdline = std::string(kLinuxCmdline);
    if (auto it = spec.annotations.find(std::string(kCmdlineAnnotation)); it != spec.annotations.end() && !it->second.empty())
        g.cmdline += " " + it->second;
    return g;
}

Status format_writable_disk(const std::string& path) {
    auto mkfs = detail::find_tool("mkfs.ext4");
    if (!mkfs)
        return fail_msg("a writable root for a linux vm needs mkfs.ext4 (Debian package e2fsprogs): not found "
                        "(or set root.readonly)");
    // No journal: the disk is thrown away with the container, so a crash has nothing to
    // recover. The guest mounts it with noinit_itable, so the lazily initialised inode tables
    // cost no writes.
    return detail::run_tool({*mkfs, "-q", "-F", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard,root_owner=0:0",
                             "-m", "0", path},
                            *mkfs);
}

}  // namespace hull::vm
