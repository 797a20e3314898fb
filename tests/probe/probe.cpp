// probe: a small static program that runs inside a container and reports, as
// JSON on stdout, what the container really looks like from the inside.
//
// The integration tests trust this report instead of the runtime's own
// account, so the probe must depend on nothing in the rootfs: it is linked
// statically, reads everything straight from the kernel (syscalls and
// /proc/self), and uses neither exceptions, iostreams nor NSS lookups.
//
// Usage: probe [COMMAND [ARGS...]] [+ COMMAND [ARGS...]]...
// Commands separated by a lone `+` run in sequence; see usage() for the list.

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

namespace {

// ---------------------------------------------------------------------------
// Output: one growable buffer, flushed with write(2) so that nothing depends
// on stdio buffering when the probe is killed right after printing.

struct Out {
    char* data = nullptr;
    size_t len = 0;
    size_t cap = 0;
    bool need_comma = false;
};

Out g_out;

void out_raw(const char* s, size_t n) {
    if (g_out.len + n + 1 > g_out.cap) {
        size_t cap = g_out.cap ? g_out.cap : 4096;
        while (g_out.len + n + 1 > cap) cap *= 2;
        char* p = static_cast<char*>(realloc(g_out.data, cap));
        if (p == nullptr) _exit(120);
        g_out.data = p;
        g_out.cap = cap;
    }
    memcpy(g_out.data + g_out.len, s, n);
    g_out.len += n;
}

void out_str(const char* s) { out_raw(s, strlen(s)); }

void out_fmt(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) out_raw(buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
}

void flush_fd(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

// Print the buffered JSON document followed by a newline and reset.
void out_flush() {
    out_raw("\n", 1);
    flush_fd(1, g_out.data, g_out.len);
    g_out.len = 0;
    g_out.need_comma = false;
}

// Minimal JSON writer. Keys and values go through these helpers so commas
// are placed correctly; nesting is tracked by the need_comma flag only.
void sep() {
    if (g_out.need_comma) out_raw(",", 1);
    g_out.need_comma = false;
}

void json_string_n(const char* s, size_t n) {
    out_raw("\"", 1);
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"') {
            out_raw("\\\"", 2);
        } else if (c == '\\') {
            out_raw("\\\\", 2);
        } else if (c == '\n') {
            out_raw("\\n", 2);
        } else if (c == '\t') {
            out_raw("\\t", 2);
        } else if (c < 0x20 || c >= 0x7f) {
            // Bytes outside printable ASCII are escaped one by one so the
            // document is valid UTF-8 whatever the file contained.
            out_fmt("\\u%04x", c);
        } else {
            out_raw(reinterpret_cast<const char*>(&c), 1);
        }
    }
    out_raw("\"", 1);
}

void json_string(const char* s) { json_string_n(s, strlen(s)); }

void key(const char* k) {
    sep();
    json_string(k);
    out_raw(":", 1);
}

void begin_obj() {
    sep();
    out_raw("{", 1);
}
void end_obj() {
    out_raw("}", 1);
    g_out.need_comma = true;
}
void begin_arr() {
    sep();
    out_raw("[", 1);
}
void end_arr() {
    out_raw("]", 1);
    g_out.need_comma = true;
}

void v_str(const char* s) {
    sep();
    if (s == nullptr)
        out_str("null");
    else
        json_string(s);
    g_out.need_comma = true;
}
void v_str_n(const char* s, size_t n) {
    sep();
    json_string_n(s, n);
    g_out.need_comma = true;
}
void v_i64(long long v) {
    sep();
    out_fmt("%lld", v);
    g_out.need_comma = true;
}
void v_u64(unsigned long long v) {
    sep();
    out_fmt("%llu", v);
    g_out.need_comma = true;
}
void v_bool(bool b) {
    sep();
    out_str(b ? "true" : "false");
    g_out.need_comma = true;
}
void v_null() {
    sep();
    out_str("null");
    g_out.need_comma = true;
}

void kv_str(const char* k, const char* v) {
    key(k);
    v_str(v);
}
void kv_i64(const char* k, long long v) {
    key(k);
    v_i64(v);
}
void kv_u64(const char* k, unsigned long long v) {
    key(k);
    v_u64(v);
}
void kv_bool(const char* k, bool v) {
    key(k);
    v_bool(v);
}

// ---------------------------------------------------------------------------
// Small helpers.

