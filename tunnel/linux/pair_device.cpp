// The "pair" backend: the Linux twin of macOS's feth pairs, so the same
// two-interface design runs (and is tested) on Linux.
//
// A tunnel unit N is a veth pair made through rtnetlink: the visible end
// `feth<N>` is the user's (addresses, bridge membership), the peer
// `feth<N + 5000>` is where the tunnel does its I/O, like a feth peer on
// macOS. Frames are read from the peer through one AF_PACKET socket
// (recvmmsg batches) and written through another, two descriptors like
// bpf + NDRV. Frames are bare Ethernet frames, as on the wire.
//
// A pair this tunnel created is deleted when the device closes; a pair that
// already existed (both names present and linked to each other) is used as
// found and left as found, except that a TunnelMTU is set on both ends.
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tunnel/backends.hpp"
#include "tunnel/error.hpp"
#include "tunnel/fd.hpp"
#include "tunnel/feth_naming.hpp"
#include "tunnel/linux/rtnetlink.hpp"
#include "tunnel/log.hpp"
#include "tunnel/mtu.hpp"

namespace feth::backends {
namespace {

// ---- rtnetlink requests (tunnel/linux/rtnetlink.hpp) ----

void create_veth(const naming::PairNames& names, const naming::Mac& visible_mac, const naming::Mac& peer_mac,
                 unsigned mtu)
{
    rtnl::Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    rtnl::ifinfo(m, 0);
    m.attr_string(IFLA_IFNAME, names.visible);
    m.attr(IFLA_ADDRESS, visible_mac.data(), visible_mac.size());
    if (mtu != 0) m.attr_u32(IFLA_MTU, mtu);
    auto linkinfo = m.begin_nest(IFLA_LINKINFO);
    m.attr_string(IFLA_INFO_KIND, "veth");
    auto data = m.begin_nest(IFLA_INFO_DATA);
    auto peer = m.begin_nest(VETH_INFO_PEER);
    rtnl::ifinfo(m, 0); // VETH_INFO_PEER carries an ifinfomsg, then the peer's attributes
    m.attr_string(IFLA_IFNAME, names.peer);
    m.attr(IFLA_ADDRESS, peer_mac.data(), peer_mac.size());
    if (mtu != 0) m.attr_u32(IFLA_MTU, mtu);
    m.end_nest(peer);
    m.end_nest(data);
    m.end_nest(linkinfo);
    const std::string what = "device " + names.visible + " (peer " + names.peer + ")";
    if (int err = rtnl::request(m, what); err != 0) {
        if (err == EEXIST) throw SystemError(what + ": an interface with one of these names exists",
                                             "RTM_NEWLINK(veth)", err);
        throw SystemError(what, "RTM_NEWLINK(veth)", err);
    }
}

void set_up(const std::string& name, int index)
{
    rtnl::Message m(RTM_NEWLINK, 0);
    rtnl::ifinfo(m, index, IFF_UP, IFF_UP);
    if (int err = rtnl::request(m, "device " + name); err != 0)
        throw SystemError("device " + name, "RTM_NEWLINK(IFF_UP)", err);
}

// The peer is a private I/O port: no IPv6 link-local address, so the kernel
// sends no DAD or router solicitations from it onto the user's segment.
// Best effort (IPv6 may be disabled).
void no_ipv6_on(int index)
{
    rtnl::Message m(RTM_NEWLINK, 0);
    rtnl::ifinfo(m, index);
    auto spec = m.begin_nest(IFLA_AF_SPEC);
    auto inet6 = m.begin_nest(AF_INET6);
    std::uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
    m.attr(IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof mode);
    m.end_nest(inet6);
    m.end_nest(spec);
    (void)rtnl::request(m, "device");
}

// veth offloads would hand the peer TCP super-frames and frames whose
// checksum is left for hardware: the visible end must produce finished
// frames, as a real wire would carry them. Turning transmit checksumming
// off also turns off scatter-gather and TSO, which depend on it; GSO is
// turned off explicitly. Failures are logged, not fatal.
void finish_frames_in_software(const std::string& name)
{
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return;
    for (std::uint32_t cmd : {std::uint32_t{ETHTOOL_STXCSUM}, std::uint32_t{ETHTOOL_STSO}, std::uint32_t{ETHTOOL_SGSO}}) {
        ethtool_value value{};
        value.cmd = cmd;
        value.data = 0;
        ifreq ifr{};
        std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
        ifr.ifr_data = reinterpret_cast<char*>(&value);
        if (::ioctl(sock.get(), SIOCETHTOOL, &ifr) < 0)
            LOG_VERBOSE("device %s: ioctl(SIOCETHTOOL %#x): %s", name.c_str(), cmd, errno_text(errno).c_str());
    }
}

unsigned interface_mtu(int sock, const std::string& name)
{
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(sock, SIOCGIFMTU, &ifr) < 0) throw_errno("device " + name, "ioctl(SIOCGIFMTU)");
    return static_cast<unsigned>(ifr.ifr_mtu);
}

// A pair found as the admin left it gets the requested MTU on both ends (a
// veth end drops frames larger than its MTU on either side); see
// mtu::to_set. The change outlives the tunnel, like the pair itself.
void adjust_existing_mtu(const naming::PairNames& names, unsigned requested)
{
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) throw_errno("device " + names.visible, "socket(AF_INET)");
    for (const std::string* name : {&names.peer, &names.visible}) {
        const unsigned current = interface_mtu(sock.get(), *name);
        auto want = mtu::to_set(requested, current, wire::kMaxEthernetMtu);
        if (!want) continue;
        struct ifreq ifr {};
        std::strncpy(ifr.ifr_name, name->c_str(), IFNAMSIZ - 1);
        ifr.ifr_mtu = static_cast<int>(*want);
        if (::ioctl(sock.get(), SIOCSIFMTU, &ifr) < 0)
            throw_errno("device " + *name + " (MTU " + std::to_string(*want) + ")", "ioctl(SIOCSIFMTU)");
        LOG_INFO("device %s: MTU %u -> %u (existing pair %s/%s)", name->c_str(), current, *want,
                 names.visible.c_str(), names.peer.c_str());
    }
}

