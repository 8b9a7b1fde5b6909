// The listening process: binds the configured addresses, accepts, and hands
// each connection to a child process of its own. It keeps no per-client
// state but the children's pids, so that SIGTERM can end every tunnel.
#pragma once

#include <libssh/server.h>

#include <functional>

#include "config/server_config.hpp"
#include "handover.hpp"
#include "host_keys.hpp"
#include "privsep.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {

// What new connections are served with: the configuration, its sources
// (for the session program, handover.hpp), and the host keys (their text
// goes to the session program, the monitor).
struct ServerSettings {
    config::ServerConfig config;
    ConfigSource source;
    HostKeys host_keys;
};

// The programs each connection runs in, and how the listener logs (the
// session program logs the same way).
struct ListenerPrograms {
    HelperPrograms helpers;
    bool log_to_stderr = false;
    bool debug = false; // -d: connection processes stay in the listener's session
};

// Reads the configuration and host keys again (SIGHUP); throws on error,
// and then the listener keeps what it had.
using ReloadSettings = std::function<ServerSettings()>;

// Runs until SIGTERM or SIGINT. Each connection gets a process of its own,
// forked and exec'd as the session program (feth-sshd-session: the root
// monitor), which forks and execs the unprivileged network program that
// speaks SSH (handover.hpp); neither inherits the listener's memory. MaxStartups
// drops new connections while too many are unauthenticated. SIGHUP reloads
// the settings for new connections; live tunnels keep theirs. Returns the
// exit status.
int run_listener(ServerSettings settings, const ReloadSettings& reload, const PrivsepIdentity& identity,
                 const ListenerPrograms& programs);

} // namespace feth::server
