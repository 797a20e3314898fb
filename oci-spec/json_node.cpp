#include "oci-spec/json_node.hpp"

#include <cctype>

namespace hull::oci::detail {

namespace {

// Escapes control bytes and anything not printable ASCII-or-UTF-8 so a message is one line.
std::string escape(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            out.append("\\x").push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

bool is_identifier(std::string_view key) {
    if (key.empty() || std::isdigit(static_cast<unsigned char>(key[0]))) return false;
    for (char c : key)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

}  // namespace

std::string show(std::string_view s) { return cat("`", escape(s), "`"); }

Result<json> parse_document(const char* doc, std::string_view text) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        // nlohmann says "[json.exception.parse_error.101] parse error at line L, column C: <why>";
        // out-of-range numbers come as "[json.exception.out_of_range.406] <why>".
        std::string_view what = e.what();
        std::string_view where;
        if (auto at = what.find(" at line "); at != std::string_view::npos) {
            if (auto colon = what.find(": ", at); colon != std::string_view::npos) {
                where = what.substr(at + 4, colon - at - 4);
                what.remove_prefix(colon + 2);
            }
        } else if (auto bracket = what.find("] "); bracket != std::string_view::npos) {
            what.remove_prefix(bracket + 2);
        }
        return fail_msg(cat(doc, ": invalid JSON", where.empty() ? "" : " at ", where, ": ", escape(what)));
    }
}

Node Node::operator[](std::string_view key) const {
    std::string path = is_identifier(key)
        ? cat(path_, ".", key)
        : cat(path_, "[", json(key).dump(-1, ' ', false, json::error_handler_t::replace), "]");
    const json* child = nullptr;
    if (value_ && value_->is_object()) {
        auto it = value_->find(key);
        if (it != value_->end()) child = &*it;
    }
    return Node(doc_, child, std::move(path));
}

Node Node::operator[](size_t index) const {
    const json* child = value_ && value_->is_array() && index < value_->size() ? &(*value_)[index] : nullptr;
    return Node(doc_, child, cat(path_, "[", index, "]"));
}

std::unexpected<Error> Node::fail(std::string_view what) const {
    if (path_.empty()) return fail_msg(cat(doc_, ": ", what));
    return fail_msg(cat(doc_, ": ", path_, ": ", what));
}

std::unexpected<Error> Node::type_error(const char* what) const {
    if (!value_) return fail("is required");
    return fail(cat("expected ", what, ", got ", value_->type_name()));
}

hull::Status Node::expect(json::value_t type, const char* what) const {
    if (value_ && value_->type() == type) return {};
    return type_error(what);
}

std::string Node::show_value() const {
    return value_ ? show(value_->dump(-1, ' ', false, json::error_handler_t::replace)) : std::string("``");
}

Result<std::string> Node::string() const {
    HULL_TRY(expect(json::value_t::string, "a string"));
    return value_->get<std::string>();
}

Result<bool> Node::boolean() const {
    HULL_TRY(expect(json::value_t::boolean, "a boolean"));
    return value_->get<bool>();
}

hull::Status get(const Node& n, std::string& out) {
    out = HULL_TRY(n.string());
    return {};
}

hull::Status get(const Node& n, bool& out) {
    out = HULL_TRY(n.boolean());
    return {};
}

hull::Status get(const Node& n, std::map<std::string, std::string>& out) {
    out.clear();
    return n.members([&](const std::string& key, const Node& v) -> hull::Status {
        out[key] = HULL_TRY(v.string());
        return {};
    });
}

}  // namespace hull::oci::detail
