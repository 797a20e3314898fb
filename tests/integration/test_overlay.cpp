// The overlay root (annotation `org.hull.rootfs.overlay`): the container's root is an overlay
// of layer directories, mounted in the container's own mount namespace. Checked from inside
// (busybox in the container sees the merged view, writes land or fail as they should) and from
// the host (no mount of the container in the host's mount table, layers unchanged, upper kept).
// Each case runs on both mount paths: the new mount API (`lowerdir+`) and, with
// HULL_OVERLAY_LEGACY=1, the mount(2) path that pre-6.8 kernels take.

#include "harness.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/xattr.h>

#include <cstdio>
#include <map>
#include <sstream>

namespace hull::itest {
namespace {

constexpr const char* kAnnotation = "org.hull.rootfs.overlay";

// Overlay takes `lowerdir+` from Linux 6.8; before, hull mounts with mount(2) even without the
// HULL_OVERLAY_LEGACY knob (the test VM runs Debian 12's 6.1).
bool kernel_has_lowerdir_plus() {
    struct utsname u {};
    if (::uname(&u) != 0) return true;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return true;
    return major > 6 || (major == 6 && minor >= 8);
}

// Every file under `dir` with its type, mode and content (or device numbers, or link target),
// so a test can tell that nothing in a layer changed.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        struct stat st;
        if (lstat(e.path().c_str(), &st) != 0) continue;
        std::ostringstream v;
        v << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid << " ";
        if (S_ISREG(st.st_mode)) v << read_text(e.path());
        if (S_ISCHR(st.st_mode)) v << major(st.st_rdev) << ":" << minor(st.st_rdev);
        if (S_ISLNK(st.st_mode)) v << fs::read_symlink(e.path()).string();
        char x[16];
        ssize_t n = lgetxattr(e.path().c_str(), "trusted.overlay.opaque", x, sizeof x);
        if (n > 0) v << " opaque=" << std::string(x, static_cast<size_t>(n));
        out[fs::relative(e.path(), dir).string()] = v.str();
    }
    return out;
}

