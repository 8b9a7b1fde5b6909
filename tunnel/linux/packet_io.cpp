// The packet I/O of the "pair" backend (packet_io.hpp).
#include "tunnel/linux/packet_io.hpp"

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::backends::packet {

PacketSockets open_packet_sockets(const std::string& visible, const std::string& peer)
{
    const std::string what = "device " + visible + " (peer " + peer + ")";
    int index = static_cast<int>(::if_nametoindex(peer.c_str()));
    if (index == 0) throw_errno(what, "if_nametoindex");

    PacketSockets s;
    // Protocol 0 at creation: nothing is queued before bind() picks the
    // interface.
    s.read.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.read) throw_errno(what, "socket(AF_PACKET)");
    int one = 1;
    // Our own writes leave through the peer and would be read back.
    // Linux 4.20+; older kernels are covered by the pkttype filter.
    if (::setsockopt(s.read.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 &&
        errno != ENOPROTOOPT)
        throw_errno(what, "setsockopt(PACKET_IGNORE_OUTGOING)");
    int rcvbuf = 4 << 20;
    if (::setsockopt(s.read.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
        (void)::setsockopt(s.read.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = index;
    if (::bind(s.read.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno(what, "bind(AF_PACKET, read)");

    // Protocol 0 for the writer: it is never hooked for receive.
    s.write.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s.write) throw_errno(what, "socket(AF_PACKET)");
    addr.sll_protocol = 0;
    if (::bind(s.write.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw_errno(what, "bind(AF_PACKET, write)");
    return s;
}

void expect_packet_socket(int fd, const std::string& what)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) throw_errno(what, "getsockopt(SO_DOMAIN)");
    if (domain != AF_PACKET) throw InputError(what + ": an adopted descriptor is not an AF_PACKET socket");
    set_nonblocking_cloexec(fd, what.c_str());
}

PacketIo::PacketIo(std::string peer, PacketSockets sockets)
    : peer_(std::move(peer)), read_fd_(std::move(sockets.read)), write_fd_(std::move(sockets.write)),
      buffers_(kBatch * kSlot)
{
}

PacketIo::~PacketIo()
{
    if (oversized_ != 0)
        LOG_VERBOSE("device %s: dropped %llu frames larger than a tunnel frame", peer_.c_str(),
                    static_cast<unsigned long long>(oversized_));
}

std::size_t PacketIo::read_frames(FrameSink& sink, std::size_t max_frames)
{
    std::size_t count = 0;
    while (count < max_frames) {
        if (next_ == received_) {
            // Ask for no more than the caller wants, so that nothing is
            // held back between calls except when the sink stops early.
            const auto want = static_cast<unsigned>(std::min(kBatch, max_frames - count));
            for (unsigned i = 0; i < want; ++i) {
                // Pointers set here, not once: the object may have moved.
                iov_[i] = {buffers_.data() + i * kSlot, kSlot};
                msgs_[i] = {};
                msgs_[i].msg_hdr.msg_iov = &iov_[i];
                msgs_[i].msg_hdr.msg_iovlen = 1;
                msgs_[i].msg_hdr.msg_name = &from_[i];
                msgs_[i].msg_hdr.msg_namelen = sizeof from_[i];
            }
            int n = ::recvmmsg(read_fd_.get(), msgs_.data(), want, MSG_DONTWAIT, nullptr);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                throw_errno("device " + peer_, "recvmmsg");
            }
            if (n == 0) break;
            received_ = static_cast<std::size_t>(n);
            next_ = 0;
        }
        const std::size_t i = next_++;
        if (from_[i].sll_pkttype == PACKET_OUTGOING) continue; // our own writes
        if ((msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
            ++oversized_;
            continue;
        }
        ++count;
        if (!sink.on_frame({buffers_.data() + i * kSlot, msgs_[i].msg_len})) break;
    }
    return count;
}

WriteResult PacketIo::write_frame(std::span<const std::uint8_t> frame)
{
    for (;;) {
        if (::send(write_fd_.get(), frame.data(), frame.size(), MSG_DONTWAIT) >= 0) return WriteResult::Written;
        switch (errno) {
        case EINTR: continue;
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
        case ENOBUFS: return WriteResult::WouldBlock;
        case EMSGSIZE:
        case EINVAL: return WriteResult::Rejected;
        default: throw_errno("device " + peer_, "send");
        }
    }
}

} // namespace feth::backends::packet
