// The listening process: binds the configured addresses, accepts, and hands
// each connection to a child process of its own. It keeps no per-client
// state but the children's pids, so that SIGTERM can end every tunnel.
#pragma once

#include <libssh/server.h>

#include "config/server_config.hpp"
#include "privsep.hpp"

namespace feth::server {

// Runs until SIGTERM or SIGINT. Each connection gets a monitor process
// (root) which forks the unprivileged child that speaks SSH. MaxStartups
// drops new connections while too many are unauthenticated. Returns the
// exit status.
int run_listener(const config::ServerConfig& config, ssh_bind bind, const PrivsepIdentity& identity);

} // namespace feth::server
