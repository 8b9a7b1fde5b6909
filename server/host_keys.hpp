// Host keys: the configured ones, or one ed25519 key generated on first start
// into the state directory and reused, as sshd's ssh-keygen -A would.
#pragma once

#include <string>
#include <vector>

namespace feth::server {

// Returns the host key paths to load. With none configured, makes sure
// `<state_dir>/ssh_host_ed25519_key` exists (0600, directory 0700) and
// returns it. Throws SystemError naming the path on failure.
std::vector<std::string> resolve_host_keys(const std::vector<std::string>& configured,
                                           const std::string& state_dir);

} // namespace feth::server
