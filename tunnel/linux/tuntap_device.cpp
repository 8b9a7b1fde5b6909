// Linux tap (ethernet) and tun (point-to-point) through /dev/net/tun.
// IFF_NO_PI: no packet-info header; in point-to-point mode the wire's 4-byte
// family header is added from the IP version nibble on read and stripped on
// write. A device that did not exist before is created without TUNSETPERSIST,
// so the kernel removes it when our descriptor closes, however the process
// ends; and when the device object is destroyed it deletes the interface
// explicitly (RTM_DELLINK), so that it goes even if someone else holding a
// copy of the descriptor (a privilege-separated child) made it persistent,
// changed its owner or kept a dup. A persistent device the admin made is
// attached to and left as found. An adopted descriptor (privilege
// separation: the monitor opened it) is read and written only; the monitor
// removes the interface.
#include <fcntl.h>
#include <net/if.h> // before linux/if_tun.h, which would pull in linux/if.h
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

#include "tunnel/backends.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "tunnel/linux/rtnetlink.hpp"
#include "base/log.hpp"
#include "tunnel/mtu.hpp"

namespace feth::backends {
namespace {

constexpr const char* kCloneDevice = "/dev/net/tun";

UniqueFd inet_socket(const std::string& name)
{
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("device " + name, "socket(AF_INET)");
    return sock;
}

// The socket kept by prepare_linux_tuntap_queries(), for a process that
// may not open one later (the sandboxed network child).
UniqueFd& kept_query_socket()
{
    static UniqueFd sock;
    return sock;
}

unsigned interface_mtu(const std::string& name)
{
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    UniqueFd own;
    int fd = kept_query_socket().get();
    if (fd < 0) {
        own = inet_socket(name);
        fd = own.get();
    }
    if (::ioctl(fd, SIOCGIFMTU, &ifr) < 0) throw_errno("device " + name, "ioctl(SIOCGIFMTU)");
    return static_cast<unsigned>(ifr.ifr_mtu);
}

void set_interface_mtu(const std::string& name, unsigned mtu)
{
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (::ioctl(inet_socket(name).get(), SIOCSIFMTU, &ifr) < 0)
        throw_errno("device " + name + " (MTU " + std::to_string(mtu) + ")", "ioctl(SIOCSIFMTU)");
}

std::string requested_name(const DeviceRequest& request)
{
    const char* prefix = request.mode == TunMode::Ethernet ? "tap" : "tun";
    if (request.unit == kTunUnitAny) return std::string(prefix) + "%d"; // the kernel picks
    return prefix + std::to_string(request.unit);
}

class TunTapDevice final : public Device {
public:
    TunTapDevice(UniqueFd fd, std::string name, TunMode mode, bool created)
        : fd_(std::move(fd)), name_(std::move(name)), mode_(mode), created_(created),
          index_(created ? ::if_nametoindex(name_.c_str()) : 0)
    {
    }

    // Before our descriptor closes, so that the interface is still the one
    // it is attached to.
    ~TunTapDevice() override
    {
        if (created_) remove_interface();
    }
    TunTapDevice(const TunTapDevice&) = delete;
    TunTapDevice& operator=(const TunTapDevice&) = delete;

    const std::string& name() const override { return name_; }
    const std::string& io_name() const override { return no_io_name_; }
    TunMode mode() const override { return mode_; }
    const char* backend() const override { return mode_ == TunMode::Ethernet ? "tap" : "tun"; }
    bool created() const override { return created_; }
    int read_fd() const override { return fd_.get(); }
    int write_fd() const override { return fd_.get(); }

    // A tap takes frames of any size (tun_get_user checks none), so the
    // pump needs the MTU to drop what the link could never carry. The tun
    // descriptor answers no SIOCGIFMTU: ask through a socket.
    unsigned mtu() const override
    {
        try {
            return interface_mtu(name_);
        } catch (const std::exception& e) {
            LOG_DEBUG2("%s", e.what());
            return 0;
        }
    }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        // Leave room in front for the family header so that point-to-point
        // frames need no copy.
        const std::size_t head = mode_ == TunMode::PointToPoint ? wire::kAfHeaderLen : 0;
        std::size_t count = 0;
        while (count < max_frames) {
            ssize_t n = ::read(fd_.get(), buf_.data() + head, buf_.size() - head);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                throw_errno("device " + name_, "read");
            }
            if (n == 0) throw SystemError("device " + name_, "read", EPIPE);
            ++count;
            std::span<std::uint8_t> frame(buf_.data(), static_cast<std::size_t>(n) + head);
            if (head != 0) {
                auto header = frame.first<wire::kAfHeaderLen>();
                // A packet that is neither IPv4 nor IPv6 leaves the header
                // zero; check_frame drops it as BadIpVersion.
                if (!wire::put_af_header(header, frame.subspan(head))) std::memset(header.data(), 0, head);
            }
            if (!sink.on_frame(frame)) break;
        }
        return count;
    }

