// The child's view of a device the monitor opened: descriptors only.
// Linux: one fd (tap or tun, /dev/net/tun with IFF_NO_PI) or two AF_PACKET
// sockets on the I/O end of a veth pair. The interface itself belongs to the
// monitor, which removes it when the tunnel or the connection ends.
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/if_packet.h>
#endif

#include <array>
#include <cerrno>
#include <cstring>

#include "privsep.hpp"
#include "tunnel/error.hpp"

namespace feth::server {
namespace {

#if defined(__linux__)

class ReceivedDevice final : public Device {
public:
    ReceivedDevice(std::string name, std::string io_name, TunMode mode, std::vector<UniqueFd> fds)
        : name_(std::move(name)), io_name_(std::move(io_name)), mode_(mode), fds_(std::move(fds))
    {
        packet_ = fds_.size() == 2;
    }

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return io_name_; }
    TunMode mode() const override { return mode_; }
    bool created() const override { return true; }
    int read_fd() const override { return fds_[0].get(); }
    int write_fd() const override { return fds_.back().get(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        const std::size_t head = mode_ == TunMode::PointToPoint ? wire::kAfHeaderLen : 0;
        const std::string& where = io_name_.empty() ? name_ : io_name_;
        std::size_t count = 0;
        while (count < max_frames) {
            ssize_t n;
            if (packet_) {
                sockaddr_ll from{};
                socklen_t flen = sizeof from;
                n = ::recvfrom(read_fd(), buf_.data(), wire::kMaxFrame, MSG_DONTWAIT | MSG_TRUNC,
                               reinterpret_cast<sockaddr*>(&from), &flen);
                if (n >= 0 && from.sll_pkttype == PACKET_OUTGOING) continue; // our own writes
                if (n > static_cast<ssize_t>(wire::kMaxFrame)) continue;      // truncated: drop
            } else {
                n = ::read(read_fd(), buf_.data() + head, buf_.size() - head);
            }
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                throw_errno("device " + where, packet_ ? "recvfrom" : "read");
            }
            if (n == 0 && !packet_) throw SystemError("device " + where, "read", EPIPE);
            ++count;
            std::span<std::uint8_t> frame(buf_.data(), static_cast<std::size_t>(n) + head);
            if (head != 0) {
                auto header = frame.first<wire::kAfHeaderLen>();
                if (!wire::put_af_header(header, frame.subspan(head))) std::memset(header.data(), 0, head);
            }
            if (!sink.on_frame(frame)) break;
        }
        return count;
    }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        if (mode_ == TunMode::PointToPoint) frame = frame.subspan(wire::kAfHeaderLen);
        const std::string& where = io_name_.empty() ? name_ : io_name_;
        for (;;) {
            ssize_t n = packet_ ? ::send(write_fd(), frame.data(), frame.size(), MSG_DONTWAIT)
                                : ::write(write_fd(), frame.data(), frame.size());
            if (n >= 0) return WriteResult::Written;
            switch (errno) {
            case EINTR: continue;
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
            case ENOBUFS: return WriteResult::WouldBlock;
            case EINVAL:
            case EMSGSIZE:
            case EFAULT:
            case EIO: return WriteResult::Rejected;
            default: throw_errno("device " + where, packet_ ? "send" : "write");
            }
        }
    }

private:
    std::string name_;
    std::string io_name_;
    TunMode mode_;
    std::vector<UniqueFd> fds_;
    bool packet_ = false;
    std::array<std::uint8_t, wire::kMaxFrame + 2 * wire::kAfHeaderLen> buf_{};
};

#endif

} // namespace

std::unique_ptr<Device> make_received_device(std::string name, std::string io_name, TunMode mode,
                                             std::vector<UniqueFd> fds)
{
    if (fds.empty() || fds.size() > 2) throw InputError("device " + name + ": monitor sent " +
                                                        std::to_string(fds.size()) + " descriptors");
#if defined(__linux__)
    return std::make_unique<ReceivedDevice>(std::move(name), std::move(io_name), mode, std::move(fds));
#else
    (void)io_name;
    (void)mode;
    throw InputError("device " + name + ": privilege-separated devices are not implemented on this platform yet");
#endif
}

} // namespace feth::server
