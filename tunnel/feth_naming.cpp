#include "feth_naming.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "darwin_structs.hpp"
#include "base/error.hpp"
#include "mtu.hpp"
#include "wire.hpp"

namespace feth::naming {

std::string interface_name(std::string_view prefix, std::uint32_t unit)
{
    return std::string(prefix) + std::to_string(unit);
}

std::optional<std::uint32_t> parse_unit(std::string_view name, std::string_view prefix)
{
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
    std::string_view digits = name.substr(prefix.size());
    if (digits.size() > 10 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
    std::uint32_t unit = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), unit, 10);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return unit;
}

std::optional<PairNames> pair_names(std::uint32_t unit, std::uint32_t offset, std::string_view prefix)
{
    if (offset == 0 || offset > kMaxUnit || unit > kMaxUnit - offset) return std::nullopt;
    PairNames names;
    names.unit = unit;
    names.peer_unit = unit + offset;
    names.visible = interface_name(prefix, unit);
    names.peer = interface_name(prefix, names.peer_unit);
    if (names.peer.size() >= kIfNameSize) return std::nullopt; // the longer of the two
    return names;
}

std::optional<PairNames> pick_free_pair(std::span<const std::string> existing, std::uint32_t offset,
                                        std::string_view prefix)
{
    if (offset == 0 || offset > kMaxUnit) return std::nullopt;
    // Units taken by any interface with our prefix; the rest is irrelevant.
    std::vector<std::uint32_t> taken;
    for (const auto& name : existing)
        if (auto unit = parse_unit(name, prefix)) taken.push_back(*unit);
    std::sort(taken.begin(), taken.end());
    auto is_taken = [&](std::uint32_t unit) { return std::binary_search(taken.begin(), taken.end(), unit); };
    for (std::uint32_t unit = 0; unit < offset; ++unit) {
        auto names = pair_names(unit, offset, prefix);
        if (!names) return std::nullopt; // higher units only get worse
        if (!is_taken(unit) && !is_taken(names->peer_unit)) return names;
    }
    return std::nullopt;
}

std::string mac_to_string(const Mac& mac)
{
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                  mac[5]);
    return text;
}

namespace {

// 64-bit FNV-1a, then a final mix so that nearby inputs spread over all
// bytes. Not a security boundary: only needs to be stable and spread.
std::uint64_t mac_hash(std::string_view seed, std::uint32_t unit, std::uint8_t role)
{
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&](std::uint8_t byte) {
        h ^= byte;
        h *= 0x100000001b3ull;
    };
    for (char c : std::string_view("feth-ssh mac")) mix(static_cast<std::uint8_t>(c));
    for (char c : seed) mix(static_cast<std::uint8_t>(c));
    for (int i = 0; i < 4; ++i) mix(static_cast<std::uint8_t>(unit >> (8 * i)));
    mix(role);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

Mac mac_from_hash(std::uint64_t h)
{
    Mac mac;
    for (std::size_t i = 0; i < mac.size(); ++i) mac[i] = static_cast<std::uint8_t>(h >> (8 * i));
    mac[0] = static_cast<std::uint8_t>((mac[0] & 0xfc) | 0x02); // locally administered, unicast
    return mac;
}

} // namespace

Mac stable_mac(std::string_view seed, std::uint32_t unit, Role role)
{
    Mac mac = mac_from_hash(mac_hash(seed, unit, static_cast<std::uint8_t>(role)));
    if (role == Role::Peer) {
        Mac visible = mac_from_hash(mac_hash(seed, unit, static_cast<std::uint8_t>(Role::Visible)));
        if (mac == visible) mac[5] ^= 0x01; // a 2^-46 chance, but never equal
    }
    return mac;
}

const char* step_name(StepKind kind)
{
    switch (kind) {
    case StepKind::RaiseMaxMtu: return "sysctl(net.link.fake.max_mtu)";
    case StepKind::Create: return "ioctl(SIOCIFCREATE2)";
    case StepKind::SetMac: return "ioctl(SIOCSIFLLADDR)";
    case StepKind::SetPeer: return "ioctl(SIOCSDRVSPEC, IF_FAKE_S_CMD_SET_PEER)";
    case StepKind::SetMtu: return "ioctl(SIOCSIFMTU)";
    case StepKind::Up: return "ioctl(SIOCSIFFLAGS, IFF_UP)";
    }
    return "?";
}

