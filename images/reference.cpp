// The distribution reference grammar (docker/distribution's reference package), normalized:
// a first component with a '.' or ':' or equal to "localhost" is a registry; otherwise the
// registry is docker.io, where one-component names live under library/.
#include "images/reference.hpp"

#include "common/strings.hpp"

#include <cctype>

namespace hull::images {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool valid_component(std::string_view s) {
    if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
    for (size_t i = 0; i < s.size();) {
        if (lower_alnum(s[i])) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < s.size() && !lower_alnum(s[j])) ++j;
        std::string_view sep = s.substr(i, j - i);
        bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
        i = j;
    }
    return true;
}

bool valid_domain(std::string_view s) {
    auto colon = s.rfind(':');
    std::string_view host = s.substr(0, colon), port;
    if (colon != std::string_view::npos) {
        port = s.substr(colon + 1);
        if (port.empty() || !parse_int<uint16_t>(port)) return false;
    }
    if (host.empty()) return false;
    if (host.front() == '[' && host.back() == ']') return true;  // IPv6 literal
    for (auto label : split(host, '.')) {
        if (label.empty() || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    return true;
}

bool valid_tag(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
    }
    return true;
}

}  // namespace

std::string Reference::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (digest) s += "@" + digest->str();
    return s;
}

Result<Reference> parse_reference(std::string_view in) {
    auto bad = [&](std::string_view why) { return fail_msg(cat("invalid reference ", q(in), ": ", why)); };
    if (in.empty()) return bad("empty");
    if (in.size() > 512) return bad("longer than 512 characters");
    Reference r;
    std::string_view rest = in;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        auto d = oci::Digest::parse(rest.substr(at + 1));
        if (!d) return bad(d.error().what());
        r.digest = std::move(*d);
        rest = rest.substr(0, at);
    }
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
        std::string_view first = rest.substr(0, slash);
        if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
            if (!valid_domain(first)) return bad(cat("invalid registry ", q(first)));
            r.domain = first;
            rest = rest.substr(slash + 1);
        }
    }
    if (r.domain.empty() || r.domain == "index.docker.io" || r.domain == "registry-1.docker.io") r.domain = "docker.io";
    auto last_slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
        r.tag = rest.substr(colon + 1);
        rest = rest.substr(0, colon);
        if (!valid_tag(r.tag))
            return bad(cat("invalid tag ", q(r.tag), ": at most 128 of [A-Za-z0-9_.-], not starting with `.` or `-`"));
    }
    if (rest.empty()) return bad("no repository name");
    for (auto c : rest)
        if (std::isupper(static_cast<unsigned char>(c))) return bad("repository name must be lowercase");
    for (const auto& comp : split(rest, '/'))
        if (!valid_component(comp))
            return bad(cat("invalid repository component ", q(comp),
                           ": lowercase letters and digits separated by `.`, `_`, `__` or dashes"));
    r.repository = rest;
    if (r.domain == "docker.io" && rest.find('/') == std::string_view::npos) {
        // 64 hex digits are an image ID; docker refuses them as a name for the same reason.
        if (rest.size() == 64 && rest.find_first_not_of("0123456789abcdef") == std::string_view::npos)
            return bad("a 64-character hex string is an image ID, not a repository name");
        r.repository = cat("library/", rest);
    }
    if (r.name().size() > 255) return bad("repository name longer than 255 characters");
    if (r.tag.empty() && !r.digest) r.tag = "latest";
    return r;
}

}  // namespace hull::images
