#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tunnel/tun_open.hpp"
#include "tunnel/wire.hpp"

using namespace feth;

namespace {

std::vector<std::uint8_t> bytes(std::uint32_t mode, std::uint32_t unit, std::size_t trailing = 0)
{
    std::vector<std::uint8_t> b(8 + trailing, 0xa5);
    wire::store_be32(b.data(), mode);
    wire::store_be32(b.data() + 4, unit);
    return b;
}

} // namespace

TEST_CASE("tun open: the two modes, any unit up to the maximum", "[tun_open]")
{
    auto r = parse_tun_open(bytes(2, 0));
    REQUIRE(r.ok());
    CHECK(r.mode == TunMode::Ethernet);
    CHECK(r.unit == 0);
    r = parse_tun_open(bytes(1, kTunUnitMax));
    REQUIRE(r.ok());
    CHECK(r.mode == TunMode::PointToPoint);
    CHECK(r.unit == kTunUnitMax);
    r = parse_tun_open(bytes(2, kTunUnitAny));
    REQUIRE(r.ok());
    CHECK(r.unit == kTunUnitAny);
    CHECK(std::string(tun_open_error_name(r.error)) == "ok");
}

TEST_CASE("tun open: fewer than 8 bytes is truncated", "[tun_open]")
{
    const auto full = bytes(2, 0);
    for (std::size_t n = 0; n < 8; ++n) {
        auto r = parse_tun_open(std::span<const std::uint8_t>(full.data(), n));
        CHECK(r.error == TunOpenError::Truncated);
        CHECK_FALSE(r.ok());
    }
    CHECK(std::string(tun_open_error_name(TunOpenError::Truncated)) == "truncated");
    CHECK(std::string(tun_open_debug_line(TunOpenError::Truncated)).empty());
}

TEST_CASE("tun open: trailing bytes after the unit are ignored, as by sshd", "[tun_open]")
{
    auto r = parse_tun_open(bytes(1, 7, 30 * 1024));
    REQUIRE(r.ok());
    CHECK(r.mode == TunMode::PointToPoint);
    CHECK(r.unit == 7);
}

TEST_CASE("tun open: unknown modes", "[tun_open]")
{
    for (std::uint32_t mode : {0u, 3u, 0x7fffffffu, 0xffffffffu}) {
        auto r = parse_tun_open(bytes(mode, 0));
        CHECK(r.error == TunOpenError::UnsupportedMode);
    }
    CHECK(std::string(tun_open_debug_line(TunOpenError::UnsupportedMode)) == "Unsupported tunnel device mode.");
}

TEST_CASE("tun open: units above the maximum that are not 'any'", "[tun_open]")
{
    for (std::uint32_t unit : {kTunUnitMax + 1, 0x7ffffffeu, 0x80000000u, 0xfffffffeu, 0xffffffffu}) {
        auto r = check_tun_open(2, unit);
        CHECK(r.error == TunOpenError::UnitOutOfRange);
    }
    CHECK(std::string(tun_open_debug_line(TunOpenError::UnitOutOfRange)) == "Failed to open the tunnel device.");
    CHECK(std::string(tun_open_error_name(TunOpenError::UnitOutOfRange)) == "unit out of range");
}

TEST_CASE("tun open: the mode is checked before the unit", "[tun_open]")
{
    CHECK(check_tun_open(3, 0xfffffffeu).error == TunOpenError::UnsupportedMode);
}