const char* errno_name(int e) {
    switch (e) {
        case 0: return "OK";
        case EPERM: return "EPERM";
        case ENOENT: return "ENOENT";
        case ESRCH: return "ESRCH";
        case EINTR: return "EINTR";
        case EIO: return "EIO";
        case ENXIO: return "ENXIO";
        case E2BIG: return "E2BIG";
        case ENOEXEC: return "ENOEXEC";
        case EBADF: return "EBADF";
        case ECHILD: return "ECHILD";
        case EAGAIN: return "EAGAIN";
        case ENOMEM: return "ENOMEM";
        case EACCES: return "EACCES";
        case EFAULT: return "EFAULT";
        case EBUSY: return "EBUSY";
        case EEXIST: return "EEXIST";
        case EXDEV: return "EXDEV";
        case ENODEV: return "ENODEV";
        case ENOTDIR: return "ENOTDIR";
        case EISDIR: return "EISDIR";
        case EINVAL: return "EINVAL";
        case ENFILE: return "ENFILE";
        case EMFILE: return "EMFILE";
        case ENOTTY: return "ENOTTY";
        case ETXTBSY: return "ETXTBSY";
        case EFBIG: return "EFBIG";
        case ENOSPC: return "ENOSPC";
        case ESPIPE: return "ESPIPE";
        case EROFS: return "EROFS";
        case EMLINK: return "EMLINK";
        case EPIPE: return "EPIPE";
        case ERANGE: return "ERANGE";
        case ENAMETOOLONG: return "ENAMETOOLONG";
        case ENOSYS: return "ENOSYS";
        case ENOTEMPTY: return "ENOTEMPTY";
        case ELOOP: return "ELOOP";
        case EOPNOTSUPP: return "EOPNOTSUPP";
        default: return "EOTHER";
    }
}

void kv_errno(int e) {
    kv_bool("ok", e == 0);
    kv_i64("errno", e);
    kv_str("error", errno_name(e));
}

// Read a whole (small) file into a malloc'd NUL-terminated buffer.
char* read_file(const char* path, size_t* len_out, size_t max = 1 << 20) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    size_t cap = 4096, len = 0;
    char* buf = static_cast<char*>(malloc(cap));
    if (buf == nullptr) {
        close(fd);
        return nullptr;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= max) break;
            cap *= 2;
            char* p = static_cast<char*>(realloc(buf, cap));
            if (p == nullptr) break;
            buf = p;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += static_cast<size_t>(n);
    }
    close(fd);
    buf[len] = '\0';
    if (len_out) *len_out = len;
    return buf;
}

// Read a file and report it as a JSON string, or null when unreadable.
void v_file(const char* path) {
    size_t len = 0;
    char* s = read_file(path, &len);
    if (s == nullptr) {
        v_null();
        return;
    }
    v_str_n(s, len);
    free(s);
}

const char* file_type_name(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISCHR(m)) return "char";
    if (S_ISBLK(m)) return "block";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISSOCK(m)) return "socket";
    return "unknown";
}

const char* const k_signal_names[] = {
    "SIG0",    "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT",  "SIGBUS",
    "SIGFPE",  "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM",  "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU",  "SIGURG",
    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",   "SIGSYS",
};

