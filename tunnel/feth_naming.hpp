// Names, addresses and the creation plan of a feth pair (macOS) and of its
// Linux twin, the veth "pair" backend. Pure functions, so the rules are
// tested on every platform and the OS files only execute them.
//
// A tunnel unit N is two interfaces: the visible `feth<N>` the user
// configures (addresses, bridge membership), and its peer
// `feth<N + offset>` (default offset 5000) that the tunnel reads and writes.
// Keeping peers far above the visible units also keeps them clear of xnu's
// NDRV detach handling, which matches sockets by interface family and unit
// number only.
//
// utun (point-to-point on macOS): unit and name helpers and the translation
// of the 4-byte family header between Darwin and wire numbering.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace feth::naming {

inline constexpr std::string_view kFethPrefix = "feth";
inline constexpr std::uint32_t kDefaultPeerOffset = 5000;
inline constexpr std::size_t kIfNameSize = 16;      // IFNAMSIZ: names are shorter
inline constexpr std::uint32_t kMaxUnit = 0x7fff;   // xnu IF_MAXUNIT (feth's clone limit)

// "feth" + decimal unit.
std::string interface_name(std::string_view prefix, std::uint32_t unit);

// The unit of `name` when it is `prefix` followed by a canonical decimal
// number (no sign, no leading zero except "0"); nullopt otherwise.
std::optional<std::uint32_t> parse_unit(std::string_view name, std::string_view prefix);

struct PairNames {
    std::uint32_t unit = 0;
    std::uint32_t peer_unit = 0;
    std::string visible; // feth<unit>
    std::string peer;    // feth<unit + offset>
};

// Names for an explicit unit. nullopt when offset is 0, when either unit
// passes kMaxUnit, or when a name would not fit in IFNAMSIZ.
std::optional<PairNames> pair_names(std::uint32_t unit, std::uint32_t offset = kDefaultPeerOffset,
                                    std::string_view prefix = kFethPrefix);

// For "any": the lowest unit below `offset` such that neither the visible
// nor the peer name is among `existing` (the system's interface names).
// Units at or above the offset are never picked so that a visible interface
// cannot take another pair's peer name. nullopt when all are taken.
std::optional<PairNames> pick_free_pair(std::span<const std::string> existing,
                                        std::uint32_t offset = kDefaultPeerOffset,
                                        std::string_view prefix = kFethPrefix);

using Mac = std::array<std::uint8_t, 6>;
std::string mac_to_string(const Mac& mac); // "02:ab:..."

enum class Role : std::uint8_t { Visible = 1, Peer = 2 };

// A locally administered unicast MAC derived from a host identity (`seed`:
// the host UUID or machine id), the unit and the role. The same host and
// unit always get the same address, so addresses and ARP caches on the
// other side survive a reconnect; two hosts (both ends of a tunnel often use
// feth0) almost surely differ, which the kernel's default 66:65:74:68:00:00
// ("feth" + unit) would not. Visible and peer always differ.
Mac stable_mac(std::string_view seed, std::uint32_t unit, Role role);

// ---- the creation plan ----

enum class StepKind {
    RaiseMaxMtu, // sysctl net.link.fake.max_mtu = value (before any create)
    Create,      // SIOCIFCREATE2 ifname
    SetMac,      // SIOCSIFLLADDR ifname = mac
    SetPeer,     // SIOCSDRVSPEC IF_FAKE_S_CMD_SET_PEER ifname -> other
    SetMtu,      // SIOCSIFMTU ifname = value
    Up,          // SIOCSIFFLAGS ifname |= IFF_UP
};
const char* step_name(StepKind kind);

struct PlanStep {
    StepKind kind;
    std::string ifname; // empty for RaiseMaxMtu
    std::string other;  // SetPeer: the peer's name
    Mac mac{};          // SetMac
    unsigned value = 0; // SetMtu, RaiseMaxMtu
};

struct PlanRequest {
    PairNames names;
    unsigned mtu = 0;                     // 0: leave the default (1500)
    unsigned current_max_mtu = 2048;      // sysctl net.link.fake.max_mtu now
    std::string_view mac_seed;
};

// The ordered steps that create and configure a pair. Throws InputError for
// an MTU feth cannot carry (below 72 or above 16370).
std::vector<PlanStep> plan_pair(const PlanRequest& request);

// ---- utun ----

// The sockaddr_ctl.sc_unit that asks for utun<unit>: unit + 1; 0 (the
// kernel picks) for kTunUnitAny. nullopt when the unit has no utun name.
std::optional<std::uint32_t> utun_sc_unit(std::uint32_t unit);
// "utun<sc_unit - 1>"; nullopt for sc_unit 0.
std::optional<std::string> utun_name(std::uint32_t sc_unit);

// Family numbers: wire (OpenBSD: 2, 24) <-> Darwin (2, 30).
std::optional<std::uint32_t> darwin_af_from_wire(std::uint32_t wire_af);
std::optional<std::uint32_t> wire_af_from_darwin(std::uint32_t darwin_af);

// In-place header rewrites for a frame with a 4-byte big-endian family
// header in front of an IP packet.
// Wire -> utun: the family is taken from the IP version nibble (as OpenSSH
// does; the peer's field is not trusted), in Darwin numbering. False, frame
// untouched, when the packet is neither IPv4 nor IPv6 or too short.
bool header_wire_to_darwin(std::span<std::uint8_t> frame);
// utun -> wire: Darwin family translated; an unknown family falls back to
// the version nibble. False, frame untouched, when neither gives IPv4/IPv6.
bool header_darwin_to_wire(std::span<std::uint8_t> frame);

} // namespace feth::naming
