// Anonymous shared memory that survives an exec: a descriptor, which the
// listener hands to each connection's session program (the status table,
// status.hpp). One small function per OS: memfd on Linux
// (shared_memory_linux.cpp), an unlinked POSIX shm object on macOS
// (shared_memory_darwin.cpp).
#pragma once

#include <cstddef>

#include "base/fd.hpp"

namespace feth::server {

// A zero-filled object of `size` bytes, close-on-exec. Throws SystemError
// naming `what`.
UniqueFd open_shared_memory(std::size_t size, const char* what);

} // namespace feth::server
