#include "peer_uid.hpp"

#include <unistd.h>

namespace feth::client {

std::optional<uid_t> peer_uid(int fd)
{
    uid_t uid = 0;
    gid_t gid = 0;
    if (::getpeereid(fd, &uid, &gid) != 0) return std::nullopt;
    return uid;
}

} // namespace feth::client
