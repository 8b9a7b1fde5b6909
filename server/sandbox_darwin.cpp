// The child's Seatbelt profile on macOS (sandbox.hpp, docs/security.md).
// sshd's sandbox-darwin.c applies Apple's named profile "pure computation"
// (no files, no network, no IPC); this child also works the tunnel
// descriptors the monitor passes it (a BPF device it reads, an NDRV socket
// it sends frames on), so its profile, written out, is that one plus
// exactly those. sandbox_init is deprecated but still what sshd calls; the
// open-source headers have no <sandbox.h>, so it is declared here as sshd
// declares it where the SDK lacks it.
#include <cstdint>
#include <string>

#include "sandbox.hpp"
#include "base/error.hpp"

extern "C" {
int sandbox_init(const char* profile, uint64_t flags, char** errorbuf);
void sandbox_free_error(char* errorbuf);
}

namespace feth::server {
namespace {

// Deny everything, then: signals to itself (abort), reading sysctls (the
// C library asks the kernel for the page size, the CPU count...), and the
// already open tunnel devices: ioctl, read and write on /dev/bpf* (the
// monitor opened and configured them) and sending on the NDRV socket the
// monitor passed. No file opens, no new sockets, no outbound connections,
// no Mach services, no process creation.
constexpr const char* kProfile = R"SBPL((version 1)
(deny default)
(allow signal (target self))
(allow sysctl-read)
(allow file-read-data (regex #"^/dev/bpf[0-9]+$"))
(allow network-outbound (socket-domain 27))
)SBPL";

} // namespace

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
