#include <sys/mman.h>
#include <unistd.h>

#include "shared_memory.hpp"
#include "base/error.hpp"

namespace feth::server {

UniqueFd open_shared_memory(std::size_t size, const char* what)
{
    UniqueFd fd(::memfd_create("feth-sshd-status", MFD_CLOEXEC));
    if (!fd) throw_errno(what, "memfd_create");
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) throw_errno(what, "ftruncate");
    return fd;
}

} // namespace feth::server
