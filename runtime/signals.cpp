#include "common/strings.hpp"
#include "runtime/container.hpp"

#include <signal.h>
#include <string.h>

namespace hull::runtime {

Result<int> parse_signal(std::string_view s) {
    if (s.empty()) return fail_msg("signal cannot be empty");
    if (auto n = parse_int<int>(s); n) {
        if (*n <= 0 || *n >= NSIG) return fail_msg(cat("invalid signal ", q(s)));
        return *n;
    }
    std::string name(s);
    for (auto& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    if (starts_with(name, "SIG")) name = name.substr(3);
    // glibc's sigabbrev_np knows the names (without SIG); real-time ones are RTMIN+n.
    for (int sig = 1; sig < SIGRTMIN; ++sig) {
        const char* abbrev = ::sigabbrev_np(sig);
        if (abbrev && name == abbrev) return sig;
    }
    if (name == "IOT") return SIGABRT;
    if (name == "POLL") return SIGIO;
    if (starts_with(name, "RTMIN")) {
        int off = 0;
        if (name.size() > 5) {
            auto n = parse_int<int>(std::string_view(name).substr(name[5] == '+' ? 6 : 5));
            if (!n) return fail_msg(cat("unknown signal ", q(s)));
            off = *n;
        }
        if (SIGRTMIN + off <= SIGRTMAX) return SIGRTMIN + off;
    }
    if (starts_with(name, "RTMAX")) {
        int off = 0;
        if (name.size() > 5) {
            auto n = parse_int<int>(std::string_view(name).substr(5));  // "RTMAX-2"
            if (!n || *n > 0) return fail_msg(cat("unknown signal ", q(s)));
            off = *n;
        }
        if (SIGRTMAX + off >= SIGRTMIN) return SIGRTMAX + off;
    }
    return fail_msg(cat("unknown signal ", q(s)));
}

}  // namespace hull::runtime
