// The typed sync channel between hull (the parent) and the container's init, over a
// SOCK_SEQPACKET socketpair: one message per send, so framing is the kernel's, and fds travel
// with SCM_RIGHTS. Each step of the handshake has a named method, so the two sides read as
// the numbered sync points they are.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace hull::runtime::process {

enum class Msg : uint32_t {
    error = 1,           // child -> parent: value = errno, text = message
    idmap_request,       // child -> parent: write my uid/gid maps (two-stage path)
    idmap_done,          // parent -> child
    init_pid,            // child -> parent: value = pid of the real init (two-stage path)
    cgroup_done,         // parent -> child: you are in your cgroup, resources applied
    hooks_request,       // child -> parent: namespaces exist, run prestart/createRuntime hooks
    hooks_done,          // parent -> child
    ready,               // child -> parent: created; waiting for start. fd: seccomp listener
    exec_failed,         // child -> parent after start: execve failed (value = errno)
};

struct Message {
    Msg type{};
    int32_t value = 0;
    std::string text;
    UniqueFd fd;
};

class Channel {
public:
    Channel() = default;
    explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}

    // A connected pair: [0] stays in the parent, [1] goes to the child.
    static Result<std::pair<Channel, Channel>> pair();

    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }
    [[nodiscard]] int release() { return fd_.release(); }

    Status send(Msg type, int32_t value = 0, std::string_view text = {}, int fd = -1);
    // Receives one message. A peer that exits without a word is an error naming `step`.
    Result<Message> recv(std::string_view step);
    // Receives and checks the type; an `error` message from the peer becomes our Error.
    Result<Message> expect(Msg type, std::string_view step);

    // Child side: report a failure. Returns whether it went out: false once the parent has
    // closed its end (after `create` returned), when only stderr is left to tell.
    bool send_error(const Error& e) noexcept;

private:
    UniqueFd fd_;
};

}  // namespace hull::runtime::process
