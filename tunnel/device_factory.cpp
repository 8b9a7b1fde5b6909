#include <cstddef>
#include <string>
#include <string_view>

#include "backends.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/darwin_backends.hpp"
#include "tunnel/device_lock.hpp"

#if FETH_DARWIN_BACKENDS
#include "tunnel/darwin/darwin_io.hpp"
#endif

namespace feth {
namespace {

using Opener = std::unique_ptr<Device> (*)(const DeviceRequest&);
using Adopter = std::unique_ptr<Device> (*)(AdoptRequest&);

struct Backend {
    std::string_view name;
    TunMode mode;
    bool is_default; // the platform's choice for "auto"
    Opener open;
    Adopter adopt;
    std::size_t fds; // descriptors adopt takes: read, then write if 2
};

// One table per platform: which backend carries which mode.
constexpr Backend kBackends[] = {
#if FETH_LINUX_BACKENDS
    {"tap", TunMode::Ethernet, true, backends::open_linux_tuntap, backends::adopt_linux_tuntap, 1},
    {"tun", TunMode::PointToPoint, true, backends::open_linux_tuntap, backends::adopt_linux_tuntap, 1},
    {"pair", TunMode::Ethernet, false, backends::open_linux_pair, backends::adopt_linux_pair, 2},
#endif
#if FETH_DARWIN_BACKENDS
    {"feth", TunMode::Ethernet, true, backends::open_darwin_feth, backends::adopt_darwin_feth, 2},
    {"utun", TunMode::PointToPoint, true, backends::open_darwin_utun, backends::adopt_darwin_utun, 1},
#endif
    {"", TunMode::Ethernet, false, nullptr, nullptr, 0},
};

constexpr bool is_listed(std::string_view name)
{
    if (name.empty()) return true; // the table's end
    for (auto listed : kBackendNames)
        if (listed == name) return true;
    return false;
}

constexpr bool all_listed()
{
    for (const auto& b : kBackends)
        if (!is_listed(b.name)) return false;
    return true;
}
static_assert(all_listed(), "every backend's name is one of kBackendNames (device.hpp)");

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

bool is_backend_name(std::string_view name)
{
    if (name == "auto") return true;
    for (auto listed : kBackendNames)
        if (listed == name) return true;
    return false;
}

std::string backend_names_text()
{
    std::string text = "auto";
    constexpr std::size_t n = std::size(kBackendNames);
    for (std::size_t i = 0; i < n; ++i) {
        text += i + 1 == n ? " or " : ", ";
        text += kBackendNames[i];
    }
    return text;
}

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

std::unique_ptr<Device> adopt_device(AdoptRequest request)
{
    // `auto` never travels: the opener reports the backend it picked.
    for (const auto& b : kBackends) {
        if (b.adopt == nullptr || b.mode != request.mode || request.backend != b.name) continue;
        if (request.fds.size() != b.fds)
            throw InputError("device " + request.name + ": the " + std::string(b.name) + " backend takes " +
                             std::to_string(b.fds) + " descriptors, not " + std::to_string(request.fds.size()));
        for (const auto& fd : request.fds)
            if (!fd) throw InputError("device " + request.name + ": an adopted descriptor is not open");
        return b.adopt(request);
    }
    throw InputError("device " + request.name + ": no " + tun_mode_name(request.mode) + " tunnel backend named '" +
                     request.backend + "' to adopt on this system (available: " + known_backends(request.mode) +
                     ")");
}

std::size_t sweep_leftover_devices() noexcept
{
    try {
#if FETH_LINUX_BACKENDS
        device_lock::sweep_namespace_directories(); // of network namespaces that are gone
        return backends::sweep_linux_pairs();
#elif FETH_DARWIN_BACKENDS
        return backends::sweep_darwin_feth();
#endif
    } catch (const std::exception& e) {
        LOG_ERROR("removing tunnel pairs left behind: %s", e.what());
    }
    return 0;
}

void prepare_device_queries()
{
#if FETH_LINUX_BACKENDS
    backends::prepare_linux_tuntap_queries();
#elif FETH_DARWIN_BACKENDS
    darwin::prepare_mtu_queries();
#endif
}

} // namespace feth
