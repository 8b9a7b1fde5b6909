// Reaching the server: TCP connect (with -4/-6 and ConnectTimeout), key
// exchange, host key verification against known_hosts as ssh does it, and
// public-key authentication through the agent and identity files.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/client_config.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::client {

// Why connecting failed decides whether --reconnect tries again: every
// failure is retried (the network, a refused login) except the user's own
// mistakes, which no retry can mend: a host key that does not match (or
// that nobody could accept), a bad configuration, a key whose passphrase
// was wrong or could not be asked for.
class ConnectError : public std::runtime_error {
public:
    enum class Kind { Network, HostKey, Auth, Config, Passphrase };
    ConnectError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    Kind kind() const { return kind_; }
    bool retryable() const { return kind_ == Kind::Network || kind_ == Kind::Auth; }

private:
    Kind kind_;
};

struct Destination {
    std::string host_arg;   // as given on the command line (for messages)
    config::ClientConfig config; // resolved: every field set
    bool batch_mode = false;     // never prompt (no terminal, or -f)
    // Privilege separation as nobody (client/privsep.hpp): identity and
    // known_hosts files the SSH part read before dropping root, by their
    // configured name -> the path of its private copy; messages keep the
    // configured name. And the agent, connected by the root part: a socket,
    // or -1. Unset: files and agent are opened as usual.
    std::map<std::string, std::string> file_copies;
    std::function<int()> agent_socket;
    // As nobody: the identity files are the root part's, offered only
    // through its agent (agent_socket); the SSH part never reads them.
    bool keys_with_root_part = false;
    // Separated (privsep.hpp): asks the user through the root part (echo
    // off for a passphrase); nullopt when no one answered. Unset: the
    // terminal, directly.
    std::function<std::optional<std::string>(const std::string& prompt, bool echo)> ask;
    // Passed to the ssh that ProxyJump runs, as ssh does: -F FILE (empty: not
    // given) and the -v count.
    std::string config_file;
    int verbose = 0;
};

// Connects and authenticates. Throws ConnectError.
SessionPtr connect_session(const Destination& dest);

} // namespace feth::client