std::vector<std::string> interface_names()
{
    std::vector<std::string> names;
    if (struct if_nameindex* list = ::if_nameindex()) {
        for (auto* p = list; p->if_index != 0 && p->if_name != nullptr; ++p) names.emplace_back(p->if_name);
        ::if_freenameindex(list);
    } else {
        throw_errno("device pair", "if_nameindex");
    }
    return names;
}

// The ifindex a veth end is linked to (IFLA_LINK), asked of rtnetlink:
// sysfs would show the namespace it was mounted in, not ours. 0 when
// unknown.
int veth_link_of(int index)
{
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return 0;
    struct {
        nlmsghdr h;
        ifinfomsg info;
    } request{};
    request.h.nlmsg_len = sizeof request;
    request.h.nlmsg_type = RTM_GETLINK;
    request.h.nlmsg_flags = NLM_F_REQUEST;
    request.h.nlmsg_seq = 1;
    request.info.ifi_family = AF_UNSPEC;
    request.info.ifi_index = index;
    if (::send(fd.get(), &request, sizeof request, 0) < 0) return 0;
    alignas(nlmsghdr) std::array<std::uint8_t, 16384> reply;
    ssize_t n;
    do n = ::recv(fd.get(), reply.data(), reply.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return 0;
    auto len = static_cast<unsigned>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
        auto* info = static_cast<ifinfomsg*>(NLMSG_DATA(h));
        if (info->ifi_index != index) continue;
        unsigned attr_len = h->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg));
        for (auto* a = IFLA_RTA(info); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
            if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) >= sizeof(std::uint32_t)) {
                std::uint32_t link = 0;
                std::memcpy(&link, RTA_DATA(a), sizeof link);
                return static_cast<int>(link);
            }
        }
    }
    return 0;
}

// A stable host identity for the MAC addresses.
std::string machine_seed()
{
    for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
        std::ifstream in(path);
        std::string id;
        if (in >> id && !id.empty()) return id;
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return host;
}

// ---- the pair's lifecycle ----

