// The receiving end of `--console-socket`: a listening unix socket that gets
// the pty master from the runtime through SCM_RIGHTS, as a container manager
// would, and reads the container's terminal output from it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace hull::itest {

class ConsoleSocket {
public:
    // Listens on `path` before the runtime is started, so the runtime's
    // connect and send complete without a thread on this side.
    explicit ConsoleSocket(std::filesystem::path path);
    ~ConsoleSocket();
    ConsoleSocket(const ConsoleSocket&) = delete;
    ConsoleSocket& operator=(const ConsoleSocket&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Accept one connection and receive the master fd; -1 on failure or time-out.
    int receive_master(std::chrono::milliseconds timeout);
    // Read the master until the container side closes (EIO/EOF) or time-out.
    std::string read_until_closed(std::chrono::milliseconds timeout);

private:
    std::filesystem::path path_;
    int listen_fd_ = -1;
    int master_fd_ = -1;
};

}  // namespace hull::itest
