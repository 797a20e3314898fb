#include "runtime/linux/mount_options.hpp"

#include "common/syscalls.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

namespace hull::runtime::linux {
namespace {

MountOptions parse(std::vector<std::string> opts, bool bind_type = false) {
    auto r = parse_mount_options(opts, bind_type, ".mounts[0].options");
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : MountOptions{};
}

std::string parse_error(std::vector<std::string> opts, bool bind_type = false, std::string_view path = ".mounts[3].options") {
    auto r = parse_mount_options(opts, bind_type, path);
    EXPECT_FALSE(r);
    return r ? "" : r.error().message();
}

struct FlagCase {
    const char* option;
    unsigned long set;
    unsigned long cleared;
};

TEST(MountOptions, EveryFlagOptionSetsOrClearsItsFlag) {
    const FlagCase cases[] = {
        {"defaults", 0, 0},
        {"ro", MS_RDONLY, 0},
        {"rw", 0, MS_RDONLY},
        {"nosuid", MS_NOSUID, 0},
        {"suid", 0, MS_NOSUID},
        {"nodev", MS_NODEV, 0},
        {"dev", 0, MS_NODEV},
        {"noexec", MS_NOEXEC, 0},
        {"exec", 0, MS_NOEXEC},
        {"sync", MS_SYNCHRONOUS, 0},
        {"async", 0, MS_SYNCHRONOUS},
        {"dirsync", MS_DIRSYNC, 0},
        {"remount", MS_REMOUNT, 0},
        {"mand", MS_MANDLOCK, 0},
        {"nomand", 0, MS_MANDLOCK},
        {"noatime", MS_NOATIME, 0},
        {"atime", 0, MS_NOATIME},
        {"nodiratime", MS_NODIRATIME, 0},
        {"diratime", 0, MS_NODIRATIME},
        {"relatime", MS_RELATIME, 0},
        {"norelatime", 0, MS_RELATIME},
        {"strictatime", MS_STRICTATIME, 0},
        {"nostrictatime", 0, MS_STRICTATIME},
        {"lazytime", MS_LAZYTIME, 0},
        {"nolazytime", 0, MS_LAZYTIME},
        {"iversion", MS_I_VERSION, 0},
        {"noiversion", 0, MS_I_VERSION},
        {"nosymfollow", MS_NOSYMFOLLOW, 0},
        {"symfollow", 0, MS_NOSYMFOLLOW},
        {"silent", MS_SILENT, 0},
        {"loud", 0, MS_SILENT},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.option);
        auto o = parse({c.option});
        EXPECT_EQ(o.flags, c.set);
        EXPECT_EQ(o.cleared, c.cleared);
        EXPECT_TRUE(o.propagation.empty());
        EXPECT_EQ(o.rec_set, 0u);
        EXPECT_EQ(o.rec_clear, 0u);
        EXPECT_EQ(o.data, "");
    }
}

TEST(MountOptions, BindAndRbind) {
    auto b = parse({"bind"});
    EXPECT_TRUE(b.bind());
    EXPECT_FALSE(b.recursive());
    EXPECT_EQ(b.flags, static_cast<unsigned long>(MS_BIND));

    auto rb = parse({"rbind", "ro"});
    EXPECT_TRUE(rb.bind());
    EXPECT_TRUE(rb.recursive());
    EXPECT_EQ(rb.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));

    // The type alone makes a bind mount, non-recursive.
    auto t = parse({"ro"}, true);
    EXPECT_TRUE(t.bind());
    EXPECT_FALSE(t.recursive());
}

TEST(MountOptions, LaterOptionsOverrideEarlierOnes) {
    auto o = parse({"ro", "rw"});
    EXPECT_EQ(o.flags & MS_RDONLY, 0u);
    EXPECT_EQ(o.cleared, static_cast<unsigned long>(MS_RDONLY));

    o = parse({"rw", "ro", "dev", "nodev"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY | MS_NODEV));
    EXPECT_EQ(o.cleared, 0u);
}

TEST(MountOptions, PropagationOptionsKeepTheirOrder) {
    const std::pair<const char*, unsigned long> cases[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    for (const auto& [name, flags] : cases) {
        SCOPED_TRACE(name);
        auto o = parse({name});
        ASSERT_EQ(o.propagation.size(), 1u);
        EXPECT_EQ(o.propagation[0], flags);
        EXPECT_EQ(o.flags, 0u);
    }
    auto o = parse({"rbind", "rshared", "private"});
    ASSERT_EQ(o.propagation.size(), 2u);
    EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_SHARED | MS_REC));
    EXPECT_EQ(o.propagation[1], static_cast<unsigned long>(MS_PRIVATE));
}

