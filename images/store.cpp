// The content store. See store.hpp for the on-disk layout, the commit protocol and the locks.
#include "images/store.hpp"

#include "images/digest.hpp"
#include "images/reference.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <nlohmann/json.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

namespace hull::images {

using json = nlohmann::json;

namespace {

constexpr const char* kDirs[] = {"blobs", "blobs/sha256", "blobs/sha512", "layers", "l", "images", "pins", "locks", "tmp"};

// A Digest built by hand could carry anything; only a parsed one may become a path.
Status check_digest(const oci::Digest& d) {
    auto r = oci::Digest::parse(d.str());
    if (!r) return fail(std::move(r.error()));
    return {};
}

std::string now_rfc3339() {
    time_t t = ::time(nullptr);
    struct tm tm;
    ::gmtime_r(&t, &tm);
    char buf[32];
    ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// 26 base32 characters (130 bits) of the chain ID: short enough that ~100 fit in overlay's
// page-sized option string, long enough that no two layers share one.
std::string short_link(const oci::Digest& chain) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i + 1 < chain.hex.size() && out.size() < 26; i += 2) {
        acc = (acc << 8) | static_cast<uint32_t>(std::stoul(chain.hex.substr(i, 2), nullptr, 16));
        bits += 8;
        while (bits >= 5 && out.size() < 26) {
            out.push_back(kAlphabet[(acc >> (bits - 5)) & 31]);
            bits -= 5;
        }
    }
    return out;
}

bool is_str(const json& j, const char* k) { return j.contains(k) && j[k].is_string(); }

Result<oci::Digest> json_digest(const json& j, const char* k) {
    if (!is_str(j, k)) return fail_msg(cat("missing ", q(k)));
    return oci::Digest::parse(j[k].get<std::string>());
}

json record_to_json(const ImageRecord& r) {
    json layers = json::array();
    for (const auto& l : r.layers)
        layers.push_back({{"mediaType", l.blob.media_type},
                          {"digest", l.blob.digest.str()},
                          {"size", l.blob.size},
                          {"diffID", l.diff_id.str()},
                          {"chainID", l.chain_id.str()}});
    json j = {{"name", r.name},   {"manifest", r.manifest_digest.str()}, {"config", r.config_digest.str()},
              {"layers", layers}, {"size", r.size},                      {"created", r.created}};
    if (r.index_digest) j["index"] = r.index_digest->str();
    return j;
}

Result<ImageRecord> record_from_json(std::string_view text, const std::string& path) {
    auto bad = [&](std::string_view why) { return fail_msg(cat("image record ", q(path), ": ", why)); };
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("invalid JSON");
    ImageRecord r;
    if (!is_str(j, "name") || !is_str(j, "created")) return bad("missing name");
    r.name = j["name"].get<std::string>();
    r.created = j["created"].get<std::string>();
    auto m = json_digest(j, "manifest");
    auto c = json_digest(j, "config");
    if (!m || !c) return bad("bad manifest or config digest");
    r.manifest_digest = *m;
    r.config_digest = *c;
    if (j.contains("index")) {
        auto i = json_digest(j, "index");
        if (!i) return bad("bad index digest");
        r.index_digest = *i;
    }
    if (!j.contains("size") || !j["size"].is_number_integer() || !j.contains("layers") || !j["layers"].is_array())
        return bad("missing size or layers");
    r.size = j["size"].get<int64_t>();
    for (const auto& l : j["layers"]) {
        if (!l.is_object() || !is_str(l, "mediaType") || !l.contains("size") || !l["size"].is_number_integer())
            return bad("bad layer");
        LayerRecord lr;
        lr.blob.media_type = l["mediaType"].get<std::string>();
        lr.blob.size = l["size"].get<int64_t>();
        auto d = json_digest(l, "digest"), di = json_digest(l, "diffID"), ch = json_digest(l, "chainID");
        if (!d || !di || !ch) return bad("bad layer digest");
        lr.blob.digest = *d;
        lr.diff_id = *di;
        lr.chain_id = *ch;
        r.layers.push_back(std::move(lr));
    }
    return r;
}

// Names in a directory, without . and ..
Result<std::vector<std::string>> list_dir(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return fail_sys(cat("open ", q(path)));
    std::vector<std::string> out;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") out.emplace_back(n);
    }
    ::closedir(d);
    return out;
}

