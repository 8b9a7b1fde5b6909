// Host keys: the configured ones, or one ed25519 key generated on first start
// into the state directory and reused, as sshd's ssh-keygen -A would.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <string>
#include <string_view>
#include <vector>

#include "tunnel/ssh_handles.hpp"

namespace feth::server {

// Returns the host key paths to load. With none configured, makes sure
// `<state_dir>/ssh_host_ed25519_key` exists (0600, directory 0700) and
// returns it. Throws SystemError naming the path on failure.
std::vector<std::string> resolve_host_keys(const std::vector<std::string>& configured,
                                           const std::string& state_dir);

// The private host keys. Only the monitor uses them, to sign each exchange
// hash the child asks it to (sshd's mm_answer_sign); the child's libssh gets
// the public halves only, and the child frees its inherited copy of these
// right after fork, before it reads a byte from the network.
class HostKeys {
public:
    // Loads each private key; throws InputError naming the path.
    static HostKeys load(const std::vector<std::string>& paths);

    // Gives `bind` the public half of every key (SSH_BIND_OPTIONS_IMPORT_KEY).
    void import_public_keys(ssh_bind bind) const;

    // The private key whose public blob is `blob`, or nullptr.
    ssh_key find(std::string_view blob) const;

    // Frees the private keys (OpenSSL clears them as it frees them).
    void forget() { keys_.clear(); }

    bool empty() const { return keys_.empty(); }

private:
    struct Key {
        std::string path;
        KeyPtr key;
        std::string blob; // public, wire format
    };
    std::vector<Key> keys_;
};

} // namespace feth::server
