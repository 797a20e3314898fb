// The network half of the registry client: libcurl transfers, authentication, verification.
#include "images/registry.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "images/digest.hpp"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace hull::images {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The body kept from a failed response, enough for the registry's error JSON.
constexpr size_t max_error_body = 64 << 10;
constexpr size_t max_token_body = 1 << 20;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return std::string(s);
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

std::string url_escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            static constexpr char hex[] = "0123456789ABCDEF";
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// Where the body of a successful response goes. Returning false aborts the transfer.
using Sink = std::function<bool(std::string_view)>;

struct Response {
    CURLcode code = CURLE_OK;
    std::string curl_error;
    long status = 0;
    std::map<std::string, std::string> headers;  // lowercased names, last value wins
    std::vector<std::string> challenges;         // every WWW-Authenticate value
    std::string error_body;                      // body of a non-2xx response, truncated
    std::string sink_error;                      // why the sink aborted
};

// A failure worth another attempt: the network, or the server saying it is busy or broken.
bool transient(const Response& r) {
    switch (r.code) {
        case CURLE_OK:
            return r.status == 408 || r.status == 429 || r.status >= 500;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
            return true;
        default:
            return false;
    }
}

// The registry's own words for an error response: {"errors":[{"code":..,"message":..}]}.
std::string describe_status(const Response& r) {
    json doc = json::parse(r.error_body, nullptr, false);
    if (doc.is_object()) {
        auto errs = doc.find("errors");
        if (errs != doc.end() && errs->is_array() && !errs->empty() && (*errs)[0].is_object()) {
            const json& e = (*errs)[0];
            auto msg = e.find("message");
            auto code = e.find("code");
            if (msg != e.end() && msg->is_string() && !msg->get_ref<const std::string&>().empty())
                return cat(msg->get<std::string>(), " (HTTP ", r.status, ")");
            if (code != e.end() && code->is_string()) return cat(lower(code->get<std::string>()), " (HTTP ", r.status, ")");
        }
    }
    return cat("HTTP ", r.status);
}

struct Token {
    std::string value;
    Clock::time_point expires;
};

struct Transfer {
    Response* resp;
    CURL* curl;
    const Sink* sink;
    const std::atomic<bool>* cancel;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
        // Every response of a redirect chain starts over: only the last one's headers count.
        t->resp->headers.clear();
        t->resp->challenges.clear();
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        std::string name = lower(trim(line.substr(0, colon)));
        std::string value = trim(line.substr(colon + 1));
        if (name == "www-authenticate") t->resp->challenges.push_back(value);
        t->resp->headers[name] = std::move(value);
    }
    return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view chunk(data, size * n);
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        auto& body = t->resp->error_body;
        body.append(chunk.substr(0, max_error_body - std::min(body.size(), max_error_body)));
        return chunk.size();
    }
    if (t->cancel && t->cancel->load()) return CURL_WRITEFUNC_ERROR;
    if (t->sink && !(*t->sink)(chunk)) return CURL_WRITEFUNC_ERROR;
    return chunk.size();
}

int on_xferinfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    return t->cancel && t->cancel->load() ? 1 : 0;
}

const char* system_ca_bundle() {
    for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"})
        if (::access(p, R_OK) == 0) return p;
    return nullptr;
}

}  // namespace

struct Registry::Impl {
    RegistryOptions opts;
    std::string host;  // host[:port] the API is served from
    bool verify = true;

    std::mutex mu;  // guards everything below
    bool pinged = false;
    std::string base;  // "https://host" or "http://host", set by ping
    std::optional<Challenge> challenge;
    std::map<std::string, Token> tokens;  // by scope
    bool creds_looked_up = false;
    CredentialLookup creds;
    std::string ca_blob;  // system bundle + extra CAs, when there are extra CAs
    std::string client_cert, client_key;
    std::mutex progress_mu;

    CurlHandle main_handle;