uint64_t disk_bytes(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

Status fsync_dir(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_sys(cat("open ", q(path)));
    UniqueFd f(fd);
    if (::fsync(f.get()) < 0) return fail_sys(cat("fsync ", q(path)));
    return {};
}

}  // namespace

// --- Store::Impl -----------------------------------------------------------------------------

struct Store::Impl {
    std::string root;

    std::string path(std::string_view rel) const { return fs::join(root, rel); }
    std::string blob(const oci::Digest& d) const { return path(cat("blobs/", d.algorithm_name(), "/", d.hex)); }
    std::string layer_dir(const oci::Digest& chain) const { return path(cat("layers/", chain.hex)); }
    std::string lock(std::string_view name) const { return path(cat("locks/", name)); }
    std::string record(std::string_view name) const { return path(cat("images/", escape_name(name), ".json")); }
    std::string pin(std::string_view owner) const { return pin_path(root, owner); }

    Result<LayerInfo> read_layer(const oci::Digest& chain) const;
    Result<ImageRecord> read_record(const std::string& file) const {
        auto text = HULL_TRY(fs::read_file(file));
        return record_from_json(text, file);
    }
};

Result<LayerInfo> Store::Impl::read_layer(const oci::Digest& chain) const {
    std::string meta = fs::join(layer_dir(chain), "layer.json");
    auto text = HULL_TRY(fs::read_file(meta));
    json j = json::parse(text, nullptr, false);
    auto bad = [&] { return fail_msg(cat("layer record ", q(meta), ": invalid")); };
    if (j.is_discarded() || !j.is_object() || !is_str(j, "link") || !j.contains("size") || !j["size"].is_number_unsigned())
        return bad();
    LayerInfo info;
    auto c = json_digest(j, "chainID"), d = json_digest(j, "diffID");
    if (!c || !d || *c != chain) return bad();
    info.chain_id = *c;
    info.diff_id = *d;
    if (j.contains("parent")) {
        auto p = json_digest(j, "parent");
        if (!p) return bad();
        info.parent = *p;
    }
    info.link = j["link"].get<std::string>();
    if (info.link != short_link(chain)) return bad();
    info.size = j["size"].get<uint64_t>();
    info.path = fs::join(layer_dir(chain), "diff");
    return info;
}

// --- BlobWriter ------------------------------------------------------------------------------

struct BlobWriter::State {
    std::string final_path;
    std::string dir;
    std::string tmp_path;  // set when O_TMPFILE was not available
    oci::Digest digest;
    int64_t size = -1;
    Hasher hasher;
    UniqueFd fd;
    Lease lease;
    Lease lock;
    uint64_t written = 0;
    bool present = false;
    bool committed = false;

    explicit State(oci::Digest::Algorithm alg) : hasher(alg) {}
    ~State() {
        if (!committed && !tmp_path.empty()) ::unlink(tmp_path.c_str());
    }
};

BlobWriter::BlobWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

bool BlobWriter::present() const { return s_->present; }
uint64_t BlobWriter::written() const { return s_->written; }

Status BlobWriter::write(std::string_view data) {
    // SAFETY: char and std::byte have the same size and alignment; the view is read-only.
    return write(std::span(reinterpret_cast<const std::byte*>(data.data()), data.size()));
}

