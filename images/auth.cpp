#include "images/auth.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>

namespace hull::images {
namespace {

using json = nlohmann::json;

bool is_tchar(char c) {
    // RFC 7230 token characters.
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A cursor over a header value; every reader skips leading whitespace.
struct Cursor {
    std::string_view s;
    size_t i = 0;
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    }
    bool done() {
        ws();
        return i >= s.size();
    }
    std::string_view token() {
        ws();
        size_t start = i;
        while (i < s.size() && is_tchar(s[i])) ++i;
        return s.substr(start, i - start);
    }
    bool eat(char c) {
        ws();
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
};

// Keys of an auth file reduced to what they name: "https://index.docker.io/v1/" -> "docker.io",
// "http://host:5000/" -> "host:5000", "host/ns/repo" kept.
std::string normalize_key(std::string_view key) {
    std::string_view k = key;
    bool url = false;
    for (std::string_view p : {"https://", "http://"}) {
        if (k.starts_with(p)) {
            k.remove_prefix(p.size());
            url = true;
        }
    }
    // A URL key names a registry (docker writes "https://index.docker.io/v1/"); its path is the
    // API version, not a repository.
    if (url) k = k.substr(0, k.find('/'));
    while (k.ends_with('/')) k.remove_suffix(1);
    std::string out(k);
    for (std::string_view alias : {"index.docker.io", "registry-1.docker.io"}) {
        if (out == alias || out.starts_with(std::string(alias) + "/")) out = "docker.io" + out.substr(alias.size());
    }
    return out;
}

}  // namespace

Result<std::vector<Challenge>> parse_challenges(std::string_view header) {
    auto bad = [&](std::string_view why) {
        return fail_msg(cat("invalid WWW-Authenticate header `", header, "`: ", why));
    };
    std::vector<Challenge> out;
    Cursor c{header};
    if (c.done()) return bad("empty");
    while (!c.done()) {
        std::string_view scheme = c.token();
        if (scheme.empty()) return bad("expected an authentication scheme");
        Challenge ch;
        ch.scheme_name = std::string(scheme);
        std::string ls = lower(scheme);
        ch.scheme = ls == "basic" ? AuthScheme::basic : ls == "bearer" ? AuthScheme::bearer : AuthScheme::other;
        // auth-params until the end or until a token that is not followed by '=' (the next
        // challenge's scheme).
        while (!c.done()) {
            size_t save = c.i;
            std::string_view name = c.token();
            if (name.empty()) {
                if (c.eat(',')) continue;
                return bad(cat("unexpected character at offset ", save));
            }
            if (!c.eat('=')) {
                c.i = save;  // a new challenge starts here
                break;
            }
            std::string value;
            c.ws();
            if (c.eat('"')) {
                bool closed = false;
                while (c.i < c.s.size()) {
                    char ch2 = c.s[c.i++];
                    if (ch2 == '\\' && c.i < c.s.size()) {
                        value += c.s[c.i++];
                    } else if (ch2 == '"') {
                        closed = true;
                        break;
                    } else {
                        value += ch2;
                    }
                }
                if (!closed) return bad("unterminated quoted string");
            } else {
                value = std::string(c.token());
            }
            ch.params[lower(name)] = std::move(value);
            if (!c.done() && !c.eat(',')) return bad(cat("expected `,` at offset ", c.i));
        }
        out.push_back(std::move(ch));
    }
    return out;
}

AuthFiles AuthFiles::from_environment() {
    AuthFiles f;
    auto env = [](const char* name) -> std::string {
        const char* v = std::getenv(name);
        return v ? v : "";
    };
    if (std::string p = env("REGISTRY_AUTH_FILE"); !p.empty()) f.paths.push_back(p);
    else if (std::string x = env("XDG_RUNTIME_DIR"); !x.empty()) f.paths.push_back(x + "/containers/auth.json");
    if (std::string home = env("HOME"); !home.empty()) {
        f.paths.push_back(home + "/.config/containers/auth.json");
        f.paths.push_back(home + "/.docker/config.json");
    }
    return f;
}

Result<CredentialLookup> find_credentials(const AuthFiles& files, std::string_view registry,
                                          std::string_view repository) {
    std::string host = normalize_key(registry);
    // Most specific first: host/a/b, host/a, host.
    std::vector<std::string> wanted;
    std::string key = cat(host, "/", repository);
    if (repository.empty()) key = host;
    for (;;) {
        wanted.push_back(key);
        auto slash = key.rfind('/');
        if (slash == std::string::npos || key.size() <= host.size()) break;
        key.resize(slash);
        if (key.size() < host.size()) break;
    }

    CredentialLookup result;
    for (const auto& path : files.paths) {
        if (!fs::exists(path)) continue;
        auto text = HULL_TRY_CTX(fs::read_file(path), cat("read auth file `", path, "`"));
        json doc = json::parse(text, nullptr, false);
        if (doc.is_discarded() || !doc.is_object())
            return fail_msg(cat("auth file `", path, "`: not a JSON object"));
        if (auto auths = doc.find("auths"); auths != doc.end() && auths->is_object()) {
            std::map<std::string, const json*> by_key;
            for (auto it = auths->begin(); it != auths->end(); ++it) by_key.emplace(normalize_key(it.key()), &it.value());
            for (const auto& w : wanted) {
                auto hit = by_key.find(w);
                if (hit == by_key.end() || !hit->second->is_object()) continue;
                const json& entry = *hit->second;
                auto auth = entry.find("auth");
                if (auth == entry.end() || !auth->is_string() || auth->get_ref<const std::string&>().empty()) continue;
                auto ctx = cat("auth file `", path, "`: entry `", w, "`");
                auto decoded = HULL_TRY_CTX(base64_decode(auth->get_ref<const std::string&>()), ctx);
                auto colon = decoded.find(':');
                if (colon == std::string::npos) return fail_msg(cat(ctx, ": `auth` is not base64 of `user:password`"));
                result.credentials = Credentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
                result.source = path;
                return result;
            }
        }
        if (result.unsupported_helper.empty()) {
            if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && helpers->is_object()) {
                for (auto it = helpers->begin(); it != helpers->end(); ++it)
                    if (normalize_key(it.key()) == host && it->is_string())
                        result.unsupported_helper = cat("docker-credential-", it->get<std::string>());
            }
            if (auto store = doc.find("credsStore"); result.unsupported_helper.empty() && store != doc.end() &&
                                                     store->is_string() && !store->get_ref<const std::string&>().empty())
                result.unsupported_helper = cat("docker-credential-", store->get<std::string>());
            if (!result.unsupported_helper.empty()) result.source = path;
        }
    }
    return result;
}

std::string base64_encode(std::string_view data) {
    static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
        out += tbl[v >> 18];
        out += tbl[(v >> 12) & 63];
        out += tbl[(v >> 6) & 63];
        out += tbl[v & 63];
    }
    if (size_t left = data.size() - i; left > 0) {
        uint32_t v = uint8_t(data[i]) << 16;
        if (left == 2) v |= uint8_t(data[i + 1]) << 8;
        out += tbl[v >> 18];
        out += tbl[(v >> 12) & 63];
        out += left == 2 ? tbl[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    while (text.ends_with('=')) text.remove_suffix(1);
    if (text.size() % 4 == 1) return fail_msg("invalid base64: truncated");
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = value(c);
        if (v < 0) return fail_msg("invalid base64: unexpected character");
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace hull::images
