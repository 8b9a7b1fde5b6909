// The child's Seatbelt profile on macOS (sandbox.hpp, docs/security.md).
// sshd's sandbox-darwin.c applies Apple's named profile "pure computation"
// (no files, no network, no IPC); this child also works the tunnel
// descriptors the monitor passes it (a BPF device it reads, an NDRV socket
// it sends frames on), so its profile, written out, is that one plus
// those. sandbox_init is deprecated but still what sshd calls; the
// open-source headers have no <sandbox.h>, so it is declared here as sshd
// declares it where the SDK lacks it. `feth-sshd --print-sandbox-profile`
// prints kProfile, so that the macOS workflow compiles exactly this text
// (sandbox-exec -p) before anything else runs.
#include <cstdint>
#include <string>
#include <string_view>

#include "sandbox.hpp"
#include "base/error.hpp"

extern "C" {
int sandbox_init(const char* profile, uint64_t flags, char** errorbuf);
void sandbox_free_error(char* errorbuf);
}

namespace feth::server {
namespace {

// Deny everything, then allow: signals to itself (abort), reading sysctls
// (the C library asks the kernel for the page size, the CPU count...), and
// reading /dev/bpf*, the tunnel's BPF devices, which the monitor opened and
// configured completely (attached, immediate, non-blocking; the buffer size
// comes in TunUp), so the child makes no ioctl on them: no file-ioctl, so
// no BIOCSETIF to another interface, and no file-write-data (frames go out
// through the NDRV socket). process-info*, nvram* and iokit-get-properties
// are denied by name: a (version 1) (deny default) does not cover them
// (Firefox's and Chromium's profiles say so and do the same); nor
// file-map-executable, which this profile leaves as it is.
// What the profile does not claim: that the child cannot create a socket
// or set options on one (whether (deny default) gates that in a version 1
// profile is Apple's closed code to decide; RLIMIT_NOFILE bounds its
// descriptors). Connecting, binding and sending to an address are
// network-* operations, denied. Sending on the NDRV socket the monitor
// connected needs no rule: xnu checks a send only when it names a
// destination (bsd/kern/uipc_syscalls.c, sendit). File opens (the chroot
// is empty anyway), Mach services and process creation are denied.
constexpr const char* kProfile = R"SBPL((version 1)
(deny default)
(deny process-info* nvram* iokit-get-properties)
(allow signal (target self))
(allow sysctl-read)
(allow file-read-data (regex #"^/dev/bpf[0-9]+$"))
)SBPL";

} // namespace

std::string_view platform_sandbox_profile() { return kProfile; }

void install_platform_sandbox(int)
{
    char* error = nullptr;
    if (::sandbox_init(kProfile, 0, &error) != 0) {
        const std::string why = error != nullptr ? error : "unknown error";
        if (error != nullptr) ::sandbox_free_error(error);
        throw SystemError("connection sandbox (Seatbelt): " + why, "sandbox_init", EPERM);
    }
}

} // namespace feth::server
