// Reading the network-change socket, the same on every platform
// (network_watch.hpp); what a message says is the platform's file.
#include "network_watch.hpp"

#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

namespace feth::client {

NetworkWatch::NetworkWatch(UniqueFd fd, std::string ignored_interface, std::unique_ptr<Feed> feed)
    : fd_(std::move(fd)), ignored_(std::move(ignored_interface)), feed_(std::move(feed))
{
}

bool NetworkWatch::changed()
{
    // The tunnel's index now: a device re-created keeps its name.
    const unsigned own = ignored_.empty() ? 0 : ::if_nametoindex(ignored_.c_str());
    bool any = false;
    for (;;) {
        const ssize_t n = ::recv(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOBUFS) {
            any = true; // the kernel dropped messages: something changed
            continue;
        }
        if (n <= 0) break;
        if (tells_of_change(buf_.data(), static_cast<std::size_t>(n), own)) any = true;
    }
    return any;
}

} // namespace feth::client
