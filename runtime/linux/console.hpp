// Terminals: the container's pty is made inside the container (from its own devpts), and the
// master travels over the caller's --console-socket with SCM_RIGHTS, as runc does.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "oci-spec/spec.hpp"

#include <optional>
#include <termios.h>
#include <string>

namespace hull::runtime::linux {

// Parent side: connects to the unix socket at `path` (before any fork, while host paths work).
Result<UniqueFd> connect_console_socket(const std::string& path);

// Where the pty master goes: the caller's --console-socket, or (in the foreground, with no
// socket given) a socketpair whose `ours` end receives it for hull to proxy.
struct ConsoleEnds {
    UniqueFd ours;   // empty when a --console-socket takes the master
    UniqueFd child;  // the init's end
};
Result<ConsoleEnds> console_ends(const std::string& console_socket);

// Child side, with /dev/ptmx reachable (after pivot_root for a container, or on the joined
// root for exec): opens a pty, sizes it, sends the master over `console_sock`, makes the slave
// the controlling terminal and stdio. With `bind_console`, the slave also becomes /dev/console.
Status setup_console(int console_sock, const std::optional<oci::ConsoleSize>& size, bool bind_console);

Status send_fd(int sock, int fd, std::string_view name);
Result<UniqueFd> recv_fd(int sock);

// Foreground side of a pty: our terminal in raw mode (restored on destruction), bytes copied
// between our stdio and the master. The owner's poll loop calls the pump methods.
class TerminalProxy {
public:
    explicit TerminalProxy(int master);
    ~TerminalProxy();
    TerminalProxy(const TerminalProxy&) = delete;
    TerminalProxy& operator=(const TerminalProxy&) = delete;

    int master() const { return master_; }
    bool stdin_open() const { return stdin_open_; }
    bool master_open() const { return master_open_; }
    // Copies what the container wrote to our stdout; false once the master hung up.
    bool pump_output();
    // Copies our stdin to the container; on EOF stops reading stdin.
    void pump_input();
    // Passes our window size on (after SIGWINCH).
    void resize();
    // Copies whatever output is still buffered, without blocking.
    void drain();

private:
    int master_;
    bool stdin_open_ = true;
    bool master_open_ = true;
    bool raw_ = false;
    struct termios saved_ {};
};

}  // namespace hull::runtime::linux