TEST(MountOptions, RecursiveAttributes) {
    struct Case {
        const char* option;
        uint64_t set, clear;
    };
    const Case cases[] = {
        {"rro", MOUNT_ATTR_RDONLY, 0},
        {"rrw", 0, MOUNT_ATTR_RDONLY},
        {"rnosuid", MOUNT_ATTR_NOSUID, 0},
        {"rsuid", 0, MOUNT_ATTR_NOSUID},
        {"rnodev", MOUNT_ATTR_NODEV, 0},
        {"rdev", 0, MOUNT_ATTR_NODEV},
        {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
        {"rexec", 0, MOUNT_ATTR_NOEXEC},
        {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
        {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
        {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
        {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
        // atime is an enum: the whole field is cleared and the value set.
        {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
        {"ratime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
        {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
        {"rnorelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
        {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
        {"rnostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.option);
        auto o = parse({c.option});
        EXPECT_EQ(o.rec_set, c.set);
        EXPECT_EQ(o.rec_clear, c.clear);
        EXPECT_EQ(o.flags, 0u);
        EXPECT_EQ(o.has_rec_attrs(), true);
    }
    auto o = parse({"rro", "rrw", "rnoatime", "rstrictatime"});
    EXPECT_EQ(o.rec_set, static_cast<uint64_t>(MOUNT_ATTR_STRICTATIME));
    EXPECT_EQ(o.rec_clear, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR__ATIME));
}

TEST(MountOptions, TmpcopyupAndIdmap) {
    EXPECT_TRUE(parse({"tmpcopyup"}).tmpcopyup);
    EXPECT_EQ(parse({"bind", "idmap"}).idmap, IdmapMode::top);
    EXPECT_EQ(parse({"rbind", "ridmap"}).idmap, IdmapMode::recursive);
    EXPECT_EQ(parse({"bind"}).idmap, IdmapMode::none);
}

TEST(MountOptions, UnknownOptionsAreFilesystemData) {
    auto tmpfs = parse({"nosuid", "strictatime", "mode=755", "size=65536k"});
    EXPECT_EQ(tmpfs.data, "mode=755,size=65536k");
    EXPECT_EQ(tmpfs.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));

    auto devpts = parse({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
    EXPECT_EQ(devpts.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    EXPECT_EQ(devpts.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));

    auto mqueue = parse({"nosuid", "noexec", "nodev"});
    EXPECT_EQ(mqueue.data, "");

    auto overlay = parse({"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "userxattr"});
    EXPECT_EQ(overlay.data, "lowerdir=/a:/b,upperdir=/u,workdir=/w,userxattr");
}

TEST(MountOptions, UserspaceOptionsAreDropped) {
    auto o = parse({"x-systemd.automount", "size=1m", "x-foo"});
    EXPECT_EQ(o.data, "size=1m");
    auto b = parse({"rbind", "x-whatever"});
    EXPECT_EQ(b.data, "");
}

TEST(MountOptions, FilesystemDataOnABindMountIsIgnoredAsRuncDoes) {
    // The kernel takes no data for a bind; runc passes it and the kernel drops it, and the
    // OCI suite's own configs put `mode=755` on binds.
    MountOptions bind = parse({"mode=755", "bind", "foo"}, true);
    EXPECT_TRUE(bind.data.empty());
}

TEST(MountOptions, EmptyOptionIsAnError) {
    EXPECT_EQ(parse_error({"ro", ""}, false, ".mounts[0].options"), ".mounts[0].options[1]: empty mount option");
}

TEST(MountOptions, PropagationFromTheSpecEnum) {
    using P = oci::Propagation;
    EXPECT_EQ(propagation_flags(P::unset), 0u);
    EXPECT_EQ(propagation_flags(P::shared), static_cast<unsigned long>(MS_SHARED));
    EXPECT_EQ(propagation_flags(P::slave), static_cast<unsigned long>(MS_SLAVE));
    EXPECT_EQ(propagation_flags(P::private_), static_cast<unsigned long>(MS_PRIVATE));
    EXPECT_EQ(propagation_flags(P::unbindable), static_cast<unsigned long>(MS_UNBINDABLE));
    EXPECT_EQ(propagation_flags(P::rshared), static_cast<unsigned long>(MS_SHARED | MS_REC));
    EXPECT_EQ(propagation_flags(P::rslave), static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(propagation_flags(P::rprivate), static_cast<unsigned long>(MS_PRIVATE | MS_REC));
    EXPECT_EQ(propagation_flags(P::runbindable), static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
}

TEST(MountOptions, ExactAttrsSetRequestedAndClearTheRest) {
    auto a = exact_mount_attrs(MS_RDONLY | MS_NOSUID);
    EXPECT_EQ(a.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
    EXPECT_EQ(a.clear, static_cast<uint64_t>(MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSYMFOLLOW));
    // No atime flag: the atime settings are kept, as a bind remount keeps them.
    EXPECT_EQ(a.clear & MOUNT_ATTR__ATIME, 0u);

    auto n = exact_mount_attrs(MS_NOATIME | MS_NODIRATIME);
    EXPECT_EQ(n.set, static_cast<uint64_t>(MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODIRATIME));
    EXPECT_EQ(n.clear & (MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME),
              static_cast<uint64_t>(MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME));

    auto s = exact_mount_attrs(MS_STRICTATIME);
    EXPECT_EQ(s.set, static_cast<uint64_t>(MOUNT_ATTR_STRICTATIME));
    auto r = exact_mount_attrs(MS_RELATIME);
    EXPECT_EQ(r.set & MOUNT_ATTR__ATIME, static_cast<uint64_t>(MOUNT_ATTR_RELATIME));
    EXPECT_NE(r.clear & MOUNT_ATTR__ATIME, 0u);
}

TEST(MountOptions, StatfsFlags) {
    EXPECT_EQ(statfs_mount_flags(ST_RDONLY | ST_NOSUID | ST_NODEV | ST_RELATIME),
              static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_RELATIME));
    // Neither noatime nor relatime: a strictatime mount.
    EXPECT_EQ(statfs_mount_flags(ST_NOEXEC), static_cast<unsigned long>(MS_NOEXEC | MS_STRICTATIME));
    EXPECT_EQ(statfs_mount_flags(ST_NOATIME | ST_NODIRATIME), static_cast<unsigned long>(MS_NOATIME | MS_NODIRATIME));
}

}  // namespace
}  // namespace hull::runtime::linux