class OverlayTest : public RuntimeTest {
protected:
    void SetUp() override {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        HULL_SKIP_FOR_RUNC_IF(true, "the overlay annotation is hull's");
        // Three layers: the bundle's rootfs (busybox) at the bottom, then two hand-made ones.
        bottom_ = rootfs_;
        mid_ = base_ / "layers/mid";
        top_ = base_ / "layers/top";
        fs::create_directories(bottom_ / "data");
        fs::create_directories(bottom_ / "opq");
        write_text(bottom_ / "data/low.txt", "low\n");
        write_text(bottom_ / "data/over.txt", "low\n");
        write_text(bottom_ / "data/gone.txt", "gone\n");
        write_text(bottom_ / "opq/old.txt", "old\n");
        fs::create_directories(mid_ / "data");
        write_text(mid_ / "data/mid.txt", "mid\n");
        write_text(mid_ / "data/over.txt", "mid\n");
        fs::create_directories(top_ / "data");
        fs::create_directories(top_ / "opq");
        write_text(top_ / "data/top.txt", "top\n");
        write_text(top_ / "data/over.txt", "top\n");
        write_text(top_ / "opq/new.txt", "new\n");
        // An overlay whiteout hides the lower gone.txt; an opaque directory hides old.txt.
        ASSERT_EQ(mknod((top_ / "data/gone.txt").c_str(), S_IFCHR | 0, makedev(0, 0)), 0) << strerror(errno);
        ASSERT_EQ(setxattr((top_ / "opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0) << strerror(errno);

        // The mount point: an empty directory in the bundle.
        fs::create_directories(bundle_ / "merged");
        fs::permissions(bundle_ / "merged", fs::perms(0755));
        spec_["root"]["path"] = "merged";
        spec_["root"]["readonly"] = false;
    }

    void set_overlay(const json& value) { spec_["annotations"][kAnnotation] = value.dump(); }
    void set_overlay_text(const std::string& text) { spec_["annotations"][kAnnotation] = text; }
    json three_layers() const { return json::array({top_.string(), mid_.string(), bottom_.string()}); }

    void set_sh(const std::string& script) { spec_["process"]["args"] = {"/bin/sh", "-c", script}; }

    RunOptions mode(bool legacy) const {
        RunOptions o;
        if (legacy) o.env.push_back("HULL_OVERLAY_LEGACY=1");
        return o;
    }

    // Nothing of this test in the host's mount table.
    void expect_no_host_mounts(const char* when) const {
        auto m = host_mounts_mentioning(base_.string());
        EXPECT_TRUE(m.empty()) << when << ": host mount: " << m.front();
    }

    // A detached container running `script` then sleeping; its stdout goes to `out`.
    std::string start_sleeping(const std::string& script, const fs::path& out, const RunOptions& o = {}) {
        set_sh(script + "; exec sleep 60");
        std::string id = new_id();
        write_spec();
        RunOptions c = o;
        c.stdout_file = out;
        ProcResult r = rt({"create", "--bundle", bundle_.string(), id}, c);
        EXPECT_TRUE(r.ok()) << r.describe();
        if (!r.ok()) return id;
        ProcResult s = rt({"start", id});
        EXPECT_TRUE(s.ok()) << s.describe();
        return id;
    }

    // A refused create: one line naming the problem, a non-zero exit, nothing left.
    void expect_refused(const std::string& want, const RunOptions& o = {}) {
        std::string id = new_id();
        write_spec();
        ProcResult c = rt({"create", "--bundle", bundle_.string(), id}, o);
        EXPECT_NE(c.exit_code, 0) << c.describe();
        auto lines = split_lines(c.err);
        EXPECT_EQ(lines.size(), 1u) << c.describe();
        EXPECT_NE(c.err.find(want), std::string::npos) << "want `" << want << "` in: " << c.err;
        expect_nothing_left(id, bundle_);
        expect_no_host_mounts("after a refused create");
    }

    fs::path bottom_, mid_, top_;
};

const char* kMergedScript = "ls /data; echo --; ls /opq; echo --; cat /data/over.txt";
const char* kMergedView = "low.txt\nmid.txt\nover.txt\ntop.txt\n--\nnew.txt\n--\ntop\n";

TEST_F(OverlayTest, ContainerSeesTheMergedView) {
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2)" : "lowerdir+");
        set_overlay({{"lower", three_layers()}});
        // The root's mountinfo line tells which path mounted it: `lowerdir+=` per layer, or one
        // `lowerdir=` list.
        set_sh(std::string(kMergedScript) + "; grep ' / / ' /proc/self/mountinfo | grep -c 'lowerdir+='");
        ProcResult r = run_bundle(mode(legacy));
        EXPECT_EQ(r.out, std::string(kMergedView) + (legacy || !kernel_has_lowerdir_plus() ? "0\n" : "1\n"))
            << r.describe();
        expect_no_host_mounts("after the run");
    }
}

TEST_F(OverlayTest, OneLayerAlone) {
    // overlayfs wants two layers without an upper; hull adds an empty one below.
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2)" : "lowerdir+");
        set_overlay({{"lower", json::array({bottom_.string()})}});
        set_sh("cat /data/over.txt; ls /opq");
        ProcResult r = run_bundle(mode(legacy));
        ASSERT_TRUE(r.ok()) << r.describe();
        EXPECT_EQ(r.out, "low\nold.txt\n");
    }
}

TEST_F(OverlayTest, NoPivot) {
    set_overlay({{"lower", three_layers()}});
    set_sh(kMergedScript);
    std::string id = new_id();
    write_spec();
    ProcResult r = rt({"run", "--no-pivot", "--bundle", bundle_.string(), id});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.out, kMergedView);
    expect_no_host_mounts("after the run");
}

TEST_F(OverlayTest, WithoutUpperTheRootIsReadOnly) {
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2)" : "lowerdir+");
        set_overlay({{"lower", three_layers()}});
        // root.readonly is false: the refusal is the overlay's.
        set_sh("exec 2>&1; touch /data/new.txt; echo rc=$?; echo x > /tmp/x; echo rc=$?; mkdir /new; echo rc=$?");
        ProcResult r = run_bundle(mode(legacy));
        ASSERT_TRUE(r.ok()) << r.describe();
        auto lines = split_lines(r.out);
        ASSERT_EQ(lines.size(), 6u) << r.out;
        EXPECT_EQ(lines[0], "touch: /data/new.txt: Read-only file system");
        for (size_t i : {2u, 4u}) EXPECT_NE(lines[i].find("Read-only file system"), std::string::npos) << lines[i];
        for (size_t i : {1u, 3u, 5u}) EXPECT_EQ(lines[i], "rc=1");
    }
}