    Status setup_tls() {
        std::vector<std::string> extra;
        if (!opts.ca_file.empty()) extra.push_back(opts.ca_file);
        if (!opts.certs_dir.empty()) {
            std::string dir = fs::join(opts.certs_dir, host);
            if (DIR* d = ::opendir(dir.c_str())) {
                while (dirent* e = ::readdir(d)) {
                    std::string name = e->d_name;
                    if (name.ends_with(".crt")) extra.push_back(fs::join(dir, name));
                    else if (name == "client.cert") client_cert = fs::join(dir, name);
                    else if (name == "client.key") client_key = fs::join(dir, name);
                }
                ::closedir(d);
            }
            if (client_cert.empty() != client_key.empty())
                return fail_msg(cat("`", dir, "` has only one of client.cert and client.key"));
        }
        if (extra.empty()) return {};
        // curl takes one CA source per handle, so the extra CAs join a copy of the system bundle:
        // adding a registry's CA must not stop other certificates from verifying.
        if (const char* sys = system_ca_bundle()) ca_blob = HULL_TRY_CTX(fs::read_file(sys), "read the system CA bundle");
        for (const auto& f : extra) {
            ca_blob += "\n";
            ca_blob += HULL_TRY_CTX(fs::read_file(f), cat("read CA file `", f, "`"));
        }
        return {};
    }

    Result<const CredentialLookup*> credentials(std::string_view repository) {
        if (!creds_looked_up) {
            if (opts.credentials) {
                creds.credentials = opts.credentials;
                creds.source = "the given credentials";
            } else {
                creds = HULL_TRY(find_credentials(opts.auth_files, host == "registry-1.docker.io" ? "docker.io" : host,
                                                  repository));
            }
            creds_looked_up = true;
        }
        return &creds;
    }

