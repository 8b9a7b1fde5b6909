#include "tun_open.hpp"

namespace feth {

TunOpenRequest check_tun_open(std::uint32_t mode, std::uint32_t unit)
{
    TunOpenRequest r;
    const auto m = tun_mode_from_wire(mode);
    if (!m) {
        r.error = TunOpenError::UnsupportedMode;
        return r;
    }
    r.mode = *m;
    if (unit != kTunUnitAny && unit > kTunUnitMax) {
        r.error = TunOpenError::UnitOutOfRange;
        return r;
    }
    r.unit = unit;
    return r;
}

TunOpenRequest parse_tun_open(std::span<const std::uint8_t> bytes)
{
    if (bytes.size() < 8) {
        TunOpenRequest r;
        r.error = TunOpenError::Truncated;
        return r;
    }
    return check_tun_open(wire::load_be32(bytes.data()), wire::load_be32(bytes.data() + 4));
}

const char* tun_open_error_name(TunOpenError error)
{
    switch (error) {
    case TunOpenError::None: return "ok";
    case TunOpenError::Truncated: return "truncated";
    case TunOpenError::UnsupportedMode: return "unsupported mode";
    case TunOpenError::UnitOutOfRange: return "unit out of range";
    }
    return "unknown";
}

const char* tun_open_debug_line(TunOpenError error)
{
    switch (error) {
    case TunOpenError::UnsupportedMode: return kTunnelUnsupportedModeLine;
    case TunOpenError::UnitOutOfRange: return kTunnelFailedLine;
    default: return "";
    }
}

} // namespace feth
