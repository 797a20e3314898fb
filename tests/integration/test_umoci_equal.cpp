// hull's unpack against umoci's, file for file. tests/images/gen_equal.py builds a 5-layer OCI
// layout that exercises every kind of entry and every way layers override each other; hull
// imports it into a store in a temp dir (images::import_oci_layout) and the test mounts a
// read-only overlay of its layer directories in a forked child's private mount namespace (the
// host never sees the mount); `umoci unpack` flattens the same layout into a bundle. The merged
// view and umoci's rootfs must agree on every path: type, mode (with setuid/setgid/sticky),
// owner, size, content hash, symlink target, device number, xattrs, mtime (seconds and
// nanoseconds) and which paths are hard links of each other.
//
// Not compared, and why:
//   - atime: reading the trees to hash them changes it; ctime: nobody can set it.
//   - st_nlink: overlay reports the lower layer's link count, which still counts links that an
//     upper layer whited out; the hard-link groups (paths sharing an inode) are compared instead.
//   - directory sizes: a property of the filesystem, not of the image.
//   - the root's mtime: umoci leaves the rootfs directory's at the time it made it, hull keeps
//     the base layer's `./` entry.
//   - the mtime of directories no layer lists: both make them at unpack time; the test checks
//     that both did so during the test.
//
// Needs root (owners, devices, trusted.* xattrs, overlay) and umoci; skips saying why.
#include "harness.hpp"

#include "images/digest.hpp"
#include "images/import.hpp"
#include "images/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <map>
#include <set>

namespace hull::itest {
namespace {

namespace img = hull::images;

struct Entry {
    std::string type;  // file, dir, symlink, char, block, fifo, socket
    unsigned mode = 0;
    unsigned uid = 0, gid = 0;
    int64_t size = 0;       // files and symlinks
    std::string content;    // sha256 of a file, target of a symlink, major:minor of a device
    std::map<std::string, std::string> xattrs;  // hex values
    int64_t mtime_s = 0, mtime_ns = 0;
    uint64_t ino = 0;
    std::string links;  // other paths sharing this file's inode, comma-separated
};

std::string hex(const char* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(p[i]);
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::map<std::string, std::string> xattrs_of(const std::string& p) {
    std::map<std::string, std::string> out;
    std::vector<char> names(64 * 1024), value(64 * 1024);
    ssize_t n = llistxattr(p.c_str(), names.data(), names.size());
    for (ssize_t i = 0; i < n;) {
        std::string name(&names[static_cast<size_t>(i)]);
        i += static_cast<ssize_t>(name.size()) + 1;
        // Overlay's own bookkeeping (hidden in the merged view anyway) and labels the host adds.
        if (name.starts_with("trusted.overlay.") || name == "security.selinux") continue;
        ssize_t vn = lgetxattr(p.c_str(), name.c_str(), value.data(), value.size());
        out[name] = vn < 0 ? "unreadable" : hex(value.data(), static_cast<size_t>(vn));
    }
    return out;
}

void walk(const std::string& root, const std::string& rel, std::map<std::string, Entry>& out) {
    std::string p = rel == "." ? root : root + "/" + rel;
    struct stat st;
    if (lstat(p.c_str(), &st) < 0) {
        out[rel].type = "unreadable: " + std::string(strerror(errno));
        return;
    }
    Entry e;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime_s = st.st_mtim.tv_sec;
    e.mtime_ns = st.st_mtim.tv_nsec;
    e.ino = st.st_ino;
    e.xattrs = xattrs_of(p);
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
        e.type = "file";
        e.size = st.st_size;
        int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        auto d = fd >= 0 ? img::digest_fd(FdRef(fd), oci::Digest::Algorithm::sha256) : hull::Result<oci::Digest>();
        e.content = fd >= 0 && d ? d->str() : "unreadable";
        if (fd >= 0) close(fd);
        break;
    }
    case S_IFDIR: e.type = "dir"; break;
    case S_IFLNK: {
        e.type = "symlink";
        e.size = st.st_size;
        char buf[4096];
        ssize_t n = readlink(p.c_str(), buf, sizeof buf);
        e.content = std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
        break;
    }
    case S_IFCHR: e.type = "char"; e.content = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)); break;
    case S_IFBLK: e.type = "block"; e.content = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)); break;
    case S_IFIFO: e.type = "fifo"; break;
    case S_IFSOCK: e.type = "socket"; break;
    default: e.type = "unknown";
    }
    out[rel] = e;
    if (!S_ISDIR(st.st_mode)) return;
    DIR* d = opendir(p.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (auto* de = readdir(d))
        if (std::string_view(de->d_name) != "." && std::string_view(de->d_name) != "..") names.emplace_back(de->d_name);
    closedir(d);
    for (const auto& n : names) walk(root, rel == "." ? n : rel + "/" + n, out);
}