    // Configures a handle for one request; `hdrs` must outlive the transfer.
    void prepare(CURL* c, const std::string& url, curl_slist* hdrs, Transfer* t, bool head_only) {
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "hull");
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        // Registries send blobs to object storage; https stays https unless TLS is off anyway.
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, verify ? "https" : "http,https");
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts.stall_timeout_seconds));
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
        if (!ca_blob.empty()) {
            curl_blob blob{ca_blob.data(), ca_blob.size(), CURL_BLOB_NOCOPY};
            curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (!client_cert.empty()) {
            curl_easy_setopt(c, CURLOPT_SSLCERT, client_cert.c_str());
            curl_easy_setopt(c, CURLOPT_SSLKEY, client_key.c_str());
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
        if (head_only) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }

    Response perform(CURL* c, const std::string& url, const std::vector<std::string>& headers, const Sink* sink,
                     const std::atomic<bool>* cancel) {
        Response r;
        Transfer t{&r, c, sink, cancel};
        curl_slist* raw = nullptr;
        for (const auto& h : headers) raw = curl_slist_append(raw, h.c_str());
        Slist list(raw);
        char errbuf[CURL_ERROR_SIZE] = {};
        prepare(c, url, raw, &t, false);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        r.code = curl_easy_perform(c);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        r.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(r.code);
        return r;
    }

    std::string transport_error(const Response& r) const {
        switch (r.code) {
            case CURLE_PEER_FAILED_VERIFICATION:
                return cat("certificate of `", host, "` is not trusted (", r.curl_error, "); put its CA in `",
                           fs::join(opts.certs_dir.empty() ? "/etc/containers/certs.d" : opts.certs_dir, host),
                           "/ca.crt` or use --tls-verify=false");
            case CURLE_SSL_CONNECT_ERROR:
                return cat("TLS handshake with `", host, "` failed: ", r.curl_error);
            default:
                return cat("request to `", host, "` failed: ", r.curl_error);
        }
    }

    Status ping_locked() {
        if (pinged) return {};
        // With verification off, a registry that does not speak TLS is reached over plain
        // HTTP, as podman does for --tls-verify=false and insecure registries.
        std::vector<std::string> schemes = {"https"};
        if (!verify) schemes.push_back("http");
        Response r;
        for (const auto& scheme : schemes) {
            for (int attempt = 1;; ++attempt) {
                r = perform(main_handle.get(), cat(scheme, "://", host, "/v2/"), {}, nullptr, nullptr);
                if (!transient(r) || r.code == CURLE_OK || attempt >= opts.attempts) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
            }
            if (r.code == CURLE_OK) {
                base = cat(scheme, "://", host);
                break;
            }
        }
        if (r.code != CURLE_OK) return fail_msg(transport_error(r));
        if (r.status == 401) {
            HULL_TRY(learn_challenge(r));
        } else if (r.status == 404) {
            return fail_msg(cat("`", host, "` does not serve the registry API v2 (/v2/ is HTTP 404)"));
        } else if (r.status < 200 || r.status >= 300) {
            return fail_msg(cat("ping `", base, "/v2/`: ", describe_status(r)));
        }
        pinged = true;
        return {};
    }

    Status learn_challenge(const Response& r) {
        for (const auto& h : r.challenges) {
            auto list = HULL_TRY_CTX(parse_challenges(h), cat("`", host, "`"));
            for (auto& c : list) {
                if (c.scheme == AuthScheme::bearer || (c.scheme == AuthScheme::basic && !challenge)) challenge = c;
            }
        }
        if (!challenge)
            return fail_msg(cat("`", host, "` asks for authentication without a Basic or Bearer challenge"));
        if (challenge->scheme == AuthScheme::bearer) {
            auto realm = challenge->params.find("realm");
            if (realm == challenge->params.end() ||
                !(realm->second.starts_with("https://") || realm->second.starts_with("http://")))
                return fail_msg(cat("`", host, "` sent a Bearer challenge without an http(s) realm"));
        }
        return {};
    }

    std::string no_credentials_error(std::string_view repository) const {
        std::string where = opts.auth_files.paths.empty() ? "no auth files" : join(opts.auth_files.paths, ", ");
        std::string s = cat("`", host, "` requires authentication for `", repository, "`");
        if (!creds.unsupported_helper.empty())
            return cat(s, ": `", creds.source, "` names credential helper `", creds.unsupported_helper,
                       "`, which hull does not run");
        return cat(s, ": no credentials for it (looked in ", where, ")");
    }

    // The Authorization header for `scope`, fetching a bearer token if needed. Empty when the
    // registry has not asked for authentication.
    Result<std::string> authorization(CURL* c, std::string_view repository, const std::string& scope) {
        std::lock_guard lock(mu);
        if (!challenge) return std::string();
        const CredentialLookup* cl = HULL_TRY(credentials(repository));
        if (challenge->scheme == AuthScheme::basic) {
            if (!cl->credentials) return fail_msg(no_credentials_error(repository));
            return cat("Authorization: Basic ", base64_encode(cat(cl->credentials->username, ":", cl->credentials->password)));
        }
        if (auto it = tokens.find(scope); it != tokens.end() && Clock::now() < it->second.expires)
            return cat("Authorization: Bearer ", it->second.value);

        std::string url = challenge->params["realm"];
        url += url.find('?') == std::string::npos ? '?' : '&';
        bool first = true;
        auto add = [&](std::string_view k, std::string_view v) {
            if (!first) url += '&';
            first = false;
            url += cat(k, "=", url_escape(v));
        };
        if (auto s = challenge->params.find("service"); s != challenge->params.end()) add("service", s->second);
        add("scope", scope);
        std::vector<std::string> headers;
        if (cl->credentials)
            headers.push_back(cat("Authorization: Basic ",
                                  base64_encode(cat(cl->credentials->username, ":", cl->credentials->password))));
        std::string body;
        Sink sink = [&](std::string_view d) {
            if (body.size() + d.size() > max_token_body) return false;
            body.append(d);
            return true;
        };
        Response r;
        for (int attempt = 1;; ++attempt) {
            body.clear();
            r = perform(c, url, headers, &sink, nullptr);
            if (!transient(r) || attempt >= opts.attempts) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
        }
        std::string realm_host = challenge->params["realm"];
        if (r.code == CURLE_WRITE_ERROR) return fail_msg(cat("token from `", realm_host, "` is larger than 1 MiB"));
        if (r.code != CURLE_OK) return fail_msg(cat("get a token from `", realm_host, "`: ", r.curl_error));
        if (r.status == 401 || r.status == 403) {
            if (!cl->credentials) return fail_msg(no_credentials_error(repository));
            return fail_msg(cat("`", realm_host, "` refused the credentials for `", cl->credentials->username,
                                "` from ", cl->source, ": ", describe_status(r)));
        }
        if (r.status != 200) return fail_msg(cat("get a token from `", realm_host, "`: ", describe_status(r)));
        json doc = json::parse(body, nullptr, false);
        std::string token;
        if (doc.is_object()) {
            for (const char* key : {"token", "access_token"}) {
                auto it = doc.find(key);
                if (it != doc.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
                    token = it->get<std::string>();
                    break;
                }
            }
        }
        if (token.empty()) return fail_msg(cat("token server `", realm_host, "` answered without a token"));
        // Tokens default to 60 s (the token spec's minimum); renew a little early.
        int64_t ttl = 60;
        if (auto e = doc.find("expires_in"); e != doc.end() && e->is_number_integer() && e->get<int64_t>() > 0)
            ttl = e->get<int64_t>();
        tokens[scope] = Token{token, Clock::now() + std::chrono::seconds(std::max<int64_t>(ttl - 10, 1))};
        return cat("Authorization: Bearer ", token);
    }

    struct Call {
        std::string repository;
        std::string path;  // after /v2/<repository>/
        std::vector<std::string> headers;
        const Sink* sink = nullptr;
        std::function<Status()> rewind;  // undoes what the sink wrote, before another attempt
        const std::atomic<bool>* cancel = nullptr;
    };

    // One API request with authentication and retries. A 401 is answered once by
    // (re)authenticating; transient failures are retried with backoff.
    Result<Response> call(CURL* c, const Call& call) {
        {
            std::lock_guard lock(mu);
            HULL_TRY(ping_locked());
        }
        std::string url = cat(base, "/v2/", call.repository, "/", call.path);
        std::string scope = cat("repository:", call.repository, ":pull");
        bool reauthenticated = false;
        Response r;
        for (int attempt = 1;;) {
            std::vector<std::string> headers = call.headers;
            std::string auth = HULL_TRY(authorization(c, call.repository, scope));
            if (!auth.empty()) headers.push_back(auth);
            r = perform(c, url, headers, call.sink, call.cancel);
            if (r.code == CURLE_OK && r.status == 401 && !reauthenticated) {
                reauthenticated = true;
                std::lock_guard lock(mu);
                bool had_auth = !auth.empty();
                HULL_TRY(learn_challenge(r));
                tokens.erase(scope);
                // A registry that refuses credentials it already had will refuse them again.
                if (had_auth && challenge->scheme == AuthScheme::basic) break;
                if (call.rewind) HULL_TRY(call.rewind());
                continue;
            }
            if (!transient(r) || attempt >= opts.attempts || (call.cancel && call.cancel->load())) break;
            if (call.rewind) HULL_TRY(call.rewind());
            std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
            ++attempt;
        }
        if (r.code == CURLE_OK && r.status == 401) {
            std::lock_guard lock(mu);
            const CredentialLookup* cl = HULL_TRY(credentials(call.repository));
            if (!cl->credentials) return fail_msg(no_credentials_error(call.repository));
            return fail_msg(cat("`", host, "` refused the credentials for `", cl->credentials->username, "` from ",
                                cl->source));
        }
        return r;
    }

    CurlHandle new_handle() {
        CurlHandle h(curl_easy_init());
        return h;
    }
};

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::open(const Reference& ref, RegistryOptions options) {
    global_init();
    auto impl = std::make_unique<Impl>();
    impl->opts = std::move(options);
    impl->host = ref.api_host();
    impl->verify = impl->opts.tls_verify;
    for (const auto& h : impl->opts.insecure_registries)
        if (h == ref.domain || h == impl->host) impl->verify = false;
    if (impl->opts.attempts < 1) impl->opts.attempts = 1;
    if (impl->opts.parallel < 1) impl->opts.parallel = 1;
    HULL_TRY(impl->setup_tls());
    impl->main_handle = impl->new_handle();
    if (!impl->main_handle) return fail_msg("cannot create a curl handle");
    return std::unique_ptr<Registry>(new Registry(std::move(impl)));
}

