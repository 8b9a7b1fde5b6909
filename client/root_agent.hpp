// The root part's agent (docs/security.md, "The client"): started by root
// without sudo, feth-ssh's SSH part runs as nobody and never holds one of
// root's private keys. The root part reads root's identity files itself
// (the IdentityFile list, as ssh would load it; a passphrase is asked by the
// root part) and answers the SSH part, and any ProxyJump/ProxyCommand ssh it
// runs, in the ssh-agent protocol (draft-miller-ssh-agent):
// SSH_AGENTC_REQUEST_IDENTITIES, SSH_AGENTC_SIGN_REQUEST (with the
// rsa-sha2-256/512 flags) and the session-bind@openssh.com extension.
//
// It signs only user-authentication requests (RFC 4252 section 7): the
// session id, SSH_MSG_USERAUTH_REQUEST, a user it was told of before the
// SSH part touched the network, "ssh-connection", "publickey" (or
// publickey-hostbound-v00@openssh.com), TRUE, the algorithm the flags ask
// for, and the very key it is asked to sign with; on a connection bound by
// session-bind@openssh.com, only for that session (and its host key), as
// ssh-agent does. A key it does not hold goes to root's own agent (if
// any), after the same check.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.hpp"

namespace feth::client {

// What the agent holds and whom it signs for, from the SSH part's first
// message (sent before the network).
struct AgentSetup {
    std::vector<std::string> identity_files;    // IdentityFile, ssh's defaults included
    std::vector<std::string> certificate_files; // CertificateFile
    std::vector<std::string> users;             // the remote users it may sign for
    std::string real_agent;                     // root's own agent (a socket path), or empty
    bool real_agent_keys = false;               // its keys are offered (not IdentitiesOnly)
    std::string add_keys_to_agent;              // AddKeysToAgent: "", no, yes, confirm, ask
    std::uint32_t add_keys_lifetime = 0;        // seconds, 0: none
    bool batch = false;                         // BatchMode: never ask for a passphrase
    // Whether there is anything to serve.
    bool active() const { return !identity_files.empty() || !real_agent.empty(); }
};

// What a sign request must be for (below).
struct SignRules {
    std::string_view key_blob;                    // the key the request asks to sign with
    std::uint32_t flags = 0;                      // SSH_AGENT_RSA_SHA2_256 (2) / _512 (4)
    const std::vector<std::string>* users = nullptr;
    std::optional<std::string> bound_session_id;  // session-bind@openssh.com on this connection
    std::optional<std::string> bound_host_key;
};

// Why `data` is not a user-authentication request the agent may sign for
// `rules`, in words for a log line; "" when it is, with the signature
// algorithm to use in `signature_algorithm`.
std::string userauth_request_problem(std::string_view data, const SignRules& rules, std::string& signature_algorithm);

// Asks the user (the root part's terminal or SSH_ASKPASS); nullopt: no
// answer.
using AskUser = std::function<std::optional<std::string>(const std::string& prompt, bool echo)>;

class RootAgent {
public:
    // Reads the public halves of the identities now (their private halves
    // when a signature needs them). Never throws for a key file: a key that
    // cannot be read is logged, naming the file, and left out.
    RootAgent(AgentSetup setup, AskUser ask);
    ~RootAgent();
    RootAgent(const RootAgent&) = delete;
    RootAgent& operator=(const RootAgent&) = delete;

    // A new connection for the SSH part (its end of a socketpair); invalid
    // when too many are open.
    UniqueFd connect();
    // The socket a proxy ssh reaches the agent at, `dir`/agent: `dir` is
    // the run's directory (run_dir.hpp: mode 0700, owned by `owner`), the
    // socket is owned by `owner`, mode 0600; only `owner` and root may
    // connect. Removed by the destructor (the directory with the run).
    // Returns its path; throws SystemError.
    std::string open_bridge(uid_t owner, gid_t owner_group, const std::string& dir);

    // The descriptors to poll, appended to `fds`; then service() with the
    // same entries (starting at `first`).
    void add_poll_fds(std::vector<pollfd>& fds) const;
    void service(const std::vector<pollfd>& fds, std::size_t first);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace feth::client
