#include <string_view>

#include "backends.hpp"
#include "error.hpp"

namespace feth {
namespace {

using Opener = std::unique_ptr<Device> (*)(const DeviceRequest&);

struct Backend {
    std::string_view name;
    TunMode mode;
    bool is_default; // the platform's choice for "auto"
    Opener open;
};

// One table per platform: which backend carries which mode.
constexpr Backend kBackends[] = {
#if defined(__linux__)
    {"tap", TunMode::Ethernet, true, backends::open_linux_tuntap},
    {"tun", TunMode::PointToPoint, true, backends::open_linux_tuntap},
    {"pair", TunMode::Ethernet, false, backends::open_linux_pair},
#endif
#if defined(__APPLE__)
    {"feth", TunMode::Ethernet, true, backends::open_darwin_feth},
    {"utun", TunMode::PointToPoint, true, backends::open_darwin_utun},
#endif
    {"", TunMode::Ethernet, false, nullptr},
};

std::string known_backends(TunMode mode)
{
    std::string names;
    for (const auto& b : kBackends) {
        if (b.open == nullptr || b.mode != mode) continue;
        if (!names.empty()) names += ", ";
        names += b.name;
    }
    return names.empty() ? "none" : names;
}

} // namespace

std::unique_ptr<Device> open_device(const DeviceRequest& request)
{
    for (const auto& b : kBackends) {
        if (b.open == nullptr || b.mode != request.mode) continue;
        if (request.backend == "auto" ? b.is_default : request.backend == b.name) return b.open(request);
    }
    throw InputError(std::string("no ") + tun_mode_name(request.mode) + " tunnel backend named '" +
                     request.backend + "' on this system (available: " + known_backends(request.mode) +
                     ")");
}

} // namespace feth
