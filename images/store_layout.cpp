#include "images/store_layout.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

namespace hull::images {

Result<Lease> take_lock(const std::string& path, int op) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail_sys(cat("open lock ", q(path)));
    UniqueFd f(fd);
    while (::flock(f.get(), op) < 0)
        if (errno != EINTR) return fail_sys(cat("lock ", q(path)));
    return Lease(std::move(f));
}

std::string escape_name(std::string_view name) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        bool keep = std::isalnum(c) || c == '-' || c == '_' || (c == '.' && i > 0);
        if (keep) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    if (out.empty()) out = "%";  // never "" (and "%" alone cannot come from a non-empty name)
    return out;
}

Result<std::string> unescape_name(std::string_view s) {
    if (s == "%") return std::string();
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        auto v = i + 2 < s.size() ? parse_int<unsigned>(s.substr(i + 1, 2), 16) : std::nullopt;
        if (!v) return fail_msg(cat("invalid escaped name ", q(s)));
        out.push_back(static_cast<char>(*v));
        i += 2;
    }
    return out;
}

std::string pin_path(std::string_view root, std::string_view owner) {
    return fs::join(root, cat("pins/", escape_name(owner), ".json"));
}

std::string index_lock_path(std::string_view root) { return fs::join(root, "locks/index"); }

Status unpin(std::string_view root, std::string_view owner) {
    auto lock = HULL_TRY(take_lock(index_lock_path(root), LOCK_EX));
    const std::string pin = pin_path(root, owner);
    if (::unlink(pin.c_str()) < 0 && errno != ENOENT) return fail_sys(cat("remove pin ", q(pin)));
    return {};
}

}  // namespace hull::images
