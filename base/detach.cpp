#include "detach.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "error.hpp"
#include "log.hpp"

namespace feth {

namespace {

void stdio_to_null()
{
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
    }
}

} // namespace

void detach_from_terminal(const char* what)
{
    pid_t pid = ::fork();
    if (pid < 0) throw_errno(what, "fork");
    if (pid > 0) ::_exit(0);
    if (::setsid() < 0) throw_errno(what, "setsid");
    if (::chdir("/") != 0) throw_errno(what, "chdir");
    stdio_to_null();
}

void detach_in_place(const char* what)
{
    (void)::setsid(); // fails only for a process group leader, which already has its own
    if (::chdir("/") != 0) LOG_DEBUG("%s: chdir /: %s", what, errno_text(errno).c_str());
    stdio_to_null();
}

} // namespace feth
