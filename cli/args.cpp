#include "cli/args.hpp"

#include "common/strings.hpp"

namespace hull::cli {
namespace {

// "-x", "--name", "--name=v" -> "x", "name", "name"; anything else (a positional) -> nullopt.
std::optional<std::string_view> option_name(std::string_view tok) {
    if (tok.size() < 2 || tok[0] != '-' || tok == "--") return std::nullopt;
    std::string_view name = tok.substr(tok[1] == '-' ? 2 : 1);
    if (auto eq = name.find('='); eq != std::string_view::npos) name = name.substr(0, eq);
    return name;
}

}  // namespace

SplitArgs split_at_first_positional(const std::vector<std::string>& args, const ArityFn& arity) {
    SplitArgs out;
    size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& tok = args[i];
        if (tok == "--") {
            ++i;
            break;
        }
        auto name = option_name(tok);
        if (!name) break;
        out.options.push_back(tok);
        // A value given as the next token belongs to the option, even when it looks positional.
        if (tok.find('=') == std::string::npos && arity(*name) == OptionArity::value && i + 1 < args.size())
            out.options.push_back(args[++i]);
    }
    if (i < args.size()) {
        out.first = args[i];
        out.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
    }
    out.options = normalize_long_options(std::move(out.options), arity);
    return out;
}

std::vector<std::string> normalize_long_options(std::vector<std::string> args, const ArityFn& arity) {
    for (size_t i = 0; i < args.size(); ++i) {
        std::string& tok = args[i];
        if (tok == "--") break;
        auto name = option_name(tok);
        if (!name) continue;
        OptionArity a = arity(*name);
        if (tok[1] != '-' && name->size() > 1 && a != OptionArity::unknown) tok.insert(0, 1, '-');
        if (a == OptionArity::value && tok.find('=') == std::string::npos) ++i;  // skip its value
    }
    return args;
}

std::optional<std::string> check_arg_count(std::string_view command, size_t got, size_t expected, ArgCheck kind) {
    switch (kind) {
    case ArgCheck::exact:
        if (got != expected) return cat("\"", command, "\" requires exactly ", expected, " argument(s)");
        break;
    case ArgCheck::min:
        if (got < expected) return cat("\"", command, "\" requires a minimum of ", expected, " argument(s)");
        break;
    case ArgCheck::max:
        if (got > expected) return cat("\"", command, "\" requires a maximum of ", expected, " argument(s)");
        break;
    }
    return std::nullopt;
}

std::optional<bool> parse_go_bool(std::string_view s) {
    for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
        if (s == t) return true;
    for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
        if (s == f) return false;
    return std::nullopt;
}

std::vector<std::string> exec_command_args(std::vector<std::string> rest) {
    if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
    return rest;
}

std::string version_text(std::string_view version, std::string_view commit, std::string_view libseccomp) {
    return cat("hull version ", version, "\ncommit: ", commit.empty() ? "unknown" : commit,
               "\nspec: 1.2.0\nlibseccomp: ", libseccomp, "\n");
}

std::string clean_path(std::string_view path) {
    if (path.empty()) return ".";
    const bool rooted = path.front() == '/';
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(start, end - start);
        start = end + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..") parts.pop_back();
            else if (!rooted) parts.push_back(part);
            continue;
        }
        parts.push_back(part);
    }
    std::string out = rooted ? "/" : "";
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += '/';
        out.append(parts[i]);
    }
    return out.empty() ? "." : out;
}

std::string absolute_path(std::string_view path, std::string_view cwd) {
    if (!path.empty() && path.front() == '/') return clean_path(path);
    return clean_path(cat(cwd, "/", path));
}

// A decimal number with an optional fraction at the start of `s` ("12", "1.5", "0.25"): its
// value, and how many characters it took (0 when there is no digit).
static size_t parse_decimal(std::string_view s, long double& value) {
    value = 0;
    long double scale = 1;
    bool digits = false, dot = false;
    size_t i = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            digits = true;
            if (dot) {
                scale /= 10;
                value += (c - '0') * scale;
            } else {
                value = value * 10 + (c - '0');
            }
        } else if (c == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    return digits ? i : 0;
}

Result<std::chrono::nanoseconds> parse_go_duration(std::string_view s) {
    auto bad = [&] { return fail_msg(cat("time: invalid duration ", q(s))); };
    std::string_view rest = s;
    if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
    if (!rest.empty() && rest.front() == '-') return fail_msg(cat("invalid interval ", q(s), ": must be positive"));
    if (rest == "0") return std::chrono::nanoseconds{0};
    if (rest.empty()) return bad();
    long double total = 0;
    while (!rest.empty()) {
        long double value = 0;
        size_t i = parse_decimal(rest, value);
        if (i == 0) return bad();
        size_t j = i;
        while (j < rest.size() && !(rest[j] >= '0' && rest[j] <= '9') && rest[j] != '.') ++j;
        std::string_view unit = rest.substr(i, j - i);
        long double ns = 0;
        if (unit == "ns") ns = 1;
        else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") ns = 1e3;
        else if (unit == "ms") ns = 1e6;
        else if (unit == "s") ns = 1e9;
        else if (unit == "m") ns = 60e9;
        else if (unit == "h") ns = 3600e9;
        else if (unit.empty()) return fail_msg(cat("time: missing unit in duration ", q(s)));
        else return fail_msg(cat("time: unknown unit ", q(unit), " in duration ", q(s)));
        total += value * ns;
        if (total > 9.2e18L) return fail_msg(cat("time: invalid duration ", q(s)));
        rest.remove_prefix(j);
    }
    return std::chrono::nanoseconds{static_cast<int64_t>(total)};
}

Result<int64_t> parse_ram_bytes(std::string_view s) {
    auto bad = [&] { return fail_msg(cat("invalid size: ", q(s))); };
    long double value = 0;
    size_t i = parse_decimal(s, value);
    // go-units wants digits on both sides of a point: "1.5m", not ".5m" or "1.m".
    if (i == 0 || s.front() == '.' || s[i - 1] == '.') return bad();
    std::string_view unit = s.substr(i);
    if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    long double mult = 1;
    if (!unit.empty()) {
        switch (unit.front() | 0x20) {
        case 'k': mult = 1024.0L; break;
        case 'm': mult = 1024.0L * 1024; break;
        case 'g': mult = 1024.0L * 1024 * 1024; break;
        case 't': mult = 1024.0L * 1024 * 1024 * 1024; break;
        case 'p': mult = 1024.0L * 1024 * 1024 * 1024 * 1024; break;
        default: mult = 0;
        }
        if (mult != 0) unit.remove_prefix(1);
        else mult = 1;
        if (!unit.empty() && (unit.front() | 0x20) == 'i') unit.remove_prefix(1);
        if (!unit.empty() && (unit.front() | 0x20) == 'b') unit.remove_prefix(1);
        if (!unit.empty()) return bad();
    }
    long double bytes = value * mult;
    if (bytes > 9.2e18L) return fail_msg(cat("size too large: ", q(s)));
    return static_cast<int64_t>(bytes);
}

}  // namespace hull::cli
