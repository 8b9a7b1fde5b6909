#include "fd.hpp"

#include <fcntl.h>

#include "error.hpp"

namespace feth {

void set_nonblocking_cloexec(int fd, const char* what)
{
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw_errno(what, "fcntl(O_NONBLOCK)");
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl < 0 || ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) throw_errno(what, "fcntl(FD_CLOEXEC)");
}

} // namespace feth
