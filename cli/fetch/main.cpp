// `hull-fetch`: pulls one image from a registry into hull's store.
//
// The static `hull` cannot link libcurl (images/registry.hpp says why), so `hull pull` and
// `hull launch` run this small dynamically linked helper through images/pull.hpp. It also works
// on its own, with podman's pull flags:
//
//   hull-fetch [--store DIR] [--tls-verify=false] [--creds U:P] [--authfile F] [--cert-dir D]
//              [--platform OS/ARCH[/VARIANT]] [-q] REF
//
// Blobs are downloaded in parallel into a staging directory under the store's tmp/, then copied
// into the store through BlobWriter, which checks each against its digest again; only then are
// the manifest written and the image committed (which unpacks the layers). Everything happens
// under a store Lease, so gc waits. A helper killed at any point leaves only verified blobs,
// complete layers (renamed into place when done) and its staging directory, which the next
// hull-fetch (it is flock'ed while alive) or gc removes: nothing a later pull would trust.
//
// With --status-fd N (how images/pull.cpp runs it) the outcome goes to fd N as one line,
// "ok\t<name>\t<manifest digest>\t<config digest>" or "error\t<message>", instead of the
// image ID on stdout and the error on stderr.
#include "images/progress.hpp"
#include "images/reference.hpp"
#include "images/registry.hpp"
#include "images/store.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <CLI/CLI.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>

namespace hull::fetch {
namespace {

namespace img = hull::images;

struct Flags {
    std::string store;
    bool tls_verify = true;
    std::string creds;
    std::string authfile;
    std::string cert_dir;
    std::string platform;
    bool quiet = false;
    int status_fd = -1;
    std::string ref;
};

std::string default_store() {
    const char* env = std::getenv("HULL_STORE");
    return env && *env ? env : img::kDefaultStoreRoot;
}

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        s.remove_prefix(static_cast<size_t>(n));
    }
}

// The staging directory of this pull, tmp/fetch-XXXXXX, flock'ed for as long as the process
// lives so that another hull-fetch can tell an abandoned one (its owner was killed) from one in
// use. Removed on destruction.
class StagingDir {
public:
    static Result<StagingDir> create(const std::string& store_root) {
        std::string tmpl = fs::join(store_root, "tmp/staging-XXXXXX");
        if (!::mkdtemp(tmpl.data())) return fail_sys(cat("create a staging directory in `", store_root, "/tmp`"));
        StagingDir s;
        s.path_ = tmpl;
        s.fd_ = HULL_TRY(fs::open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (::flock(s.fd_.get(), LOCK_EX) != 0) return fail_sys(cat("lock `", tmpl, "`"));
        // Only now does it get the name other fetches look at: until the rename it is not yet
        // locked, and a "staging-" leftover is gc's business.
        std::string final_path = fs::join(store_root, cat("tmp/fetch-", tmpl.substr(tmpl.size() - 6)));
        if (::rename(tmpl.c_str(), final_path.c_str()) != 0) return fail_sys(cat("rename `", tmpl, "`"));
        s.path_ = final_path;
        return s;
    }
    StagingDir() = default;
    StagingDir(StagingDir&& o) noexcept : path_(std::exchange(o.path_, {})), fd_(std::move(o.fd_)) {}
    StagingDir& operator=(StagingDir&&) = delete;
    ~StagingDir() {
        if (!path_.empty()) (void)fs::remove_tree(path_);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    UniqueFd fd_;
};

// Removes the staging directories of fetches that were killed: those nobody holds a lock on.
void remove_abandoned_staging(const std::string& store_root) {
    std::string tmp = fs::join(store_root, "tmp");
    DIR* d = ::opendir(tmp.c_str());
    if (!d) return;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).starts_with("fetch-")) names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) {
        std::string p = fs::join(tmp, n);
        auto fd = fs::open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (!fd || ::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) continue;  // alive, or gone already
        (void)fs::remove_tree(p);
    }
}

