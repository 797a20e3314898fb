#include "console.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace hull::itest {

namespace {

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

ConsoleSocket::ConsoleSocket(std::filesystem::path path) : path_(std::move(path)) {
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("console socket: socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.string().size() >= sizeof addr.sun_path) throw std::runtime_error("console socket path too long");
    strcpy(addr.sun_path, path_.c_str());
    // SAFETY: sockaddr_un is the address type bind(2) expects for AF_UNIX.
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listen_fd_, 4) != 0)
        throw std::runtime_error(std::string("console socket: bind/listen: ") + strerror(errno));
}

ConsoleSocket::~ConsoleSocket() {
    if (master_fd_ >= 0) close(master_fd_);
    if (listen_fd_ >= 0) close(listen_fd_);
}

int ConsoleSocket::receive_master(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, remaining_ms(deadline)) != 1) return -1;
    int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    char name[4096];
    iovec iov{name, sizeof name};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    p = pollfd{conn, POLLIN, 0};
    int fd = -1;
    if (poll(&p, 1, remaining_ms(deadline)) == 1 && recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) >= 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
    close(conn);
    master_fd_ = fd;
    return fd;
}

std::string ConsoleSocket::read_until_closed(std::chrono::milliseconds timeout) {
    std::string out;
    if (master_fd_ < 0) return out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        pollfd p{master_fd_, POLLIN, 0};
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r <= 0) break;
        char buf[4096];
        ssize_t n = read(master_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EIO once the last slave fd is closed.
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace hull::itest
