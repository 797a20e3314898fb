// Image config + launch options -> config.json: docker's override rules, env merging, users
// through the layers, podman's defaults, the container's own files, and every bad option.
#include "images/runtime_spec.hpp"

#include "tests/unit/images/helpers.hpp"

#include "common/fs.hpp"
#include "oci-spec/spec.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdlib>

namespace hull::images {
namespace {

using json = nlohmann::json;
using test::TempDir;

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d))
        if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") out.emplace_back(e->d_name);
    ::closedir(d);
    std::ranges::sort(out);
    return out;
}

struct Fixture : ::testing::Test {
    TempDir tmp;
    std::string bundle = tmp / "bundle";
    oci::ImageConfig image;
    SpecOptions opts;

    void SetUp() override {
        ASSERT_TRUE(fs::mkdir_p(bundle));
        image.os = "linux";
        image.architecture = "amd64";
        image.config.cmd = std::vector<std::string>{"/bin/sh"};
        opts.id = "ctr1";
        opts.container_dir = bundle;
        opts.host_hosts = tmp / "host-hosts";
        opts.host_resolv_conf = tmp / "host-resolv.conf";
        ASSERT_TRUE(fs::write_file(opts.host_hosts, "# host\n127.0.0.1 localhost\n10.1.2.3 db.internal db\n",
                                   O_WRONLY | O_CREAT | O_TRUNC));
        ASSERT_TRUE(fs::write_file(opts.host_resolv_conf, "nameserver 10.0.0.53\n", O_WRONLY | O_CREAT | O_TRUNC));
    }

    json make() {
        auto r = make_runtime_spec(image, opts);
        EXPECT_TRUE(r) << (r ? "" : r.error().message());
        return r ? *r : json();
    }
    // The error message, and that the bundle was left as it was.
    std::string error() {
        const auto before = entries(bundle);
        auto r = make_runtime_spec(image, opts);
        EXPECT_FALSE(r) << r->dump();
        EXPECT_EQ(entries(bundle), before) << "left behind in the bundle";
        return r ? std::string() : r.error().message();
    }
    std::vector<std::string> env() { return make()["process"]["env"].get<std::vector<std::string>>(); }
};

using RuntimeSpec = Fixture;

