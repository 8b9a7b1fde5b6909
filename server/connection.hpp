// One client connection, served in its own process: key exchange,
// public-key authentication, then tun@openssh.com channels wired to devices
// and an optional session channel that only tells the user where the tunnel
// is. Whatever happens here touches no other client's tunnel.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <string>

#include "config/server_config.hpp"

namespace feth::server {

struct Peer {
    std::string address;
    unsigned port = 0;
};

class MonitorClient;

// In the unprivileged child: serves the already-accepted socket `fd` until
// the client goes or a SIGTERM arrives, asking `monitor` for everything
// privileged (key checks, devices). Returns the process exit status.
int serve_connection(const config::ServerConfig& config, ssh_bind bind, int fd, const Peer& peer,
                     MonitorClient& monitor);

} // namespace feth::server
