// The client's life: open the local device once, then connect, open the
// tun@openssh.com channel and pump frames until the connection ends; with
// Reconnect, connect again with capped exponential backoff while the local
// device (name, MAC, addresses) stays in place so traffic resumes by itself.
#pragma once

#include <memory>

#include "connect.hpp"
#include "control_socket.hpp"
#include "privsep.hpp"

namespace feth::client {

struct TunnelOptions {
    Destination dest;
    bool background = false; // -f: detach once the tunnel is up
    // Where the device and the hooks come from: the root part of feth-ssh
    // (privsep.hpp) when it was started as root; unset: this process.
    std::unique_ptr<Privileged> privileged;
    // ControlMaster: the control socket -O talks to (unset: none).
    std::unique_ptr<ControlServer> control;
};

// Returns the process exit status: 0 for a clean close or a signal, 255 for
// a connection, authentication or forwarding failure (ssh's convention).
int run_tunnel(TunnelOptions& options);

} // namespace feth::client
