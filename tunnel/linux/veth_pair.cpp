// The veth pair of the "pair" backend (veth_pair.hpp): the rtnetlink
// requests that make and remove it, and the ioctls that finish it.
#include "tunnel/linux/veth_pair.hpp"

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
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
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "tunnel/linux/rtnetlink.hpp"
#include "base/log.hpp"
#include "tunnel/mtu.hpp"
#include "tunnel/wire.hpp"

namespace feth::backends::veth {
namespace {

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

} // namespace

VethPair::~VethPair()
{
    if (!created_) return;
    int index = static_cast<int>(::if_nametoindex(names_.visible.c_str()));
    if (index == 0) return; // already gone
    if (int err = rtnl::delete_link(index); err != 0 && err != ENODEV)
        LOG_ERROR("device %s: RTM_DELLINK: %s", names_.visible.c_str(), errno_text(err).c_str());
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

bool is_existing_pair(const naming::PairNames& names)
{
    const unsigned visible_index = ::if_nametoindex(names.visible.c_str());
    const unsigned peer_index = ::if_nametoindex(names.peer.c_str());
    return visible_index != 0 && peer_index != 0 &&
           veth_link_of(static_cast<int>(peer_index)) == static_cast<int>(visible_index);
}

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

namespace {

// The hardware address of `name`; nullopt when the kernel will not say.
std::optional<naming::Mac> mac_of(int sock, const std::string& name)
{
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) return std::nullopt;
    naming::Mac mac;
    std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
    return mac;
}

} // namespace

bool is_ours(const naming::PairNames& names)
{
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return false;
    const std::string seed = machine_seed();
    auto visible = mac_of(sock.get(), names.visible);
    auto peer = mac_of(sock.get(), names.peer);
    return visible && peer && *visible == naming::stable_mac(seed, names.unit, naming::Role::Visible) &&
           *peer == naming::stable_mac(seed, names.unit, naming::Role::Peer);
}

void remove_pair(const naming::PairNames& names)
{
    const int index = static_cast<int>(::if_nametoindex(names.visible.c_str()));
    if (index == 0) return;
    if (int err = rtnl::delete_link(index); err != 0 && err != ENODEV)
        throw SystemError("device " + names.visible + " (peer " + names.peer + ")", "RTM_DELLINK", err);
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

} // namespace feth::backends::veth
