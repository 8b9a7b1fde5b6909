// The "utun" backend (macOS, point-to-point mode), xnu bsd/net/if_utun.c.
// A PF_SYSTEM control socket connected to com.apple.net.utun_control is the
// interface: it exists while the socket is open, and closing it removes it.
// Each packet carries a 4-byte address family in network byte order, in
// Darwin's numbering (IPv6 = 30); the wire uses OpenBSD's (IPv6 = 24), so
// the header is rewritten in place with the portable helpers.
// An adopted socket (privilege separation) is read and written only; the
// interface goes when the last descriptor to it (the opener's) closes.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/kern_control.h>
#include <sys/socket.h>
#include <sys/sys_domain.h>
#include <sys/sockio.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "tunnel/backends.hpp"
#include "tunnel/darwin/darwin_io.hpp"
#include "tunnel/darwin/sys.hpp"
#include "tunnel/darwin_structs.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "tunnel/feth_naming.hpp"
#include "tunnel/mtu.hpp"
#include "tunnel/wire.hpp"

namespace feth::backends {
namespace {

class UtunDevice final : public Device {
public:
    UtunDevice(UniqueFd fd, std::string name, bool created)
        : fd_(std::move(fd)), name_(std::move(name)), created_(created)
    {
    }

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return no_io_name_; }
    TunMode mode() const override { return TunMode::PointToPoint; }
    const char* backend() const override { return "utun"; }
    unsigned mtu() const override { return darwin::interface_mtu(name_); }
    bool created() const override { return created_; } // opened: gone when the socket closes
    int read_fd() const override { return fd_.get(); }
    int write_fd() const override { return fd_.get(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        std::size_t count = 0;
        while (count < max_frames) {
            ssize_t n = darwin::sys::recv(fd_.get(), buf_.data(), buf_.size(), 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                throw_errno("device " + name_, "recv");
            }
            if (n == 0) throw SystemError("device " + name_, "recv", EPIPE);
            ++count;
            std::span<std::uint8_t> frame(buf_.data(), static_cast<std::size_t>(n));
            // Neither IPv4 nor IPv6: zero the header; check_frame drops it.
            if (!naming::header_darwin_to_wire(frame) && frame.size() >= wire::kAfHeaderLen)
                std::memset(frame.data(), 0, wire::kAfHeaderLen);
            if (!sink.on_frame(frame)) break;
        }
        return count;
    }

    // A kernel-control socket queues nothing on send: ctl_send() hands the
    // packet straight to utun (xnu bsd/kern/kern_control.c), so POLLOUT is
    // always set and a full utun (ENOBUFS) is retried on the pump's timer.
    WriteRetry write_retry() const override { return WriteRetry::OnTimer; }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        // The frame is const: translate a copy of its header (and the
        // version nibble it is taken from) and send that in front of the
        // untouched packet, in one datagram.
        if (frame.size() <= wire::kAfHeaderLen) return WriteResult::Rejected;
        std::array<std::uint8_t, wire::kAfHeaderLen + 1> header;
        std::memcpy(header.data(), frame.data(), header.size());
        if (!naming::header_wire_to_darwin(header)) return WriteResult::Rejected;

        iovec iov[2];
        iov[0].iov_base = header.data();
        iov[0].iov_len = wire::kAfHeaderLen;
        iov[1].iov_base = const_cast<std::uint8_t*>(frame.data() + wire::kAfHeaderLen);
        iov[1].iov_len = frame.size() - wire::kAfHeaderLen;
        for (;;) {
            if (darwin::sys::writev(fd_.get(), iov, 2) >= 0) return WriteResult::Written;
            switch (errno) {
            case EINTR: continue;
            case EAGAIN:
            case ENOBUFS: return WriteResult::WouldBlock;
            case EMSGSIZE:
            case EINVAL:
            case EAFNOSUPPORT: return WriteResult::Rejected;
            default: throw_errno("device " + name_, "writev");
            }
        }
    }

private:
    UniqueFd fd_;
    std::string name_;
    std::string no_io_name_;
    bool created_;
    std::array<std::uint8_t, wire::kMaxFrame + wire::kAfHeaderLen> buf_{};
};

// The interface a utun control socket is (UTUN_OPT_IFNAME).
std::string utun_ifname(int fd, const std::string& what)
{
    char ifname[IFNAMSIZ] = {};
    socklen_t len = sizeof ifname;
    if (darwin::sys::getsockopt(fd, SYSPROTO_CONTROL, darwin::kUtunOptIfname, ifname, &len) < 0)
        throw_errno(what, "getsockopt(UTUN_OPT_IFNAME)");
    return std::string(ifname, ::strnlen(ifname, sizeof ifname));
}

} // namespace

