#include "error.hpp"

#include <cstring>

namespace feth {

std::string errno_text(int err)
{
    char buf[256];
    // GNU strerror_r may return a static string instead of filling buf.
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return ::strerror_r(err, buf, sizeof buf);
#else
    if (::strerror_r(err, buf, sizeof buf) != 0) return "errno " + std::to_string(err);
    return buf;
#endif
}

SystemError::SystemError(const std::string& context, const char* syscall, int err)
    : std::runtime_error(context + ": " + syscall + ": " + errno_text(err)), code_(err)
{
}

void throw_errno(const std::string& context, const char* syscall)
{
    throw SystemError(context, syscall, errno);
}

} // namespace feth
