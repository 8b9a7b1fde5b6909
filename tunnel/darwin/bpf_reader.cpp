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
#include "tunnel/error.hpp"
#include "tunnel/wire.hpp"

namespace feth::darwin {
namespace {

// /dev/bpf0.. are cloned on demand up to BPF_MAX_DEVICES (256).
constexpr int kMaxBpfDevices = 256;

// A record of the largest frame must fit the buffer: header (18), frame,
// alignment.
constexpr unsigned kSmallestUsefulBuffer = static_cast<unsigned>(bpf::word_align(32 + wire::kMaxFrame));

UniqueFd open_free_bpf(const std::string& what)
{
    for (int i = 0; i < kMaxBpfDevices; ++i) {
        const std::string path = "/dev/bpf" + std::to_string(i);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return UniqueFd(fd);
        if (errno == EBUSY) continue; // in use by someone else
        throw_errno(what, ("open(" + path + ")").c_str());
    }
    throw SystemError(what, "open(/dev/bpf*)", EBUSY);
}

void set_uint(int fd, unsigned long request, unsigned value, const std::string& what, const char* name)
{
    u_int v = value;
    if (::ioctl(fd, request, &v) < 0) throw_errno(what, name);
}

} // namespace

BpfReader::BpfReader(const std::string& ifname, unsigned buffer_size) : ifname_(ifname)
{
    const std::string what = "device " + ifname_ + " (bpf)";
    fd_ = open_free_bpf(what);

    // BIOCSBLEN only before BIOCSETIF (EINVAL after); the kernel clamps the
    // size and writes back what it chose: read() must ask for exactly that.
    u_int size = buffer_size;
    if (::ioctl(fd_.get(), BIOCSBLEN, &size) < 0) throw_errno(what, "ioctl(BIOCSBLEN)");
    if (size < kSmallestUsefulBuffer)
        throw SystemError(what + " (buffer " + std::to_string(size) + " bytes is too small)", "ioctl(BIOCSBLEN)",
                          ENOBUFS);
    set_uint(fd_.get(), BIOCIMMEDIATE, 1, what, "ioctl(BIOCIMMEDIATE)"); // deliver at once, not when full
    set_uint(fd_.get(), BIOCSSEESENT, 0, what, "ioctl(BIOCSSEESENT)");   // not our own NDRV writes
    set_uint(fd_.get(), BIOCSHDRCMPLT, 1, what, "ioctl(BIOCSHDRCMPLT)"); // never fill in source MACs

    ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    ::strlcpy(ifr.ifr_name, ifname_.c_str(), sizeof ifr.ifr_name);
    if (::ioctl(fd_.get(), BIOCSETIF, &ifr) < 0) throw_errno(what, "ioctl(BIOCSETIF)");
    // The peer must see frames for any destination (the visible side's
    // correspondents' MACs). The known-working recipes set it; it is cheap.
    if (::ioctl(fd_.get(), BIOCPROMISC, nullptr) < 0) throw_errno(what, "ioctl(BIOCPROMISC)");

    u_int dlt = 0;
    if (::ioctl(fd_.get(), BIOCGDLT, &dlt) < 0) throw_errno(what, "ioctl(BIOCGDLT)");
    if (dlt != DLT_EN10MB) throw SystemError(what + " (not an Ethernet interface)", "ioctl(BIOCGDLT)", EINVAL);

    set_nonblocking_cloexec(fd_.get(), what.c_str());
    buf_.resize(size);
}

BpfReader::BpfReader(UniqueFd fd, std::string ifname) : ifname_(std::move(ifname)), fd_(std::move(fd))
{
    const std::string what = "device " + ifname_ + " (bpf, adopted)";
    // The opener chose the size before attaching; read() must ask for
    // exactly what the kernel has.
    u_int size = 0;
    if (::ioctl(fd_.get(), BIOCGBLEN, &size) < 0) throw_errno(what, "ioctl(BIOCGBLEN)");
    if (size < kSmallestUsefulBuffer)
        throw SystemError(what + " (buffer " + std::to_string(size) + " bytes is too small)", "ioctl(BIOCGBLEN)",
                          ENOBUFS);
    // Attached (else EINVAL) to an Ethernet interface.
    u_int dlt = 0;
    if (::ioctl(fd_.get(), BIOCGDLT, &dlt) < 0) throw_errno(what, "ioctl(BIOCGDLT)");
    if (dlt != DLT_EN10MB) throw SystemError(what + " (not an Ethernet interface)", "ioctl(BIOCGDLT)", EINVAL);
    set_nonblocking_cloexec(fd_.get(), what.c_str());
    buf_.resize(size);
}

std::size_t BpfReader::read(bpf::FrameCallback on_frame, std::size_t max_frames)
{
    std::size_t count = 0;
    while (count < max_frames) {
        if (offset_ >= filled_) {
            // bpf insists on a read of exactly its buffer size (else EINVAL).
            ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                throw_errno("device " + ifname_ + " (bpf)", "read"); // ENXIO: the interface is gone
            }
            if (n == 0) break;
            filled_ = static_cast<std::size_t>(n);
            offset_ = 0;
        }
        bool stop = false;
        auto result = bpf::walk_records(
            std::span<const std::uint8_t>(buf_.data(), filled_),
            [&](std::span<const std::uint8_t> frame) {
                ++count;
                if (!on_frame(frame)) stop = true;
                return !stop && count < max_frames;
            },
            offset_);
        truncated_ += result.truncated;
        if (result.malformed) {
            ++malformed_;
            offset_ = filled_; // the rest of this read is unusable
        } else {
            offset_ = result.offset;
        }
        if (stop) break;
    }
    return count;
}

} // namespace feth::darwin
