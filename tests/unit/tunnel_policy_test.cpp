// server/tunnel_policy: the tunnel-open decision, in sshd's order, then the
// per-connection limit. Key options through the real authorized_keys parser.
#include "server/tunnel_policy.hpp"

#include <string>

#include "catch.hpp"
#include "config/authorized_keys.hpp"
#include "tunnel/tun_open.hpp"
#include "tunnel/wire.hpp"

using feth::config::KeyOptions;
using feth::server::decide_tunnel;
using feth::server::kMaxTunnelsPerConnection;

namespace {

constexpr unsigned kEth = 2, kP2p = 1, kBoth = 3;

KeyOptions ok(const std::string& options)
{
    auto parsed = feth::config::parse_authorized_keys(
        options + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF1tXmsQBnxTEAVjSs0ZnLZwGTVmRaF8XvO1aH2Khmyx c\n");
    REQUIRE(parsed.errors.empty());
    REQUIRE(parsed.keys.size() == 1);
    std::string error;
    auto r = feth::config::evaluate_key_options(parsed.keys[0].options, error);
    INFO(error);
    REQUIRE(r);
    return *r;
}

} // namespace

TEST_CASE("tunnel decisions as sshd's server_request_tun", "[tunnel_policy]")
{
    auto d = decide_tunnel({3, 0}, kBoth, nullptr, 0);
    CHECK_FALSE(d.allowed);
    CHECK(d.debug_line == "Unsupported tunnel device mode.");
    CHECK(d.reason == "unsupported tunnel mode 3");
    d = decide_tunnel({kEth, 0}, kP2p, nullptr, 0);
    CHECK_FALSE(d.allowed);
    CHECK(d.debug_line == "Server has rejected tunnel device forwarding");
    CHECK(d.reason == "PermitTunnel does not allow ethernet tunnels");
    auto restricted = ok("restrict,pty");
    d = decide_tunnel({kEth, 0}, kBoth, &restricted, 0);
    CHECK_FALSE(d.allowed);
    CHECK(d.debug_line == "Server has rejected tunnel device forwarding");
    auto forced = ok("tunnel=\"7\"");
    d = decide_tunnel({kEth, feth::kTunUnitAny}, kBoth, &forced, 0);
    CHECK(d.allowed);
    CHECK(d.unit == 7u);
    CHECK(d.debug_line.empty());
    d = decide_tunnel({kEth, 7}, kBoth, &forced, 0);
    CHECK(d.allowed);
    d = decide_tunnel({kEth, 3}, kBoth, &forced, 0);
    CHECK_FALSE(d.allowed);
    CHECK(d.debug_line == "Failed to open the tunnel device.");
    CHECK(d.reason == "the key's tunnel=\"7\" option forbids unit 3");
    d = decide_tunnel({kEth, 0x7ffffffe}, kBoth, nullptr, 0);
    CHECK_FALSE(d.allowed);
    d = decide_tunnel({kEth, 0xffffffffu}, kBoth, nullptr, 0);
    CHECK_FALSE(d.allowed);
    d = decide_tunnel({kEth, 0x7fffffff}, kEth, nullptr, 0);
    CHECK(d.allowed);
    CHECK(d.unit == feth::kTunUnitAny);
}

TEST_CASE("the order is sshd's: PermitTunnel before the unit, the mode before both", "[tunnel_policy]")
{
    // A forbidden mode is "rejected" whatever the unit, as sshd answers.
    auto d = decide_tunnel({kP2p, 0xffffffffu}, kEth, nullptr, 0);
    CHECK(d.debug_line == "Server has rejected tunnel device forwarding");
    // An unknown mode is refused before PermitTunnel is looked at.
    d = decide_tunnel({0, 0}, 0, nullptr, 0);
    CHECK(d.debug_line == "Unsupported tunnel device mode.");
    // The key's "restrict" before the unit.
    auto restricted = ok("restrict");
    d = decide_tunnel({kEth, 0xffffffffu}, kBoth, &restricted, 0);
    CHECK(d.debug_line == "Server has rejected tunnel device forwarding");
}

TEST_CASE("the per-connection limit: the last of the checks, counted from what is open", "[tunnel_policy]")
{
    auto d = decide_tunnel({kEth, 1}, kBoth, nullptr, kMaxTunnelsPerConnection - 1);
    CHECK(d.allowed);
    d = decide_tunnel({kEth, 1}, kBoth, nullptr, kMaxTunnelsPerConnection);
    CHECK_FALSE(d.allowed);
    CHECK(d.debug_line == "Failed to open the tunnel device.");
    CHECK(d.reason == "too many tunnels on one connection (limit " + std::to_string(kMaxTunnelsPerConnection) + ")");
    // A refusal by policy is reported as such even at the limit.
    d = decide_tunnel({kEth, 1}, kP2p, nullptr, kMaxTunnelsPerConnection + 5);
    CHECK(d.debug_line == "Server has rejected tunnel device forwarding");
}

TEST_CASE("the child's own check and the monitor's decision agree on a bad unit", "[tunnel_policy]")
{
    for (std::uint32_t unit : {0u, 5u, feth::kTunUnitMax, feth::kTunUnitMax + 1, 0x7ffffffeu, 0x7fffffffu,
                               0x80000000u, 0xffffffffu}) {
        const auto r = feth::check_tun_open(kEth, unit);
        const auto d = decide_tunnel({kEth, unit}, kBoth, nullptr, 0);
        INFO("unit " << unit);
        CHECK(r.ok() == d.allowed);
        if (!r.ok()) CHECK(d.debug_line == feth::tun_open_debug_line(r.error));
    }
}
