#include "runtime/linux/mount_options.hpp"

#include "common/strings.hpp"
#include "common/syscalls.hpp"

#include <sys/statvfs.h>


namespace hull::runtime::linux {

namespace {

// runc's table (libcontainer/specconv): the option, whether it clears rather than sets, and
// the MS_* flag. "defaults" is accepted and changes nothing, as in runc.
struct FlagOption {
    std::string_view name;
    bool clear;
    unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

struct PropagationOption {
    std::string_view name;
    unsigned long flags;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
};

// The recursive attributes (mount_setattr with AT_RECURSIVE). The atime settings are an enum
// in MOUNT_ATTR__ATIME, not bits: setting one means clearing the whole field and setting the
// value; "clearing" one (ratime, rnorelatime, rnostrictatime) picks the setting that undoes it.
struct RecOption {
    std::string_view name;
    bool clear;
    uint64_t attr;
};

constexpr RecOption kRecOptions[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

struct RecAtimeOption {
    std::string_view name;
    uint64_t value;  // within MOUNT_ATTR__ATIME
};

constexpr RecAtimeOption kRecAtimeOptions[] = {
    {"rnoatime", MOUNT_ATTR_NOATIME},
    {"ratime", MOUNT_ATTR_RELATIME},  // "not noatime": the kernel's default
    {"rrelatime", MOUNT_ATTR_RELATIME},
    {"rnorelatime", MOUNT_ATTR_STRICTATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", MOUNT_ATTR_RELATIME},
};

template <class T, size_t N>
const T* find(const T (&table)[N], std::string_view name) {
    for (const auto& e : table)
        if (e.name == name) return &e;
    return nullptr;
}

}  // namespace

bool MountOptions::bind() const { return (flags & MS_BIND) != 0; }
bool MountOptions::recursive() const { return (flags & MS_REC) != 0; }

Result<MountOptions> parse_mount_options(const std::vector<std::string>& options, bool bind_type,
                                         std::string_view path) {
    bool bind = bind_type;
    for (const auto& o : options)
        if (o == "bind" || o == "rbind") bind = true;

    MountOptions out;
    if (bind) out.flags |= MS_BIND;
    std::vector<std::string> data;
    for (size_t i = 0; i < options.size(); ++i) {
        const std::string& o = options[i];
        auto where = [&] { return cat(path, "[", i, "]: "); };
        if (o.empty()) return fail_msg(cat(where(), "empty mount option"));
        if (auto* p = find(kPropagationOptions, o)) {
            out.propagation.push_back(p->flags);
        } else if (auto* f = find(kFlagOptions, o)) {
            if (f->clear) {
                out.flags &= ~f->flag;
                out.cleared |= f->flag;
            } else {
                out.flags |= f->flag;
                out.cleared &= ~f->flag;
            }
        } else if (auto* r = find(kRecOptions, o)) {
            if (r->clear) {
                out.rec_clear |= r->attr;
                out.rec_set &= ~r->attr;
            } else {
                out.rec_set |= r->attr;
                out.rec_clear &= ~r->attr;
            }
        } else if (auto* a = find(kRecAtimeOptions, o)) {
            out.rec_clear |= MOUNT_ATTR__ATIME;
            out.rec_set = (out.rec_set & ~static_cast<uint64_t>(MOUNT_ATTR__ATIME)) | a->value;
        } else if (o == "tmpcopyup") {
            out.tmpcopyup = true;
        } else if (o == "idmap") {
            out.idmap = IdmapMode::top;
        } else if (o == "ridmap") {
            out.idmap = IdmapMode::recursive;
        } else if (starts_with(o, "x-")) {
            // mount(8) keeps x-* options for userspace; they never reach the kernel.
        } else if (bind) {
            // As runc: a bind mount takes no filesystem data, and the kernel ignores any given
            // (the OCI suite's own configs put `mode=755` on binds).
        } else {
            data.push_back(o);
        }
    }
    out.data = join(data, ",");
    return out;
}

unsigned long propagation_flags(oci::Propagation p) {
    using P = oci::Propagation;
    switch (p) {
    case P::unset: return 0;
    case P::shared: return MS_SHARED;
    case P::slave: return MS_SLAVE;
    case P::private_: return MS_PRIVATE;
    case P::unbindable: return MS_UNBINDABLE;
    case P::rshared: return MS_SHARED | MS_REC;
    case P::rslave: return MS_SLAVE | MS_REC;
    case P::rprivate: return MS_PRIVATE | MS_REC;
    case P::runbindable: return MS_UNBINDABLE | MS_REC;
    }
    return 0;
}

MountAttrs exact_mount_attrs(unsigned long flags) {
    struct Pair {
        unsigned long ms;
        uint64_t attr;
    };
    static constexpr Pair kBits[] = {
        {MS_RDONLY, MOUNT_ATTR_RDONLY},
        {MS_NOSUID, MOUNT_ATTR_NOSUID},
        {MS_NODEV, MOUNT_ATTR_NODEV},
        {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
        {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW},
    };
    MountAttrs a;
    for (const auto& b : kBits) {
        if (flags & b.ms) a.set |= b.attr;
        else a.clear |= b.attr;
    }
    // As a bind remount does: no atime flag keeps the mount's atime settings; any atime flag
    // recomputes them, relatime unless noatime or strictatime says otherwise.
    if (flags & kAtimeFlags) {
        a.clear |= MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME;
        if (flags & MS_STRICTATIME) a.set |= MOUNT_ATTR_STRICTATIME;
        else if (flags & MS_NOATIME) a.set |= MOUNT_ATTR_NOATIME;
        else a.set |= MOUNT_ATTR_RELATIME;
        if (flags & MS_NODIRATIME) a.set |= MOUNT_ATTR_NODIRATIME;
    }
    return a;
}

unsigned long statfs_mount_flags(unsigned long f_flags) {
    // <linux/statfs.h>; glibc's <sys/statvfs.h> lacks the newer ones.
    constexpr unsigned long kStNoSymfollow = 0x2000;
    struct Pair {
        unsigned long st;
        unsigned long ms;
    };
    static constexpr Pair kBits[] = {
        {ST_RDONLY, MS_RDONLY},       {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
        {ST_NOEXEC, MS_NOEXEC},       {ST_MANDLOCK, MS_MANDLOCK},     {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
        {ST_NOATIME, MS_NOATIME},     {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
        {kStNoSymfollow, MS_NOSYMFOLLOW},
    };
    unsigned long out = 0;
    for (const auto& b : kBits)
        if (f_flags & b.st) out |= b.ms;
    // MS_STRICTATIME is not stored as a mount flag: a mount with neither noatime nor relatime is
    // a strictatime one.
    if ((out & (MS_NOATIME | MS_RELATIME)) == 0) out |= MS_STRICTATIME;
    return out;
}

}  // namespace hull::runtime::linux
