// The listening process: binds the configured addresses, accepts, and hands
// each connection to a child process of its own. It keeps no per-client
// state but the children's pids, so that SIGTERM can end every tunnel.
#pragma once

#include <libssh/server.h>

#include <functional>

#include "config/server_config.hpp"
#include "host_keys.hpp"
#include "privsep.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {

// What new connections are served with: the configuration, the ssh_bind
// holding the public host keys, and the private keys for the monitor.
struct ServerSettings {
    config::ServerConfig config;
    BindPtr bind;
    HostKeys host_keys;
};

// Reads the configuration and host keys again (SIGHUP); throws on error,
// and then the listener keeps what it had.
using ReloadSettings = std::function<ServerSettings()>;

// Runs until SIGTERM or SIGINT. Each connection gets a monitor process
// (root) which forks the unprivileged child that speaks SSH. MaxStartups
// drops new connections while too many are unauthenticated. SIGHUP reloads
// the settings for new connections; live tunnels keep theirs. Returns the
// exit status.
int run_listener(ServerSettings settings, const ReloadSettings& reload, const PrivsepIdentity& identity);

} // namespace feth::server