// A veth pair this process may own: deletes it on destruction when it made
// it, leaves it as found otherwise. Knows nothing about frames.
class VethPair {
public:
    VethPair(naming::PairNames names, bool created) : names_(std::move(names)), created_(created) {}
    VethPair(VethPair&& other) noexcept : names_(std::move(other.names_)), created_(std::exchange(other.created_, false))
    {
    }
    VethPair& operator=(VethPair&&) = delete;
    VethPair(const VethPair&) = delete;

    ~VethPair()
    {
        if (!created_) return;
        int index = static_cast<int>(::if_nametoindex(names_.visible.c_str()));
        if (index == 0) return; // already gone
        if (int err = rtnl::delete_link(index); err != 0 && err != ENODEV)
            LOG_ERROR("device %s: RTM_DELLINK: %s", names_.visible.c_str(), errno_text(err).c_str());
    }

    const naming::PairNames& names() const { return names_; }
    bool created() const { return created_; }

private:
    naming::PairNames names_;
    bool created_;
};

// ---- the pair's I/O ----

struct PacketSockets {
    UniqueFd read;
    UniqueFd write;
};

// The two AF_PACKET sockets on the I/O end `peer`.
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

// Frames in and out of the I/O end through two AF_PACKET sockets, reads
// batched with recvmmsg. Owns the sockets, not the interfaces: this is all
// a privilege-separated child gets.
class PacketIo {
public:
    PacketIo(std::string peer, PacketSockets sockets)
        : peer_(std::move(peer)), read_fd_(std::move(sockets.read)), write_fd_(std::move(sockets.write)),
          buffers_(kBatch * kSlot)
    {
    }

    ~PacketIo()
    {
        if (oversized_ != 0)
            LOG_VERBOSE("device %s: dropped %llu frames larger than a tunnel frame", peer_.c_str(),
                        static_cast<unsigned long long>(oversized_));
    }

    int read_fd() const { return read_fd_.get(); }
    int write_fd() const { return write_fd_.get(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames)
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

    WriteResult write_frame(std::span<const std::uint8_t> frame)
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

private:
    static constexpr std::size_t kBatch = 32;
    static constexpr std::size_t kSlot = wire::kMaxFrame;

    std::string peer_;
    UniqueFd read_fd_;
    UniqueFd write_fd_;
    std::vector<std::uint8_t> buffers_;
    std::array<iovec, kBatch> iov_{};
    std::array<mmsghdr, kBatch> msgs_{};
    std::array<sockaddr_ll, kBatch> from_{};
    std::size_t received_ = 0; // frames in the current recvmmsg batch
    std::size_t next_ = 0;     // the next of them to hand out
    std::uint64_t oversized_ = 0;
};

// ---- the device ----

// The I/O, plus the pair itself when this process owns it (absent in an
// adopted device: the opener keeps and removes the pair).
class PairDevice final : public Device {
public:
    PairDevice(naming::PairNames names, std::optional<VethPair> pair, PacketSockets sockets)
        : pair_(std::move(pair)), names_(std::move(names)), io_(names_.peer, std::move(sockets))
    {
    }

    const std::string& name() const override { return names_.visible; }
    const std::string& io_name() const override { return names_.peer; }
    TunMode mode() const override { return TunMode::Ethernet; }
    const char* backend() const override { return "pair"; }
    bool created() const override { return pair_ && pair_->created(); }
    int read_fd() const override { return io_.read_fd(); }
    int write_fd() const override { return io_.write_fd(); }

