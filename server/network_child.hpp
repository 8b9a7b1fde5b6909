// The network program (feth-sshd-net): what the monitor execs for each
// connection, as sshd-session execs sshd-auth. It starts as root from a
// fresh image with the descriptors handover.hpp names (0 and 1 the
// client's socket, 2 its log pipe, 3 the monitor socket), reads its
// NetworkSetup (configuration, public host keys, its peer, who to become),
// dies with its monitor, drops to the unprivileged user in the empty
// chroot, enters its sandbox, and serves the connection
// (serve_connection), asking the monitor for everything privileged.
#pragma once

namespace feth::server {

// The whole program; returns its exit status.
int network_child_main();

} // namespace feth::server
