// The MTU of a tunnel device (TunnelMTU in feth-sshd_config and for
// feth-ssh): which values a platform takes, what to do with a device that
// already exists, and when feth's net.link.fake.max_mtu must be raised.
// Pure functions, so the rules are tested on every platform; the device
// files only execute the answers (SIOCSIFMTU, IFLA_MTU, sysctlbyname).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tunnel/darwin_backends.hpp"

namespace feth::mtu {

// The values a tunnel device takes. The largest is the same everywhere:
// one tunnel frame is at most 16384 bytes (OpenSSH reads 16 KiB at a time),
// 16370 after the 14-byte Ethernet header, which is also feth's own ceiling
// (xnu FETH_MAX_MTU_MAX). Point-to-point could carry 10 bytes more; one
// limit for both modes keeps the keyword simple. The smallest is what the
// kernel refuses below: Linux's 68 (tun/tap MIN_MTU, veth ETH_MIN_MTU),
// xnu's IF_MINMTU 72.
struct Range {
    unsigned min;
    unsigned max;
};
inline constexpr Range kLinux{68, 16370};
inline constexpr Range kDarwin{72, 16370};
#if FETH_DARWIN_BACKENDS
inline constexpr Range kThisPlatform = kDarwin;
#else
inline constexpr Range kThisPlatform = kLinux;
#endif

// "default or a number from 68 to 16370", for error messages.
std::string expected(Range range = kThisPlatform);

// A TunnelMTU value: "default" gives 0 (leave the device's MTU alone), a
// decimal number within `range` gives itself. nullopt for anything else
// (signs, spaces, hex, 0, out of range): the caller names file and line.
std::optional<unsigned> parse(std::string_view text, Range range = kThisPlatform);

// What to do with a device's MTU once it is open, created or found:
// `requested` is the TunnelMTU (0: default), `current` what the device has,
// `largest` the most a tunnel frame carries in its mode. Returns the MTU to
// set, nullopt to leave it. An explicit request is set even on a device the
// admin made (the configuration asked for it, and a tunnel whose two ends
// disagree drops the large frames silently); with no request, only an MTU
// above `largest` is brought down, since such frames could never cross.
std::optional<unsigned> to_set(unsigned requested, unsigned current, unsigned largest);

// feth fixes an interface's largest MTU when it is created, from the sysctl
// net.link.fake.max_mtu (default 2048). The value to raise the sysctl to
// before creating a pair for `mtu`, or nullopt when `current_max` already
// allows it. Never lower: other pairs on the system may have asked for more.
std::optional<unsigned> feth_max_mtu_to_raise(unsigned mtu, unsigned current_max);

// For a feth pair that already exists: its largest MTU was fixed when it was
// made, so a larger request can only fail. The error text for that case
// (naming the pair and what to do), or empty when `mtu` fits `device_max`.
std::string feth_existing_problem(const std::string& visible, const std::string& peer, unsigned mtu,
                                  unsigned device_max);

} // namespace feth::mtu
