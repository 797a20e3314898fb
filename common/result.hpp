// Result<T> and Error: how every layer of hull reports failure.
//
// An Error carries the errno (0 when the failure is not a syscall's), the step that
// failed, and the context added on the way up, outermost first, crun-style:
//   create container `web`: mount `proc` on `/run/x/rootfs/proc`: operation not permitted
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace hull {

class Error {
public:
    Error() = default;
    Error(int err, std::string what) : errno_(err), what_(std::move(what)) {}

    // A failed syscall: captures the current errno.
    static Error sys(std::string what) { return Error(errno, std::move(what)); }
    // A failure that is not a syscall's (bad input, a broken invariant).
    static Error msg(std::string what) { return Error(0, std::move(what)); }

    // Prepends "ctx: " to the message. Context reads outermost first.
    Error& context(std::string_view ctx) &;
    Error&& context(std::string_view ctx) &&;

    int code() const { return errno_; }
    const std::string& what() const { return what_; }
    // The full one-line message: "<context>: <what>: <strerror>" with strerror lowercased.
    std::string message() const;

private:
    int errno_ = 0;
    std::string what_;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }
inline std::unexpected<Error> fail_sys(std::string what) { return std::unexpected(Error::sys(std::move(what))); }
inline std::unexpected<Error> fail_msg(std::string what) { return std::unexpected(Error::msg(std::move(what))); }

namespace detail {
template <class T> T unwrap(Result<T>&& r) { return std::move(*r); }
inline void unwrap(Status&&) {}
}  // namespace detail

}  // namespace hull

// Evaluates a Result; on failure returns its error from the enclosing function, otherwise
// yields the value (or nothing, for Status). GNU statement expression.
#define HULL_TRY(...)                                                              \
    ({                                                                             \
        auto _hull_r = (__VA_ARGS__);                                              \
        if (!_hull_r.has_value()) [[unlikely]]                                     \
            return std::unexpected(std::move(_hull_r.error()));                    \
        ::hull::detail::unwrap(std::move(_hull_r));                                \
    })

// As HULL_TRY, adding context on failure; the context expression (a std::string) is only
// evaluated when the call failed, so success costs no formatting.
#define HULL_TRY_CTX(expr, ctx)                                                    \
    ({                                                                             \
        auto _hull_r = (expr);                                                     \
        if (!_hull_r.has_value()) [[unlikely]]                                     \
            return std::unexpected(std::move(_hull_r.error()).context(ctx));       \
        ::hull::detail::unwrap(std::move(_hull_r));                                \
    })
