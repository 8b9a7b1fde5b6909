// The routing socket (PF_ROUTE), what "route -n monitor" reads: addresses
// (RTM_NEWADDR, RTM_DELADDR), routes (RTM_ADD, RTM_DELETE, RTM_CHANGE) and
// interface state (RTM_IFINFO: a link that came up after a wake or a new
// Wi-Fi). No privilege needed to listen.
#include "network_watch.hpp"

#include <net/if.h>
#include <net/route.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace feth::client {

// One message per read on a routing socket; its header says what it is.
bool tells_of_change(const char* data, std::size_t n, unsigned own)
{
    if (n < sizeof(rt_msghdr)) return false;
    rt_msghdr rtm{};
    std::memcpy(&rtm, data, sizeof rtm);
    if (rtm.rtm_version != RTM_VERSION) return false;
    unsigned index = 0;
    switch (rtm.rtm_type) {
    case RTM_NEWADDR:
    case RTM_DELADDR: {
        if (n < sizeof(ifa_msghdr)) return false;
        ifa_msghdr ifam{};
        std::memcpy(&ifam, data, sizeof ifam);
        index = ifam.ifam_index;
        break;
    }
    case RTM_IFINFO: {
        if (n < sizeof(if_msghdr)) return false;
        if_msghdr ifm{};
        std::memcpy(&ifm, data, sizeof ifm);
        index = ifm.ifm_index;
        break;
    }
    case RTM_ADD:
    case RTM_DELETE:
    case RTM_CHANGE:
        // Host routes cloned for each peer and ARP/ND entries come and go
        // with traffic (our own connects too): not a change.
        if ((rtm.rtm_flags & (RTF_WASCLONED | RTF_LLINFO)) != 0) return false;
        index = rtm.rtm_index;
        break;
    default: return false;
    }
    return own == 0 || index != own;
}

std::unique_ptr<NetworkWatch> open_network_watch(const std::string& ignored_interface)
{
    UniqueFd fd = open_socket(PF_ROUTE, SOCK_RAW, AF_UNSPEC, IoMode::nonblocking);
    if (!fd) {
        LOG_VERBOSE("network changes are not watched: socket(PF_ROUTE): %s", errno_text(errno).c_str());
        return nullptr;
    }
    return std::make_unique<NetworkWatch>(std::move(fd), ignored_interface);
}

} // namespace feth::client
