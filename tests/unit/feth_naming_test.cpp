#include "tunnel/feth_naming.hpp"

#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "base/error.hpp"
#include "tunnel/wire.hpp"

using namespace feth::naming;

TEST_CASE("feth names and units", "[feth]")
{
    CHECK(interface_name("feth", 0) == "feth0");
    CHECK(interface_name("feth", 5003) == "feth5003");
    CHECK(parse_unit("feth12", "feth") == 12u);
    CHECK(parse_unit("feth0", "feth") == 0u);
    CHECK_FALSE(parse_unit("feth", "feth"));
    CHECK_FALSE(parse_unit("feth01", "feth"));
    CHECK_FALSE(parse_unit("feth-1", "feth"));
    CHECK_FALSE(parse_unit("feth1a", "feth"));
    CHECK_FALSE(parse_unit("en0", "feth"));
    CHECK_FALSE(parse_unit("feth99999999999", "feth"));
}

TEST_CASE("pair names for an explicit unit", "[feth]")
{
    auto n = pair_names(3);
    REQUIRE(n);
    CHECK(n->visible == "feth3");
    CHECK(n->peer == "feth5003");
    CHECK(n->peer_unit == 5003);

    auto custom = pair_names(3, 100);
    REQUIRE(custom);
    CHECK(custom->peer == "feth103");

    CHECK(pair_names(kMaxUnit - kDefaultPeerOffset));
    CHECK_FALSE(pair_names(kMaxUnit - kDefaultPeerOffset + 1));
    CHECK_FALSE(pair_names(feth::kTunUnitAny));
    CHECK_FALSE(pair_names(1, 0));
    CHECK_FALSE(pair_names(1, kMaxUnit + 1));
    // A long prefix (Linux names are free-form) must still fit IFNAMSIZ.
    CHECK(pair_names(1, 5000, "abcdefghijk"));       // 15 characters
    CHECK_FALSE(pair_names(1, 5000, "abcdefghijkl")); // 16: no room for the NUL
}

TEST_CASE("any picks the lowest unit whose pair is free", "[feth]")
{
    std::vector<std::string> none;
    auto n = pick_free_pair(none);
    REQUIRE(n);
    CHECK(n->visible == "feth0");
    CHECK(n->peer == "feth5000");

    std::vector<std::string> some{"lo0", "en0", "feth0", "feth5000", "feth5001", "bridge0", "feth2", "feth03"};
    n = pick_free_pair(some);
    REQUIRE(n);
    CHECK(n->visible == "feth3"); // 0 taken, 1's peer taken, 2 taken

    SECTION("a visible unit never reaches the peer range")
    {
        std::vector<std::string> all;
        for (std::uint32_t u = 0; u < 4; ++u) all.push_back("feth" + std::to_string(u));
        CHECK_FALSE(pick_free_pair(all, 4));
        all.pop_back();
        auto last = pick_free_pair(all, 4);
        REQUIRE(last);
        CHECK(last->visible == "feth3");
        CHECK(last->peer == "feth7");
    }
    SECTION("bad offsets")
    {
        CHECK_FALSE(pick_free_pair(none, 0));
        CHECK_FALSE(pick_free_pair(none, kMaxUnit + 1));
    }
}

TEST_CASE("stable MACs", "[feth]")
{
    auto v0 = stable_mac("host-a", 0, Role::Visible);
    auto p0 = stable_mac("host-a", 0, Role::Peer);
    CHECK(v0 == stable_mac("host-a", 0, Role::Visible)); // stable across reconnects
    CHECK(v0 != p0);
    CHECK(v0 != stable_mac("host-b", 0, Role::Visible)); // both ends use feth0
    CHECK(v0 != stable_mac("host-a", 1, Role::Visible));

    std::set<Mac> seen;
    for (std::uint32_t unit = 0; unit < 200; ++unit) {
        for (Role role : {Role::Visible, Role::Peer}) {
            auto mac = stable_mac("host-a", unit, role);
            CHECK((mac[0] & 0x01) == 0); // unicast
            CHECK((mac[0] & 0x02) == 2); // locally administered
            seen.insert(mac);
        }
    }
    CHECK(seen.size() == 400);
    CHECK(mac_to_string({0x02, 0xab, 0x00, 0x10, 0xff, 0x01}) == "02:ab:00:10:ff:01");
}