std::unique_ptr<Device> open_darwin_utun(const DeviceRequest& request)
{
    if (request.mode != TunMode::PointToPoint) throw InputError("the utun backend carries point-to-point tunnels only");
    auto sc_unit = naming::utun_sc_unit(request.unit);
    if (!sc_unit) throw InputError("device utun" + std::to_string(request.unit) + ": unit out of range");
    const std::string what = request.unit == kTunUnitAny ? std::string("device utun") : "device " + *naming::utun_name(*sc_unit);

    if (request.mtu != 0 && (request.mtu < mtu::kDarwin.min || request.mtu > mtu::kDarwin.max))
        throw InputError(what + ": MTU " + std::to_string(request.mtu) + " is out of range for utun (" +
                         std::to_string(mtu::kDarwin.min) + " to " + std::to_string(mtu::kDarwin.max) + ")");

    UniqueFd fd(darwin::sys::socket(PF_SYSTEM, SOCK_DGRAM, SYSPROTO_CONTROL));
    if (!fd) throw_errno(what, "socket(PF_SYSTEM)");

    ctl_info info;
    std::memset(&info, 0, sizeof info);
    ::strlcpy(info.ctl_name, darwin::kUtunControlName, sizeof info.ctl_name);
    if (darwin::sys::ioctl(fd.get(), CTLIOCGINFO, &info) < 0) throw_errno(what, "ioctl(CTLIOCGINFO)");

    sockaddr_ctl addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sc_len = sizeof addr;
    addr.sc_family = AF_SYSTEM;
    addr.ss_sysaddr = AF_SYS_CONTROL;
    addr.sc_id = info.ctl_id;
    addr.sc_unit = *sc_unit; // 0: the kernel picks; N + 1: utunN
    if (darwin::sys::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        int err = errno;
        if (err == EBUSY) throw SystemError(what + " (in use)", "connect(utun_control)", err);
        throw SystemError(what, "connect(utun_control)", err); // EPERM unless root
    }

    std::string name = utun_ifname(fd.get(), what);
    set_nonblocking_cloexec(fd.get(), ("device " + name).c_str());

    if (request.mtu != 0) {
        UniqueFd sock(darwin::sys::socket(AF_INET, SOCK_DGRAM, 0));
        if (!sock) throw_errno("device " + name, "socket(AF_INET)");
        ifreq ifr;
        std::memset(&ifr, 0, sizeof ifr);
        ::strlcpy(ifr.ifr_name, name.c_str(), sizeof ifr.ifr_name);
        ifr.ifr_mtu = static_cast<int>(request.mtu);
        if (darwin::sys::ioctl(sock.get(), SIOCSIFMTU, &ifr) < 0)
            throw_errno("device " + name + " (MTU " + std::to_string(request.mtu) + ")", "ioctl(SIOCSIFMTU)");
    }
    return std::make_unique<UtunDevice>(std::move(fd), std::move(name), true);
}

std::unique_ptr<Device> adopt_darwin_utun(AdoptRequest& request)
{
    UniqueFd fd = std::move(request.fds.at(0));
    const std::string what = "device " + request.name + " (adopted)";
    // Only a connected utun control socket answers this: it is the check
    // that the descriptor is what it claims to be, and names the interface.
    std::string name = utun_ifname(fd.get(), what);
    if (!request.name.empty() && name != request.name)
        throw InputError(what + ": the descriptor is " + name);
    // Made non-blocking by the opener (open_darwin_utun).
    adopt_configured(fd.get(), what.c_str());
    return std::make_unique<UtunDevice>(std::move(fd), std::move(name), false);
}

} // namespace feth::backends
