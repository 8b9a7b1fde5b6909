// First errors say what to do: a user's first tunnel fails on a missing
// sudo, on the server's PermitTunnel, on a unit the server cannot open.
// The server's own words come in SSH_MSG_DEBUG (sshd's serverloop.c and
// feth-sshd send "Server has rejected tunnel device forwarding" or "Failed
// to open the tunnel device."), which libssh only logs, at SSH_LOG_DEBUG:
// ServerDebugLines keeps them while it lives.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "tunnel/wire.hpp"

namespace feth::client {

// While one lives, libssh's log callback keeps the text of every
// SSH_MSG_DEBUG the server sends (libssh's log level is raised to
// SSH_LOG_DEBUG for that time, then restored). One at a time.
class ServerDebugLines {
public:
    ServerDebugLines();
    ~ServerDebugLines();
    ServerDebugLines(const ServerDebugLines&) = delete;
    ServerDebugLines& operator=(const ServerDebugLines&) = delete;
    const std::vector<std::string>& lines() const { return lines_; }
    void keep(std::string line);

private:
    std::vector<std::string> lines_;
    int saved_level_;
};

// "Tunnel forwarding failed: HOST refused the MODE tunnel (...)", then what
// the server said and what to do about it.
std::string tunnel_refusal(const std::string& host, TunMode mode, std::uint32_t remote_unit,
                           const std::string& libssh_error, const std::vector<std::string>& server_lines);

// The local device could not be opened: the error, and "run it with sudo"
// when not root and the system said no for want of privilege.
std::string device_open_failure(const std::exception& e);

} // namespace feth::client
