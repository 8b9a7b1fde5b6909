#include "peer_uid.hpp"

#include <sys/socket.h>

namespace feth::client {

std::optional<uid_t> peer_uid(int fd)
{
    struct ucred cred {};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return std::nullopt;
    return cred.uid;
}

} // namespace feth::client
