// The listening process: binds the configured addresses, accepts, and hands
// each connection to a child process of its own. It keeps no per-client
// state but the children's pids, so that SIGTERM can end every tunnel.
#pragma once

#include <libssh/server.h>

#include "config/server_config.hpp"

namespace feth::server {

// Runs until SIGTERM or SIGINT. Returns the exit status.
int run_listener(const config::ServerConfig& config, ssh_bind bind);

} // namespace feth::server