Status Registry::ping() {
    std::lock_guard lock(impl_->mu);
    return impl_->ping_locked();
}

Result<std::pair<oci::Descriptor, std::string>> Registry::fetch_manifest(std::string_view repository,
                                                                         std::string_view ref) {
    bool by_digest = ref.find(':') != std::string_view::npos;
    auto ctx = cat("fetch manifest `", repository, by_digest ? "@" : ":", ref, "` from `", impl_->host, "`");
    std::optional<oci::Digest> want;
    if (by_digest) want = HULL_TRY_CTX(oci::Digest::parse(ref), ctx);
    std::string body;
    bool too_big = false;
    Sink sink = [&](std::string_view d) {
        if (body.size() + d.size() > static_cast<size_t>(max_manifest_size)) {
            too_big = true;
            return false;
        }
        body.append(d);
        return true;
    };
    Impl::Call call{std::string(repository), cat("manifests/", ref), {cat("Accept: ", manifest_accept_header())}, &sink,
                    [&]() -> Status {
                        body.clear();
                        return {};
                    }};
    auto r = HULL_TRY_CTX(impl_->call(impl_->main_handle.get(), call), ctx);
    if (too_big) return fail_msg(cat(ctx, ": manifest larger than ", max_manifest_size >> 20, " MiB refused"));
    if (r.code != CURLE_OK) return fail_msg(cat(ctx, ": ", impl_->transport_error(r)));
    if (r.status != 200) return fail_msg(cat(ctx, ": ", describe_status(r)));

    oci::Descriptor d;
    d.size = static_cast<int64_t>(body.size());
    d.digest = digest_of(body, want ? want->algorithm : oci::Digest::Algorithm::sha256);
    if (want && d.digest != *want)
        return fail_msg(cat(ctx, ": content hashes to `", d.digest.str(), "`, not the digest asked for"));
    if (!want) {
        // By tag nothing pins the bytes, but a registry that names a digest must agree with them.
        auto hdr = r.headers.find("docker-content-digest");
        if (hdr != r.headers.end() && hdr->second.starts_with("sha256:") && hdr->second != d.digest.str())
            return fail_msg(cat(ctx, ": content hashes to `", d.digest.str(), "` but the registry says `", hdr->second, "`"));
    }
    auto ct = r.headers.find("content-type");
    d.media_type = HULL_TRY_CTX(manifest_media_type(ct == r.headers.end() ? "" : ct->second, body), ctx);
    return std::pair{std::move(d), std::move(body)};
}