const char* const k_cap_names[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

struct RlimitName {
    int resource;
    const char* name;
};

const RlimitName k_rlimits[] = {
    {RLIMIT_CPU, "RLIMIT_CPU"},         {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
    {RLIMIT_DATA, "RLIMIT_DATA"},       {RLIMIT_STACK, "RLIMIT_STACK"},
    {RLIMIT_CORE, "RLIMIT_CORE"},       {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"},     {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"}, {RLIMIT_AS, "RLIMIT_AS"},
    {RLIMIT_LOCKS, "RLIMIT_LOCKS"},     {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
    {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"}, {RLIMIT_NICE, "RLIMIT_NICE"},
    {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},   {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
};

// ---------------------------------------------------------------------------
// Report sections.

void report_ids() {
    kv_i64("pid", getpid());
    kv_i64("ppid", getppid());
    struct utsname u;
    if (uname(&u) == 0) {
        kv_str("hostname", u.nodename);
        kv_str("domainname", u.domainname);
    } else {
        kv_str("hostname", nullptr);
        kv_str("domainname", nullptr);
    }
    kv_i64("uid", getuid());
    kv_i64("gid", getgid());
    kv_i64("euid", geteuid());
    kv_i64("egid", getegid());
    gid_t groups[512];
    int n = getgroups(512, groups);
    key("groups");
    begin_arr();
    for (int i = 0; i < n; ++i) v_i64(groups[i]);
    end_arr();
    mode_t m = umask(0);
    umask(m);
    kv_i64("umask", m);
}

void report_cwd() {
    char buf[4096];
    if (getcwd(buf, sizeof buf) != nullptr) {
        kv_str("cwd", buf);
        kv_i64("cwd_errno", 0);
    } else {
        kv_str("cwd", nullptr);
        kv_i64("cwd_errno", errno);
    }
    // Walking up from the working directory must stop at the container's
    // root. If the cwd lies outside the root (a leaked host directory), the
    // walk reaches the host's root instead, which has another dev/inode.
    char up[3 * 64 + 2] = ".";
    for (int i = 0; i < 64; ++i) strcat(up, "/..");
    struct stat a, b;
    bool same = stat(up, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino;
    kv_bool("cwd_reaches_root", same);
}

// Parse one "CapXxx:\t<hex>" line of /proc/self/status into an object.
void report_cap_set(const char* status, const char* field, const char* name) {
    key(name);
    const char* p = status ? strstr(status, field) : nullptr;
    if (p == nullptr) {
        v_null();
        return;
    }
    p += strlen(field);
    while (*p == ' ' || *p == '\t') ++p;
    unsigned long long mask = strtoull(p, nullptr, 16);
    begin_obj();
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx", mask);
    kv_str("hex", hex);
    key("names");
    begin_arr();
    for (int bit = 0; bit < 64; ++bit) {
        if ((mask >> bit) & 1ULL) {
            if (bit < static_cast<int>(sizeof k_cap_names / sizeof k_cap_names[0])) {
                v_str(k_cap_names[bit]);
            } else {
                char tmp[32];
                snprintf(tmp, sizeof tmp, "CAP_%d", bit);
                v_str(tmp);
            }
        }
    }
    end_arr();
    end_obj();
}

long status_number(const char* status, const char* field, long dflt) {
    const char* p = status ? strstr(status, field) : nullptr;
    if (p == nullptr) return dflt;
    p += strlen(field);
    return strtol(p, nullptr, 10);
}

void report_security() {
    char* status = read_file("/proc/self/status", nullptr);
    key("capabilities");
    begin_obj();
    report_cap_set(status, "\nCapInh:", "inheritable");
    report_cap_set(status, "\nCapPrm:", "permitted");
    report_cap_set(status, "\nCapEff:", "effective");
    report_cap_set(status, "\nCapBnd:", "bounding");
    report_cap_set(status, "\nCapAmb:", "ambient");
    end_obj();
    kv_i64("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    kv_i64("seccomp", status_number(status, "\nSeccomp:", -1));
    kv_i64("seccomp_filters", status_number(status, "\nSeccomp_filters:", -1));
    kv_i64("status_no_new_privs", status_number(status, "\nNoNewPrivs:", -1));
    free(status);

    key("rlimits");
    begin_obj();
    for (const RlimitName& r : k_rlimits) {
        struct rlimit lim;
        key(r.name);
        if (getrlimit(r.resource, &lim) != 0) {
            v_null();
            continue;
        }
        begin_obj();
        kv_u64("soft", lim.rlim_cur);
        kv_u64("hard", lim.rlim_max);
        end_obj();
    }
    end_obj();

    key("oom_score_adj");
    {
        char* s = read_file("/proc/self/oom_score_adj", nullptr);
        if (s)
            v_i64(strtol(s, nullptr, 10));
        else
            v_null();
        free(s);
    }
}

void report_fds() {
    key("fds");
    begin_arr();
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = dfd >= 0 ? fdopendir(dfd) : nullptr;
    if (d != nullptr) {
        // Collect first and sort, so the report is stable.
        int fds[1024];
        int n = 0;
        while (struct dirent* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            int fd = atoi(e->d_name);
            if (fd == dfd) continue;  // Our own directory handle.
            if (n < 1024) fds[n++] = fd;
        }
        for (int i = 1; i < n; ++i)
            for (int j = i; j > 0 && fds[j - 1] > fds[j]; --j) {
                int t = fds[j];
                fds[j] = fds[j - 1];
                fds[j - 1] = t;
            }
        for (int i = 0; i < n; ++i) {
            char path[64], target[4096];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
            ssize_t len = readlinkat(dfd, path + strlen("/proc/self/fd/"), target, sizeof target - 1);
            begin_obj();
            kv_i64("fd", fds[i]);
            key("target");
            if (len >= 0)
                v_str_n(target, static_cast<size_t>(len));
            else
                v_null();
            int flags = fcntl(fds[i], F_GETFD);
            kv_bool("cloexec", flags >= 0 && (flags & FD_CLOEXEC));
            end_obj();
        }
        closedir(d);
    } else if (dfd >= 0) {
        close(dfd);
    }
    end_arr();
    key("tty");
    begin_arr();
    for (int fd = 0; fd < 3; ++fd) v_bool(isatty(fd));
    end_arr();
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
void v_mountinfo_field(const char* s, size_t n) {
    char buf[4096];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof buf - 1; ++i) {
        if (s[i] == '\\' && i + 3 < n + 0 && s[i + 1] >= '0' && s[i + 1] <= '7') {
            buf[o++] = static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            buf[o++] = s[i];
        }
    }
    v_str_n(buf, o);
}

void v_comma_list(const char* s, size_t n) {
    begin_arr();
    size_t start = 0;
    for (size_t i = 0; i <= n; ++i) {
        if (i == n || s[i] == ',') {
            if (i > start) v_str_n(s + start, i - start);
            start = i + 1;
        }
    }
    end_arr();
}

void report_mounts() {
    key("mounts");
    char* info = read_file("/proc/self/mountinfo", nullptr, 16 << 20);
    if (info == nullptr) {
        v_null();
        return;
    }
    begin_arr();
    char* save = nullptr;
    for (char* line = strtok_r(info, "\n", &save); line; line = strtok_r(nullptr, "\n", &save)) {
        // id parent major:minor root mount_point options [optional...] - fstype source super
        const char* f[16];
        size_t fl[16];
        int nf = 0;
        const char* p = line;
        while (*p && nf < 16) {
            while (*p == ' ') ++p;
            if (!*p) break;
            const char* s = p;
            while (*p && *p != ' ') ++p;
            f[nf] = s;
            fl[nf] = static_cast<size_t>(p - s);
            ++nf;
        }
        int dash = -1;
        for (int i = 6; i < nf; ++i)
            if (fl[i] == 1 && f[i][0] == '-') {
                dash = i;
                break;
            }
        if (nf < 6 || dash < 0 || dash + 3 >= nf + 1) continue;
        begin_obj();
        kv_i64("id", strtol(f[0], nullptr, 10));
        kv_i64("parent", strtol(f[1], nullptr, 10));
        key("root");
        v_mountinfo_field(f[3], fl[3]);
        key("mount_point");
        v_mountinfo_field(f[4], fl[4]);
        key("options");
        v_comma_list(f[5], fl[5]);
        key("fstype");
        v_str_n(f[dash + 1], dash + 1 < nf ? fl[dash + 1] : 0);
        key("source");
        if (dash + 2 < nf)
            v_mountinfo_field(f[dash + 2], fl[dash + 2]);
        else
            v_null();
        key("super_options");
        if (dash + 3 < nf)
            v_comma_list(f[dash + 3], fl[dash + 3]);
        else
            v_comma_list("", 0);
        end_obj();
    }
    end_arr();
    free(info);
}

void report_namespaces() {
    key("namespaces");
    begin_obj();
    int dfd = open("/proc/self/ns", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = dfd >= 0 ? fdopendir(dfd) : nullptr;
    if (d != nullptr) {
        while (struct dirent* e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            char target[256];
            ssize_t n = readlinkat(dfd, e->d_name, target, sizeof target - 1);
            if (n < 0) continue;
            target[n] = '\0';
            const char* b = strchr(target, '[');
            key(e->d_name);
            if (b)
                v_u64(strtoull(b + 1, nullptr, 10));
            else
                v_null();
        }
        closedir(d);
    } else if (dfd >= 0) {
        close(dfd);
    }
    end_obj();
}

void report_misc(int argc, char** argv) {
    key("argv");
    begin_arr();
    for (int i = 0; i < argc; ++i) v_str(argv[i]);
    end_arr();
    key("env");
    begin_arr();
    for (char** e = environ; e && *e; ++e) v_str(*e);
    end_arr();
    key("cgroup");
    begin_arr();
    {
        char* s = read_file("/proc/self/cgroup", nullptr);
        char* save = nullptr;
        if (s)
            for (char* l = strtok_r(s, "\n", &save); l; l = strtok_r(nullptr, "\n", &save)) v_str(l);
        free(s);
    }
    end_arr();
    key("uid_map");
    v_file("/proc/self/uid_map");
    key("gid_map");
    v_file("/proc/self/gid_map");
    key("setgroups");
    v_file("/proc/self/setgroups");
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    key("exe");
    if (n >= 0)
        v_str_n(exe, static_cast<size_t>(n));
    else
        v_null();
}

int cmd_report(int argc, char** argv) {
    begin_obj();
    kv_str("probe", "report");
    report_ids();
    report_cwd();
    report_security();
    report_fds();
    report_mounts();
    report_namespaces();
    report_misc(argc, argv);
    end_obj();
    out_flush();
    return 0;
}

// ---------------------------------------------------------------------------
// Action commands. Each prints one JSON object describing the outcome and
// exits 0, so tests can tell "the probe ran and the action failed" apart
// from "the container never started".

int parse_open_flags(int argc, char** argv, int first) {
    int flags = 0;
    int acc = O_RDONLY;
    for (int i = first; i < argc; ++i) {
        const char* w = argv[i];
        if (!strcmp(w, "rdonly")) acc = O_RDONLY;
        else if (!strcmp(w, "wronly")) acc = O_WRONLY;
        else if (!strcmp(w, "rdwr")) acc = O_RDWR;
        else if (!strcmp(w, "creat")) flags |= O_CREAT;
        else if (!strcmp(w, "excl")) flags |= O_EXCL;
        else if (!strcmp(w, "trunc")) flags |= O_TRUNC;
        else if (!strcmp(w, "directory")) flags |= O_DIRECTORY;
        else if (!strcmp(w, "nofollow")) flags |= O_NOFOLLOW;
        else if (!strcmp(w, "path")) flags |= O_PATH;
    }
    return flags | acc;
}

int cmd_try_open(int argc, char** argv) {
    if (argc < 2) return 2;
    int flags = parse_open_flags(argc, argv, 2);
    int fd = open(argv[1], flags | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : 0;
    begin_obj();
    kv_str("probe", "try-open");
    kv_str("path", argv[1]);
    kv_errno(e);
    end_obj();
    out_flush();
    if (fd >= 0) close(fd);
    return 0;
}

int cmd_try_read(int argc, char** argv) {
    if (argc < 2) return 2;
    size_t max = argc > 2 ? strtoul(argv[2], nullptr, 10) : 65536;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    int e = fd < 0 ? errno : 0;
    char* buf = static_cast<char*>(malloc(max + 1));
    size_t len = 0;
    if (fd >= 0 && buf) {
        while (len < max) {
            ssize_t n = read(fd, buf + len, max - len);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                e = errno;
                break;
            }
            if (n == 0) break;
            len += static_cast<size_t>(n);
        }
        close(fd);
    }
    begin_obj();
    kv_str("probe", "try-read");
    kv_str("path", argv[1]);
    kv_errno(e);
    kv_u64("bytes", len);
    key("data");
    v_str_n(buf ? buf : "", len);
    end_obj();
    out_flush();
    free(buf);
    return 0;
}

int cmd_try_write(int argc, char** argv) {
    if (argc < 2) return 2;
    const char* data = argc > 2 ? argv[2] : "probe\n";
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = fd < 0 ? errno : 0;
    if (fd >= 0) {
        if (write(fd, data, strlen(data)) < 0) e = errno;
        close(fd);
    }
    begin_obj();
    kv_str("probe", "try-write");
    kv_str("path", argv[1]);
    kv_errno(e);
    end_obj();
    out_flush();
    return 0;
}

int cmd_try_mkdir(int argc, char** argv) {
    if (argc < 2) return 2;
    int e = mkdir(argv[1], 0755) == 0 ? 0 : errno;
    begin_obj();
    kv_str("probe", "try-mkdir");
    kv_str("path", argv[1]);
    kv_errno(e);
    end_obj();
    out_flush();
    return 0;
}

int cmd_try_mknod(int argc, char** argv) {
    if (argc < 2) return 2;
    // Defaults to a /dev/null-like node: harmless if it does get created.
    unsigned maj = argc > 2 ? strtoul(argv[2], nullptr, 10) : 1;
    unsigned min = argc > 3 ? strtoul(argv[3], nullptr, 10) : 3;
    int e = mknod(argv[1], S_IFCHR | 0600, makedev(maj, min)) == 0 ? 0 : errno;
    begin_obj();
    kv_str("probe", "try-mknod");
    kv_str("path", argv[1]);
    kv_errno(e);
    end_obj();
    out_flush();
    return 0;
}

int cmd_try_syscall(int argc, char** argv) {
    if (argc < 2) return 2;
    // Raw numbers, so a test can reach syscalls no tool in the rootfs makes (keyctl,
    // clone3...) and see what a seccomp filter answers. Never for calls that fork.
    long nr = strtol(argv[1], nullptr, 0);
    long a[6] = {};
    for (int i = 2; i < argc && i < 8; ++i) a[i - 2] = static_cast<long>(strtoul(argv[i], nullptr, 0));
    long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    int e = r < 0 ? errno : 0;
    begin_obj();
    kv_str("probe", "try-syscall");
    kv_i64("nr", nr);
    kv_i64("ret", r);
    kv_errno(e);
    end_obj();
    out_flush();
    return 0;
}

int cmd_try_chdir(int argc, char** argv) {
    if (argc < 2) return 2;
    int e = chdir(argv[1]) == 0 ? 0 : errno;
    begin_obj();
    kv_str("probe", "try-chdir");
    kv_str("path", argv[1]);
    kv_errno(e);
    report_cwd();
    end_obj();
    out_flush();
    return 0;
}

void stat_fields(const struct stat& st) {
    kv_str("type", file_type_name(st.st_mode));
    kv_i64("mode", st.st_mode & 07777);
    kv_i64("uid", st.st_uid);
    kv_i64("gid", st.st_gid);
    kv_i64("size", st.st_size);
    kv_i64("rdev_major", major(st.st_rdev));
    kv_i64("rdev_minor", minor(st.st_rdev));
    kv_u64("dev", st.st_dev);
    kv_u64("ino", st.st_ino);
}

int cmd_stat(int argc, char** argv) {
    if (argc < 2) return 2;
    struct stat st;
    int e = lstat(argv[1], &st) == 0 ? 0 : errno;
    begin_obj();
    kv_str("probe", "stat");
    kv_str("path", argv[1]);
    kv_bool("exists", e == 0);
    kv_errno(e);
    if (e == 0) {
        stat_fields(st);
        if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(argv[1], target, sizeof target - 1);
            key("link");
            if (n >= 0)
                v_str_n(target, static_cast<size_t>(n));
            else
                v_null();
            struct stat t;
            key("target");
            if (stat(argv[1], &t) == 0) {
                begin_obj();
                stat_fields(t);
                end_obj();
            } else {
                v_null();
            }
        }
    }
    end_obj();
    out_flush();
    return 0;
}

int cmd_ls(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : ".";
    DIR* d = opendir(dir);
    int e = d ? 0 : errno;
    begin_obj();
    kv_str("probe", "ls");
    kv_str("path", dir);
    kv_errno(e);
    key("entries");
    begin_arr();
    if (d) {
        while (struct dirent* ent = readdir(d)) {
            if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
            begin_obj();
            kv_str("name", ent->d_name);
            struct stat st;
            if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                kv_str("type", file_type_name(st.st_mode));
            else
                kv_str("type", "unknown");
            end_obj();
        }
        closedir(d);
    }
    end_arr();
    end_obj();
    out_flush();
    return 0;
}

int cmd_sleep(int argc, char** argv) {
    double secs = argc > 1 ? strtod(argv[1], nullptr) : 1.0;
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(secs);
    ts.tv_nsec = static_cast<long>((secs - static_cast<double>(ts.tv_sec)) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return 0;
}

// Print a line per signal received; exits 0 after COUNT signals. As pid 1 of
// a pid namespace the probe would otherwise ignore default-action signals, so
// it blocks them all and collects them with sigwaitinfo. The "ready" line
// tells the test that signals sent from now on will be seen.
int cmd_signal_wait(int argc, char** argv) {
    int count = argc > 1 ? atoi(argv[1]) : 1;
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    begin_obj();
    kv_bool("ready", true);
    kv_i64("pid", getpid());
    end_obj();
    out_flush();
    for (int got = 0; got < count;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        begin_obj();
        kv_i64("signal", sig);
        if (sig > 0 && sig < 32) {
            kv_str("name", k_signal_names[sig]);
        } else {
            char name[32];
            snprintf(name, sizeof name, "SIGRT%d", sig - SIGRTMIN);
            kv_str("name", name);
        }
        kv_i64("sender_pid", info.si_pid);
        end_obj();
        out_flush();
        // SIGCHLD can arrive from reaped children of exec'd processes; it
        // is reported but not counted.
        if (sig != SIGCHLD) ++got;
    }
    return 0;
}

// CVE-2019-5736 attempt: for up to MS milliseconds, look at every other
// process visible in the container; for any whose executable is not this
// probe (e.g. the runtime's own helper during `exec`), try to open the
// executable for writing, directly and by re-opening an O_PATH handle via
// /proc/self/fd. Writes happen only if an open for writing succeeds, which
// is exactly the vulnerability, and the tests run it against a copy of the
// runtime binary.
int cmd_attack_exe(int argc, char** argv) {
    long ms = argc > 1 ? strtol(argv[1], nullptr, 10) : 2000;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = '\0';
    int opened_for_write = 0;
    int seen = 0;
    int path_fds[64];
    int n_path = 0;
    char seen_targets[8][256];
    int n_seen_targets = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        DIR* d = opendir("/proc");
        if (d) {
            while (struct dirent* e = readdir(d)) {
                if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
                if (atoi(e->d_name) == getpid()) continue;
                char path[300], target[4096];
                snprintf(path, sizeof path, "/proc/%s/exe", e->d_name);
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n < 0) continue;
                target[n] = '\0';
                if (!strcmp(target, self)) continue;
                ++seen;
                bool known = false;
                for (int i = 0; i < n_seen_targets; ++i)
                    if (!strncmp(seen_targets[i], target, sizeof seen_targets[i] - 1)) known = true;
                if (!known && n_seen_targets < 8) {
                    target[sizeof seen_targets[0] - 1] = '\0';
                    memcpy(seen_targets[n_seen_targets], target, sizeof seen_targets[0]);
                    ++n_seen_targets;
                }
                int wfd = open(path, O_WRONLY | O_CLOEXEC);
                if (wfd >= 0) {
                    if (write(wfd, "#!/bin/false\n", 13) > 0) ++opened_for_write;
                    close(wfd);
                }
                if (n_path < 64) {
                    int pfd = open(path, O_PATH | O_CLOEXEC);
                    if (pfd >= 0) path_fds[n_path++] = pfd;
                }
            }
            closedir(d);
        }
        for (int i = 0; i < n_path; ++i) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", path_fds[i]);
            int wfd = open(path, O_WRONLY | O_CLOEXEC);
            if (wfd >= 0) {
                if (write(wfd, "#!/bin/false\n", 13) > 0) ++opened_for_write;
                close(wfd);
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= ms) break;
        // No sleep: the window in which the runtime is visible is short.
        sched_yield();
    }
    for (int i = 0; i < n_path; ++i) close(path_fds[i]);
    begin_obj();
    kv_str("probe", "attack-exe");
    kv_i64("foreign_processes_seen", seen);
    key("foreign_exes");
    begin_arr();
    for (int i = 0; i < n_seen_targets; ++i) v_str(seen_targets[i]);
    end_arr();
    kv_i64("writes_succeeded", opened_for_write);
    end_obj();
    out_flush();
    return 0;
}

// Wait until the file PATH exists (created by the test through a bind mount
// or by an `exec`), polling; prints whether it appeared. Lets a test hold the
// container's init alive until it has finished its checks.
int cmd_wait_file(int argc, char** argv) {
    if (argc < 2) return 2;
    long ms = argc > 2 ? strtol(argv[2], nullptr, 10) : 30000;
    bool found = false;
    for (long waited = 0; waited <= ms; waited += 10) {
        if (access(argv[1], F_OK) == 0) {
            found = true;
            break;
        }
        struct timespec pause = {0, 10 * 1000000};
        nanosleep(&pause, nullptr);
    }
    begin_obj();
    kv_str("probe", "wait-file");
    kv_str("path", argv[1]);
    kv_bool("found", found);
    end_obj();
    out_flush();
    return found ? 0 : 1;
}

// The window size of the terminal on FD (default 0) as TIOCGWINSZ gives it, and whether FD is
// this process's controlling terminal: what a program in the container sees of its terminal.
int cmd_winsize(int argc, char** argv) {
    int fd = argc > 1 ? atoi(argv[1]) : 0;
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    int err = ioctl(fd, TIOCGWINSZ, &ws) < 0 ? errno : 0;
    pid_t sid = -1;
    int ctty = ioctl(fd, TIOCGSID, &sid) == 0 && sid == getsid(0);
    begin_obj();
    kv_str("probe", "winsize");
    kv_i64("fd", fd);
    kv_i64("errno", err);
    kv_i64("rows", ws.ws_row);
    kv_i64("cols", ws.ws_col);
    kv_bool("controlling", ctty != 0);
    end_obj();
    out_flush();
    return err == 0 ? 0 : 1;
}

int cmd_echo(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (i > 1) out_raw(" ", 1);
        out_str(argv[i]);
    }
    out_flush();
    return 0;
}

void usage() {
    static const char text[] =
        "usage: probe [COMMAND [ARGS...]] [+ COMMAND [ARGS...]]...\n"
        "  report                      print what the process sees, as JSON (default)\n"
        "  try-open PATH [FLAGS...]    open(2) with rdonly|wronly|rdwr|creat|excl|trunc|\n"
        "                              directory|nofollow|path, print errno\n"
        "  try-read PATH [MAX]         read up to MAX bytes, print them\n"
        "  try-write PATH [DATA]       create/truncate PATH and write DATA\n"
        "  try-mkdir PATH              mkdir(2), print errno\n"
        "  try-mknod PATH [MAJ MIN]    mknod(2) a char device (default 1 3), print errno\n"
        "  try-chdir PATH              chdir(2), print errno and the new cwd\n"
        "  try-syscall NR [ARGS...]    a raw syscall (numbers only; none that fork), print errno\n"
        "  stat PATH                   lstat(2) (and stat(2) for symlinks)\n"
        "  ls [DIR]                    list a directory\n"
        "  echo WORDS...               print the words\n"
        "  sleep SECONDS               sleep (fractions allowed)\n"
        "  exit N                      exit with status N\n"
        "  signal-wait [COUNT]         print a line per signal; exit after COUNT\n"
        "  wait-file PATH [MS]         wait until PATH exists\n"
        "  winsize [FD]                TIOCGWINSZ of FD (default 0); FD is the controlling tty?\n"
        "  attack-exe [MS]             try to open foreign /proc/PID/exe for writing\n";
    flush_fd(2, text, sizeof text - 1);
}

int run_command(int argc, char** argv, int full_argc, char** full_argv) {
    const char* c = argc > 0 ? argv[0] : "report";
    if (!strcmp(c, "report")) return cmd_report(full_argc, full_argv);
    if (!strcmp(c, "try-open")) return cmd_try_open(argc, argv);
    if (!strcmp(c, "try-read")) return cmd_try_read(argc, argv);
    if (!strcmp(c, "try-write")) return cmd_try_write(argc, argv);
    if (!strcmp(c, "try-mkdir")) return cmd_try_mkdir(argc, argv);
    if (!strcmp(c, "try-mknod")) return cmd_try_mknod(argc, argv);
    if (!strcmp(c, "try-chdir")) return cmd_try_chdir(argc, argv);
    if (!strcmp(c, "try-syscall")) return cmd_try_syscall(argc, argv);
    if (!strcmp(c, "stat")) return cmd_stat(argc, argv);
    if (!strcmp(c, "ls")) return cmd_ls(argc, argv);
    if (!strcmp(c, "echo")) return cmd_echo(argc, argv);
    if (!strcmp(c, "sleep")) return cmd_sleep(argc, argv);
    if (!strcmp(c, "exit")) _exit(argc > 1 ? atoi(argv[1]) : 0);
    if (!strcmp(c, "signal-wait")) return cmd_signal_wait(argc, argv);
    if (!strcmp(c, "wait-file")) return cmd_wait_file(argc, argv);
    if (!strcmp(c, "winsize")) return cmd_winsize(argc, argv);
    if (!strcmp(c, "attack-exe")) return cmd_attack_exe(argc, argv);
    usage();
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return run_command(0, nullptr, argc, argv);
    // `report` prints the untouched argument list, so keep a copy before
    // the loop below cuts the vector at each separator.
    char** full = static_cast<char**>(calloc(static_cast<size_t>(argc) + 1, sizeof(char*)));
    if (full == nullptr) return 120;
    memcpy(full, argv, static_cast<size_t>(argc) * sizeof(char*));
    int status = 0;
    int start = 1;
    for (int i = 1; i <= argc; ++i) {
        if (i == argc || !strcmp(argv[i], "+")) {
            // Temporarily cut the vector at the separator.
            char* saved = argv[i];
            argv[i] = nullptr;
            status = run_command(i - start, argv + start, argc, full);
            argv[i] = saved;
            if (status == 2) return status;
            start = i + 1;
        }
    }
    return status;
}
