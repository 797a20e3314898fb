#include "runtime/process/channel.hpp"

#include "common/strings.hpp"

#include <sys/socket.h>

#include <cstring>

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
    struct iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(text.data()), text.size()}};
    struct msghdr mh = {};
    mh.msg_iov = iov;
    mh.msg_iovlen = text.empty() ? 1 : 2;
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
        std::memset(cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    for (;;) {
        if (::sendmsg(fd_.get(), &mh, MSG_NOSIGNAL) >= 0) return {};
        if (errno != EINTR) return fail_sys("send on sync channel");
    }
}

Result<Message> Channel::recv(std::string_view step) {
    std::string buf(kMaxMessage, '\0');
    struct iovec iov = {buf.data(), buf.size()};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n;
    do {
        n = ::recvmsg(fd_.get(), &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_sys(cat("wait for ", step));
    if (n == 0) return fail_msg(cat("wait for ", step, ": the container process exited unexpectedly"));
    if (static_cast<size_t>(n) < sizeof(Header)) return fail_msg(cat("wait for ", step, ": short message"));
    Message m;
    Header h;
    std::memcpy(&h, buf.data(), sizeof h);
    m.type = static_cast<Msg>(h.type);
    m.value = h.value;
    m.text.assign(buf.data() + sizeof h, static_cast<size_t>(n) - sizeof h);
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            m.fd.reset(fd);
        }
    }
    return m;
}

Result<Message> Channel::expect(Msg type, std::string_view step) {
    auto m = HULL_TRY(recv(step));
    if (m.type == Msg::error) return fail(Error(m.value, std::move(m.text)));
    if (m.type != type)
        return fail_msg(cat("wait for ", step, ": unexpected message ", static_cast<uint32_t>(m.type)));
    return m;
}

void Channel::send_error(const Error& e) noexcept { (void)send(Msg::error, e.code(), e.what()); }

}  // namespace hull::runtime::process
