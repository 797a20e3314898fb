// Shared bits for the cgroups unit tests: a temp dir that removes itself, file helpers, and
// a hybrid host whose "mounts" are plain directories in a temp dir (a fake cgroupfs).
#pragma once

#include "cgroups/manager.hpp"
#include "common/fs.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <string>

namespace hull::cgroups::testing {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/hull-cgroups-test-XXXXXX";
        const char* p = ::mkdtemp(tmpl);
        path_ = p ? p : "";
    }
    ~TempDir() {
        if (!path_.empty()) (void)fs::remove_tree(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(std::string_view rel) const { return fs::join(path_, rel); }

private:
    std::string path_;
};

inline void put(const std::string& path, std::string_view content) {
    ASSERT_TRUE(fs::mkdir_p(fs::dirname(path))) << path;
    auto r = fs::write_file(path, content, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(r) << r.error().message();
}

inline std::string get(const std::string& path) {
    auto r = fs::read_file(path);
    return r ? *r : std::string("<missing>");
}

inline bool is_dir(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Hybrid: v1 cpu, cpuset, devices, freezer, memory, pids, name=systemd; cgroup2 "unified".
inline Host fake_hybrid(const TempDir& t) {
    Host h;
    h.layout = Layout::hybrid;
    for (const char* c : {"cpu", "cpuset", "devices", "freezer", "memory", "pids", "name=systemd"}) {
        std::string dir = t / (std::string(c) == "name=systemd" ? "systemd" : c);
        EXPECT_TRUE(fs::mkdir_p(dir));
        h.v1.emplace_back(c, dir);
    }
    h.unified_mount = t / "unified";
    EXPECT_TRUE(fs::mkdir_p(h.unified_mount));
    return h;
}

inline Host fake_unified(const TempDir& t) {
    Host h;
    h.layout = Layout::unified;
    h.unified_mount = t / "v2";
    EXPECT_TRUE(fs::mkdir_p(h.unified_mount));
    return h;
}

}  // namespace hull::cgroups::testing
