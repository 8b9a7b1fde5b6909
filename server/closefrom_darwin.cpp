// close_descriptors_from on macOS (sandbox.hpp): the descriptors
// proc_pidinfo(PROC_PIDLISTFDS) lists, else every number up to the
// descriptor limit (macOS has no close_range; its closefrom is private).
#include <sys/proc_info.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "sandbox.hpp"

// <libproc.h> is not among the open-source headers the Darwin compile
// check has; the one call, as libproc.h declares it.
extern "C" int proc_pidinfo(int pid, int flavor, uint64_t arg, void* buffer, int buffersize);

namespace feth::server {

void close_descriptors_from(int lowest)
{
    const pid_t self = ::getpid();
    int bytes = ::proc_pidinfo(self, PROC_PIDLISTFDS, 0, nullptr, 0);
    if (bytes > 0) {
        // Room for a few more than were there a moment ago.
        std::vector<struct proc_fdinfo> fds(static_cast<std::size_t>(bytes) / sizeof(struct proc_fdinfo) + 16);
        bytes = ::proc_pidinfo(self, PROC_PIDLISTFDS, 0, fds.data(),
                               static_cast<int>(fds.size() * sizeof(struct proc_fdinfo)));
        if (bytes > 0) {
            const std::size_t n = static_cast<std::size_t>(bytes) / sizeof(struct proc_fdinfo);
            for (std::size_t i = 0; i < n; ++i)
                if (fds[i].proc_fd >= lowest) ::close(fds[i].proc_fd);
            return;
        }
    }
    long max = ::sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20) max = 1 << 20;
    for (long fd = lowest; fd < max; ++fd) ::close(static_cast<int>(fd));
}

} // namespace feth::server
