// The uid of the process at the other end of a connected Unix socket, as
// the kernel vouches for it (Linux: SO_PEERCRED; macOS: getpeereid): one
// small file per platform (peer_uid_linux.cpp, peer_uid_darwin.cpp).
#pragma once

#include <sys/types.h>

#include <optional>

namespace feth::client {

// nullopt when the kernel will not say (errno set).
std::optional<uid_t> peer_uid(int fd);

} // namespace feth::client
