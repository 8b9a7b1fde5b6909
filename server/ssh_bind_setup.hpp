// The libssh side of serving: the ssh_bind the network program accepts its
// connection with (public host keys only, the configured algorithms), and
// libssh's diagnostics routed into our log. Shared by feth-sshd (-t checks)
// and feth-sshd-net.
#pragma once

#include <string>
#include <vector>

#include "config/server_config.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {

// A bind holding the public host keys given as blobs (wire format) and the
// configured Ciphers and KexAlgorithms. Throws InputError naming the
// problem.
BindPtr make_bind(const std::vector<std::string>& host_public_keys, const config::ServerConfig& cfg);

// Checks that libssh takes the configured Ciphers and KexAlgorithms.
void check_algorithms(const config::ServerConfig& cfg);

// ssh_init, and libssh's own diagnostics at our debug levels only (the
// current log level decides).
void init_libssh();

} // namespace feth::server
