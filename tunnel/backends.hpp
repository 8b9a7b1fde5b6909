// The backends each platform offers. Only device_factory.cpp includes this:
// callers ask open_device() for a mode and never see a backend type.
#pragma once

#include <memory>

#include "device.hpp"

namespace feth::backends {

#if defined(__linux__)
// /dev/net/tun: tap for ethernet, tun for point-to-point.
std::unique_ptr<Device> open_linux_tuntap(const DeviceRequest& request);
// A veth pair (feth<N> for the user, feth<N+5000> for I/O), the Linux twin
// of macOS's feth pairs.
std::unique_ptr<Device> open_linux_pair(const DeviceRequest& request);
#endif

#if defined(__APPLE__)
// A feth pair: fethN for the user; its peer read through bpf, written
// through AF_NDRV.
std::unique_ptr<Device> open_darwin_feth(const DeviceRequest& request);
// utun through the com.apple.net.utun_control kernel control.
std::unique_ptr<Device> open_darwin_utun(const DeviceRequest& request);
#endif

} // namespace feth::backends
