// The VM image cache (runtime/vm/cache.hpp): which names are its own, building and publishing
// entries, lookups that hold them, and pruning, checked against locks other processes really
// hold and against a pruner running concurrently with lookups and builds.
#include "runtime/vm/cache.hpp"

#include "runtime/vm/disk_lock.hpp"
#include "runtime/vm/rootfs_image.hpp"
#include "tests/unit/vm/lock_holder.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace hull::vm {
namespace {

namespace fs = std::filesystem;
using test::HeldLock;
using Kind = HeldLock::Kind;
using namespace std::chrono_literals;

constexpr const char* kKey1 = "0123456789abcdef";
constexpr const char* kKey2 = "fedcba9876543210";
constexpr const char* kKey3 = "00000000deadbeef";

class ImageCache : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-image-cache-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        dir_ = base_ + "/cache";
        fs::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }

    std::string put(const std::string& name, const std::string& data = std::string(10000, 'x')) const {
        std::string p = dir_ + "/" + name;
        std::ofstream(p, std::ios::binary) << data;
        return p;
    }
    bool has(const std::string& name) const { return fs::exists(fs::symlink_status(dir_ + "/" + name)); }
    void age(const std::string& name, std::chrono::seconds by) const {
        struct timespec t[2];
        ::clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= by.count();
        t[1] = t[0];
        ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ + "/" + name).c_str(), t, 0), 0);
    }
    static std::vector<std::string> names(const PruneReport& r) {
        std::vector<std::string> v;
        for (const auto& f : r.removed) v.push_back(f.name);
        return v;
    }
    static ino_t inode_of(int fd) {
        struct stat st;
        EXPECT_EQ(::fstat(fd, &st), 0);
        return st.st_ino;
    }
    static ino_t inode_at(const std::string& path) {
        struct stat st;
        return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
    }

    std::string base_, dir_;
};

TEST(ImageCacheNames, OwnPatternsOnly) {
    EXPECT_EQ(classify_cache_name("0123456789abcdef.erofs"), CacheName::entry);
    EXPECT_EQ(classify_cache_name("layers-0123456789abcdef.erofs"), CacheName::entry);
    EXPECT_EQ(classify_cache_name("initramfs-0123456789abcdef.cpio"), CacheName::entry);
    EXPECT_EQ(classify_cache_name("0123456789abcdef.erofs.tmp.4242"), CacheName::temporary);
    EXPECT_EQ(classify_cache_name("layers-0123456789abcdef.erofs.tmp.Ab3xYz"), CacheName::temporary);
    EXPECT_EQ(classify_cache_name("initramfs-0123456789abcdef.cpio.tmp.1"), CacheName::temporary);
    for (const char* foreign : {"", ".", "..", "notes.txt", "0123456789abcde.erofs", "0123456789abcdef0.erofs",
                                "0123456789ABCDEF.erofs", "0123456789abcdeg.erofs", "0123456789abcdef.cpio",
                                "initramfs-0123456789abcdef.erofs", "layers-.erofs", "0123456789abcdef.erofs.bak",
                                "0123456789abcdef.erofs.tmp.", "x0123456789abcdef.erofs.tmp.1", "vmlinux-6.1"})
        EXPECT_EQ(classify_cache_name(foreign), CacheName::foreign) << foreign;
}

TEST_F(ImageCache, PruneRemovesUnusedAndKeepsLocked) {
    put(std::string(kKey1) + ".erofs");
    put(std::string("layers-") + kKey2 + ".erofs", std::string(50000, 'y'));
    std::string used = put(std::string("initramfs-") + kKey3 + ".cpio");
    // A VMM's read-only disk lock, in another process.
    HeldLock vmm(used, Kind::ofd_shared);
    ASSERT_TRUE(vmm.ok());
    struct stat a, b;
    ASSERT_EQ(::stat((dir_ + "/" + kKey1 + ".erofs").c_str(), &a), 0);
    ASSERT_EQ(::stat((dir_ + "/layers-" + kKey2 + ".erofs").c_str(), &b), 0);

    auto r = prune_image_cache(dir_);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(names(*r), (std::vector<std::string>{std::string(kKey1) + ".erofs", std::string("layers-") + kKey2 + ".erofs"}));
    EXPECT_EQ(r->bytes_freed, static_cast<std::uint64_t>(a.st_blocks + b.st_blocks) * 512);
    EXPECT_GT(r->bytes_freed, 60000u);
    EXPECT_EQ(r->in_use, 1u);
    EXPECT_FALSE(has(std::string(kKey1) + ".erofs"));
    EXPECT_TRUE(has(std::string("initramfs-") + kKey3 + ".cpio"));

    // The VM ends: now it goes too.
    vmm.release();
    r = prune_image_cache(dir_);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(names(*r), std::vector<std::string>{std::string("initramfs-") + kKey3 + ".cpio"});
    EXPECT_EQ(r->in_use, 0u);
    EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ImageCache, PruneKeepsAnEntryThisProcessHolds) {
    std::string p = put(std::string(kKey1) + ".erofs");
    auto entry = open_cache_entry(p);
    ASSERT_TRUE(entry && *entry) << (entry ? "no entry" : entry.error().message());
    auto r = prune_image_cache(dir_);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->removed.empty());
    EXPECT_EQ(r->in_use, 1u);
    EXPECT_TRUE(has(std::string(kKey1) + ".erofs"));
}

