// macOS has no memfd: a POSIX shm object under a random name, unlinked at
// once (only the descriptor names it then), as an anonymous file would be.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "shared_memory.hpp"
#include "base/error.hpp"

namespace feth::server {

UniqueFd open_shared_memory(std::size_t size, const char* what)
{
    for (int attempt = 0; attempt < 16; ++attempt) {
        char name[32]; // shm names are short on macOS (PSHMNAMLEN 31)
        std::snprintf(name, sizeof name, "/feth-sshd.%08x", static_cast<unsigned>(::arc4random()));
        UniqueFd fd(::shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
        if (!fd) {
            if (errno == EEXIST) continue;
            throw_errno(what, "shm_open");
        }
        ::shm_unlink(name);
        if (::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0) throw_errno(what, "fcntl(FD_CLOEXEC)");
        if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) throw_errno(what, "ftruncate");
        return fd;
    }
    throw SystemError(what, "shm_open", EEXIST);
}

} // namespace feth::server
