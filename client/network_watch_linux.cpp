// rtnetlink: RTM_NEWADDR/RTM_DELADDR and RTM_NEWROUTE/RTM_DELROUTE for IPv4
// and IPv6 (the groups "ip monitor address route" joins; no privilege
// needed to listen).
#include "network_watch.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace feth::client {
namespace {

// The interface a route goes out of (RTA_OIF), 0 when it does not say.
unsigned route_interface(const nlmsghdr* h)
{
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
    int len = static_cast<int>(RTM_PAYLOAD(h));
    for (const rtattr* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int)) return *static_cast<const unsigned*>(RTA_DATA(a));
    return 0;
}

} // namespace

// A read of rtnetlink holds one or more messages.
bool tells_of_change(const char* data, std::size_t n, unsigned own)
{
    bool any = false;
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(h, static_cast<unsigned>(len));
         h = NLMSG_NEXT(h, len)) {
        unsigned index = 0;
        if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
            index = static_cast<const ifaddrmsg*>(NLMSG_DATA(h))->ifa_index;
        } else if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) {
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) continue;
            index = route_interface(h);
        } else {
            continue;
        }
        if (own == 0 || index != own) any = true;
    }
    return any;
}

std::unique_ptr<NetworkWatch> open_network_watch(const std::string& ignored_interface)
{
    UniqueFd fd = open_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, IoMode::nonblocking);
    if (!fd) {
        LOG_VERBOSE("network changes are not watched: socket(AF_NETLINK): %s", errno_text(errno).c_str());
        return nullptr;
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        LOG_VERBOSE("network changes are not watched: bind(rtnetlink groups): %s", errno_text(errno).c_str());
        return nullptr;
    }
    return std::make_unique<NetworkWatch>(std::move(fd), ignored_interface);
}

} // namespace feth::client