Status BlobWriter::write(std::span<const std::byte> data) {
    auto& s = *s_;
    if (s.present || s.committed) return fail_msg(cat("blob ", s.digest.str(), ": write after the blob was complete"));
    if (s.size >= 0 && s.written + data.size() > static_cast<uint64_t>(s.size))
        return fail_msg(cat("blob ", s.digest.str(), ": more data than the expected ", s.size, " bytes"));
    s.hasher.update(data.data(), data.size());
    const std::byte* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(s.fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(Error::sys("write").context(cat("blob ", s.digest.str())));
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    s.written += data.size();
    return {};
}

Status BlobWriter::commit() {
    auto& s = *s_;
    if (s.present || s.committed) return {};
    auto ctx = cat("blob ", s.digest.str());
    if (s.size >= 0 && s.written != static_cast<uint64_t>(s.size))
        return fail(Error::msg(cat("size mismatch: expected ", s.size, " bytes, got ", s.written)).context(ctx));
    auto got = s.hasher.finish();
    if (got != s.digest) return fail(Error::msg(cat("digest mismatch: got ", got.str())).context(ctx));
    if (::fsync(s.fd.get()) < 0) return fail(Error::sys("fsync").context(ctx));
    if (s.tmp_path.empty()) {
        // Name the unnamed temp file; AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, /proc does not.
        int r = ::linkat(s.fd.get(), "", AT_FDCWD, s.final_path.c_str(), AT_EMPTY_PATH);
        if (r < 0 && errno != EEXIST) {
            std::string proc = cat("/proc/self/fd/", s.fd.get());
            r = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, s.final_path.c_str(), AT_SYMLINK_FOLLOW);
        }
        if (r < 0 && errno != EEXIST) return fail(Error::sys(cat("link ", q(s.final_path))).context(ctx));
    } else {
        if (::rename(s.tmp_path.c_str(), s.final_path.c_str()) < 0)
            return fail(Error::sys(cat("rename to ", q(s.final_path))).context(ctx));
    }
    s.committed = true;
    HULL_TRY_CTX(fsync_dir(s.dir), ctx);
    return {};
}

// --- Store -----------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const std::string& Store::root() const { return impl_->root; }

Result<Store> Store::open(const std::string& root) {
    if (!root.starts_with('/')) return fail_msg(cat("store root ", q(root), ": must be an absolute path"));
    auto impl = std::make_unique<Impl>();
    impl->root = fs::clean(root);
    HULL_TRY_CTX(fs::mkdir_p(impl->root, 0700), cat("open store ", q(impl->root)));
    for (const char* d : kDirs) {
        auto p = impl->path(d);
        if (::mkdir(p.c_str(), 0700) < 0 && errno != EEXIST) return fail_sys(cat("create ", q(p)));
    }
    return Store(std::move(impl));
}

Result<Lease> Store::lease() const { return take_lock(impl_->lock("store"), LOCK_SH); }