TEST_F(OverlayTest, TmpfsUpperTakesWritesAndKeepsThemFromTheHost) {
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2)" : "lowerdir+");
        fs::permissions(top_, fs::perms(0751));
        auto before = std::make_tuple(snapshot(bottom_), snapshot(mid_), snapshot(top_));
        set_overlay({{"lower", three_layers()}, {"upper", "tmpfs"}, {"tmpfs_size", 8 << 20}});
        fs::path out = base_ / (legacy ? "out-legacy" : "out");
        std::string id = start_sleeping(
            "echo hi > /data/new.txt && echo changed > /data/over.txt && rm /data/low.txt && rm -r /opq && "
            "mkdir /opq && echo again > /opq/old.txt && cat /data/new.txt /data/over.txt && ls /data && "
            "stat -c %a /; grep ' / / ' /proc/self/mountinfo | grep -o ' - overlay overlay ' ; echo done",
            out, mode(legacy));
        ASSERT_TRUE(poll_until([&] { return read_text(out).find("done\n") != std::string::npos; }))
            << read_text(out);
        // The root shows the top layer's mode (0751, set below), not the tmpfs's 0755.
        EXPECT_EQ(read_text(out), "hi\nchanged\nmid.txt\nnew.txt\nover.txt\ntop.txt\n751\n - overlay overlay \ndone\n");
        expect_no_host_mounts("while the container runs");
        EXPECT_TRUE(host_mounts_mentioning(id).empty());
        ProcResult d = rt({"delete", "--force", id});
        EXPECT_TRUE(d.ok()) << d.describe();
        expect_no_host_mounts("after delete");
        EXPECT_EQ(before, std::make_tuple(snapshot(bottom_), snapshot(mid_), snapshot(top_)))
            << "a layer changed";
        EXPECT_TRUE(fs::is_empty(bundle_ / "merged"));
    }
}

TEST_F(OverlayTest, TmpfsSizeLimitsTheChanges) {
    set_overlay({{"lower", three_layers()}, {"upper", "tmpfs"}, {"tmpfs_size", 1 << 20}});
    // An overlay's statfs is its upper's: 1 MiB in 4 KiB blocks. The second write finds it full.
    set_sh("exec 2>&1; stat -f -c '%b*%S' /; head -c 900000 /dev/zero > /a && echo ok; "
           "head -c 900000 /dev/zero > /b; echo rc=$?");
    ProcResult r = run_bundle();
    ASSERT_TRUE(r.ok()) << r.describe();
    auto lines = split_lines(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    EXPECT_EQ(lines[0], "256*4096");
    EXPECT_EQ(lines[1], "ok");
    EXPECT_EQ(lines[3], "rc=1");
}

TEST_F(OverlayTest, PersistentUpperKeepsChanges) {
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2)" : "lowerdir+");
        fs::path upper = base_ / (legacy ? "upper-l" : "upper"), work = base_ / (legacy ? "work-l" : "work");
        fs::create_directories(upper);
        fs::create_directories(work);
        auto before = snapshot(top_);
        set_overlay({{"lower", three_layers()}, {"upper", upper.string()}, {"work", work.string()}});
        set_sh("echo persisted > /data/p.txt && rm /data/top.txt");
        ProcResult r = run_bundle(mode(legacy));
        ASSERT_TRUE(r.ok()) << r.describe();
        EXPECT_EQ(read_text(upper / "data/p.txt"), "persisted\n");
        struct stat st;
        ASSERT_EQ(lstat((upper / "data/top.txt").c_str(), &st), 0) << "no whiteout for the removed file";
        EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        EXPECT_EQ(before, snapshot(top_));

        // A second container on the same upper sees the first one's changes.
        set_sh("cat /data/p.txt; ls /data");
        ProcResult again = run_bundle(mode(legacy));
        ASSERT_TRUE(again.ok()) << again.describe();
        EXPECT_EQ(again.out, "persisted\nlow.txt\nmid.txt\nover.txt\np.txt\n");
        expect_no_host_mounts("after the runs");
    }
}