// podman's --cert-dir: every *.crt in the directory is a CA. The registry client takes one CA
// file, so several are joined in a memfd that it reads through /proc/self/fd.
Result<std::string> ca_file_from_cert_dir(const std::string& dir, UniqueFd& holder) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return fail_sys(cat("open --cert-dir `", dir, "`"));
    std::vector<std::string> crts;
    while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).ends_with(".crt")) crts.push_back(fs::join(dir, e->d_name));
    ::closedir(d);
    if (crts.empty()) return fail_msg(cat("--cert-dir `", dir, "` holds no *.crt file"));
    std::sort(crts.begin(), crts.end());
    if (crts.size() == 1) return crts[0];
    std::string all;
    for (const auto& c : crts) all += HULL_TRY_CTX(fs::read_file(c), cat("read CA `", c, "`")) + "\n";
    int fd = ::memfd_create("hull-fetch-ca", MFD_CLOEXEC);
    if (fd < 0) return fail_sys("memfd_create");
    holder = UniqueFd(fd);
    HULL_TRY(fs::write_fd(holder, all));
    return cat("/proc/self/fd/", fd);
}

struct Outcome {
    img::ImageRecord record;
};

Result<Outcome> pull(const Flags& f) {
    const img::Reference ref = HULL_TRY(img::parse_reference(f.ref));
    const oci::Platform platform = f.platform.empty() ? oci::host_platform() : HULL_TRY(oci::parse_platform(f.platform));
    if (f.store.empty() || f.store.front() != '/') return fail_msg(cat("--store must be an absolute path, got `", f.store, "`"));

    img::RegistryOptions ro;
    ro.tls_verify = f.tls_verify;
    if (!f.creds.empty()) {
        auto colon = f.creds.find(':');
        if (colon == std::string::npos || colon == 0) return fail_msg("--creds must be USERNAME:PASSWORD");
        ro.credentials = img::Credentials{f.creds.substr(0, colon), f.creds.substr(colon + 1)};
    }
    if (!f.authfile.empty()) {
        if (!fs::exists(f.authfile)) return fail_msg(cat("--authfile `", f.authfile, "` does not exist"));
        ro.auth_files = img::AuthFiles{{f.authfile}};
    }
    UniqueFd ca_holder;
    if (!f.cert_dir.empty()) ro.ca_file = HULL_TRY(ca_file_from_cert_dir(f.cert_dir, ca_holder));

    img::Store store = HULL_TRY(img::Store::open(f.store));
    const img::Lease lease = HULL_TRY(store.lease());
    remove_abandoned_staging(store.root());

    img::ProgressPrinter progress(STDERR_FILENO, img::ProgressPrinter::mode_for(STDERR_FILENO, f.quiet),
                                  img::ProgressPrinter::columns_of(STDERR_FILENO));
    ro.progress = [&progress](const img::BlobProgress& p) { progress.update(p.digest, p.done, false); };

    const std::string ctx = cat("pull `", ref.str(), "`");
    progress.header(cat("Trying to pull ", ref.str(), "..."));
    auto registry = HULL_TRY_CTX(img::Registry::open(ref, ro), ctx);
    img::ResolvedImage resolved = HULL_TRY_CTX(registry->resolve(ref, platform), ctx);

    // Layers first, the config last, as podman lists them; a blob shared by two layers once.
    std::vector<std::pair<oci::Descriptor, std::string>> blobs;
    std::set<std::string> seen;
    for (const auto& l : resolved.parsed.layers)
        if (seen.insert(l.digest.str()).second) blobs.emplace_back(l, "blob");
    if (seen.insert(resolved.parsed.config.digest.str()).second) blobs.emplace_back(resolved.parsed.config, "config");

    StagingDir staging = HULL_TRY_CTX(StagingDir::create(store.root()), ctx);
    std::vector<img::BlobTarget> targets;
    for (const auto& [d, kind] : blobs) {
        bool present = store.has_blob(d.digest);
        progress.add_blob(d.digest.str(), kind, d.size, present);
        if (!present) targets.push_back({d, fs::join(staging.path(), d.digest.hex)});
    }
    HULL_TRY_CTX(registry->fetch_blobs(ref.repository, targets), ctx);
    for (const auto& t : targets) {
        auto fd = HULL_TRY_CTX(fs::open(t.path, O_RDONLY | O_CLOEXEC), ctx);
        HULL_TRY_CTX(store.put_blob_fd(t.blob.digest, t.blob.size, fd), ctx);
        (void)::unlink(t.path.c_str());
        progress.finish_blob(t.blob.digest.str());
    }

    progress.message("Writing manifest to image destination");
    std::optional<oci::Digest> index_digest;
    if (resolved.index) {
        HULL_TRY_CTX(store.put_blob(resolved.index->digest, resolved.index->size, resolved.index_bytes), ctx);
        index_digest = resolved.index->digest;
    }
    HULL_TRY_CTX(store.put_blob(resolved.manifest.digest, resolved.manifest.size, resolved.manifest_bytes), ctx);
    Outcome out;
    out.record = HULL_TRY_CTX(store.commit_image(ref.str(), resolved.manifest.digest, index_digest), ctx);
    return out;
}

