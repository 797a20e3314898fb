// AF_UNIX helpers shared by every place hull passes a descriptor: the sync channel, the
// console socket (pty master) and the seccomp listener socket.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <string>
#include <string_view>

namespace hull {

// Connects a SOCK_STREAM socket to the unix socket at `path`.
Result<UniqueFd> connect_unix(const std::string& path);

// Sends `payload` with `fd` (when >= 0) attached by SCM_RIGHTS to the first byte. On a
// stream socket the rest may take several sends; on SOCK_SEQPACKET it is one message.
Status send_with_fd(int sock, std::string_view payload, int fd);

// Receives one message (or what a stream has ready) into `buf`, taking an attached fd
// into `fd`. Returns the byte count; 0 means the peer closed.
Result<size_t> recv_with_fd(int sock, char* buf, size_t len, UniqueFd& fd);

}  // namespace hull
