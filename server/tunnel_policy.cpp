#include "tunnel_policy.hpp"

#include "tunnel/tun_open.hpp"
#include "tunnel/wire.hpp"

namespace feth::server {
namespace {

TunnelDecision refused(const char* debug_line, std::string reason)
{
    TunnelDecision d;
    d.debug_line = debug_line;
    d.reason = std::move(reason);
    return d;
}

} // namespace

TunnelDecision decide_tunnel(const TunnelRequest& request, unsigned permit, const config::KeyOptions* key,
                             std::size_t tunnels_open)
{
    const auto mode = tun_mode_from_wire(request.mode);
    if (!mode) return refused(kTunnelUnsupportedModeLine, "unsupported tunnel mode " + std::to_string(request.mode));
    if ((permit & request.mode) == 0)
        return refused(kTunnelRejectedLine, std::string("PermitTunnel does not allow ") + tun_mode_name(*mode) +
                                                " tunnels");
    if (key != nullptr && key->restricted)
        return refused(kTunnelRejectedLine, "the key's \"restrict\" option forbids tunnels");
    std::uint32_t unit = request.unit;
    if (unit > 0x7fffffffu) return refused(kTunnelFailedLine, "unit " + std::to_string(unit) + " out of range");
    if (key != nullptr && key->tunnel) {
        if (unit != kTunUnitAny && *key->tunnel != unit)
            return refused(kTunnelFailedLine,
                           "the key's tunnel=\"" +
                               (*key->tunnel == kTunUnitAny ? std::string("any") : std::to_string(*key->tunnel)) +
                               "\" option forbids unit " + std::to_string(unit));
        unit = *key->tunnel;
    }
    if (unit != kTunUnitAny && unit > kTunUnitMax)
        return refused(kTunnelFailedLine, "unit " + std::to_string(unit) + " out of range");
    if (tunnels_open >= kMaxTunnelsPerConnection)
        return refused(kTunnelFailedLine, "too many tunnels on one connection (limit " +
                                              std::to_string(kMaxTunnelsPerConnection) + ")");
    TunnelDecision d;
    d.allowed = true;
    d.unit = unit;
    return d;
}

} // namespace feth::server