Result<ResolvedImage> Registry::resolve(const Reference& ref, const oci::Platform& platform) {
    ResolvedImage out;
    out.reference = ref;
    auto [desc, bytes] = HULL_TRY(fetch_manifest(ref.repository, ref.manifest_ref()));
    if (oci::is_index_media_type(desc.media_type)) {
        auto index = HULL_TRY(oci::parse_index(bytes, "image index"));
        auto chosen = HULL_TRY_CTX(choose_manifest(index, platform), cat("`", ref.str(), "`"));
        out.index = std::move(desc);
        out.index_bytes = std::move(bytes);
        auto [mdesc, mbytes] = HULL_TRY(fetch_manifest(ref.repository, chosen.digest.str()));
        if (mdesc.size != chosen.size)
            return fail_msg(cat("manifest `", chosen.digest.str(), "` of `", ref.str(), "` is ", mdesc.size,
                                " bytes, the index says ", chosen.size));
        if (!oci::is_manifest_media_type(mdesc.media_type))
            return fail_msg(cat("`", ref.str(), "`: index entry `", chosen.digest.str(), "` is `", mdesc.media_type,
                                "`, not an image manifest"));
        mdesc.platform = chosen.platform;
        desc = std::move(mdesc);
        bytes = std::move(mbytes);
    }
    out.manifest = std::move(desc);
    out.manifest_bytes = std::move(bytes);
    out.parsed = HULL_TRY(oci::parse_manifest(out.manifest_bytes, "image manifest"));
    return out;
}

namespace {

Status write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_sys("write");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

}  // namespace

