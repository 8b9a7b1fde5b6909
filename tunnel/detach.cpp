#include "detach.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "error.hpp"

namespace feth {

void detach_from_terminal(const char* what)
{
    pid_t pid = ::fork();
    if (pid < 0) throw_errno(what, "fork");
    if (pid > 0) ::_exit(0);
    if (::setsid() < 0) throw_errno(what, "setsid");
    if (::chdir("/") != 0) throw_errno(what, "chdir");
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
    }
}

} // namespace feth
