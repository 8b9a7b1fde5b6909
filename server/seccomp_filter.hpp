// The network program's seccomp filter (sandbox_linux.cpp), built for a
// given architecture: install_platform_sandbox loads the host's, and
// tests/unit/seccomp_filter_test.cpp runs the x86_64 and the aarch64 ones
// through a BPF interpreter on any host (qemu-user cannot load a filter).
// Linux only.
#pragma once

#include <seccomp.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>

namespace feth::server {

struct SeccompContextRelease {
    void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};
using SeccompContext = std::unique_ptr<void, SeccompContextRelease>;

// Every rule of the child's filter, for `arch`: SCMP_ARCH_NATIVE (what
// install_platform_sandbox loads), SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64.
// `self` is the one pid its kill, tkill and tgkill rules allow. A call the
// lists name that `arch` does not have (poll, open, alarm on aarch64) gets
// no rule. Throws SystemError naming the step.
SeccompContext network_child_filter(std::uint32_t arch, pid_t self);

} // namespace feth::server
