// The backends each platform offers. Only device_factory.cpp includes this:
// callers ask open_device() for a mode and never see a backend type.
#pragma once

#include <memory>

#include "device.hpp"

namespace feth::backends {

#if defined(__linux__)
// /dev/net/tun: tap for ethernet, tun for point-to-point.
std::unique_ptr<Device> open_linux_tuntap(const DeviceRequest& request);
#endif

} // namespace feth::backends
