#include <array>
#include <vector>

#include "catch.hpp"
#include "tunnel/wire.hpp"

using namespace feth;
using namespace feth::wire;

namespace {

std::vector<std::uint8_t> p2p_frame(std::uint32_t af, std::uint8_t first_byte, std::size_t ip_len)
{
    std::vector<std::uint8_t> f(kAfHeaderLen + ip_len, 0);
    store_be32(f.data(), af);
    if (ip_len > 0) f[kAfHeaderLen] = first_byte;
    return f;
}

} // namespace

TEST_CASE("tunnel modes map to OpenSSH's numbers", "[wire]")
{
    CHECK(tun_mode_from_wire(1) == TunMode::PointToPoint);
    CHECK(tun_mode_from_wire(2) == TunMode::Ethernet);
    CHECK_FALSE(tun_mode_from_wire(0).has_value());
    CHECK_FALSE(tun_mode_from_wire(3).has_value());
    CHECK_FALSE(tun_mode_from_wire(0xffffffff).has_value());
    CHECK(std::string(tun_mode_name(TunMode::Ethernet)) == "ethernet");
    CHECK(std::string(tun_mode_name(TunMode::PointToPoint)) == "point-to-point");
}

TEST_CASE("units parse as ssh -w does", "[wire]")
{
    CHECK(parse_tun_unit("any") == kTunUnitAny);
    CHECK(parse_tun_unit("0") == 0u);
    CHECK(parse_tun_unit("17") == 17u);
    CHECK(parse_tun_unit("2147483645") == kTunUnitMax);
    CHECK_FALSE(parse_tun_unit("2147483646").has_value()); // above SSH_TUNID_MAX
    CHECK_FALSE(parse_tun_unit("2147483647").has_value()); // ANY as a number is not a unit
    CHECK_FALSE(parse_tun_unit("").has_value());
    CHECK_FALSE(parse_tun_unit("-1").has_value());
    CHECK_FALSE(parse_tun_unit("1x").has_value());
    CHECK_FALSE(parse_tun_unit("99999999999").has_value());
    CHECK_FALSE(parse_tun_unit("ANY").has_value());
}

TEST_CASE("big-endian helpers round-trip", "[wire]")
{
    std::array<std::uint8_t, 4> b{};
    store_be32(b.data(), 0x01020304);
    CHECK(b == std::array<std::uint8_t, 4>{1, 2, 3, 4});
    CHECK(load_be32(b.data()) == 0x01020304u);
}

TEST_CASE("the wire family comes from the IP version nibble", "[wire]")
{
    const std::uint8_t v4[] = {0x45, 0};
    const std::uint8_t v6[] = {0x60, 0};
    const std::uint8_t other[] = {0x15, 0};
    CHECK(wire_af_for_ip(v4) == kAfInet);
    CHECK(wire_af_for_ip(v6) == kAfInet6);
    CHECK_FALSE(wire_af_for_ip(other).has_value());
    CHECK_FALSE(wire_af_for_ip({}).has_value());

    std::array<std::uint8_t, 4> header{0xff, 0xff, 0xff, 0xff};
    REQUIRE(put_af_header(header, v6));
    CHECK(load_be32(header.data()) == 24u);
    REQUIRE(put_af_header(header, v4));
    CHECK(load_be32(header.data()) == 2u);
    CHECK_FALSE(put_af_header(header, other));
    CHECK(load_be32(header.data()) == 2u); // untouched on failure
}

TEST_CASE("ethernet frames: runts and giants are refused", "[wire]")
{
    std::vector<std::uint8_t> f(kEthernetHeaderLen - 1);
    CHECK(check_frame(TunMode::Ethernet, f) == Verdict::TooShort);
    f.resize(kEthernetHeaderLen);
    CHECK(check_frame(TunMode::Ethernet, f) == Verdict::Ok);
    f.resize(1514);
    CHECK(check_frame(TunMode::Ethernet, f) == Verdict::Ok);
    f.resize(kMaxFrame);
    CHECK(check_frame(TunMode::Ethernet, f) == Verdict::Ok);
    f.resize(kMaxFrame + 1);
    CHECK(check_frame(TunMode::Ethernet, f) == Verdict::TooLong);
    CHECK(check_frame(TunMode::Ethernet, {}) == Verdict::TooShort);
}

TEST_CASE("point-to-point frames: header, nibble and IP header length", "[wire]")
{
    CHECK(check_frame(TunMode::PointToPoint, {}) == Verdict::TooShort);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x45, 0)) == Verdict::TooShort);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x45, 19)) == Verdict::TooShort);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x45, 20)) == Verdict::Ok);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(24, 0x60, 39)) == Verdict::TooShort);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(24, 0x60, 40)) == Verdict::Ok);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x00, 40)) == Verdict::BadIpVersion);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x50, 40)) == Verdict::BadIpVersion);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0xf0, 40)) == Verdict::BadIpVersion);
    // Liberal on receive: the nibble decides, not the header's family.
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(24, 0x45, 20)) == Verdict::Ok);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(30, 0x60, 40)) == Verdict::Ok);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x45, kMaxPointToPointMtu)) == Verdict::Ok);
    CHECK(check_frame(TunMode::PointToPoint, p2p_frame(2, 0x45, kMaxPointToPointMtu + 1)) == Verdict::TooLong);
}

TEST_CASE("frame limits keep OpenSSH peers alive", "[wire]")
{
    // OpenSSH reads 16 KiB at a time (CHAN_RBUF) and feth's largest MTU is
    // 16384 - 14: our limits must agree with both.
    CHECK(kMaxFrame == 16384);
    CHECK(kMaxEthernetMtu == 16370);
    CHECK(kMaxPointToPointMtu == 16380);
    CHECK(kDatagramWindowOverhead == 4);
    for (auto v : {Verdict::Ok, Verdict::TooShort, Verdict::TooLong, Verdict::BadIpVersion})
        CHECK(std::string(verdict_name(v)).size() > 1);
}

TEST_CASE("window accounting: a frame goes only when it and its 4-byte charge fit", "[wire]")
{
    CHECK(fits_window(1504, 1500));
    CHECK_FALSE(fits_window(1503, 1500)); // OpenSSH would charge 1504
    CHECK_FALSE(fits_window(0, 14));
    CHECK(fits_window(18, 14));
    CHECK(fits_window(0xffffffffu, kMaxFrame));
    CHECK_FALSE(fits_window(0xffffffffu, kMaxFrame + 1)); // never split a giant
    // A window drained frame by frame: n frames of len cost n * (len + 4).
    std::uint32_t window = 2 * 1024 * 1024;
    std::size_t sent = 0;
    while (fits_window(window, 1500)) {
        window -= 1500 + kDatagramWindowOverhead;
        ++sent;
    }
    CHECK(sent == (2u * 1024 * 1024) / 1504);
    CHECK(window < 1504);
}
