// AddKeysToAgent (ssh_config(5)): once a key read from a file has
// authenticated, it is added to the agent, as ssh's
// maybe_add_key_to_agent does: SSH2_AGENTC_ADD_IDENTITY, or
// SSH2_AGENTC_ADD_ID_CONSTRAINED with a lifetime or confirmation
// (draft-miller-ssh-agent, sections 3.2 and 3.2.6).
#pragma once
#include <string>

#include <libssh/libssh.h>

namespace feth::client {

// The agent message that adds `key` (a private key) under `comment` (ssh:
// the file's path), with a lifetime in seconds (0: none) and, with
// `confirm`, ssh-askpass confirmation for each use. Throws InputError when
// libssh cannot export the key or its type is not one the agent protocol
// spells here (Ed25519, ECDSA, RSA).
std::string agent_add_identity_message(ssh_key key, const std::string& comment, unsigned lifetime, bool confirm);

// Sends `message` to the agent on `fd` (a connected socket) and reads its
// answer: true on SSH_AGENT_SUCCESS; otherwise false with `error` set.
bool agent_request(int fd, const std::string& message, std::string& error);

} // namespace feth::client
