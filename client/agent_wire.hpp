// The ssh-agent protocol's framing (draft-miller-ssh-agent, OpenSSH's
// PROTOCOL.agent), in one place for the two ends feth-ssh speaks: the root
// part's agent (root_agent.cpp), which answers the SSH part and asks root's
// own agent, and AddKeysToAgent (agent_add.cpp), which asks the user's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/fd.hpp"

namespace feth::client::agent_wire {

// Message numbers (draft-miller-ssh-agent, section 6.1).
constexpr std::uint8_t kFailure = 5;            // SSH_AGENT_FAILURE
constexpr std::uint8_t kSuccess = 6;            // SSH_AGENT_SUCCESS
constexpr std::uint8_t kRequestIdentities = 11; // SSH_AGENTC_REQUEST_IDENTITIES
constexpr std::uint8_t kIdentitiesAnswer = 12;  // SSH_AGENT_IDENTITIES_ANSWER
constexpr std::uint8_t kSignRequest = 13;       // SSH_AGENTC_SIGN_REQUEST
constexpr std::uint8_t kSignResponse = 14;      // SSH_AGENT_SIGN_RESPONSE
constexpr std::uint8_t kAddIdentity = 17;       // SSH_AGENTC_ADD_IDENTITY
constexpr std::uint8_t kAddIdConstrained = 25;  // SSH_AGENTC_ADD_ID_CONSTRAINED
constexpr std::uint8_t kExtension = 27;         // SSH_AGENTC_EXTENSION
// Sign request flags (section 6.3) and key constraints (section 6.2).
constexpr std::uint32_t kRsaSha2_256 = 2; // SSH_AGENT_RSA_SHA2_256
constexpr std::uint32_t kRsaSha2_512 = 4; // SSH_AGENT_RSA_SHA2_512
constexpr std::uint8_t kConstrainLifetime = 1; // SSH_AGENT_CONSTRAIN_LIFETIME
constexpr std::uint8_t kConstrainConfirm = 2;  // SSH_AGENT_CONSTRAIN_CONFIRM

// The largest message either end takes, as ssh-agent's AGENT_MAX_LEN.
constexpr std::size_t kMaxMessage = 256 * 1024;
// How long an agent may take to answer (a confirmation asks the user).
constexpr int kAnswerTimeoutMs = 10000;

// A connected stream socket to the agent listening at `path`; an empty
// descriptor when there is none or it does not accept (the reason is
// logged at debug level, prefixed with `who`).
UniqueFd connect_to_agent(const std::string& path, const char* who);

// Sends `framed` (length prefix included) on `fd` and reads one answer:
// its body (type byte first), or nothing with `error` set (the agent closed,
// did not answer in kAnswerTimeoutMs, or answered an empty or too long
// message).
std::optional<std::string> exchange(int fd, std::string_view framed, std::string& error);

} // namespace feth::client::agent_wire
