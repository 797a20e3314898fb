#include "runtime/process/channel.hpp"

#include "common/strings.hpp"
#include "common/unix_socket.hpp"

#include <sys/socket.h>

#include <cstring>
#include <memory>

namespace hull::runtime::process {
namespace {

struct Header {
    uint32_t type;
    int32_t value;
};

constexpr size_t kMaxMessage = 64 * 1024;

}  // namespace

Result<std::pair<Channel, Channel>> Channel::pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return fail_sys("socketpair");
    return std::pair<Channel, Channel>{Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1]))};
}

Status Channel::send(Msg type, int32_t value, std::string_view text, int fd) {
    Header h{static_cast<uint32_t>(type), value};
    if (text.size() > kMaxMessage - sizeof h) text = text.substr(0, kMaxMessage - sizeof h);
    std::string msg(reinterpret_cast<const char*>(&h), sizeof h);  // SAFETY: Header is plain data
    msg.append(text);
    HULL_TRY_CTX(send_with_fd(fd_.get(), msg, fd), "send on sync channel");
    return {};
}

Result<Message> Channel::recv(std::string_view step) {
    // Left uninitialised: zero-filling 64 KiB faulted in 16 heap pages on every receive, in
    // the runtime and in the container init, for messages that are mostly 8 bytes; the
    // kernel only writes (and so only faults in) the bytes it delivers.
    auto buf = std::make_unique_for_overwrite<char[]>(kMaxMessage);
    Message m;
    size_t n = HULL_TRY_CTX(recv_with_fd(fd_.get(), buf.get(), kMaxMessage, m.fd), cat("wait for ", step));
    if (n == 0) return fail_msg(cat("wait for ", step, ": the container process exited unexpectedly"));
    if (n < sizeof(Header)) return fail_msg(cat("wait for ", step, ": short message"));
    Header h;
    std::memcpy(&h, buf.get(), sizeof h);
    m.type = static_cast<Msg>(h.type);
    m.value = h.value;
    m.text.assign(buf.get() + sizeof h, n - sizeof h);
    return m;
}

Result<Message> Channel::expect(Msg type, std::string_view step) {
    auto m = HULL_TRY(recv(step));
    if (m.type == Msg::error) return fail(Error(m.value, std::move(m.text)));
    if (m.type != type)
        return fail_msg(cat("wait for ", step, ": unexpected message ", static_cast<uint32_t>(m.type)));
    return m;
}

bool Channel::send_error(const Error& e) noexcept { return bool(send(Msg::error, e.code(), e.what())); }

}  // namespace hull::runtime::process