bool Store::has_blob(const oci::Digest& d) const {
    if (!check_digest(d)) return false;
    struct stat st;
    return ::lstat(impl_->blob(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Store::blob_path(const oci::Digest& d) const { return impl_->blob(d); }

Result<UniqueFd> Store::open_blob(const oci::Digest& d) const {
    HULL_TRY(check_digest(d));
    auto fd = fs::open(impl_->blob(d), O_RDONLY | O_NOFOLLOW);
    if (!fd && fd.error().code() == ENOENT) return fail_msg(cat("blob ", d.str(), " is not in the store"));
    return fd;
}

Result<std::string> Store::read_blob(const oci::Digest& d, uint64_t max_bytes) const {
    auto fd = HULL_TRY(open_blob(d));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return fail_sys(cat("stat blob ", d.str()));
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
        return fail_msg(cat("blob ", d.str(), ": larger than ", max_bytes, " bytes"));
    auto text = HULL_TRY_CTX(fs::read_fd(fd), cat("read blob ", d.str()));
    // Checked again on every read: a blob damaged on disk must not be trusted.
    Hasher h(d.algorithm);
    h.update(text);
    if (auto got = h.finish(); got != d) return fail_msg(cat("blob ", d.str(), ": corrupt in the store (digest ", got.str(), ")"));
    return text;
}

Result<BlobWriter> Store::begin_blob(const oci::Digest& digest, int64_t size) {
    HULL_TRY(check_digest(digest));
    auto s = std::make_unique<BlobWriter::State>(digest.algorithm);
    s->digest = digest;
    s->size = size;
    s->final_path = impl_->blob(digest);
    s->dir = impl_->path(cat("blobs/", digest.algorithm_name()));
    s->lease = HULL_TRY(lease());
    s->lock = HULL_TRY(take_lock(impl_->lock(cat("blob-", digest.hex)), LOCK_EX));
    if (has_blob(digest)) {
        s->present = true;
        return BlobWriter(std::move(s));
    }
    int fd = ::open(s->dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        std::string tmpl = impl_->path(cat("tmp/blob-", digest.hex, "-XXXXXX"));
        fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
        if (fd >= 0) s->tmp_path = tmpl;
    }
    if (fd < 0) return fail_sys(cat("create a temp file for blob ", digest.str()));
    s->fd = UniqueFd(fd);
    if (!s->tmp_path.empty()) ::fchmod(fd, 0444);
    return BlobWriter(std::move(s));
}

Status Store::put_blob(const oci::Digest& digest, int64_t size, std::string_view data) {
    auto w = HULL_TRY(begin_blob(digest, size));
    if (w.present()) return {};
    HULL_TRY(w.write(data));
    return w.commit();
}

Status Store::put_blob_fd(const oci::Digest& digest, int64_t size, FdRef fd) {
    auto w = HULL_TRY(begin_blob(digest, size));
    if (w.present()) return {};
    std::vector<std::byte> buf(1 << 17);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Error::sys("read").context(cat("blob ", digest.str())));
        if (n == 0) break;
        HULL_TRY(w.write(std::span(buf.data(), static_cast<size_t>(n))));
    }
    return w.commit();
}

std::optional<LayerInfo> Store::layer(const oci::Digest& chain_id) const {
    if (!check_digest(chain_id)) return std::nullopt;
    auto r = impl_->read_layer(chain_id);
    if (!r) return std::nullopt;
    return std::move(*r);
}

// A layer unpacked into layers/.tmp-<hex> under its lock, not yet published. Dropping it
// unpublished removes the temp dir (and releases the lock).
struct Store::PendingLayer {
    Lease lease;
    Lease lock;
    LayerInfo info;                   // path empty until published
    std::string tmp;                  // empty once published, or when the layer was present
    std::vector<std::string> implicit_dirs;

    PendingLayer() = default;
    PendingLayer(PendingLayer&&) noexcept = default;
    PendingLayer& operator=(PendingLayer&&) = delete;
    ~PendingLayer() {
        if (!tmp.empty()) (void)fs::remove_tree(tmp);
    }
};

Result<Store::PendingLayer> Store::prepare_layer(const oci::Digest& blob, const oci::Digest& diff_id,
                                                 const std::optional<oci::Digest>& parent, const UnpackOptions& opts_in) {
    HULL_TRY(check_digest(blob));
    HULL_TRY(check_digest(diff_id));
    if (parent) HULL_TRY(check_digest(*parent));
    oci::Digest chain = parent ? digest_of(parent->str() + " " + diff_id.str()) : diff_id;
    auto ctx = cat("unpack layer ", blob.str());
    PendingLayer p;
    p.lease = HULL_TRY(lease());
    p.lock = HULL_TRY(take_lock(impl_->lock(cat("layer-", chain.hex)), LOCK_EX));
    if (auto existing = layer(chain)) {
        p.info = std::move(*existing);
        return p;
    }

    std::string final_dir = impl_->layer_dir(chain);
    std::string tmp = impl_->path(cat("layers/.tmp-", chain.hex));
    // Whatever is here was left by a killed unpack of this layer: we hold its lock, so no live
    // process is writing it.
    HULL_TRY_CTX(fs::remove_tree(tmp), ctx);
    HULL_TRY_CTX(fs::remove_tree(final_dir), ctx);  // a layer dir without a valid layer.json
    if (::mkdir(tmp.c_str(), 0700) < 0) return fail(Error::sys(cat("mkdir ", q(tmp))).context(ctx));
    p.tmp = tmp;  // from here on, a failure removes it
    std::string diff = fs::join(tmp, "diff");
    if (::mkdir(diff.c_str(), 0755) < 0) return fail(Error::sys(cat("mkdir ", q(diff))).context(ctx));
    auto in = HULL_TRY_CTX(open_blob(blob), ctx);
    auto dest = HULL_TRY_CTX(fs::open(diff, O_RDONLY | O_DIRECTORY), ctx);
    UnpackOptions opts = opts_in;
    opts.expected_diff_id = diff_id;
    opts.expected_blob_digest = blob;
    auto stats = HULL_TRY_CTX(images::unpack_layer(in, dest, opts), ctx);
    p.info.chain_id = chain;
    p.info.diff_id = diff_id;
    p.info.parent = parent;
    p.info.link = short_link(chain);
    p.info.size = stats.tar_bytes;
    p.implicit_dirs = std::move(stats.implicit_dirs);
    return p;
}

Status Store::finish_layer(PendingLayer& p, std::span<const std::string> lowers) {
    if (p.tmp.empty()) return {};  // it was already in the store
    const auto& info = p.info;
    auto ctx = cat("unpack layer ", info.chain_id.str());
    auto dest = HULL_TRY_CTX(fs::open(fs::join(p.tmp, "diff"), O_RDONLY | O_DIRECTORY), ctx);
    HULL_TRY_CTX(inherit_dir_metadata(dest, p.implicit_dirs, lowers), ctx);
    json meta = {{"chainID", info.chain_id.str()}, {"diffID", info.diff_id.str()}, {"link", info.link}, {"size", info.size}};
    if (info.parent) meta["parent"] = info.parent->str();
    HULL_TRY_CTX(fs::write_file_atomic(fs::join(p.tmp, "layer.json"), meta.dump(), 0644), ctx);
    std::string link = impl_->path(cat("l/", info.link));
    std::string target = cat("../layers/", info.chain_id.hex, "/diff");
    if (::symlink(target.c_str(), link.c_str()) < 0) {
        char buf[256];
        ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
        if (errno != EEXIST || n < 0 || std::string_view(buf, static_cast<size_t>(n)) != target)
            return fail(Error::sys(cat("create link ", q(link))).context(ctx));
    }
    return {};
}

Status Store::commit_layers(std::span<PendingLayer* const> batch) {
    std::string layers = impl_->path("layers");
    auto dir = HULL_TRY(fs::open(layers, O_RDONLY | O_DIRECTORY));
    // Everything written so far reaches the disk before a rename publishes it; one syncfs
    // covers the whole batch.
    if (::syncfs(dir.get()) < 0) return fail_sys(cat("syncfs ", q(layers)));
    for (auto* p : batch) {
        if (p->tmp.empty()) continue;
        std::string final_dir = impl_->layer_dir(p->info.chain_id);
        if (::rename(p->tmp.c_str(), final_dir.c_str()) < 0)
            return fail(Error::sys(cat("rename to ", q(final_dir))).context(cat("unpack layer ", p->info.chain_id.str())));
        p->tmp.clear();
        p->info.path = fs::join(final_dir, "diff");
    }
    if (::fsync(dir.get()) < 0) return fail_sys(cat("fsync ", q(layers)));
    return {};
}

Result<LayerInfo> Store::unpack_layer(const oci::Digest& blob, const oci::Digest& diff_id,
                                      const std::optional<oci::Digest>& parent, const UnpackOptions& opts) {
    // The layers below, top first, for the directories this layer does not list.
    std::vector<std::string> lowers;
    for (auto below = parent; below;) {
        auto info = layer(*below);
        if (!info) return fail_msg(cat("unpack layer ", blob.str(), ": parent layer ", below->str(), " is not unpacked"));
        lowers.push_back(info->path);
        below = info->parent;
    }
    auto p = HULL_TRY(prepare_layer(blob, diff_id, parent, opts));
    if (p.tmp.empty()) return p.info;
    HULL_TRY(finish_layer(p, lowers));
    PendingLayer* batch[] = {&p};
    HULL_TRY(commit_layers(batch));
    return p.info;
}

namespace {

// How many layers of one image unpack at once. Not tied to the CPU count: much of an unpack
// is waiting for the filesystem (creating thousands of small files), which overlaps well.
size_t unpack_threads(size_t layers) { return std::min(layers, size_t(4)); }

}  // namespace

Result<std::vector<LayerInfo>> Store::unpack_layers(std::span<const LayerRecord> layers, const UnpackOptions& opts) {
    // Workers take layers bottom first and unpack each into its temp dir. Publishing (implied
    // directories completed from the layers below, layer.json, then syncfs and rename) goes
    // strictly bottom up: whichever worker finds the lowest unpublished layers ready publishes
    // that run of them as one batch with a single syncfs. Nobody waits for anybody: a layer
    // that is ready before the one below it is picked up by that one's publisher. After a
    // failure no new layer is started; those below it are still published (they are complete
    // and valid), those above it are dropped with their temp dirs.
    enum class State { waiting, prepared, publishing, published, failed };
    struct Slot {
        State state = State::waiting;
        std::optional<PendingLayer> pending;
        std::optional<Error> error;
    };
    const size_t n = layers.size();
    std::vector<Slot> slots(n);
    std::mutex mu;
    size_t next = 0, published = 0;
    bool failed = false, publishing = false;

    auto publish_ready = [&](std::unique_lock<std::mutex>& lk) {
        while (!publishing && published < n && slots[published].state == State::prepared) {
            size_t b = published, e = b;
            while (e < n && slots[e].state == State::prepared) slots[e++].state = State::publishing;
            publishing = true;
            std::vector<std::string> below;
            for (size_t k = b; k-- > 0;) below.push_back(slots[k].pending->info.path);
            lk.unlock();
            Status r;
            std::vector<PendingLayer*> batch;
            for (size_t k = b; k < e && r; ++k) {
                // Batch-mates below this one are still in their temp dirs.
                std::vector<std::string> lowers;
                for (size_t m = k; m-- > b;) {
                    const auto& pm = *slots[m].pending;
                    lowers.push_back(pm.tmp.empty() ? pm.info.path : fs::join(pm.tmp, "diff"));
                }
                lowers.insert(lowers.end(), below.begin(), below.end());
                r = finish_layer(*slots[k].pending, lowers);
                batch.push_back(&*slots[k].pending);
            }
            if (r) r = commit_layers(batch);
            lk.lock();
            publishing = false;
            for (size_t k = b; k < e; ++k) slots[k].state = r ? State::published : State::failed;
            if (!r) {
                slots[b].error = std::move(r.error());
                failed = true;
            } else {
                published = e;
            }
        }
    };
    auto worker = [&] {
        for (;;) {
            size_t i;
            {
                std::lock_guard lk(mu);
                if (failed || next == n) return;
                i = next++;
            }
            std::optional<oci::Digest> parent;
            if (i > 0) parent = layers[i - 1].chain_id;
            auto r = prepare_layer(layers[i].blob.digest, layers[i].diff_id, parent, opts);
            std::unique_lock lk(mu);
            if (!r) {
                slots[i].state = State::failed;
                slots[i].error = std::move(r.error());
                failed = true;
                continue;
            }
            slots[i].pending.emplace(std::move(*r));
            slots[i].state = State::prepared;
            publish_ready(lk);
        }
    };
    {
        std::vector<std::jthread> pool;
        for (size_t t = 1; t < unpack_threads(n); ++t) pool.emplace_back(worker);
        worker();
    }
    for (auto& s : slots)
        if (s.error) return fail(std::move(*s.error));
    std::vector<LayerInfo> out;
    for (auto& s : slots) {
        if (s.state != State::published) return fail_msg("unpack layers: a layer was neither published nor failed");
        out.push_back(s.pending->info);
    }
    return out;
}

Result<ImageRecord> Store::commit_image(std::string_view name_in, const oci::Digest& manifest_digest,
                                        const std::optional<oci::Digest>& index_digest, const UnpackOptions& opts) {
    HULL_TRY(check_digest(manifest_digest));
    std::string name = name_in.empty() ? cat("@", manifest_digest.str()) : std::string(name_in);
    if (name.size() > 1024 || name.find_first_of(std::string_view("\0\n", 2)) != std::string::npos)
        return fail_msg(cat("invalid image name ", q(name)));
    auto ctx = cat("image ", q(name));
    auto held = HULL_TRY(lease());
    std::string doc = cat("manifest ", manifest_digest.str());
    auto mtext = HULL_TRY_CTX(read_blob(manifest_digest), ctx);
    auto manifest = HULL_TRY_CTX(oci::parse_manifest(mtext, doc.c_str()), ctx);
    const auto& cd = manifest.config;
    std::string cdoc = cat("image config ", cd.digest.str());
    auto ctext = HULL_TRY_CTX(read_blob(cd.digest), ctx);
    if (static_cast<int64_t>(ctext.size()) != cd.size)
        return fail(Error::msg(cat("config ", cd.digest.str(), ": size ", ctext.size(), " differs from the manifest's ", cd.size)).context(ctx));
    auto config = HULL_TRY_CTX(oci::parse_image_config(ctext, cdoc.c_str()), ctx);
    if (config.diff_ids.size() != manifest.layers.size())
        return fail(Error::msg(cat("manifest has ", manifest.layers.size(), " layers but the config has ", config.diff_ids.size(), " diff_ids")).context(ctx));

    ImageRecord rec;
    rec.name = name;
    rec.manifest_digest = manifest_digest;
    rec.index_digest = index_digest;
    rec.config_digest = cd.digest;
    rec.size = static_cast<int64_t>(mtext.size() + ctext.size());
    auto chains = chain_ids(config.diff_ids);
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
        const auto& ld = manifest.layers[i];
        struct stat st;
        if (::stat(blob_path(ld.digest).c_str(), &st) < 0)
            return fail(Error::msg(cat("layer blob ", ld.digest.str(), " is not in the store")).context(ctx));
        if (st.st_size != ld.size)
            return fail(Error::msg(cat("layer blob ", ld.digest.str(), ": size ", st.st_size, " differs from the manifest's ", ld.size)).context(ctx));
        rec.layers.push_back({ld, config.diff_ids[i], chains[i]});
        rec.size += ld.size;
    }
    HULL_TRY_CTX(unpack_layers(rec.layers, opts), ctx);
    rec.created = now_rfc3339();
    auto lock = HULL_TRY(take_lock(impl_->lock("index"), LOCK_EX));
    HULL_TRY_CTX(fs::write_file_atomic(impl_->record(name), record_to_json(rec).dump(2) + "\n", 0644), ctx);
    return rec;
}