TEST_F(ImageCache, PruneLeavesForeignNamesAlone) {
    put("notes.txt");
    put("0123456789ABCDEF.erofs");
    put(std::string(kKey1) + ".erofs.bak");
    fs::create_directory(dir_ + "/layers-" + kKey2 + ".erofs");  // right name, a directory
    std::string outside = base_ + "/outside.img";
    std::ofstream(outside) << "keep me";
    fs::create_symlink(outside, dir_ + "/" + kKey3 + ".erofs");  // right name, a symlink
    auto r = prune_image_cache(dir_);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->removed.empty()) << names(*r).front();
    EXPECT_EQ(r->bytes_freed, 0u);
    for (const std::string& n : std::vector<std::string>{"notes.txt", "0123456789ABCDEF.erofs", std::string(kKey1) + ".erofs.bak",
                                std::string("layers-") + kKey2 + ".erofs", std::string(kKey3) + ".erofs"})
        EXPECT_TRUE(has(n)) << n;
    EXPECT_TRUE(fs::exists(outside));
}

TEST_F(ImageCache, MissingDirectoryIsEmpty) {
    auto r = prune_image_cache(base_ + "/none");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->removed.empty());
    EXPECT_FALSE(fs::exists(base_ + "/none"));
}

TEST_F(ImageCache, OlderThanGoesByLastUse) {
    std::string old_name = std::string(kKey1) + ".erofs";
    std::string new_name = std::string(kKey2) + ".erofs";
    std::string used_name = std::string("layers-") + kKey3 + ".erofs";
    put(old_name);
    put(new_name);
    std::string used = put(used_name);
    age(old_name, 48h);
    age(new_name, 1h);
    age(used_name, 48h);
    // A cache hit counts as a use: it refreshes the mtime.
    {
        auto hit = open_cache_entry(used);
        ASSERT_TRUE(hit && *hit);
    }
    PruneOptions o;
    o.older_than = 24h;
    auto r = prune_image_cache(dir_, o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(names(*r), std::vector<std::string>{old_name});
    EXPECT_EQ(r->recent, 2u);
    EXPECT_TRUE(has(new_name));
    EXPECT_TRUE(has(used_name));
    o.older_than = 30min;
    r = prune_image_cache(dir_, o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(names(*r), std::vector<std::string>{new_name});
}

TEST_F(ImageCache, StaleTemporaryFilesGoAndLiveBuildsStay) {
    // An interrupted build of the old naming (pid) and of the new one, both unlocked: stale,
    // whatever their age.
    std::string stale1 = std::string(kKey1) + ".erofs.tmp.4242";
    std::string stale2 = std::string("initramfs-") + kKey2 + ".cpio.tmp.q1w2e3";
    put(stale1);
    put(stale2);
    auto live = CacheBuild::start(dir_ + "/layers-" + kKey3 + ".erofs");
    ASSERT_TRUE(live) << live.error().message();
    std::string live_name = fs::path(live->tmp_path()).filename();
    EXPECT_EQ(classify_cache_name(live_name), CacheName::temporary);
    PruneOptions o;
    o.older_than = 24h;
    auto r = prune_image_cache(dir_, o);
    ASSERT_TRUE(r) << r.error().message();
    std::vector<std::string> want = {stale2, stale1};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(names(*r), want);
    for (const auto& f : r->removed) EXPECT_TRUE(f.temporary);
    EXPECT_EQ(r->in_use, 1u);
    EXPECT_TRUE(has(live_name));
}

TEST_F(ImageCache, DryRunRemovesNothing) {
    put(std::string(kKey1) + ".erofs");
    put(std::string(kKey2) + ".erofs.tmp.1");
    PruneOptions o;
    o.dry_run = true;
    auto r = prune_image_cache(dir_, o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->removed.size(), 2u);
    EXPECT_GT(r->bytes_freed, 0u);
    EXPECT_TRUE(has(std::string(kKey1) + ".erofs"));
    EXPECT_TRUE(has(std::string(kKey2) + ".erofs.tmp.1"));
}

TEST_F(ImageCache, BuildPublishesLockedAndCleansUp) {
    std::string path = base_ + "/new/cache/" + kKey1 + ".erofs";  // the directory is made
    {
        auto b = CacheBuild::start(path);
        ASSERT_TRUE(b) << b.error().message();
        ASSERT_EQ(::write(b->fd(), "image", 5), 5);
        auto e = b->publish();
        ASSERT_TRUE(e) << e.error().message();
        EXPECT_EQ(e->path, path);
        EXPECT_EQ(inode_of(e->fd.get()), inode_at(path));
        // Held: a prune keeps it, and a writer cannot lock it.
        auto r = prune_image_cache(base_ + "/new/cache");
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->removed.empty());
        EXPECT_EQ(fs::perms(fs::status(base_ + "/new/cache").permissions()), fs::perms(0700));
    }
    {
        // An abandoned build leaves nothing.
        auto b = CacheBuild::start(base_ + "/new/cache/" + kKey2 + ".erofs");
        ASSERT_TRUE(b);
    }
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(base_ + "/new/cache")) left.push_back(e.path().filename());
    EXPECT_EQ(left, std::vector<std::string>{std::string(kKey1) + ".erofs"});
}

