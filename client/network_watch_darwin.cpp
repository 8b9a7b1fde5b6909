// The routing socket (PF_ROUTE), what "route -n monitor" reads: addresses
// (RTM_NEWADDR, RTM_DELADDR), routes (RTM_ADD, RTM_DELETE, RTM_CHANGE) and
// interface state (RTM_IFINFO: a link that came up after a wake or a new
// Wi-Fi). No privilege needed to listen.
#include "network_watch.hpp"

#include <net/if.h>
#include <net/route.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace feth::client {
namespace {

class DarwinNetworkWatch final : public NetworkWatch {
public:
    DarwinNetworkWatch(UniqueFd fd, std::string ignored) : fd_(std::move(fd)), ignored_(std::move(ignored)) {}

    int fd() const override { return fd_.get(); }

    bool changed() override
    {
        const unsigned own = ignored_.empty() ? 0 : ::if_nametoindex(ignored_.c_str());
        bool any = false;
        for (;;) {
            ssize_t n = ::recv(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == ENOBUFS) {
                any = true; // messages were lost: something changed
                continue;
            }
            if (n <= 0) break;
            // One message per read on a routing socket; its header says
            // what it is. A short or foreign one is skipped.
            if (static_cast<std::size_t>(n) < sizeof(rt_msghdr)) continue;
            rt_msghdr rtm{};
            std::memcpy(&rtm, buf_.data(), sizeof rtm);
            if (rtm.rtm_version != RTM_VERSION) continue;
            unsigned index = 0;
            switch (rtm.rtm_type) {
            case RTM_NEWADDR:
            case RTM_DELADDR: {
                if (static_cast<std::size_t>(n) < sizeof(ifa_msghdr)) continue;
                ifa_msghdr ifam{};
                std::memcpy(&ifam, buf_.data(), sizeof ifam);
                index = ifam.ifam_index;
                break;
            }
            case RTM_IFINFO: {
                if (static_cast<std::size_t>(n) < sizeof(if_msghdr)) continue;
                if_msghdr ifm{};
                std::memcpy(&ifm, buf_.data(), sizeof ifm);
                index = ifm.ifm_index;
                break;
            }
            case RTM_ADD:
            case RTM_DELETE:
            case RTM_CHANGE:
                // Host routes cloned for each peer and ARP/ND entries come and
                // go with traffic (our own connects too): not a change.
                if ((rtm.rtm_flags & (RTF_WASCLONED | RTF_LLINFO)) != 0) continue;
                index = rtm.rtm_index;
                break;
            default: continue;
            }
            if (own != 0 && index == own) continue;
            any = true;
        }
        return any;
    }

private:
    UniqueFd fd_;
    std::string ignored_;
    std::array<char, 4096> buf_{};
};

} // namespace

std::unique_ptr<NetworkWatch> open_network_watch(const std::string& ignored_interface)
{
    UniqueFd fd = open_socket(PF_ROUTE, SOCK_RAW, AF_UNSPEC, IoMode::nonblocking);
    if (!fd) {
        LOG_VERBOSE("network changes are not watched: socket(PF_ROUTE): %s", errno_text(errno).c_str());
        return nullptr;
    }
    return std::make_unique<DarwinNetworkWatch>(std::move(fd), ignored_interface);
}

} // namespace feth::client