std::vector<std::string> v(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

TEST_F(RuntimeSpec, ArgsFollowDockerOverrideRules) {
    struct Case {
        std::optional<std::vector<std::string>> ep, cmd;
        std::optional<std::string> cli_ep;
        std::vector<std::string> cli_cmd;
        std::vector<std::string> want;
    } cases[] = {
        {v({"/ep", "-x"}), v({"a", "b"}), {}, {}, v({"/ep", "-x", "a", "b"})},
        {v({"/ep"}), v({"a"}), {}, v({"c", "d"}), v({"/ep", "c", "d"})},                 // CMD replaces Cmd
        {std::nullopt, v({"/bin/sh", "-c", "x"}), {}, v({"ls"}), v({"ls"})},
        {v({"/ep"}), v({"a"}), "/other", {}, v({"/other"})},                            // --entrypoint drops Cmd
        {v({"/ep"}), v({"a"}), "/other", v({"z"}), v({"/other", "z"})},
        {v({"/ep"}), v({"a"}), "", v({"/bin/true"}), v({"/bin/true"})},                // "" clears it
        {v({"/ep"}), std::nullopt, {}, {}, v({"/ep"})},
        {std::vector<std::string>{}, v({"a"}), {}, {}, v({"a"})},
    };
    for (const Case& c : cases) {
        image.config.entrypoint = c.ep;
        image.config.cmd = c.cmd;
        opts.entrypoint = c.cli_ep;
        opts.cmd = c.cli_cmd;
        EXPECT_EQ(make()["process"]["args"].get<std::vector<std::string>>(), c.want);
    }
}

TEST_F(RuntimeSpec, NoCommand) {
    image.config.cmd.reset();
    EXPECT_EQ(error(), "no command: the image has no Entrypoint or Cmd and none was given");
    image.config.entrypoint = std::vector<std::string>{"/ep"};
    image.config.cmd = std::vector<std::string>{"x"};
    opts.entrypoint = "";
    EXPECT_EQ(error(), "no command: the image has no Entrypoint or Cmd and none was given");
}

TEST_F(RuntimeSpec, EnvMerging) {
    EXPECT_EQ(env(), v({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=ctr1", "HOME=/"}));

    image.config.env = v({"PATH=/opt/bin", "LANG=C.UTF-8", "HOSTNAME=fromimage"});
    opts.terminal = true;
    ::setenv("HULL_TEST_FROM_HOST", "hostvalue", 1);
    ::unsetenv("HULL_TEST_UNSET");
    opts.env = v({"LANG=en_US", "NEW=1=2", "HULL_TEST_FROM_HOST", "HULL_TEST_UNSET", "NEW=last", "EMPTY="});
    EXPECT_EQ(env(), v({"PATH=/opt/bin", "LANG=en_US", "HOSTNAME=fromimage", "TERM=xterm", "HOME=/", "NEW=last",
                        "HULL_TEST_FROM_HOST=hostvalue", "EMPTY="}));
    ::unsetenv("HULL_TEST_FROM_HOST");

    opts.env = v({"=x"});
    EXPECT_EQ(error(), "-e `=x`: empty variable name");
    opts.env.clear();
    image.config.env = v({"NOEQUALS"});
    EXPECT_EQ(error(), "image Env entry `NOEQUALS`: not KEY=VALUE");
}

TEST_F(RuntimeSpec, Cwd) {
    EXPECT_EQ(make()["process"]["cwd"], "/");
    image.config.working_dir = "/srv//app/";
    EXPECT_EQ(make()["process"]["cwd"], "/srv/app");
    opts.workdir = "/tmp";
    EXPECT_EQ(make()["process"]["cwd"], "/tmp");
    opts.workdir = "tmp";
    EXPECT_EQ(error(), "-w `tmp`: must be an absolute path");
    opts.workdir.clear();
    image.config.working_dir = "app";
    EXPECT_EQ(error(), "image WorkingDir `app`: must be an absolute path");
}

TEST_F(RuntimeSpec, UsersFromTheLayers) {
    ASSERT_TRUE(fs::mkdir_p(tmp / "lower/etc"));
    ASSERT_TRUE(fs::mkdir_p(tmp / "upper/etc"));
    ASSERT_TRUE(fs::write_file(tmp / "lower/etc/passwd", "root:x:0:0::/root:/bin/sh\nold:x:5:5::/:/bin/sh\n",
                               O_WRONLY | O_CREAT | O_TRUNC));
    ASSERT_TRUE(fs::write_file(tmp / "upper/etc/passwd", "root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n",
                               O_WRONLY | O_CREAT | O_TRUNC));
    ASSERT_TRUE(fs::write_file(tmp / "lower/etc/group", "root:x:0:\nweb:x:33:\nlogs:x:4:web\nkvm:x:78:web,root\n",
                               O_WRONLY | O_CREAT | O_TRUNC));
    opts.layers = {tmp / "upper", tmp / "lower"};

    json root = make();
    EXPECT_EQ(root["process"]["user"], json({{"uid", 0}, {"gid", 0}, {"additionalGids", {78}}}));
    EXPECT_NE(std::ranges::find(root["process"]["env"], "HOME=/root"), root["process"]["env"].end());
    EXPECT_EQ(root["process"]["capabilities"]["effective"].size(), 11u);

    image.config.user = "web";
    json web = make();
    EXPECT_EQ(web["process"]["user"], json({{"uid", 33}, {"gid", 33}, {"additionalGids", {4, 78}}}));
    EXPECT_NE(std::ranges::find(web["process"]["env"], "HOME=/var/www"), web["process"]["env"].end());
    // Another user keeps only the bounding set, as podman gives it.
    EXPECT_EQ(web["process"]["capabilities"]["bounding"].size(), 11u);
    EXPECT_TRUE(web["process"]["capabilities"]["effective"].empty());
    EXPECT_TRUE(web["process"]["capabilities"]["permitted"].empty());

    opts.user = "1234:logs";  // -u wins over the image's User
    EXPECT_EQ(make()["process"]["user"], json({{"uid", 1234}, {"gid", 4}}));

    opts.user = "old";  // only in the lower layer, which the upper passwd hides
    EXPECT_EQ(error(), "-u: user `old`: no such user in the image's `/etc/passwd`");
    opts.user.clear();
    image.config.user = "nobody";
    EXPECT_EQ(error(), "image User: user `nobody`: no such user in the image's `/etc/passwd`");
}

TEST_F(RuntimeSpec, PodmanDefaults) {
    json s = make();
    EXPECT_EQ(s["ociVersion"], oci::kSpecVersion);
    EXPECT_EQ(s["root"], json({{"path", "rootfs"}, {"readonly", false}}));
    EXPECT_EQ(s["hostname"], "ctr1");
    const json caps = {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",  "CAP_KILL",       "CAP_NET_BIND_SERVICE",
                       "CAP_SETFCAP", "CAP_SETGID",      "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"};
    const json& c = s["process"]["capabilities"];
    EXPECT_EQ(c["bounding"], caps);
    EXPECT_EQ(c["effective"], caps);
    EXPECT_EQ(c["permitted"], caps);
    EXPECT_TRUE(c["inheritable"].empty());
    EXPECT_TRUE(c["ambient"].empty());
    EXPECT_EQ(s["process"]["noNewPrivileges"], false);
    EXPECT_EQ(s["process"]["terminal"], false);

    struct rlimit rl {};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
    uint64_t nofile = std::min<uint64_t>(1048576, rl.rlim_max);
    EXPECT_EQ(s["process"]["rlimits"], json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", nofile}, {"soft", nofile}}}));

    const json& lx = s["linux"];
    for (const char* p : {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                          "/sys/devices/virtual/powercap"})
        EXPECT_NE(std::ranges::find(lx["maskedPaths"], p), lx["maskedPaths"].end()) << p;
    EXPECT_EQ(lx["readonlyPaths"],
              json({"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
    EXPECT_EQ(lx["namespaces"], json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                                             {{"type", "mount"}}, {{"type", "cgroup"}}}));
    EXPECT_EQ(lx["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(lx["resources"]["devices"], json::array({{{"allow", false}, {"access", "rwm"}}}));

    std::vector<std::string> dsts;
    for (const json& m : s["mounts"]) dsts.push_back(m["destination"]);
    EXPECT_EQ(dsts, v({"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/etc/hosts",
                       "/etc/hostname", "/etc/resolv.conf"}));
    EXPECT_EQ(s["mounts"][5]["options"], json({"nosuid", "noexec", "nodev", "ro"}));
    EXPECT_EQ(s["mounts"][7], json({{"destination", "/etc/hosts"}, {"type", "bind"},
                                    {"source", bundle + "/etc/hosts"}, {"options", {"rbind", "rw"}}}));

    // The runtime's own validation takes it.
    auto parsed = oci::parse_config(s.dump());
    ASSERT_TRUE(parsed) << parsed.error().message();

    opts.network = "none";
    opts.read_only = true;
    opts.terminal = true;
    json none = make();
    EXPECT_EQ(none["linux"]["namespaces"].back(), json({{"type", "network"}}));
    EXPECT_EQ(none["root"]["readonly"], true);
    EXPECT_EQ(none["process"]["terminal"], true);
    opts.network = "bridge";
    std::filesystem::remove_all(bundle + "/etc");
    EXPECT_EQ(error(), "network `bridge`: must be `host` or `none`");
}

TEST_F(RuntimeSpec, EtcFiles) {
    opts.hostname = "web-1";
    make();
    EXPECT_EQ(*fs::read_file(bundle + "/etc/hostname"), "web-1\n");
    EXPECT_EQ(*fs::read_file(bundle + "/etc/hosts"),
              "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb-1\n"
              "# from the host's " + opts.host_hosts + "\n127.0.0.1 localhost\n10.1.2.3 db.internal db\n");
    EXPECT_EQ(*fs::read_file(bundle + "/etc/resolv.conf"), "nameserver 10.0.0.53\n");

    // Without the host's network its names are of no use; a host without resolv.conf gives an
    // empty one.
    opts.network = "none";
    opts.host_resolv_conf = tmp / "missing";
    make();
    EXPECT_EQ(*fs::read_file(bundle + "/etc/hosts"),
              "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb-1\n");
    EXPECT_EQ(*fs::read_file(bundle + "/etc/resolv.conf"), "");
}

TEST_F(RuntimeSpec, Hostname) {
    opts.id = "";
    EXPECT_EQ(error(), "container id: must not be empty");
    opts.id = "a/b";
    EXPECT_EQ(error(), "container id `a/b`: only letters, digits, `-`, `.` and `_` make a hostname");
    opts.hostname = std::string(65, 'h');
    EXPECT_EQ(error(), "hostname `" + opts.hostname + "`: longer than 64 characters (the kernel's hostname limit)");
}

TEST_F(RuntimeSpec, ImageVolumesAndBinds) {
    ASSERT_TRUE(fs::mkdir_p(tmp / "data"));
    image.config.volumes = v({"/var/lib/db", "/cache/", "/srv/a%b"});
    opts.volumes = {(tmp / "data") + ":/cache", "/etc/hostname:/etc/hostname:ro", (tmp / "data") + ":/mnt:rw"};
    json s = make();
    std::vector<json> extra(s["mounts"].begin() + 7, s["mounts"].end());
    ASSERT_EQ(extra.size(), 7u);
    EXPECT_EQ(extra[0]["destination"], "/etc/hosts");
    EXPECT_EQ(extra[1]["destination"], "/etc/resolv.conf");  // -v took /etc/hostname
    EXPECT_EQ(extra[2], json({{"destination", "/var/lib/db"}, {"type", "bind"},
                              {"source", bundle + "/volumes/var%2Flib%2Fdb"}, {"options", {"rbind", "rw"}}}));
    EXPECT_EQ(extra[3]["source"], bundle + "/volumes/srv%2Fa%25b");
    EXPECT_EQ(extra[4], json({{"destination", "/cache"}, {"type", "bind"}, {"source", tmp / "data"},
                              {"options", {"rbind", "rw"}}}));
    EXPECT_EQ(extra[5], json({{"destination", "/etc/hostname"}, {"type", "bind"}, {"source", "/etc/hostname"},
                              {"options", {"rbind", "ro"}}}));
    EXPECT_EQ(extra[6]["options"], json({"rbind", "rw"}));
    EXPECT_EQ(entries(bundle + "/volumes"), v({"srv%2Fa%25b", "var%2Flib%2Fdb"}));
}

TEST_F(RuntimeSpec, VolumeDirTakesTheImagesOwnerAndMode) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
    ASSERT_TRUE(fs::mkdir_p(tmp / "layer/var/lib/db"));
    ASSERT_EQ(::chown((tmp / "layer/var/lib/db").c_str(), 999, 998), 0);
    ASSERT_EQ(::chmod((tmp / "layer/var/lib/db").c_str(), 0700), 0);
    opts.layers = {tmp / "layer"};
    image.config.volumes = v({"/var/lib/db", "/var/cache"});
    make();
    struct stat st {};
    ASSERT_EQ(::stat((bundle + "/volumes/var%2Flib%2Fdb").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 999u);
    EXPECT_EQ(st.st_gid, 998u);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // Absent from the image: root's, 0755.
    ASSERT_EQ(::stat((bundle + "/volumes/var%2Fcache").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(RuntimeSpec, AFailedWriteTakesBackWhatItMade) {
    image.config.volumes = v({"/data"});
    ASSERT_TRUE(fs::write_file(bundle + "/volumes", "in the way", O_WRONLY | O_CREAT | O_TRUNC));
    EXPECT_EQ(error(), "`" + bundle + "/volumes` exists and is not a directory");
    EXPECT_EQ(entries(bundle), v({"volumes"}));  // etc/ and its files were removed again
}

TEST_F(RuntimeSpec, BadVolumes) {
    struct Case {
        std::string v, want;
    } cases[] = {
        {"/tmp", "-v `/tmp`: expected SRC:DST or SRC:DST:ro|rw"},
        {"/a:/b:ro:x", "-v `/a:/b:ro:x`: expected SRC:DST or SRC:DST:ro|rw"},
        {"data:/data", "-v `data:/data`: source `data` must be an absolute host path"},
        {"/nonexistent-hull-src:/data", "-v `/nonexistent-hull-src:/data`: source `/nonexistent-hull-src`: no such file or directory"},
        {"/tmp:data", "-v `/tmp:data`: `data` is not an absolute container path"},
        {"/tmp:/", "-v `/tmp:/`: cannot mount over the container's `/`"},
        {"/tmp:/x:z", "-v `/tmp:/x:z`: unknown mode `z` (expected `ro` or `rw`)"},
    };
    for (const Case& c : cases) {
        opts.volumes = {c.v};
        EXPECT_EQ(error(), c.want);
    }
    opts.volumes = v({"/tmp:/x", "/tmp:/x/"});
    EXPECT_EQ(error(), "-v `/tmp:/x/`: `/x` is already a mount destination");
    opts.volumes.clear();
    image.config.volumes = v({"relative"});
    EXPECT_EQ(error(), "image volume `relative`: not an absolute path");
}

TEST_F(RuntimeSpec, Devices) {
    struct stat st {};
    ASSERT_EQ(::stat("/dev/null", &st), 0);
    opts.devices = v({"/dev/null", "/dev/zero:/dev/myzero", "/dev/full:r", "/dev/random:/dev/r2:rw"});
    json s = make();
    const json& d = s["linux"]["devices"];
    ASSERT_EQ(d.size(), 4u);
    EXPECT_EQ(d[0], json({{"path", "/dev/null"}, {"type", "c"}, {"major", 1}, {"minor", 3},
                          {"fileMode", st.st_mode & 07777}, {"uid", st.st_uid}, {"gid", st.st_gid}}));
    EXPECT_EQ(d[1]["path"], "/dev/myzero");
    EXPECT_EQ(d[1]["minor"], 5);
    const json& rules = s["linux"]["resources"]["devices"];
    ASSERT_EQ(rules.size(), 5u);
    EXPECT_EQ(rules[1], json({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}}));
    EXPECT_EQ(rules[3]["access"], "r");
    EXPECT_EQ(d[3]["path"], "/dev/r2");
    EXPECT_EQ(rules[4]["access"], "rw");

    struct Case {
        std::string d, want;
    } cases[] = {
        {"/etc/hostname", "--device `/etc/hostname`: `/etc/hostname` is not a device node"},
        {"/dev/nonexistent-hull", "--device `/dev/nonexistent-hull`: `/dev/nonexistent-hull`: no such file or directory"},
        {"dev/null", "--device `dev/null`: `dev/null` is not an absolute host path"},
        {"/dev/null:/dev/n:rwx", "--device `/dev/null:/dev/n:rwx`: access `rwx` is not a combination of `r`, `w` and `m`"},
        {"/dev/null:/dev/n:rr", "--device `/dev/null:/dev/n:rr`: access `rr` is not a combination of `r`, `w` and `m`"},
        {"/dev/null:null", "--device `/dev/null:null`: `null` is not an absolute container path"},
        {"/dev/null:/a:r:x", "--device `/dev/null:/a:r:x`: expected HOST[:CONTAINER][:rwm]"},
    };
    for (const Case& c : cases) {
        opts.devices = {c.d};
        std::filesystem::remove_all(bundle + "/etc");
        EXPECT_EQ(error(), c.want);
    }
}

TEST_F(RuntimeSpec, Limits) {
    opts.memory = 64 << 20;
    opts.cpus = 1.5;
    opts.pids_limit = 50;
    json r = make()["linux"]["resources"];
    EXPECT_EQ(r["memory"], json({{"limit", 64 << 20}}));
    EXPECT_EQ(r["cpu"], json({{"quota", 150000}, {"period", 100000}}));
    EXPECT_EQ(r["pids"], json({{"limit", 50}}));
    opts.pids_limit = -1;
    EXPECT_FALSE(make()["linux"]["resources"].contains("pids"));
    std::filesystem::remove_all(bundle + "/etc");

    opts.memory = 0;
    EXPECT_EQ(error(), "--memory 0: must be a positive number of bytes");
    opts.memory.reset();
    opts.cpus = 0.001;
    EXPECT_EQ(error(), "--cpus: below the kernel's minimum of 0.01");
    opts.cpus = -1;
    EXPECT_EQ(error(), "--cpus: must be a positive number");
    opts.cpus.reset();
    opts.pids_limit = 0;
    EXPECT_EQ(error(), "--pids-limit 0: must be positive (or -1 for no limit)");
}

TEST_F(RuntimeSpec, Annotations) {
    image.variant = "v3";
    image.author = "someone";
    image.created = "2024-01-01T00:00:00Z";
    image.config.stop_signal = "SIGQUIT";
    image.config.exposed_ports = v({"80/tcp", "53/udp"});
    image.config.labels = {{"org.opencontainers.image.os", "fromlabel"},
                           {"com.example.x", "y"},
                           {"org.hull.isolation", "vm"}};
    json a = make()["annotations"];
    EXPECT_EQ(a, json({{"org.opencontainers.image.os", "fromlabel"},
                       {"org.opencontainers.image.architecture", "amd64"},
                       {"org.opencontainers.image.variant", "v3"},
                       {"org.opencontainers.image.author", "someone"},
                       {"org.opencontainers.image.created", "2024-01-01T00:00:00Z"},
                       {"org.opencontainers.image.stopSignal", "SIGQUIT"},
                       {"org.opencontainers.image.exposedPorts", "80/tcp,53/udp"},
                       {"com.example.x", "y"}}));
}

TEST_F(RuntimeSpec, ContainerDir) {
    opts.container_dir = "relative";
    EXPECT_EQ(make_runtime_spec(image, opts).error().message(), "container directory `relative`: must be an absolute path");
    opts.container_dir = tmp / "missing";
    EXPECT_EQ(make_runtime_spec(image, opts).error().message(),
              "container directory `" + (tmp / "missing") + "`: no such file or directory");
}

}  // namespace
}  // namespace hull::images