Result<std::vector<ImageRecord>> Store::list_images() const {
    auto lock = HULL_TRY(take_lock(impl_->lock("index"), LOCK_SH));
    std::vector<ImageRecord> out;
    auto dir = impl_->path("images");
    for (const auto& n : HULL_TRY(list_dir(dir))) {
        if (!n.ends_with(".json")) continue;  // temp files of an atomic write
        out.push_back(HULL_TRY(impl_->read_record(fs::join(dir, n))));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

Result<ImageRecord> Store::find_image(std::string_view name) const {
    if (name.empty()) return fail_msg("empty image name");
    {
        auto lock = HULL_TRY(take_lock(impl_->lock("index"), LOCK_SH));
        if (fs::exists(impl_->record(name))) return impl_->read_record(impl_->record(name));
        if (auto ref = parse_reference(name); ref && fs::exists(impl_->record(ref->str())))
            return impl_->read_record(impl_->record(ref->str()));
    }
    // A manifest digest or an unambiguous prefix of its hex.
    std::string_view hex = name;
    if (hex.starts_with("@")) hex.remove_prefix(1);
    if (hex.starts_with("sha256:")) hex.remove_prefix(7);
    if (hex.size() >= 12 && hex.find_first_not_of("0123456789abcdef") == std::string_view::npos) {
        std::optional<ImageRecord> found;
        for (auto& r : HULL_TRY(list_images())) {
            if (!r.manifest_digest.hex.starts_with(hex)) continue;
            if (found && found->manifest_digest != r.manifest_digest)
                return fail_msg(cat("image ", q(name), " is ambiguous"));
            if (!found) found = std::move(r);
        }
        if (found) return std::move(*found);
    }
    return fail_msg(cat("image ", q(name), " not found"));
}

Status Store::remove_image(std::string_view name) {
    auto rec = HULL_TRY(find_image(name));
    auto lock = HULL_TRY(take_lock(impl_->lock("index"), LOCK_EX));
    if (::unlink(impl_->record(rec.name).c_str()) < 0 && errno != ENOENT)
        return fail_sys(cat("remove image record ", q(impl_->record(rec.name))));
    return {};
}

Result<std::vector<std::string>> Store::lower_dirs(const ImageRecord& img) const {
    std::vector<std::string> out;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {
        auto info = layer(it->chain_id);
        if (!info) return fail_msg(cat("image ", q(img.name), ": layer ", it->chain_id.str(), " is not unpacked"));
        out.push_back(impl_->path(cat("l/", info->link)));
    }
    return out;
}

Status Store::pin(std::string_view owner, std::span<const oci::Digest> chain_ids) {
    if (owner.empty()) return fail_msg("pin: empty owner");
    json list = json::array();
    for (const auto& c : chain_ids) {
        HULL_TRY(check_digest(c));
        if (!layer(c)) return fail_msg(cat("pin ", q(owner), ": layer ", c.str(), " is not in the store"));
        list.push_back(c.str());
    }
    auto lock = HULL_TRY(take_lock(impl_->lock("index"), LOCK_EX));
    return fs::write_file_atomic(impl_->pin(owner), json{{"owner", owner}, {"layers", list}}.dump() + "\n", 0644);
}

Status Store::unpin(std::string_view owner) { return images::unpin(impl_->root, owner); }

Result<GcStats> Store::gc() {
    // Exclusive: every writer (BlobWriter, unpack_layer, commit_image) holds a shared lease, so
    // nothing half-made is in flight while we sweep.
    auto excl = HULL_TRY(take_lock(impl_->lock("store"), LOCK_EX));
    auto lock = HULL_TRY(take_lock(impl_->lock("index"), LOCK_EX));
    std::set<std::string> blobs, layers;  // "<alg>/<hex>", "<hex>"
    auto images_dir = impl_->path("images");
    for (const auto& n : HULL_TRY(list_dir(images_dir))) {
        if (!n.ends_with(".json")) continue;
        auto r = HULL_TRY(impl_->read_record(fs::join(images_dir, n)));
        auto mark = [&](const oci::Digest& d) { blobs.insert(cat(d.algorithm_name(), "/", d.hex)); };
        mark(r.manifest_digest);
        mark(r.config_digest);
        if (r.index_digest) mark(*r.index_digest);
        for (const auto& l : r.layers) {
            mark(l.blob.digest);
            layers.insert(l.chain_id.hex);
        }
    }
    auto pins_dir = impl_->path("pins");
    for (const auto& n : HULL_TRY(list_dir(pins_dir))) {
        if (!n.ends_with(".json")) continue;
        auto text = HULL_TRY(fs::read_file(fs::join(pins_dir, n)));
        json j = json::parse(text, nullptr, false);
        // An unreadable pin keeps everything: freeing a running container's layers is worse
        // than keeping garbage.
        if (j.is_discarded() || !j.contains("layers") || !j["layers"].is_array())
            return fail_msg(cat("gc: pin ", q(fs::join(pins_dir, n)), " is unreadable; fix or remove it"));
        for (const auto& c : j["layers"]) {
            auto d = c.is_string() ? oci::Digest::parse(c.get<std::string>()) : fail_msg("not a string");
            if (!d) return fail_msg(cat("gc: pin ", q(fs::join(pins_dir, n)), " is unreadable; fix or remove it"));
            layers.insert(d->hex);
        }
    }

    GcStats stats;
    for (const char* alg : {"sha256", "sha512"}) {
        auto dir = impl_->path(cat("blobs/", alg));
        for (const auto& n : HULL_TRY(list_dir(dir))) {
            if (blobs.contains(cat(alg, "/", n))) continue;
            auto p = fs::join(dir, n);
            stats.bytes_freed += disk_bytes(p);
            if (::unlink(p.c_str()) < 0) return fail_sys(cat("gc: remove ", q(p)));
            ++stats.blobs_removed;
        }
    }
    auto layers_dir = impl_->path("layers");
    for (const auto& n : HULL_TRY(list_dir(layers_dir))) {
        if (layers.contains(n)) continue;
        HULL_TRY_CTX(fs::remove_tree(fs::join(layers_dir, n)), "gc");
        if (!n.starts_with(".")) ++stats.layers_removed;
    }
    auto links_dir = impl_->path("l");
    for (const auto& n : HULL_TRY(list_dir(links_dir))) {
        auto p = fs::join(links_dir, n);
        struct stat st;
        if (::stat(p.c_str(), &st) == 0) continue;  // still points at a layer
        if (::unlink(p.c_str()) < 0) return fail_sys(cat("gc: remove ", q(p)));
    }
    for (const auto& n : HULL_TRY(list_dir(impl_->path("tmp")))) HULL_TRY_CTX(fs::remove_tree(impl_->path(cat("tmp/", n))), "gc");
    // Lock files of things that are gone; safe while we hold the store exclusively.
    auto locks_dir = impl_->path("locks");
    for (const auto& n : HULL_TRY(list_dir(locks_dir))) {
        bool stale = (n.starts_with("blob-") && !fs::exists(impl_->path(cat("blobs/sha256/", n.substr(5)))) &&
                      !fs::exists(impl_->path(cat("blobs/sha512/", n.substr(5))))) ||
                     (n.starts_with("layer-") && !layers.contains(n.substr(6)));
        if (stale) ::unlink(fs::join(locks_dir, n).c_str());
    }
    return stats;
}

}  // namespace hull::images