TEST_F(OverlayTest, ThreeHundredLayersPastAPage) {
    // The image store's shape: layers reached through 26-character links under one `l/`.
    fs::path store = base_ / "store-with-a-long-enough-name";
    fs::create_directories(store / "l");
    json lower = json::array();
    size_t total = 0;
    for (int i = 299; i >= 0; --i) {
        char name[32];
        std::snprintf(name, sizeof name, "LAYER%021d", i);
        fs::path layer = i == 0 ? bottom_ : store / "layers" / std::to_string(i);
        if (i != 0) {
            fs::create_directories(layer / "many");
            write_text(layer / "many" / std::to_string(i), "");
            write_text(layer / "many/which", std::to_string(i) + "\n");
        }
        fs::create_directory_symlink(layer, store / "l" / name);
        lower.push_back((store / "l" / name).string());
        total += (store / "l" / name).string().size() + 1;
    }
    ASSERT_GT(total, 4096u) << "the option string would fit in a page";
    for (bool legacy : {false, true}) {
        SCOPED_TRACE(legacy ? "mount(2)" : "lowerdir+");
        set_overlay({{"lower", lower}, {"upper", "tmpfs"}});
        // On the mount(2) path the 300 names do not fit a page even relative to `l/`: two groups,
        // each a read-only overlay of its own, are the root overlay's lowers.
        set_sh("ls /many | wc -l; cat /many/which /many/1 /data/low.txt && echo w > /many/which && cat /many/which; "
               "grep ' / / ' /proc/self/mountinfo | grep -c 'lowerdir=/proc/self/fd/[0-9]*:/proc/self/fd/[0-9]*,'");
        ProcResult r = run_bundle(mode(legacy));
        // 299 numbered files and `which`.
        EXPECT_EQ(r.out, std::string("300\n299\nlow\nw\n") + (legacy || !kernel_has_lowerdir_plus() ? "1\n" : "0\n")) << r.describe();
        expect_no_host_mounts("after the run");
    }
}

TEST_F(OverlayTest, ExecSeesTheMergedRoot) {
    set_overlay({{"lower", three_layers()}, {"upper", "tmpfs"}});
    fs::path out = base_ / "out";
    std::string id = start_sleeping("echo from-init > /init.txt; echo ready", out);
    ASSERT_TRUE(poll_until([&] { return read_text(out).find("ready") != std::string::npos; })) << read_text(out);
    ProcResult e = rt({"exec", id, "/bin/sh", "-c", kMergedScript});
    ASSERT_TRUE(e.ok()) << e.describe();
    EXPECT_EQ(e.out, kMergedView);
    ProcResult e2 = rt({"exec", id, "cat", "/init.txt"});
    ASSERT_TRUE(e2.ok()) << e2.describe();
    EXPECT_EQ(e2.out, "from-init\n");
    expect_no_host_mounts("while the container runs");
}

TEST_F(OverlayTest, KillAndForcedDeleteLeaveNothing) {
    set_overlay({{"lower", three_layers()}, {"upper", "tmpfs"}});
    fs::path out = base_ / "out";
    std::string killed = start_sleeping("echo ready", out);
    ASSERT_TRUE(poll_until([&] { return read_text(out).find("ready") != std::string::npos; }));
    int pid = state(killed)["pid"];
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    EXPECT_TRUE(wait_status(killed, "stopped"));
    expect_no_host_mounts("after kill -9");
    ProcResult d = rt({"delete", killed});
    EXPECT_TRUE(d.ok()) << d.describe();

    fs::path out2 = base_ / "out2";
    std::string forced = start_sleeping("echo ready", out2);
    ASSERT_TRUE(poll_until([&] { return read_text(out2).find("ready") != std::string::npos; }));
    ProcResult f = rt({"delete", "--force", forced});
    EXPECT_TRUE(f.ok()) << f.describe();
    expect_no_host_mounts("after delete --force");
    EXPECT_FALSE(status(forced));
    EXPECT_TRUE(host_cgroups_mentioning(forced).empty());
    EXPECT_TRUE(fs::is_empty(bundle_ / "merged"));
}

