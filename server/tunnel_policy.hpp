// Whether a tun@openssh.com channel may open: the one place that decides
// it, as OpenSSH's server_request_tun (serverloop.c) does in one function.
// The monitor calls it with what it knows for sure (PermitTunnel after
// Match, the authenticated key's options, its own count of the
// connection's tunnels); the child only pre-checks the per-connection limit
// against the same constant before it asks the monitor.
//
// What comes after the decision is the caller's: MaxTunnels over every
// connection (the shared status table), the hook rate limit, opening the
// device and TunnelUpCommand; each refuses with tun_open's kTunnelFailedLine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/key_options.hpp"

namespace feth::server {

// Tunnels one connection may have open at once (sshd has no such limit; a
// client holding more is refused with kTunnelFailedLine).
inline constexpr std::size_t kMaxTunnelsPerConnection = 10;

// The type-specific part of the channel open, as the child received it.
struct TunnelRequest {
    std::uint32_t mode = 0;
    std::uint32_t unit = 0;
};

struct TunnelDecision {
    bool allowed = false;
    std::uint32_t unit = 0; // the unit to open when allowed (the key's tunnel="n" wins)
    std::string debug_line; // the SSH_MSG_DEBUG sshd sends when refused
    std::string reason;     // for our log
};

// server_request_tun's decision, in its order: the mode (1 or 2), then
// PermitTunnel (`permit`: its mode bits after Match), the key's "restrict",
// the unit's range, the key's tunnel="n"; then this connection's limit
// (`tunnels_open`: the tunnels it has now). `key` null: no key options.
TunnelDecision decide_tunnel(const TunnelRequest& request, unsigned permit, const config::KeyOptions* key,
                             std::size_t tunnels_open);

} // namespace feth::server