    std::size_t read_frames(FrameSink& sink, std::size_t max_frames) override
    {
        return io_.read_frames(sink, max_frames);
    }
    WriteResult write_frame(std::span<const std::uint8_t> frame) override { return io_.write_frame(frame); }

private:
    std::optional<VethPair> pair_; // first: destroyed last, after the sockets close
    naming::PairNames names_;
    PacketIo io_;
};

// Opens the sockets on a pair and hands both to a device; if the sockets
// fail, `pair` removes what it created.
std::unique_ptr<Device> open_on(VethPair pair)
{
    naming::PairNames names = pair.names();
    PacketSockets sockets = open_packet_sockets(names.visible, names.peer);
    return std::make_unique<PairDevice>(std::move(names), std::optional<VethPair>(std::move(pair)),
                                        std::move(sockets));
}

VethPair create_pair(const naming::PairNames& names, unsigned mtu)
{
    const std::string seed = machine_seed();
    create_veth(names, naming::stable_mac(seed, names.unit, naming::Role::Visible),
                naming::stable_mac(seed, names.unit, naming::Role::Peer), mtu);
    // From here on `pair` owns the interfaces and deletes them if anything fails.
    VethPair pair(names, true);
    int peer_index = static_cast<int>(::if_nametoindex(names.peer.c_str()));
    int visible_index = static_cast<int>(::if_nametoindex(names.visible.c_str()));
    if (peer_index == 0 || visible_index == 0) throw_errno("device " + names.visible, "if_nametoindex");
    finish_frames_in_software(names.visible);
    no_ipv6_on(peer_index);
    set_up(names.peer, peer_index);
    // Up like a fresh feth would be once configured; addresses are the
    // user's business.
    set_up(names.visible, visible_index);
    return pair;
}

void expect_packet_socket(int fd, const std::string& what)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) throw_errno(what, "getsockopt(SO_DOMAIN)");
    if (domain != AF_PACKET) throw InputError(what + ": an adopted descriptor is not an AF_PACKET socket");
    set_nonblocking_cloexec(fd, what.c_str());
}

} // namespace

std::unique_ptr<Device> open_linux_pair(const DeviceRequest& request)
{
    if (request.mode != TunMode::Ethernet) throw InputError("the pair backend carries ethernet tunnels only");
    if (request.mtu != 0 && (request.mtu < mtu::kLinux.min || request.mtu > mtu::kLinux.max))
        throw InputError("device pair: MTU " + std::to_string(request.mtu) + " is out of range (" +
                         std::to_string(mtu::kLinux.min) + " to " + std::to_string(mtu::kLinux.max) + ")");

    if (request.unit != kTunUnitAny) {
        auto names = naming::pair_names(request.unit);
        if (!names)
            throw InputError("device feth" + std::to_string(request.unit) + ": unit too large for a pair (max " +
                             std::to_string(naming::kMaxUnit - naming::kDefaultPeerOffset) + ")");
        const unsigned visible_index = ::if_nametoindex(names->visible.c_str());
        const unsigned peer_index = ::if_nametoindex(names->peer.c_str());
        if (visible_index != 0 && peer_index != 0 &&
            veth_link_of(static_cast<int>(peer_index)) == static_cast<int>(visible_index)) {
            adjust_existing_mtu(*names, request.mtu);
            return open_on(VethPair(*names, false)); // as found, but for the MTU asked for
        }
        if (visible_index != 0 || peer_index != 0) {
            const std::string& there = visible_index != 0 ? names->visible : names->peer;
            throw SystemError("device " + there + " exists but is not half of the veth pair " + names->visible +
                                  "/" + names->peer,
                              "RTM_NEWLINK(veth)", EEXIST);
        }
        return open_on(create_pair(*names, request.mtu));
    }

    // "any": pick the lowest free pair; another process may take it first,
    // so try again a few times with a fresh list.
    for (int attempt = 0;; ++attempt) {
        auto names = naming::pick_free_pair(interface_names());
        if (!names) throw SystemError("device pair: no free feth unit", "RTM_NEWLINK(veth)", ENOSPC);
        try {
            return open_on(create_pair(*names, request.mtu));
        } catch (const SystemError& e) {
            if (e.code() != EEXIST || attempt >= 4) throw;
        }
    }
}

std::unique_ptr<Device> adopt_linux_pair(AdoptRequest& request)
{
    if (request.io_name.empty()) throw InputError("device " + request.name + ": an adopted pair needs its I/O end's name");
    const std::string what = "device " + request.name + " (peer " + request.io_name + ", adopted)";
    PacketSockets sockets{std::move(request.fds.at(0)), std::move(request.fds.at(1))};
    expect_packet_socket(sockets.read.get(), what);
    expect_packet_socket(sockets.write.get(), what);
    naming::PairNames names;
    names.visible = request.name;
    names.peer = request.io_name;
    return std::make_unique<PairDevice>(std::move(names), std::nullopt, std::move(sockets));
}

} // namespace feth::backends