std::map<std::string, Entry> snapshot(const std::string& root) {
    std::map<std::string, Entry> out;
    walk(root, ".", out);
    // Hard-link groups by inode, within this tree.
    std::map<uint64_t, std::vector<std::string>> by_ino;
    for (const auto& [path, e] : out)
        if (e.type == "file") by_ino[e.ino].push_back(path);
    for (auto& [path, e] : out) {
        if (e.type != "file") continue;
        for (const auto& other : by_ino[e.ino])
            if (other != path) e.links += (e.links.empty() ? "" : ",") + other;
    }
    return out;
}

json to_json(const std::map<std::string, Entry>& snap) {
    json j = json::object();
    for (const auto& [path, e] : snap)
        j[path] = {{"type", e.type},       {"mode", e.mode},         {"uid", e.uid},         {"gid", e.gid},
                   {"size", e.size},       {"content", e.content},   {"xattrs", e.xattrs},   {"mtime_s", e.mtime_s},
                   {"mtime_ns", e.mtime_ns}, {"links", e.links}};
    return j;
}

std::map<std::string, Entry> from_json(const json& j) {
    std::map<std::string, Entry> out;
    for (const auto& [path, v] : j.items()) {
        Entry e;
        e.type = v["type"];
        e.mode = v["mode"];
        e.uid = v["uid"];
        e.gid = v["gid"];
        e.size = v["size"];
        e.content = v["content"];
        e.xattrs = v["xattrs"].get<std::map<std::string, std::string>>();
        e.mtime_s = v["mtime_s"];
        e.mtime_ns = v["mtime_ns"];
        e.links = v["links"];
        out[path] = e;
    }
    return out;
}

std::string octal(unsigned m) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04o", m);
    return buf;
}

// Every difference as "path: field: hull X, umoci Y". `fresh` is when the unpacks started:
// a directory umoci stamped after it was made at unpack time.
std::vector<std::string> differences(const std::map<std::string, Entry>& hull, const std::map<std::string, Entry>& umoci,
                                     int64_t fresh) {
    std::vector<std::string> out;
    auto diff = [&](const std::string& path, const char* field, const std::string& h, const std::string& u) {
        if (h != u) out.push_back("`" + path + "`: " + field + ": hull `" + h + "`, umoci `" + u + "`");
    };
    std::set<std::string> paths;
    for (const auto& [p, _] : hull) paths.insert(p);
    for (const auto& [p, _] : umoci) paths.insert(p);
    for (const auto& p : paths) {
        auto h = hull.find(p), u = umoci.find(p);
        if (h == hull.end()) {
            out.push_back("`" + p + "`: only in umoci's rootfs (" + u->second.type + ")");
            continue;
        }
        if (u == umoci.end()) {
            out.push_back("`" + p + "`: only in hull's merged layers (" + h->second.type + ")");
            continue;
        }
        const Entry &a = h->second, &b = u->second;
        diff(p, "type", a.type, b.type);
        if (a.type != b.type) continue;
        diff(p, "mode", octal(a.mode), octal(b.mode));
        diff(p, "owner", std::to_string(a.uid) + ":" + std::to_string(a.gid), std::to_string(b.uid) + ":" + std::to_string(b.gid));
        if (a.type != "dir") diff(p, "size", std::to_string(a.size), std::to_string(b.size));
        diff(p, a.type == "file" ? "sha256" : a.type == "symlink" ? "target" : "device", a.content, b.content);
        diff(p, "xattrs", json(a.xattrs).dump(), json(b.xattrs).dump());
        diff(p, "hard links", a.links, b.links);
        if (p == ".") {
            // umoci leaves the rootfs directory's mtime at its own mkdir; hull's is the base
            // layer's `./` entry. Not comparable.
        } else if (a.type == "dir" && b.mtime_s >= fresh) {
            if (a.mtime_s < fresh) out.push_back("`" + p + "`: mtime: umoci made it at unpack time, hull has " + std::to_string(a.mtime_s));
        } else {
            diff(p, "mtime", std::to_string(a.mtime_s) + "." + std::to_string(a.mtime_ns),
                 std::to_string(b.mtime_s) + "." + std::to_string(b.mtime_ns));
        }
    }
    return out;
}