TEST_F(OverlayTest, BadValuesAreRefused) {
    const std::string pre = std::string("annotation `") + kAnnotation + "`: ";
    const std::string top = top_.string();
    set_overlay_text("{\"lower\": [");
    expect_refused(pre + "not valid JSON");
    set_overlay({{"upper", "tmpfs"}});
    expect_refused(pre + ".lower: required");
    set_overlay({{"lower", json::array()}});
    expect_refused(pre + ".lower: at least one layer is needed");
    set_overlay({{"lower", json::array({top, "layers/mid"})}});
    expect_refused(pre + ".lower[1]: `layers/mid` is not an absolute path");
    set_overlay({{"lower", json::array({top, (base_ / "missing").string()})}});
    expect_refused(pre + ".lower[1]: `" + (base_ / "missing").string() + "` does not exist");
    set_overlay({{"lower", json::array({top, (top_ / "data/top.txt").string()})}});
    expect_refused(pre + ".lower[1]: `" + (top_ / "data/top.txt").string() + "` is not a directory");
    json many = json::array();
    for (int i = 0; i < 501; ++i) many.push_back(top);
    set_overlay({{"lower", many}});
    expect_refused(pre + ".lower: 501 layers, more than overlayfs takes (500)");
    set_overlay({{"lower", json::array({top})}, {"writable", true}});
    expect_refused(pre + "unknown member `writable`");
    set_overlay({{"lower", json::array({top})}, {"upper", (base_ / "layers").string()}});
    expect_refused(pre + ".work: required with the upper directory `" + (base_ / "layers").string() + "`");
    fs::create_directories(base_ / "work");
    set_overlay({{"lower", three_layers()}, {"upper", (top_ / "data").string()}, {"work", (base_ / "work").string()}});
    expect_refused(pre + ".upper: `" + (top_ / "data").string() + "` overlaps the layer .lower[0] `" + top + "`");

    // No mount namespace.
    set_overlay({{"lower", three_layers()}});
    json saved = spec_["linux"]["namespaces"];
    json without = json::array();
    for (const auto& ns : saved)
        if (ns["type"] != "mount") without.push_back(ns);
    spec_["linux"]["namespaces"] = without;
    expect_refused(pre + "the overlay root needs a mount namespace");
    spec_["linux"]["namespaces"] = saved;

    // A user namespace: refused (the layers' trusted.overlay.* xattrs are out of its reach).
    spec_["linux"]["namespaces"].push_back({{"type", "user"}});
    spec_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    spec_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    expect_refused(pre + "not supported with a user namespace");
    spec_["linux"]["namespaces"] = saved;
    spec_["linux"].erase("uidMappings");
    spec_["linux"].erase("gidMappings");

    // root.path must be a directory.
    write_text(bundle_ / "file-root", "");
    spec_["root"]["path"] = "file-root";
    expect_refused(pre + ".root.path `" + (bundle_ / "file-root").string() + "` must be a directory");
    spec_["root"]["path"] = "merged";

    // mount(2) cannot carry a `:` in a layer's path; forced onto it, that is an error.
    fs::create_directories(base_ / "layers/a:b");
    set_overlay({{"lower", json::array({(base_ / "layers/a:b").string(), top})}});
    expect_refused(pre + "HULL_OVERLAY_LEGACY is set: .lower[0]: `" + (base_ / "layers/a:b").string() +
                       "` has `,`, `:` or `\\`",
                   mode(true));
}

TEST_F(OverlayTest, WorkOnAnotherFilesystemIsRefused) {
    if (access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/unshare to make a private tmpfs";
    fs::path upper = base_ / "upper", work = base_ / "work";
    fs::create_directories(upper);
    fs::create_directories(work);
    set_overlay({{"lower", three_layers()}, {"upper", upper.string()}, {"work", work.string()}});
    std::string id = new_id();
    write_spec();
    // `work` becomes a tmpfs in a private mount namespace of the runtime's own, gone with it.
    std::string cmd = "mount -t tmpfs tmpfs '" + work.string() + "' && exec '" + runtime_ + "' --root '" +
                      root_.string() + "' create --bundle '" + bundle_.string() + "' " + id;
    ProcResult c = run_process({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", cmd});
    EXPECT_NE(c.exit_code, 0) << c.describe();
    EXPECT_EQ(split_lines(c.err).size(), 1u) << c.describe();
    EXPECT_NE(c.err.find(std::string("annotation `") + kAnnotation + "`: .work: `" + work.string() +
                         "` is not on the same filesystem as the upper `" + upper.string() + "`"),
              std::string::npos)
        << c.err;
    expect_nothing_left(id, bundle_);
    expect_no_host_mounts("after the refused create");
}

}  // namespace
}  // namespace hull::itest