// The body of fetch_blob, on a given handle so fetch_blobs' workers can each use their own.
static Status fetch_blob_on(Registry::Impl& impl, CURL* c, std::string_view repository, const oci::Descriptor& blob,
                            int fd, const std::atomic<bool>* cancel) {
    const std::string digest = blob.digest.str();
    auto ctx = cat("fetch blob `", digest, "` of `", repository, "` from `", impl.host, "`");
    Hasher hasher(blob.digest.algorithm);
    if (blob.size < 0) return fail_msg(cat(ctx, ": negative size"));
    off_t start = ::lseek(fd, 0, SEEK_CUR);
    bool seekable = start >= 0;

    int64_t done = 0;
    bool too_big = false;
    Status write_error;
    auto last_report = Clock::now();
    Sink sink = [&](std::string_view d) {
        if (done + static_cast<int64_t>(d.size()) > blob.size) {
            too_big = true;
            return false;
        }
        if (auto st = write_all(fd, d); !st) {
            write_error = st;
            return false;
        }
        hasher.update(d);
        done += static_cast<int64_t>(d.size());
        if (impl.opts.progress && Clock::now() - last_report > std::chrono::milliseconds(100)) {
            last_report = Clock::now();
            std::lock_guard lock(impl.progress_mu);
            impl.opts.progress(BlobProgress{digest, done, blob.size});
        }
        return true;
    };
    auto rewind = [&]() -> Status {
        if (!seekable && done > 0) return fail_msg(cat(ctx, ": transfer failed midway and the output cannot be rewound"));
        if (seekable && (::ftruncate(fd, start) != 0 || ::lseek(fd, start, SEEK_SET) != start))
            return fail_sys(cat(ctx, ": rewind the output"));
        done = 0;
        hasher = Hasher(blob.digest.algorithm);
        return {};
    };
    auto undo = [&](Error e) -> Status {
        if (seekable) {
            // Best effort: the caller learns of the real failure either way.
            (void)!::ftruncate(fd, start);
            ::lseek(fd, start, SEEK_SET);
        }
        return fail(std::move(e));
    };

    Registry::Impl::Call call{std::string(repository), cat("blobs/", digest), {}, &sink, rewind, cancel};
    auto r = impl.call(c, call);
    if (!r) return undo(std::move(r.error()).context(ctx));
    if (!write_error) return undo(std::move(write_error.error()).context(ctx));
    if (cancel && cancel->load()) return undo(Error::msg(cat(ctx, ": cancelled")));
    if (too_big) return undo(Error::msg(cat(ctx, ": more data than the descriptor's ", blob.size, " bytes")));
    if (r->code != CURLE_OK) return undo(Error::msg(cat(ctx, ": ", impl.transport_error(*r))));
    if (r->status != 200) return undo(Error::msg(cat(ctx, ": ", describe_status(*r))));
    if (done != blob.size)
        return undo(Error::msg(cat(ctx, ": got ", done, " bytes, the descriptor says ", blob.size)));
    oci::Digest got = hasher.finish();
    if (got != blob.digest) return undo(Error::msg(cat(ctx, ": content hashes to `", got.str(), "`; refusing it")));
    if (impl.opts.progress) {
        std::lock_guard lock(impl.progress_mu);
        impl.opts.progress(BlobProgress{digest, done, blob.size});
    }
    return {};
}

Status Registry::fetch_blob(std::string_view repository, const oci::Descriptor& blob, FdRef out) {
    return fetch_blob_on(*impl_, impl_->main_handle.get(), repository, blob, out.get(), nullptr);
}

Status Registry::fetch_blobs(std::string_view repository, const std::vector<BlobTarget>& targets) {
    {
        // Settle the scheme and the challenge once, before the workers race to do it.
        std::lock_guard lock(impl_->mu);
        HULL_TRY(impl_->ping_locked());
    }
    std::atomic<bool> cancel{false};
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::optional<Error> first_error;
    std::vector<std::string> created;  // every temporary or final path that may exist

    std::random_device rd;
    const uint64_t salt = (uint64_t(rd()) << 32) | rd();

    auto worker = [&] {
        CurlHandle handle = impl_->new_handle();
        for (;;) {
            size_t i = next.fetch_add(1);
            if (i >= targets.size() || cancel.load()) return;
            const auto& t = targets[i];
            std::string tmp = cat(t.path, ".tmp-", salt, "-", i);
            auto run = [&]() -> Status {
                if (!handle) return fail_msg("cannot create a curl handle");
                {
                    std::lock_guard lock(mu);
                    created.push_back(tmp);
                }
                auto fd = HULL_TRY(fs::open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
                HULL_TRY(fetch_blob_on(*impl_, handle.get(), repository, t.blob, fd.get(), &cancel));
                if (::fsync(fd.get()) != 0) return fail_sys(cat("fsync `", tmp, "`"));
                {
                    std::lock_guard lock(mu);
                    created.push_back(t.path);
                }
                if (::rename(tmp.c_str(), t.path.c_str()) != 0) return fail_sys(cat("rename `", tmp, "` to `", t.path, "`"));
                return {};
            };
            if (auto st = run(); !st) {
                std::lock_guard lock(mu);
                // The first failure is the cause; the others are mostly "cancelled".
                if (!first_error) first_error = st.error();
                cancel.store(true);
                return;
            }
        }
    };
    size_t n = std::min<size_t>(static_cast<size_t>(impl_->opts.parallel), targets.size());
    std::vector<std::thread> threads;
    for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
    if (n > 0) worker();
    for (auto& t : threads) t.join();
    if (first_error) {
        for (const auto& p : created) ::unlink(p.c_str());
        return fail(std::move(*first_error));
    }
    return {};
}

}  // namespace hull::images