// Mounts the overlay in a child's private mount namespace, snapshots it there and hands the
// snapshot back as JSON through a file; the mount dies with the child.
std::string merged_snapshot(const std::vector<std::string>& lowers, const fs::path& mnt, const fs::path& out, std::string& err) {
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i) opts += (i ? ":" : "") + lowers[i];
    fs::create_directories(mnt);
    pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0) _exit(10);
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(11);
        if (mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, opts.c_str()) < 0) _exit(12);
        std::string text = to_json(snapshot(mnt)).dump();
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(13);
        close(fd);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        const char* steps[] = {"unshare", "make / private", "mount the overlay", "write the snapshot"};
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
        err = code >= 10 && code <= 13 ? std::string(steps[code - 10]) + " failed in the child" : "the child crashed";
        return err;
    }
    return "";
}

class UmociEqual : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (owners, devices, trusted.* xattrs, overlay mounts)";
        for (const char* t : {"/usr/bin/umoci", "/usr/bin/python3"})
            if (access(t, X_OK) != 0) GTEST_SKIP() << t << " is missing (packaging/deps.sh installs it)";
        char tmpl[] = "/tmp/hull-umoci-equal-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        if (!dir_.empty()) {
            EXPECT_TRUE(remove_tree(dir_)) << dir_;
        }
    }
    fs::path dir_;
};

TEST_F(UmociEqual, MergedLayersMatchUmociUnpack) {
    auto gen = run_process({"/usr/bin/python3", std::string(HULL_SOURCE_DIR) + "/tests/images/gen_equal.py",
                            (dir_ / "layout").string()});
    ASSERT_TRUE(gen.ok()) << gen.describe();
    int64_t fresh = time(nullptr) - 1;

    auto umoci = run_process({"/usr/bin/umoci", "unpack", "--image", (dir_ / "layout").string() + ":equal",
                              (dir_ / "bundle").string()},
                             {.timeout = 120s});
    ASSERT_TRUE(umoci.ok()) << umoci.describe();

    auto store = img::Store::open((dir_ / "store").string());
    ASSERT_TRUE(store) << store.error().message();
    img::ImportOptions opts;
    opts.name = "example.com/hull/equal:latest";
    opts.select = "equal";
    auto rec = img::import_oci_layout(*store, (dir_ / "layout").string(), opts);
    ASSERT_TRUE(rec) << rec.error().message();
    ASSERT_EQ(rec->layers.size(), 5u);
    auto lowers = store->lower_dirs(*rec);
    ASSERT_TRUE(lowers) << lowers.error().message();

    std::string err;
    ASSERT_EQ(merged_snapshot(*lowers, dir_ / "merged", dir_ / "hull.json", err), "");
    EXPECT_TRUE(host_mounts_mentioning(dir_.string()).empty()) << "the overlay leaked into the host's mount table";
    auto hull = from_json(json::parse(read_text(dir_ / "hull.json")));
    auto theirs = snapshot((dir_ / "bundle/rootfs").string());

    // The comparison must have something to compare: the layout's paths are all there.
    ASSERT_GT(theirs.size(), 40u);
    for (const char* p : {"bin/both", "bin/tool2", "dev/loop9", "cap", "opq/implicit", "recreate_dir/new", "dir2link"})
        EXPECT_TRUE(theirs.contains(p)) << "umoci's rootfs lacks " << p;
    for (const auto& d : differences(hull, theirs, fresh)) ADD_FAILURE() << d;

    // The comparison notices a change in any one field.
    auto changed = theirs;
    changed["bin/su"].mode = 0755;
    changed["mtime_ns"].mtime_ns += 1;
    changed["cap"].xattrs.clear();
    changed["bin/tool2"].links.clear();
    changed.erase("dev/loop9");
    EXPECT_EQ(differences(hull, changed, fresh).size(), 5u);
    std::printf("[   INFO   ] compared %zu paths of a %zu-layer image with umoci's unpack\n", theirs.size(), rec->layers.size());
}

}  // namespace
}  // namespace hull::itest
