// The backends each platform offers. Only device_factory.cpp includes this:
// callers ask open_device() for a mode and never see a backend type.
//
// Each backend has two entry points: open_* makes (or attaches to) the
// interface and owns it; adopt_* wraps descriptors another process opened
// with the same backend (privilege separation) in that backend's I/O only.
// adopt_* may assume the factory checked the mode and the descriptor count
// (one for tap, tun and utun; two, read then write, for pair and feth).
#pragma once

#include <cstddef>
#include <memory>

#include "device.hpp"
#include "tunnel/darwin_backends.hpp"

namespace feth::backends {

#if FETH_LINUX_BACKENDS
// /dev/net/tun: tap for ethernet, tun for point-to-point.
std::unique_ptr<Device> open_linux_tuntap(const DeviceRequest& request);
std::unique_ptr<Device> adopt_linux_tuntap(AdoptRequest& request);
// Keeps the socket tap/tun mtu() queries go through (prepare_device_queries).
void prepare_linux_tuntap_queries();
// A veth pair (feth<N> for the user, feth<N+5000> for I/O), the Linux twin
// of macOS's feth pairs.
std::unique_ptr<Device> open_linux_pair(const DeviceRequest& request);
std::unique_ptr<Device> adopt_linux_pair(AdoptRequest& request);
// Removes the pairs tunnels that died left behind; returns how many.
std::size_t sweep_linux_pairs();
#endif

#if FETH_DARWIN_BACKENDS
// A feth pair: fethN for the user; its peer read through bpf, written
// through AF_NDRV.
std::unique_ptr<Device> open_darwin_feth(const DeviceRequest& request);
std::unique_ptr<Device> adopt_darwin_feth(AdoptRequest& request);
// Removes the feth pairs tunnels that died left behind; returns how many.
std::size_t sweep_darwin_feth();
// utun through the com.apple.net.utun_control kernel control.
std::unique_ptr<Device> open_darwin_utun(const DeviceRequest& request);
std::unique_ptr<Device> adopt_darwin_utun(AdoptRequest& request);
#endif

} // namespace feth::backends