TEST_F(ImageCache, PublishNeverReplacesAnotherBuildersEntry) {
    std::string path = dir_ + "/" + kKey1 + ".erofs";
    auto first = CacheBuild::start(path);
    auto second = CacheBuild::start(path);
    ASSERT_TRUE(first && second);
    ASSERT_EQ(::write(first->fd(), "first", 5), 5);
    ASSERT_EQ(::write(second->fd(), "second", 6), 6);
    auto a = first->publish();
    ASSERT_TRUE(a) << a.error().message();
    // The second finds the first's entry in place and uses it: a VM may already hold it.
    auto b = second->publish();
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(inode_of(a->fd.get()), inode_of(b->fd.get()));
    EXPECT_EQ(inode_at(path), inode_of(a->fd.get()));
    second = fail_msg("gone");  // destroy the build: its temporary file goes
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir_)) left.push_back(e.path().filename());
    EXPECT_EQ(left, std::vector<std::string>{std::string(kKey1) + ".erofs"});
}

TEST_F(ImageCache, LookupWaitsOutAPruneAndSeesTheRemoval) {
    // A prune's write lock, held while the lookup starts; the entry is then replaced and the
    // lock goes. The lookup must come back with the new file, not the one it opened first.
    std::string path = put(std::string(kKey1) + ".erofs", "old");
    HeldLock pruner(path, Kind::ofd_exclusive);
    ASSERT_TRUE(pruner.ok());
    std::optional<Result<std::optional<CacheEntry>>> got;
    std::thread lookup([&] { got = open_cache_entry(path); });
    std::this_thread::sleep_for(100ms);
    // One step, as a prune's unlink and a builder's publish look to a lookup that is not in
    // between them (with a gap, the lookup rightly finds no entry and builds).
    std::ofstream(base_ + "/new") << "new";
    ASSERT_EQ(::rename((base_ + "/new").c_str(), path.c_str()), 0);
    pruner.release();
    lookup.join();
    ASSERT_TRUE(got && *got && **got) << (got && !*got ? (*got).error().message() : "no entry");
    CacheEntry& e = ***got;
    EXPECT_EQ(inode_of(e.fd.get()), inode_at(path));
    char buf[8] = {};
    EXPECT_EQ(::pread(e.fd.get(), buf, sizeof buf, 0), 3);
    EXPECT_STREQ(buf, "new");
}

