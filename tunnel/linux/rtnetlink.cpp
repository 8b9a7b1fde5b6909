#include "tunnel/linux/rtnetlink.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "base/error.hpp"
#include "base/fd.hpp"

namespace feth::backends::rtnl {

Message::Message(std::uint16_t type, std::uint16_t flags)
{
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    append(&h, sizeof h);
}

void Message::append(const void* data, std::size_t len)
{
    const auto* p = static_cast<const std::uint8_t*>(data);
    buf_.insert(buf_.end(), p, p + len);
    buf_.resize(NLMSG_ALIGN(buf_.size()), 0);
}

void Message::attr(std::uint16_t type, const void* data, std::size_t len)
{
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    const std::size_t at = buf_.size();
    buf_.resize(at + RTA_SPACE(len), 0);
    std::memcpy(buf_.data() + at, &a, sizeof a);
    if (len != 0) std::memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
}

std::size_t Message::begin_nest(std::uint16_t type)
{
    const std::size_t at = buf_.size();
    attr(type, nullptr, 0);
    return at;
}

void Message::end_nest(std::size_t at)
{
    const auto len = static_cast<unsigned short>(buf_.size() - at);
    std::memcpy(buf_.data() + at + offsetof(rtattr, rta_len), &len, sizeof len);
}

std::vector<std::uint8_t>& Message::finish(std::uint32_t seq)
{
    auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
    h->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
    h->nlmsg_seq = seq;
    return buf_;
}

void ifinfo(Message& m, int index, unsigned flags, unsigned change)
{
    ifinfomsg info{};
    info.ifi_family = AF_UNSPEC;
    info.ifi_index = index;
    info.ifi_flags = flags;
    info.ifi_change = change;
    m.append(&info, sizeof info);
}

int request(Message& message, const std::string& what)
{
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) throw_errno(what, "socket(AF_NETLINK)");
    static std::atomic<std::uint32_t> seq{1};
    const std::uint32_t my_seq = ++seq;
    auto& bytes = message.finish(my_seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        throw_errno(what, "sendto(NETLINK_ROUTE)");
    alignas(nlmsghdr) std::array<std::uint8_t, 8192> reply;
    for (;;) {
        ssize_t n = ::recv(fd.get(), reply.data(), reply.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(what, "recv(NETLINK_ROUTE)");
        }
        auto len = static_cast<unsigned>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(reply.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != my_seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EPROTO;
                return -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
            }
        }
    }
}

int delete_link(int index)
{
    Message m(RTM_DELLINK, 0);
    ifinfo(m, index);
    return request(m, "device");
}

} // namespace feth::backends::rtnl