std::vector<PlanStep> plan_pair(const PlanRequest& request)
{
    const auto& n = request.names;
    if (request.mtu != 0 && (request.mtu < mtu::kDarwin.min || request.mtu > mtu::kDarwin.max))
        throw InputError("device " + n.visible + ": MTU " + std::to_string(request.mtu) +
                         " is out of range for feth (" + std::to_string(mtu::kDarwin.min) + " to " +
                         std::to_string(mtu::kDarwin.max) + ")");

    std::vector<PlanStep> steps;
    // feth fixes its largest MTU when it is created, from the sysctl: raise
    // it first (never lower it: other pairs may rely on it).
    if (auto raise = mtu::feth_max_mtu_to_raise(request.mtu, request.current_max_mtu))
        steps.push_back({StepKind::RaiseMaxMtu, {}, {}, {}, *raise});
    steps.push_back({StepKind::Create, n.visible, {}, {}, 0});
    steps.push_back({StepKind::Create, n.peer, {}, {}, 0});
    steps.push_back({StepKind::SetMac, n.visible, {}, stable_mac(request.mac_seed, n.unit, Role::Visible), 0});
    steps.push_back({StepKind::SetMac, n.peer, {}, stable_mac(request.mac_seed, n.unit, Role::Peer), 0});
    steps.push_back({StepKind::SetPeer, n.visible, n.peer, {}, 0});
    if (request.mtu != 0) {
        steps.push_back({StepKind::SetMtu, n.visible, {}, {}, request.mtu});
        steps.push_back({StepKind::SetMtu, n.peer, {}, {}, request.mtu});
    }
    // The peer first: once the visible side is up the system may start
    // sending on it (router solicitations, mDNS).
    steps.push_back({StepKind::Up, n.peer, {}, {}, 0});
    steps.push_back({StepKind::Up, n.visible, {}, {}, 0});
    return steps;
}

std::optional<std::uint32_t> utun_sc_unit(std::uint32_t unit)
{
    if (unit == kTunUnitAny) return 0u;
    if (unit > kTunUnitMax) return std::nullopt;
    // "utun" + digits must fit IFNAMSIZ: always true for 32-bit units.
    return unit + 1;
}

std::optional<std::string> utun_name(std::uint32_t sc_unit)
{
    if (sc_unit == 0) return std::nullopt;
    return interface_name("utun", sc_unit - 1);
}

std::optional<std::uint32_t> darwin_af_from_wire(std::uint32_t wire_af)
{
    switch (wire_af) {
    case wire::kAfInet: return darwin::kDarwinAfInet;
    case wire::kAfInet6: return darwin::kDarwinAfInet6;
    default: return std::nullopt;
    }
}

std::optional<std::uint32_t> wire_af_from_darwin(std::uint32_t darwin_af)
{
    switch (darwin_af) {
    case darwin::kDarwinAfInet: return wire::kAfInet;
    case darwin::kDarwinAfInet6: return wire::kAfInet6;
    default: return std::nullopt;
    }
}

bool header_wire_to_darwin(std::span<std::uint8_t> frame)
{
    if (frame.size() <= wire::kAfHeaderLen) return false;
    auto wire_af = wire::wire_af_for_ip(frame.subspan(wire::kAfHeaderLen));
    if (!wire_af) return false;
    wire::store_be32(frame.data(), *darwin_af_from_wire(*wire_af));
    return true;
}

bool header_darwin_to_wire(std::span<std::uint8_t> frame)
{
    if (frame.size() < wire::kAfHeaderLen) return false;
    auto wire_af = wire_af_from_darwin(wire::load_be32(frame.data()));
    if (!wire_af) wire_af = wire::wire_af_for_ip(frame.subspan(wire::kAfHeaderLen));
    if (!wire_af) return false;
    wire::store_be32(frame.data(), *wire_af);
    return true;
}

} // namespace feth::naming
