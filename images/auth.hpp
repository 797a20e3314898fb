// Registry authentication that needs no network: WWW-Authenticate challenges, the
// credentials files podman and docker write, base64.
#pragma once

#include "common/result.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hull::images {

enum class AuthScheme { basic, bearer, other };

struct Challenge {
    AuthScheme scheme = AuthScheme::other;
    std::string scheme_name;                    // as the server spelled it
    std::map<std::string, std::string> params;  // keys lowercased: realm, service, scope...
};

// Parses one WWW-Authenticate header value (RFC 7235): one or more challenges, each a scheme
// followed by comma-separated auth-params with token or quoted-string values.
Result<std::vector<Challenge>> parse_challenges(std::string_view header);

struct Credentials {
    std::string username;
    std::string password;
};

// Where credentials are looked for, in order. `from_environment()` applies podman's rules:
// $REGISTRY_AUTH_FILE (or ${XDG_RUNTIME_DIR}/containers/auth.json when unset), then
// ~/.config/containers/auth.json, then ~/.docker/config.json.
struct AuthFiles {
    std::vector<std::string> paths;
    static AuthFiles from_environment();
};

struct CredentialLookup {
    std::optional<Credentials> credentials;
    std::string source;  // the file the credentials came from
    // Set when no inline entry matched but a file names a credential helper for the host
    // (credHelpers or credsStore), which hull does not run: the caller says so when the
    // registry then refuses anonymous access.
    std::string unsupported_helper;
};

// Finds the credentials for `registry` (host[:port]), trying the most specific key first:
// "host/a/b" for repository "a/b", then "host/a", then "host". Keys written as URLs
// ("https://index.docker.io/v1/") match by their host; docker.io, index.docker.io and
// registry-1.docker.io are one registry. Missing files are skipped; a file that exists but
// cannot be read or parsed is an error naming it.
Result<CredentialLookup> find_credentials(const AuthFiles& files, std::string_view registry,
                                          std::string_view repository);

std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace hull::images
