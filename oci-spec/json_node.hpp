// Internal to oci-spec: a read-only cursor over a parsed JSON document that knows its own
// path, so every type or value error names where it is:
//   config.json: .linux.namespaces[2].type: unknown namespace type `foo`
// nlohmann's accessors throw on a type mismatch; the cursor checks types first, so nothing
// here throws for any input.
#pragma once

#include "common/result.hpp"
#include "common/strings.hpp"

#include <nlohmann/json.hpp>

#include <concepts>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hull::oci::detail {

using json = nlohmann::json;

// A value from the document as a message shows it: in backticks, control bytes escaped so the
// message stays on one line.
std::string show(std::string_view s);
template <std::integral T>
std::string show(T v) {
    return cat("`", v, "`");
}

// Parses `text`; a syntax error becomes "<doc>: invalid JSON at line L, column C: <why>".
Result<json> parse_document(const char* doc, std::string_view text);

class Node {
public:
    Node(const char* doc, const json* value, std::string path = {})
        : doc_(doc), value_(value), path_(std::move(path)) {}

    // Absent or null: the spec's optional fields treat both as "not set", as Go's decoder does.
    bool present() const { return value_ && !value_->is_null(); }
    explicit operator bool() const { return present(); }
    const json& value() const { return *value_; }
    const std::string& path() const { return path_; }

    // A member or element; absent when this is not an object/array or has no such child.
    Node operator[](std::string_view key) const;
    Node operator[](size_t index) const;

    // "<doc>: <path>: <what>" as a failed result.
    std::unexpected<Error> fail(std::string_view what) const;

    hull::Status expect_object() const { return expect(json::value_t::object, "an object"); }
    hull::Status expect_array() const { return expect(json::value_t::array, "an array"); }
    Result<std::string> string() const;
    Result<bool> boolean() const;

    // An integer within [lo, hi]. Fractions and exponents are refused as Go's decoder does.
    template <std::integral T>
    Result<T> integer(T lo = std::numeric_limits<T>::min(), T hi = std::numeric_limits<T>::max()) const {
        if (!present() || !value_->is_number()) return type_error("an integer");
        if (value_->is_number_float()) return fail(cat("expected an integer, got ", show_value()));
        bool ok;
        T out{};
        if (value_->is_number_unsigned()) {
            auto v = value_->get<uint64_t>();
            ok = std::cmp_less_equal(lo, v) && std::cmp_less_equal(v, hi);
            out = static_cast<T>(v);
        } else {
            auto v = value_->get<int64_t>();
            ok = std::cmp_less_equal(lo, v) && std::cmp_less_equal(v, hi);
            out = static_cast<T>(v);
        }
        if (!ok) return fail(cat("must be between ", lo, " and ", hi, ", got ", show_value()));
        return out;
    }

    // Calls f(element) for each element of an array; absent is an empty array.
    template <class F>
    hull::Status each(F&& f) const {
        if (!present()) return {};
        HULL_TRY(expect_array());
        for (size_t i = 0; i < value_->size(); ++i) HULL_TRY(f((*this)[i]));
        return {};
    }

    // Calls f(key, member) for each member of an object; absent is an empty object.
    template <class F>
    hull::Status members(F&& f) const {
        if (!present()) return {};
        HULL_TRY(expect_object());
        for (const auto& [key, value] : value_->items()) HULL_TRY(f(key, (*this)[key]));
        return {};
    }

private:
    hull::Status expect(json::value_t type, const char* what) const;
    // "is required" when absent, else "expected <what>, got <json type>".
    std::unexpected<Error> type_error(const char* what) const;
    std::string show_value() const;

    const char* doc_;
    const json* value_;
    std::string path_;
};

// get(): the value must be there and of the C++ type's JSON type.
hull::Status get(const Node& n, std::string& out);
hull::Status get(const Node& n, bool& out);
hull::Status get(const Node& n, std::map<std::string, std::string>& out);

template <std::integral T>
hull::Status get(const Node& n, T& out) {
    out = HULL_TRY(n.integer<T>());
    return {};
}

template <class T>
hull::Status get(const Node& n, std::vector<T>& out) {
    out.clear();
    return n.each([&](const Node& e) -> hull::Status {
        T v{};
        HULL_TRY(get(e, v));
        out.push_back(std::move(v));
        return {};
    });
}

template <class T>
hull::Status get(const Node& n, std::optional<T>& out) {
    T v{};
    HULL_TRY(get(n, v));
    out = std::move(v);
    return {};
}

// read(): optional field; leaves `out` alone when absent.
template <class T>
hull::Status read(const Node& n, T& out) {
    return n ? get(n, out) : hull::Status{};
}

// require(): a REQUIRED field.
template <class T>
hull::Status require(const Node& n, T& out) {
    if (!n) return n.fail("is required");
    return get(n, out);
}

// Parses an array of objects with parse(Node) -> Result<T>.
template <class T, class F>
hull::Status read_list(const Node& n, std::vector<T>& out, F&& parse) {
    out.clear();
    return n.each([&](const Node& e) -> hull::Status {
        out.push_back(HULL_TRY(parse(e)));
        return {};
    });
}

}  // namespace hull::oci::detail
