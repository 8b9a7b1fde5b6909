// Reading a feth peer's frames through /dev/bpfN (xnu bsd/net/bpf.c).
// Frames that fethN sends are tapped into its peer's bpf as input; with
// BIOCSSEESENT 0 the frames we write through NDRV (output on the peer) are
// not read back.
#include <fcntl.h>
#include <net/bpf.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "tunnel/darwin/darwin_io.hpp"
#include "tunnel/darwin/sys.hpp"
#include "base/error.hpp"
#include "tunnel/wire.hpp"

namespace feth::darwin {
namespace {

// /dev/bpf0.. are cloned on demand up to BPF_MAX_DEVICES (256).
constexpr int kMaxBpfDevices = 256;

// A record of the largest frame must fit the buffer: header (18), frame,
// alignment.
constexpr unsigned kSmallestUsefulBuffer = static_cast<unsigned>(bpf::word_align(32 + wire::kMaxFrame));
// The largest buffer an adopter takes from its opener (xnu clamps BIOCSBLEN
// to bpf_maxbufsize, 512 KiB by default; a few MiB where raised).
constexpr unsigned kLargestAdoptedBuffer = 16 * 1024 * 1024;

UniqueFd open_free_bpf(const std::string& what)
{
    for (int i = 0; i < kMaxBpfDevices; ++i) {
        const std::string path = "/dev/bpf" + std::to_string(i);
        int fd = sys::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return UniqueFd(fd);
        if (errno == EBUSY) continue; // in use by someone else
        throw_errno(what, ("open(" + path + ")").c_str());
    }
    throw SystemError(what, "open(/dev/bpf*)", EBUSY);
}

void set_uint(int fd, unsigned long request, unsigned value, const std::string& what, const char* name)
{
    u_int v = value;
    if (sys::ioctl(fd, request, &v) < 0) throw_errno(what, name);
}

void check_ethernet(int fd, const std::string& what)
{
    u_int dlt = 0;
    if (sys::ioctl(fd, BIOCGDLT, &dlt) < 0) throw_errno(what, "ioctl(BIOCGDLT)");
    if (dlt != DLT_EN10MB) throw SystemError(what + " (not an Ethernet interface)", "ioctl(BIOCGDLT)", EINVAL);
}

// Sets the buffer size (BIOCSBLEN only before BIOCSETIF, EINVAL after),
// the options and the interface; returns the size the kernel chose, which
// every read() must ask for exactly.
unsigned attach(int fd, const std::string& ifname, unsigned buffer_size, const std::string& what)
{
    u_int size = buffer_size;
    if (sys::ioctl(fd, BIOCSBLEN, &size) < 0) throw_errno(what, "ioctl(BIOCSBLEN)"); // clamped, written back
    if (size < kSmallestUsefulBuffer)
        throw SystemError(what + " (buffer " + std::to_string(size) + " bytes is too small)", "ioctl(BIOCSBLEN)",
                          ENOBUFS);
    set_uint(fd, BIOCIMMEDIATE, 1, what, "ioctl(BIOCIMMEDIATE)"); // deliver at once, not when full
    set_uint(fd, BIOCSSEESENT, 0, what, "ioctl(BIOCSSEESENT)");   // not our own NDRV writes
    // No BIOCSHDRCMPLT: it concerns writes to bpf, and we write through NDRV.

    ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    ::strlcpy(ifr.ifr_name, ifname.c_str(), sizeof ifr.ifr_name);
    if (sys::ioctl(fd, BIOCSETIF, &ifr) < 0) throw_errno(what, "ioctl(BIOCSETIF)");
    // xnu's feth taps every frame it sends into its peer's bpf whatever the
    // mode, so this should change nothing; the known-working recipes set it
    // and it is harmless, so it stays until a Mac shows it can go.
    if (sys::ioctl(fd, BIOCPROMISC, nullptr) < 0) throw_errno(what, "ioctl(BIOCPROMISC)");
    check_ethernet(fd, what);
    set_nonblocking_cloexec(fd, what.c_str());
    return size;
}

// The size an adopted descriptor's opener chose (it attached the descriptor
// and checked the interface), bounded; the descriptor as the opener left it.
unsigned adopted_size(int fd, unsigned size, const std::string& what)
{
    if (size < kSmallestUsefulBuffer || size > kLargestAdoptedBuffer)
        throw SystemError(what + " (buffer " + std::to_string(size) + " bytes handed over)", "adopt", EINVAL);
    adopt_configured(fd, what.c_str());
    return size;
}

std::string bpf_what(const std::string& ifname)
{
    return "device " + ifname + " (bpf)";
}

} // namespace

BpfReader::BpfReader(const std::string& ifname, unsigned buffer_size)
    : ifname_(ifname), fd_(open_free_bpf(bpf_what(ifname_))),
      buffer_(attach(fd_.get(), ifname_, buffer_size, bpf_what(ifname_)), bpf_what(ifname_), sys::read)
{
}

BpfReader::BpfReader(UniqueFd fd, std::string ifname, unsigned buffer_size)
    : ifname_(std::move(ifname)), fd_(std::move(fd)),
      buffer_(adopted_size(fd_.get(), buffer_size, bpf_what(ifname_) + " (adopted)"), bpf_what(ifname_), sys::read)
{
}

} // namespace feth::darwin
