#include "common/result.hpp"

#include <cctype>
#include <cstring>

namespace hull {

Error& Error::context(std::string_view ctx) & {
    std::string s;
    s.reserve(ctx.size() + 2 + what_.size());
    s.append(ctx).append(": ").append(what_);
    what_ = std::move(s);
    return *this;
}

Error&& Error::context(std::string_view ctx) && {
    context(ctx);
    return std::move(*this);
}

std::string Error::message() const {
    std::string out = what_;
    if (errno_ != 0) {
        std::string e = std::strerror(errno_);
        if (!e.empty()) e[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(e[0])));
        if (!out.empty()) out += ": ";
        out += e;
    }
    return out;
}

}  // namespace hull
