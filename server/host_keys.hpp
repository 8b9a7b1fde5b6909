// Host keys: the configured ones, or one ed25519 key generated on first start
// into the state directory and reused, as sshd's ssh-keygen -A would.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/secret.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {

// Returns the host key paths to load. With none configured, makes sure
// `<state_dir>/ssh_host_ed25519_key` exists (0600, directory 0700) and
// returns it. Throws SystemError naming the path on failure.
std::vector<std::string> resolve_host_keys(const std::vector<std::string>& configured,
                                           const std::string& state_dir);

// A host key file as the listener read it: its path (for messages) and
// its private text, burned when dropped.
struct HostKeyText {
    std::string path;
    SecretText text;
};

// The private host keys. Only the monitor uses them, to sign each exchange
// hash the child asks it to (sshd's mm_answer_sign). The listener reads the
// files (and checks them) and hands their text to each connection's session
// program across its exec, as sshd hands sshd-session its keys; the
// network program gets the public blobs only (public_blobs), so no private
// key material is ever in its address space.
class HostKeys {
public:
    // Reads and loads each private key file; throws InputError naming the
    // path.
    static HostKeys load(const std::vector<std::string>& paths);
    // Loads keys from texts the listener read (load); throws InputError
    // naming the path.
    static HostKeys from_texts(std::vector<HostKeyText> texts);

    // The files' texts, for the session program (listener only).
    const std::vector<HostKeyText>& texts() const { return texts_; }
    // The public blobs (wire format), for the network program.
    std::vector<std::string> public_blobs() const;

    // Gives `bind` the public half of every key (SSH_BIND_OPTIONS_IMPORT_KEY).
    void import_public_keys(ssh_bind bind) const;

    // The private key whose public blob is `blob`, or nullptr.
    ssh_key find(std::string_view blob) const;

    // Frees the private keys (OpenSSL clears them as it frees them) and
    // burns the texts.
    void forget()
    {
        keys_.clear();
        texts_.clear();
    }

    bool empty() const { return keys_.empty(); }

private:
    struct Key {
        std::string path;
        KeyPtr key;
        std::string blob; // public, wire format
    };
    std::vector<Key> keys_;
    std::vector<HostKeyText> texts_;
};

} // namespace feth::server
