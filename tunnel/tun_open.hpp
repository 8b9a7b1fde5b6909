// The type-specific part of a tun@openssh.com channel open (OpenSSH
// PROTOCOL, "Tunnel forward"): uint32 mode, uint32 unit. Pure and portable,
// so that unit tests and a fuzzer run it on every platform.
//
// In feth-sshd the bytes themselves are split by the patched libssh (which
// answers a truncated open with OPEN_FAILURE); the server then checks the
// two values with check_tun_open(). parse_tun_open() is the byte-level
// form of the same rules, as OpenSSH's server_request_tun() reads them:
// mode, then unit, anything after the unit ignored.
#pragma once

#include <cstdint>
#include <span>

#include "tunnel/wire.hpp"

namespace feth {

// The SSH_MSG_DEBUG lines OpenSSH's sshd sends before it refuses a tunnel
// (serverloop.c server_request_tun), written only here.
inline constexpr const char* kTunnelUnsupportedModeLine = "Unsupported tunnel device mode.";
inline constexpr const char* kTunnelRejectedLine = "Server has rejected tunnel device forwarding";
inline constexpr const char* kTunnelFailedLine = "Failed to open the tunnel device.";

enum class TunOpenError {
    None,
    Truncated,       // fewer than 8 bytes: no mode and unit
    UnsupportedMode, // mode other than 1 (point-to-point) and 2 (ethernet)
    UnitOutOfRange,  // unit above kTunUnitMax that is not kTunUnitAny
};

struct TunOpenRequest {
    TunOpenError error = TunOpenError::None;
    TunMode mode = TunMode::Ethernet; // valid when error == None
    std::uint32_t unit = kTunUnitAny; // <= kTunUnitMax or kTunUnitAny when error == None
    bool ok() const { return error == TunOpenError::None; }
};

// The two values, checked in sshd's order: the mode first, then the unit.
TunOpenRequest check_tun_open(std::uint32_t mode, std::uint32_t unit);

// The raw type-specific bytes of the channel open.
TunOpenRequest parse_tun_open(std::span<const std::uint8_t> bytes);

// "truncated", "unsupported mode", "unit out of range" ("ok" for None).
const char* tun_open_error_name(TunOpenError error);

// The SSH_MSG_DEBUG line OpenSSH's sshd sends before refusing for this
// error ("" for None and Truncated: sshd ends the connection on a
// truncated open; the patched libssh answers OPEN_FAILURE instead).
const char* tun_open_debug_line(TunOpenError error);

} // namespace feth