TEST_CASE("the pair creation plan", "[feth]")
{
    PlanRequest req;
    req.names = *pair_names(2);
    req.mac_seed = "seed";

    auto kinds = [](const std::vector<PlanStep>& steps) {
        std::vector<StepKind> k;
        for (const auto& s : steps) k.push_back(s.kind);
        return k;
    };

    SECTION("default MTU")
    {
        auto steps = plan_pair(req);
        CHECK(kinds(steps) == std::vector<StepKind>{StepKind::Create, StepKind::Create, StepKind::SetMac,
                                                    StepKind::SetMac, StepKind::SetPeer, StepKind::Up,
                                                    StepKind::Up});
        CHECK(steps[0].ifname == "feth2");
        CHECK(steps[1].ifname == "feth5002");
        CHECK(steps[2].ifname == "feth2");
        CHECK(steps[2].mac == stable_mac("seed", 2, Role::Visible));
        CHECK(steps[3].ifname == "feth5002");
        CHECK(steps[3].mac == stable_mac("seed", 2, Role::Peer));
        CHECK(steps[4].ifname == "feth2");
        CHECK(steps[4].other == "feth5002");
        CHECK(steps[5].ifname == "feth5002");
        CHECK(steps[6].ifname == "feth2");
    }
    SECTION("MTU within the current maximum: no sysctl")
    {
        req.mtu = 1400;
        auto steps = plan_pair(req);
        REQUIRE(steps.size() == 9);
        CHECK(steps[0].kind == StepKind::Create);
        CHECK(steps[5].kind == StepKind::SetMtu);
        CHECK(steps[5].ifname == "feth2");
        CHECK(steps[5].value == 1400);
        CHECK(steps[6].kind == StepKind::SetMtu);
        CHECK(steps[6].ifname == "feth5002");
    }
    SECTION("MTU above the maximum: the sysctl comes before any create")
    {
        req.mtu = 9000;
        auto steps = plan_pair(req);
        REQUIRE(steps.size() == 10);
        CHECK(steps[0].kind == StepKind::RaiseMaxMtu);
        CHECK(steps[0].value == 9000);
        CHECK(steps[1].kind == StepKind::Create);
        CHECK(steps[6].kind == StepKind::SetMtu);
        CHECK(steps[6].value == 9000);
    }
    SECTION("an already raised maximum is left alone")
    {
        req.mtu = 9000;
        req.current_max_mtu = 16370;
        CHECK(plan_pair(req).front().kind == StepKind::Create);
    }
    SECTION("the largest MTU is accepted, larger ones and tiny ones refused")
    {
        req.mtu = 16370;
        CHECK(plan_pair(req).front().kind == StepKind::RaiseMaxMtu);
        req.mtu = 16371;
        CHECK_THROWS_AS(plan_pair(req), feth::InputError);
        req.mtu = 71;
        CHECK_THROWS_AS(plan_pair(req), feth::InputError);
    }
    CHECK(std::string(step_name(StepKind::SetPeer)).find("SIOCSDRVSPEC") != std::string::npos);
}

TEST_CASE("utun units and names", "[utun]")
{
    CHECK(utun_sc_unit(feth::kTunUnitAny) == 0u);
    CHECK(utun_sc_unit(0) == 1u);
    CHECK(utun_sc_unit(7) == 8u);
    CHECK(utun_sc_unit(feth::kTunUnitMax) == feth::kTunUnitMax + 1);
    CHECK_FALSE(utun_sc_unit(feth::kTunUnitMax + 1));
    CHECK(utun_name(1) == std::string("utun0"));
    CHECK(utun_name(8) == std::string("utun7"));
    CHECK_FALSE(utun_name(0));
}

TEST_CASE("address family translation between wire and Darwin", "[utun]")
{
    CHECK(darwin_af_from_wire(2) == 2u);
    CHECK(darwin_af_from_wire(24) == 30u);
    CHECK_FALSE(darwin_af_from_wire(30));
    CHECK(wire_af_from_darwin(2) == 2u);
    CHECK(wire_af_from_darwin(30) == 24u);
    CHECK_FALSE(wire_af_from_darwin(24));

    std::vector<std::uint8_t> v6(4 + 40, 0);
    v6[4] = 0x60;
    std::vector<std::uint8_t> v4(4 + 20, 0);
    v4[4] = 0x45;

    SECTION("wire to Darwin trusts the version nibble")
    {
        feth::wire::store_be32(v6.data(), 2); // a wrong family from the peer
        REQUIRE(header_wire_to_darwin(v6));
        CHECK(feth::wire::load_be32(v6.data()) == 30);
        feth::wire::store_be32(v4.data(), 24);
        REQUIRE(header_wire_to_darwin(v4));
        CHECK(feth::wire::load_be32(v4.data()) == 2);
    }
    SECTION("Darwin to wire translates the family")
    {
        feth::wire::store_be32(v6.data(), 30);
        REQUIRE(header_darwin_to_wire(v6));
        CHECK(feth::wire::load_be32(v6.data()) == 24);
        feth::wire::store_be32(v4.data(), 2);
        REQUIRE(header_darwin_to_wire(v4));
        CHECK(feth::wire::load_be32(v4.data()) == 2);
    }
    SECTION("an unknown Darwin family falls back to the nibble")
    {
        feth::wire::store_be32(v6.data(), 99);
        REQUIRE(header_darwin_to_wire(v6));
        CHECK(feth::wire::load_be32(v6.data()) == 24);
    }
    SECTION("neither IPv4 nor IPv6: untouched, false")
    {
        std::vector<std::uint8_t> odd{0, 0, 0, 99, 0x10, 0};
        auto copy = odd;
        CHECK_FALSE(header_darwin_to_wire(odd));
        CHECK_FALSE(header_wire_to_darwin(odd));
        CHECK(odd == copy);
        std::vector<std::uint8_t> tiny{0, 0, 0};
        CHECK_FALSE(header_darwin_to_wire(tiny));
        CHECK_FALSE(header_wire_to_darwin(tiny));
        std::vector<std::uint8_t> header_only{0, 0, 0, 2};
        CHECK_FALSE(header_wire_to_darwin(header_only));
    }
}
