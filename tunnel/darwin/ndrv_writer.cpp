// Writing frames out of a feth peer through an AF_NDRV socket (xnu
// bsd/net/ndrv.c). The frame goes to the peer's output, and feth hands it
// to fethN as a received frame. NDRV sends the frame as given: no source
// MAC filled in, no MTU check.
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "tunnel/darwin/darwin_io.hpp"
#include "tunnel/darwin/sys.hpp"
#include "tunnel/darwin_structs.hpp"
#include "base/error.hpp"

namespace feth::darwin {

NdrvWriter::NdrvWriter(const std::string& ifname, std::size_t max_frame) : ifname_(ifname)
{
    const std::string what = "device " + ifname_ + " (ndrv)";
    static_assert(AF_NDRV == kAfNdrv);
    fd_.reset(sys::socket(AF_NDRV, SOCK_RAW, 0)); // EPERM unless root
    if (!fd_) throw_errno(what, "socket(AF_NDRV)");

    SockaddrNdrv addr = make_sockaddr_ndrv(ifname_);
    // bind() latches onto the interface (EADDRNOTAVAIL if missing);
    // connect() gives write() its destination (else EDESTADDRREQ).
    if (sys::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) throw_errno(what, "bind");
    if (sys::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno(what, "connect");

    // A send larger than the send buffer fails with EMSGSIZE (the default
    // is 8 KiB): room for the largest frame, twice.
    int sndbuf = static_cast<int>(std::max<std::size_t>(2 * max_frame, 65536));
    if (sys::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
        throw_errno(what, "setsockopt(SO_SNDBUF)");
    int one = 1;
    if (sys::setsockopt(fd_.get(), SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) < 0)
        throw_errno(what, "setsockopt(SO_NOSIGPIPE)");
    set_nonblocking_cloexec(fd_.get(), what.c_str());
}

NdrvWriter::NdrvWriter(UniqueFd fd, std::string ifname) : ifname_(std::move(ifname)), fd_(std::move(fd))
{
    // Bound, connected, sized and made non-blocking by the opener; the
    // options and the file status live on the socket, shared with this
    // descriptor.
    adopt_configured(fd_.get(), ("device " + ifname_ + " (ndrv, adopted)").c_str());
}

WriteResult NdrvWriter::write(std::span<const std::uint8_t> frame)
{
    for (;;) {
        ssize_t n = sys::send(fd_.get(), frame.data(), frame.size(), 0);
        if (n >= 0) return WriteResult::Written;
        switch (errno) {
        case EINTR: continue;
        case EAGAIN:
        // The driver's queue is full (or no mbuf was free): the frame was
        // not sent. NDRV queues nothing itself, so POLLOUT never says when
        // to try again: the pump retries on a timer (WriteRetry::OnTimer).
        case ENOBUFS: return WriteResult::WouldBlock;
        case EMSGSIZE: return WriteResult::Rejected;
        // ENETDOWN: the peer was taken down; EPIPE: it is detaching. Either
        // way the tunnel cannot go on.
        default: throw_errno("device " + ifname_ + " (ndrv)", "send");
        }
    }
}

} // namespace feth::darwin