TEST_F(ImageCache, LookupOfARemovedEntryFindsNone) {
    std::string path = put(std::string(kKey1) + ".erofs");
    HeldLock pruner(path, Kind::ofd_exclusive);
    ASSERT_TRUE(pruner.ok());
    std::optional<Result<std::optional<CacheEntry>>> got;
    std::thread lookup([&] { got = open_cache_entry(path); });
    std::this_thread::sleep_for(50ms);
    ASSERT_EQ(::unlink(path.c_str()), 0);
    pruner.release();
    lookup.join();
    ASSERT_TRUE(got && *got);
    EXPECT_FALSE(**got) << "the lookup kept a removed entry";
}

TEST_F(ImageCache, LookupGivesUpOnALongWriteLock) {
    std::string path = put(std::string(kKey1) + ".erofs");
    HeldLock writer(path, Kind::ofd_exclusive);
    ASSERT_TRUE(writer.ok());
    auto r = open_cache_entry(path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "image cache entry `" + path + "` is locked for writing by another process");
}

TEST_F(ImageCache, ConcurrentPrunesNeverTakeAHeldEntry) {
    // A pruner process removes everything unused as fast as it can while this process looks
    // entries up or builds them, as `create` does. Every entry this process holds must stay
    // the file its name leads to, with the content it was built with.
    struct Pruner {
        pid_t pid = ::fork();
        // Ended however the test ends (an ASSERT returns early).
        ~Pruner() {
            if (pid > 0) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
            }
        }
    } pruner;
    ASSERT_GE(pruner.pid, 0);
    if (pruner.pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) (void)prune_image_cache(dir_);
    }
    int held_checks = 0, builds = 0, hits = 0;
    const auto until = std::chrono::steady_clock::now() + 1500ms;
    for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
        std::string key = i % 2 ? kKey1 : kKey2;
        std::string path = dir_ + "/" + key + ".erofs";
        auto hit = open_cache_entry(path);
        ASSERT_TRUE(hit) << hit.error().message();
        std::optional<CacheEntry> entry = std::move(*hit);
        if (entry) {
            ++hits;
        } else {
            auto b = CacheBuild::start(path);
            ASSERT_TRUE(b) << b.error().message();
            ASSERT_EQ(::write(b->fd(), key.data(), key.size()), static_cast<ssize_t>(key.size()));
            auto e = b->publish();
            ASSERT_TRUE(e) << e.error().message();
            entry = std::move(*e);
            ++builds;
        }
        for (int k = 0; k < 3; ++k) {
            ASSERT_EQ(inode_of(entry->fd.get()), inode_at(path)) << "a held entry was removed or replaced";
            std::this_thread::yield();
        }
        char buf[17] = {};
        ASSERT_EQ(::pread(entry->fd.get(), buf, 16, 0), 16);
        ASSERT_EQ(std::string(buf), key);
        ++held_checks;
    }
    EXPECT_GT(builds, 1) << "the pruner never removed an entry: the race was not exercised";
    RecordProperty("rounds", held_checks);
    std::cout << held_checks << " rounds, " << builds << " builds, " << hits << " hits\n";
}

TEST_F(ImageCache, RootfsImageHoldsAndRebuilds) {
    if (::access("/usr/bin/mkfs.erofs", X_OK) != 0 && ::access("/usr/sbin/mkfs.erofs", X_OK) != 0)
        GTEST_SKIP() << "no mkfs.erofs (Debian package erofs-utils)";
    std::string rootfs = base_ + "/rootfs";
    fs::create_directories(rootfs + "/etc");
    std::ofstream(rootfs + "/etc/hostname") << "guest\n";
    ::setenv("HULL_VM_CACHE", dir_.c_str(), 1);
    auto first = rootfs_image(rootfs);
    ASSERT_TRUE(first) << first.error().message();
    auto again = rootfs_image(rootfs);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->path, first->path);
    EXPECT_EQ(inode_of(again->fd.get()), inode_of(first->fd.get()));
    auto r = prune_image_cache(dir_);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->removed.empty());
    std::string path = first->path;
    first = fail_msg("released");
    again = fail_msg("released");
    r = prune_image_cache(dir_);
    ASSERT_TRUE(r);
    EXPECT_EQ(names(*r), std::vector<std::string>{fs::path(path).filename().string()});
    auto rebuilt = rootfs_image(rootfs);
    ASSERT_TRUE(rebuilt) << rebuilt.error().message();
    EXPECT_EQ(rebuilt->path, path);
    EXPECT_GT(fs::file_size(path), 0u);
    ::unsetenv("HULL_VM_CACHE");
}

}  // namespace
}  // namespace hull::vm
