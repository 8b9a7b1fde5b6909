// The tun@openssh.com channel wire format (OpenSSH PROTOCOL, "Tunnel
// forward"). Every CHANNEL_DATA message carries exactly one frame:
//  - ethernet mode: a bare Ethernet frame, header included;
//  - point-to-point mode: a 4-byte big-endian address family in OpenBSD
//    numbering (2 = IPv4, 24 = IPv6), then the IP packet.
// These functions are pure so that every platform's tests run them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/byte_order.hpp"

namespace feth {

enum class TunMode : std::uint32_t { PointToPoint = 1, Ethernet = 2 };

// OpenSSH misc.h: SSH_TUNID_ANY and SSH_TUNID_MAX.
inline constexpr std::uint32_t kTunUnitAny = 0x7fffffff;
inline constexpr std::uint32_t kTunUnitMax = kTunUnitAny - 2;

std::optional<TunMode> tun_mode_from_wire(std::uint32_t value);
const char* tun_mode_name(TunMode mode); // "ethernet" / "point-to-point"

// Parses a unit as ssh's -w does: a decimal number up to kTunUnitMax, or "any".
std::optional<std::uint32_t> parse_tun_unit(std::string_view text);

namespace wire {

inline constexpr std::size_t kAfHeaderLen = 4;
inline constexpr std::uint32_t kAfInet = 2;   // OpenBSD AF_INET
inline constexpr std::uint32_t kAfInet6 = 24; // OpenBSD AF_INET6

inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kIpv4MinHeader = 20;
inline constexpr std::size_t kIpv6Header = 40;

// OpenSSH reads its device with a 16 KiB buffer (CHAN_RBUF) and so never
// sends a larger frame; we hold ourselves to the same size in both
// directions. 16384 - 14 = 16370 is also feth's largest MTU.
inline constexpr std::size_t kMaxFrame = 16384;
inline constexpr std::size_t kMaxEthernetMtu = kMaxFrame - kEthernetHeaderLen;
inline constexpr std::size_t kMaxPointToPointMtu = kMaxFrame - kAfHeaderLen;

// An OpenSSH receiver charges each datagram's SSH string length header (4
// bytes) against its channel window as well as the data.
inline constexpr std::size_t kDatagramWindowOverhead = 4;

// Whether a frame of `frame_len` bytes may go out now, given the peer's
// remaining channel window: the frame plus what an OpenSSH receiver charges
// for its length field must fit, so that a datagram is never split.
constexpr bool fits_window(std::uint32_t window, std::size_t frame_len)
{
    return frame_len <= kMaxFrame && window >= frame_len + kDatagramWindowOverhead;
}

enum class Verdict {
    Ok,
    TooShort,     // a runt: an OpenSSH peer would close the tunnel on it
    TooLong,      // above kMaxFrame
    BadIpVersion, // point-to-point packet whose version nibble is not 4 or 6
};
const char* verdict_name(Verdict verdict);

// The family to put on the wire for an IP packet, from its version nibble.
std::optional<std::uint32_t> wire_af_for_ip(std::span<const std::uint8_t> ip_packet);

// Checks a frame about to be sent on the channel or written to a device.
// `frame` is in wire format (with the AF header in point-to-point mode). On
// receive we trust the version nibble rather than the peer's family field,
// as OpenSSH does on Linux and macOS, so the header value is not checked.
Verdict check_frame(TunMode mode, std::span<const std::uint8_t> frame);

// Writes the 4-byte wire header for `ip_packet` into `header`. Returns false
// (and writes nothing) when the version nibble is neither 4 nor 6.
bool put_af_header(std::span<std::uint8_t, kAfHeaderLen> header,
                   std::span<const std::uint8_t> ip_packet);

using feth::load_be32;
using feth::store_be32;

} // namespace wire
} // namespace feth
