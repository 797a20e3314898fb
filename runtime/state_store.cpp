#include "runtime/state_store.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "runtime/container.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace hull::runtime {

Status validate_id(std::string_view id) {
    if (id.empty()) return fail_msg("container id cannot be empty");
    if (id.size() > 255) return fail_msg("invalid container id: longer than 255 characters (it names a directory)");
    if (id == "." || id == "..") return fail_msg(cat("invalid container id ", q(id)));
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.' || c == '+';
        if (!ok)
            return fail_msg(cat("invalid container id ", q(id), ": only letters, digits and _ . + - are allowed"));
    }
    return {};
}

Status StateStore::create_dir(const std::string& id) {
    if (::mkdir(root_.c_str(), 0700) < 0 && errno != EEXIST) {
        if (errno != ENOENT) return fail_sys(cat("create state root ", q(root_)));
        HULL_TRY_CTX(fs::mkdir_p(root_, 0700), "create state root");
    }
    if (::mkdir(dir(id).c_str(), 0711) < 0) {
        if (errno == EEXIST) return fail_msg(cat("container ", q(id), " already exists"));
        return fail_sys(cat("create state directory ", q(dir(id))));
    }
    return {};
}

Result<UniqueFd> StateStore::lock(const std::string& id) const {
    int fd = ::open(dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return fail_msg(cat("container ", q(id), " does not exist"));
        return fail_sys(cat("open state directory ", q(dir(id))));
    }
    UniqueFd owned(fd);
    while (::flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) return fail_sys("lock state directory");
    return owned;
}

Result<Record> StateStore::load(const std::string& id) const {
    HULL_TRY(validate_id(id));
    int dfd = ::open(dir(id).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT) return fail_msg(cat("container ", q(id), " does not exist"));
        return fail_sys(cat("open state directory ", q(dir(id))));
    }
    UniqueFd d(dfd);
    int fd = ::openat(dfd, "state.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        // A directory without state.json is a create still in progress (or one that died
        // before writing it): the container does not exist yet for other commands.
        if (errno == ENOENT) return fail_msg(cat("container ", q(id), " does not exist"));
        return fail_sys(cat("open state of ", q(id)));
    }
    UniqueFd f(fd);
    auto text = HULL_TRY_CTX(fs::read_fd(f), cat("read state of ", q(id)));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail_msg(cat("state of ", q(id), " is corrupt"));
    Record r;
    r.id = j.value("id", id);
    r.bundle = j.value("bundle", "");
    r.rootfs = j.value("rootfs", "");
    r.pid = j.value("pid", 0);
    r.pid_start_time = j.value("pid_start_time", uint64_t{0});
    r.created = j.value("created", "");
    r.owner = j.value("owner", 0u);
    if (j.contains("cgroup")) r.cgroup = j["cgroup"];
    if (j.contains("config")) r.config = j["config"];
    r.detached_terminal = j.value("detached_terminal", false);
    r.exe_reachable = j.value("exe_reachable", false);
    return r;
}

Status StateStore::save(const Record& r) const {
    nlohmann::json j = {{"id", r.id},
                        {"bundle", r.bundle},
                        {"rootfs", r.rootfs},
                        {"pid", r.pid},
                        {"pid_start_time", r.pid_start_time},
                        {"created", r.created},
                        {"owner", r.owner},
                        {"cgroup", r.cgroup},
                        {"config", r.config},
                        {"detached_terminal", r.detached_terminal},
                        {"exe_reachable", r.exe_reachable}};
    HULL_TRY_CTX(fs::write_file_atomic(dir(r.id) + "/state.json", j.dump()), cat("save state of ", q(r.id)));
    return {};
}

Status StateStore::remove(const std::string& id) const {
    HULL_TRY(validate_id(id));
    return fs::remove_tree(dir(id));
}

Result<std::vector<std::string>> StateStore::ids() const {
    std::vector<std::string> out;
    DIR* d = ::opendir(root_.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        return fail_sys(cat("open state root ", q(root_)));
    }
    while (auto* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || !validate_id(name)) continue;
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
        out.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

uint64_t process_start_time(pid_t pid, bool* zombie) {
    if (zombie) *zombie = false;
    if (pid <= 0) return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    char* p = strrchr(buf, ')');
    if (!p) return 0;
    p += 2;
    char state = *p;
    if (zombie) *zombie = (state == 'Z' || state == 'X');
    // Field 3 is the state; the start time is field 22.
    int field = 3;
    while (*p && field < 22) {
        if (*p == ' ') ++field;
        ++p;
    }
    return strtoull(p, nullptr, 10);
}

oci::Status live_status(const StateStore& store, const Record& r, bool frozen) {
    if (r.pid <= 0) return oci::Status::stopped;
    bool zombie = false;
    uint64_t st = process_start_time(r.pid, &zombie);
    if (st == 0 || zombie || (r.pid_start_time && st != r.pid_start_time)) return oci::Status::stopped;
    if (::access(store.fifo(r.id).c_str(), F_OK) == 0) return oci::Status::created;
    if (frozen) return oci::Status::paused;
    return oci::Status::running;
}

std::string now_rfc3339() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char ns[16];
    snprintf(ns, sizeof ns, ".%09ldZ", ts.tv_nsec);
    return std::string(buf) + ns;
}

}  // namespace hull::runtime
