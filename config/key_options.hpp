// What authorized_keys options mean, as OpenSSH's auth-options.c and
// auth2-pubkeyfile.c decide it (the patterns of from="...":
// config/match.hpp; the tunnel policy: server/tunnel_policy.hpp). Pure: no
// I/O, no clock (callers pass `now`), so the unit tests and the fuzzer drive
// it directly. Options come from a
// file a user controls: every value is bounded and checked.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/authorized_keys.hpp"
#include "config/match.hpp"

namespace feth::config {

struct KeyOptions {
    bool restricted = false; // "restrict": blocks tunnels (OpenSSH 10.x); nothing re-enables them
    bool port_forwarding = true;
    bool agent_forwarding = true;
    bool x11_forwarding = true;
    bool pty = true;
    bool user_rc = true;
    bool cert_authority = false;
    bool no_require_user_presence = false; // only for security keys, which we do not accept
    bool require_verify = false;           // likewise
    std::optional<std::string> command;     // accepted; this server runs no commands
    std::optional<std::string> principals;  // refused later: only valid with cert-authority
    std::optional<std::string> from;        // pattern-list for the peer's address/name
    std::uint64_t valid_before = 0;          // expiry-time, seconds since the epoch; 0: none
    std::vector<std::string> environment;    // accepted, unused (no sessions)
    std::vector<std::string> permitopen;     // accepted, unused (no port forwarding)
    std::vector<std::string> permitlisten;   // accepted, unused
    std::optional<std::uint32_t> tunnel;     // tunnel="n" (kTunUnitAny for "any")
};

// Interprets parsed options as sshauthopt_parse does. Returns the options,
// or nullopt with `error` set to OpenSSH's reason ("unknown key option",
// "invalid tun device", "multiple \"from\" clauses", ...): such a key is
// unusable.
std::optional<KeyOptions> evaluate_key_options(const std::vector<KeyOption>& options, std::string& error);

// OpenSSH's parse_absolute_time: YYYYMMDD[HHMM[SS]] in local time, or with a
// trailing "Z" / "UTC" in UTC. nullopt when malformed.
std::optional<std::uint64_t> parse_expiry_time(std::string_view text);

// auth_authorise_keyopts for a plain (non-certificate) key. Returns true
// when the key may be used now from this peer; otherwise `log` holds the
// line sshd would log.
bool authorise_key(const KeyOptions& options, std::string_view user, std::string_view remote_ip,
                   std::string_view remote_host, std::time_t now, std::string_view loc, std::string& log);

} // namespace feth::config
