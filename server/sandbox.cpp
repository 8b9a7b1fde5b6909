// The portable part of the child's sandbox: rlimits and environment
// (sandbox.hpp). As sshd's sandbox-rlimit.c, which is all sshd has where
// there is no better sandbox, and which it adds to the others.
#include "sandbox.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/error.hpp"

extern char** environ;

namespace feth::server {
namespace {

void limit(int resource, rlim_t value, const char* name)
{
    struct rlimit rl {value, value};
    if (::setrlimit(resource, &rl) != 0) throw_errno(std::string("connection sandbox (") + name + ")", "setrlimit");
}

void clean_environment()
{
    // Nothing in the child reads the environment but the C library's time
    // zone (log timestamps): keep TZ, drop the rest.
    std::optional<std::string> tz;
    if (const char* v = std::getenv("TZ")) tz = v;
#if defined(__linux__)
    ::clearenv();
#else
    static char* empty[] = {nullptr};
    environ = empty;
#endif
    if (tz && ::setenv("TZ", tz->c_str(), 1) != 0) throw_errno("connection sandbox (environment)", "setenv");
}

} // namespace

void enter_sandbox(int monitor_fd)
{
    // Its stdout and stderr are a pipe to the monitor, which logs for it
    // (child_log.hpp): it has no file to write, whatever the monitor's
    // stderr is.
    limit(RLIMIT_FSIZE, 0, "RLIMIT_FSIZE 0");
    limit(RLIMIT_NOFILE, kChildMaxDescriptors, "RLIMIT_NOFILE");
    limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC 0");
    clean_environment();
    install_platform_sandbox(monitor_fd);
}

const char* child_signal_meaning(int sig)
{
    switch (sig) {
    case SIGSYS: return "SIGSYS: its sandbox refused a system call; the kernel log names it";
    case SIGXFSZ: return "SIGXFSZ: it wrote past its file size limit";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGTERM: return "SIGTERM";
    default: return "";
    }
}

} // namespace feth::server
