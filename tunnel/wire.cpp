#include "wire.hpp"

#include <charconv>

namespace feth {

std::optional<TunMode> tun_mode_from_wire(std::uint32_t value)
{
    switch (value) {
    case 1: return TunMode::PointToPoint;
    case 2: return TunMode::Ethernet;
    default: return std::nullopt;
    }
}

const char* tun_mode_name(TunMode mode)
{
    return mode == TunMode::Ethernet ? "ethernet" : "point-to-point";
}

std::optional<std::uint32_t> parse_tun_unit(std::string_view text)
{
    if (text == "any") return kTunUnitAny;
    if (text.empty() || text.size() > 10) return std::nullopt;
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
    if (ec != std::errc{} || end != text.data() + text.size() || value > kTunUnitMax)
        return std::nullopt;
    return value;
}

namespace wire {

const char* verdict_name(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Ok: return "ok";
    case Verdict::TooShort: return "too short";
    case Verdict::TooLong: return "too long";
    case Verdict::BadIpVersion: return "not IPv4 or IPv6";
    }
    return "?";
}

std::optional<std::uint32_t> wire_af_for_ip(std::span<const std::uint8_t> ip_packet)
{
    if (ip_packet.empty()) return std::nullopt;
    switch (ip_packet[0] >> 4) {
    case 4: return kAfInet;
    case 6: return kAfInet6;
    default: return std::nullopt;
    }
}

Verdict check_frame(TunMode mode, std::span<const std::uint8_t> frame)
{
    if (frame.size() > kMaxFrame) return Verdict::TooLong;
    if (mode == TunMode::Ethernet)
        return frame.size() < kEthernetHeaderLen ? Verdict::TooShort : Verdict::Ok;

    if (frame.size() < kAfHeaderLen + 1) return Verdict::TooShort;
    auto ip = frame.subspan(kAfHeaderLen);
    switch (ip[0] >> 4) {
    case 4: return ip.size() < kIpv4MinHeader ? Verdict::TooShort : Verdict::Ok;
    case 6: return ip.size() < kIpv6Header ? Verdict::TooShort : Verdict::Ok;
    default: return Verdict::BadIpVersion;
    }
}

bool put_af_header(std::span<std::uint8_t, kAfHeaderLen> header,
                   std::span<const std::uint8_t> ip_packet)
{
    auto af = wire_af_for_ip(ip_packet);
    if (!af) return false;
    store_be32(header.data(), *af);
    return true;
}

} // namespace wire
} // namespace feth
