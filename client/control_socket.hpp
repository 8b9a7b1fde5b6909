// ssh's control habits for a running feth-ssh: ControlMaster with
// ControlPath (or -S) make it listen on a Unix socket, and "feth-ssh -O
// check|exit|stop|status [--json]" asks it, as "ssh -O" asks a master.
// (feth-ssh's socket speaks its own one-line requests, not ssh's
// multiplexing protocol: there are no sessions to share.)
//
// The socket belongs to the user: mode 0600, in a directory that only they
// (or root) can write; a peer whose uid is neither root nor the owner is
// refused before a byte is read. A request is one line, answered with text
// and the socket closed; a client gets a second to send it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace feth::client {

// What -O status shows.
struct ControlStatus {
    std::string device;    // the local device
    std::string mode;      // ethernet, point-to-point
    std::string peer;      // user@host port N
    bool connected = false;
    std::uint64_t uptime_s = 0;     // of the current tunnel
    std::uint64_t bytes_out = 0;    // to the server, current tunnel
    std::uint64_t bytes_in = 0;     // from the server, current tunnel
    std::uint64_t frames_out = 0;
    std::uint64_t frames_in = 0;
    std::uint64_t reconnects = 0;   // tunnels that came up after the first
    std::uint64_t dropped_while_down = 0;
};

// The answer to "status", as text or JSON (one object).
std::string render_control_status(const ControlStatus& s, long pid, bool json);

// Another master answers at the ControlPath.
class ControlSocketBusy : public InputError {
public:
    using InputError::InputError;
};

class ControlServer {
public:
    // Listens on `path` for the user `owner`: checks the directory, replaces
    // the socket of a master that is gone, refuses a live one. Throws
    // InputError/SystemError naming the path.
    ControlServer(const std::string& path, uid_t owner);
    ~ControlServer(); // removes the socket it made
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    int fd() const { return listener_.get(); } // -1 once stopped
    const std::string& path() const { return path_; }

    enum class Request { None, Exit, Stop };
    // The listener is readable: accepts one client and answers it. Exit:
    // the client asked feth-ssh to end (-O exit). Stop: to stop listening
    // (-O stop); the caller drops fd() from its loop, then calls stop().
    Request serve(const std::function<ControlStatus()>& status);
    void stop();

private:
    std::string path_;
    uid_t owner_;
    UniqueFd listener_;
};

// Started by root without sudo, the SSH part makes root's control socket
// and then runs as nobody, who may not remove it from root's directory: the
// root part removes it once the SSH part is gone, whatever way it ended.
// The SSH part names the socket on a pipe whose write end it closes before
// it drops root, so that nothing it writes as nobody reaches the root part;
// the root part removes only that socket (same device and inode), so never
// the socket of a master started after it.
void name_for_removal(const ControlServer& server, int pipe_fd); // the SSH part, still root

// The root part's end of that pipe; the destructor removes the socket named
// there, if any.
class ControlSocketRemoval {
public:
    explicit ControlSocketRemoval(UniqueFd named) : named_(std::move(named)) {}
    ~ControlSocketRemoval();
    ControlSocketRemoval(const ControlSocketRemoval&) = delete;
    ControlSocketRemoval& operator=(const ControlSocketRemoval&) = delete;

private:
    UniqueFd named_;
};

// feth-ssh -O COMMAND: asks the master at `path` and prints its answer
// (status on stdout, the others on stderr, as ssh). Returns the exit status.
int control_command(const std::string& path, const std::string& command, bool json);

} // namespace feth::client