int fetch_main(int argc, char** argv) {
    Flags f;
    f.store = default_store();
    CLI::App app{"pull an image from a registry into hull's store", "hull-fetch"};
    app.add_option("--store", f.store, "the image store (default: $HULL_STORE, else /var/lib/hull)");
    app.add_flag("--tls-verify", f.tls_verify,
                 "require HTTPS and verify certificates (--tls-verify=false also allows plain HTTP)");
    app.add_option("--creds", f.creds, "USERNAME:PASSWORD for the registry");
    app.add_option("--authfile", f.authfile, "credentials file (auth.json or docker config.json)");
    app.add_option("--cert-dir", f.cert_dir, "directory whose *.crt files are trusted CAs");
    app.add_option("--platform", f.platform, "OS/ARCH[/VARIANT] to pick from a multi-platform image");
    app.add_flag("-q,--quiet", f.quiet, "no progress; print only the image ID");
    app.add_option("--status-fd", f.status_fd, "write the outcome to this fd (for hull)")->group("");
    app.add_option("ref", f.ref, "image reference")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        write_all(STDOUT_FILENO, app.help());
        return 0;
    } catch (const CLI::ParseError& e) {
        std::string msg = e.what();
        if (!msg.empty() && msg[0] >= 'A' && msg[0] <= 'Z') msg[0] = static_cast<char>(msg[0] - 'A' + 'a');
        if (f.status_fd >= 0) write_all(f.status_fd, cat("error\t", msg, "\n"));
        else write_all(STDERR_FILENO, cat("hull-fetch: ", msg, "\n"));
        return 1;
    }
    // hull passes --creds in the environment: a command line is readable by every user.
    if (const char* c = std::getenv("HULL_FETCH_CREDS"); c && f.creds.empty()) f.creds = c;
    ::unsetenv("HULL_FETCH_CREDS");
    // A write to a closed progress pipe must fail the write, not kill the pull halfway.
    ::signal(SIGPIPE, SIG_IGN);
    if (f.status_fd >= 0 && ::fcntl(f.status_fd, F_SETFD, FD_CLOEXEC) != 0) f.status_fd = -1;

    auto r = pull(f);
    if (!r) {
        std::string msg = r.error().message();
        if (f.status_fd >= 0) write_all(f.status_fd, cat("error\t", msg, "\n"));
        else write_all(STDERR_FILENO, cat("hull-fetch: ", msg, "\n"));
        return 1;
    }
    const auto& rec = r->record;
    if (f.status_fd >= 0)
        write_all(f.status_fd, cat("ok\t", rec.name, "\t", rec.manifest_digest.str(), "\t", rec.config_digest.str(), "\n"));
    else
        write_all(STDOUT_FILENO, cat(rec.config_digest.hex, "\n"));
    return 0;
}

}  // namespace
}  // namespace hull::fetch

int main(int argc, char** argv) {
    try {
        return hull::fetch::fetch_main(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hull-fetch: %s\n", e.what());
    }
    return 1;
}