    WriteResult write_frame(std::span<const std::uint8_t> frame) override
    {
        if (mode_ == TunMode::PointToPoint) frame = frame.subspan(wire::kAfHeaderLen);
        for (;;) {
            ssize_t n = ::write(fd_.get(), frame.data(), frame.size());
            if (n >= 0) return WriteResult::Written;
            switch (errno) {
            case EINTR: continue;
            case EAGAIN: return WriteResult::WouldBlock;
            case EINVAL:
            case EMSGSIZE:
            case EFAULT:
            case EIO: return WriteResult::Rejected; // this frame only
            default: throw_errno("device " + name_, "write");
            }
        }
    }

private:
    // The interface our descriptor is attached to, asked of the descriptor
    // itself (the admin may have renamed it); the index noted at creation
    // when the descriptor no longer says (detached: the interface is gone
    // or going). The kernel deletes a tap or tun by index whatever its
    // persist flag, owner or other descriptors.
    void remove_interface() noexcept
    {
        int index = 0;
        struct ifreq ifr {};
        if (::ioctl(fd_.get(), TUNGETIFF, &ifr) == 0) {
            std::string now(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
            index = static_cast<int>(::if_nametoindex(now.c_str()));
        } else if (index_ != 0) {
            char now[IF_NAMESIZE] = {};
            if (::if_indextoname(index_, now) != nullptr && name_ == now) index = static_cast<int>(index_);
        }
        if (index == 0) return; // already gone
        try {
            if (int err = rtnl::delete_link(index); err != 0 && err != ENODEV)
                LOG_ERROR("device %s: RTM_DELLINK: %s", name_.c_str(), errno_text(err).c_str());
        } catch (const std::exception& e) {
            LOG_ERROR("device %s: %s", name_.c_str(), e.what());
        }
    }

    UniqueFd fd_;
    std::string name_;
    std::string no_io_name_;
    TunMode mode_;
    bool created_;
    unsigned index_; // at creation; 0 when not ours to remove
    // One frame at the largest size a peer may send, plus the header room.
    std::array<std::uint8_t, wire::kMaxFrame + 2 * wire::kAfHeaderLen> buf_{};
};

} // namespace

std::unique_ptr<Device> open_linux_tuntap(const DeviceRequest& request)
{
    std::string name = requested_name(request);
    const std::string what = "device " + name;
    if (name.size() >= IFNAMSIZ) throw InputError(what + ": interface name too long");

    // An interface that is already there belongs to someone else: attach to
    // it if the kernel lets us (a persistent tap made by the admin) and never
    // remove it.
    bool existed = request.unit != kTunUnitAny && ::if_nametoindex(name.c_str()) != 0;

    UniqueFd fd(::open(kCloneDevice, O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fd) throw_errno(what, "open(/dev/net/tun)");

    struct ifreq ifr {};
    ifr.ifr_flags = static_cast<short>((request.mode == TunMode::Ethernet ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
        int err = errno;
        if (err == EBUSY) throw SystemError(what + " (in use by another process)", "ioctl(TUNSETIFF)", err);
        if (err == EINVAL && existed)
            throw SystemError(what + " (exists but is not a " + (request.mode == TunMode::Ethernet ? "tap" : "tun") +
                                  " device)",
                              "ioctl(TUNSETIFF)", err);
        throw SystemError(what, "ioctl(TUNSETIFF)", err);
    }
    name.assign(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));

    // An MTU above what a frame may carry would only make frames we must
    // drop: ask for at most that, and bring down a larger one found on an
    // existing device.
    const unsigned max_mtu = request.mode == TunMode::Ethernet ? wire::kMaxEthernetMtu : wire::kMaxPointToPointMtu;
    if (request.mtu > max_mtu)
        throw InputError("device " + name + ": MTU " + std::to_string(request.mtu) + " is above " +
                         std::to_string(max_mtu) + ", the largest a tunnel frame carries");
    const unsigned current = interface_mtu(name);
    if (auto want = mtu::to_set(request.mtu, current, max_mtu)) {
        set_interface_mtu(name, *want);
        // The admin's persistent device keeps the new MTU after we leave.
        if (existed) LOG_INFO("device %s: MTU %u -> %u (existing device)", name.c_str(), current, *want);
    }
    return std::make_unique<TunTapDevice>(std::move(fd), std::move(name), request.mode, !existed);
}

void prepare_linux_tuntap_queries()
{
    if (!kept_query_socket()) kept_query_socket().reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

std::unique_ptr<Device> adopt_linux_tuntap(AdoptRequest& request)
{
    UniqueFd fd = std::move(request.fds.at(0));
    const std::string what = "device " + request.name + " (adopted)";
    // The kernel knows what the descriptor is attached to: a descriptor that
    // is no tun/tap, or one of the other kind, would only move garbage.
    struct ifreq ifr {};
    if (::ioctl(fd.get(), TUNGETIFF, &ifr) < 0) throw_errno(what, "ioctl(TUNGETIFF)");
    const bool is_tap = (ifr.ifr_flags & IFF_TAP) != 0;
    if (is_tap != (request.mode == TunMode::Ethernet) || (ifr.ifr_flags & IFF_NO_PI) == 0)
        throw InputError(what + ": the descriptor is not a " + (request.mode == TunMode::Ethernet ? "tap" : "tun") +
                         " device without packet information");
    std::string name(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
    if (!request.name.empty() && name != request.name)
        throw InputError(what + ": the descriptor is attached to " + name);
    set_nonblocking_cloexec(fd.get(), what.c_str());
    return std::make_unique<TunTapDevice>(std::move(fd), std::move(name), request.mode, false);
}

} // namespace feth::backends
