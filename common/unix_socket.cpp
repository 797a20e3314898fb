#include "common/unix_socket.hpp"

#include "common/strings.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace hull {

Result<UniqueFd> connect_unix(const std::string& path) {
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return fail(Error(ENAMETOOLONG, cat("connect to ", q(path))));
    std::memcpy(addr.sun_path, path.data(), path.size());
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) return fail_sys("socket");
    // SAFETY: sockaddr_un is the sockaddr variant connect(2) expects for AF_UNIX.
    auto* sa = reinterpret_cast<const struct sockaddr*>(&addr);
    int rc;
    do rc = ::connect(s.get(), sa, sizeof addr);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) return fail_sys(cat("connect to ", q(path)));
    return s;
}

Status send_with_fd(int sock, std::string_view payload, int fd) {
    // A message must carry at least one byte for the descriptor to ride on.
    char nul = 0;
    struct iovec iov = {};
    // SAFETY: sendmsg only reads the buffer; iovec just lacks a pointer to const.
    iov.iov_base = payload.empty() ? &nul : const_cast<char*>(payload.data());
    iov.iov_len = payload.empty() ? 1 : payload.size();
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        mh.msg_control = control;
        mh.msg_controllen = sizeof control;
        struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    size_t sent = 0, total = iov.iov_len;
    while (sent < total) {
        ssize_t n = sent == 0 ? ::sendmsg(sock, &mh, MSG_NOSIGNAL)
                              : ::send(sock, payload.data() + sent, total - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_sys(sent == 0 ? "sendmsg" : "send");
        sent += static_cast<size_t>(n);
    }
    return {};
}

Result<size_t> recv_with_fd(int sock, char* buf, size_t len, UniqueFd& fd) {
    struct iovec iov = {buf, len};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    ssize_t n;
    do n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return fail_sys("recvmsg");
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int received;
            std::memcpy(&received, CMSG_DATA(c), sizeof received);
            fd.reset(received);
        }
    }
    return static_cast<size_t>(n);
}

}  // namespace hull
