// close_descriptors_from on Linux (sandbox.hpp): close_range(2)
// (Linux 5.9, glibc 2.34), else every number /proc/self/fd lists, else
// every number up to the descriptor limit.
#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "sandbox.hpp"

namespace feth::server {

void close_descriptors_from(int lowest)
{
    if (::close_range(static_cast<unsigned>(lowest), ~0U, 0) == 0) return;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        // Collected first: closing while reading would close the
        // directory's own descriptor under it.
        std::vector<int> fds;
        const int own = ::dirfd(d);
        while (struct dirent* e = ::readdir(d)) {
            char* end = nullptr;
            long n = std::strtol(e->d_name, &end, 10);
            if (end != e->d_name && *end == '\0' && n >= lowest && n != own) fds.push_back(static_cast<int>(n));
        }
        ::closedir(d);
        for (int fd : fds) ::close(fd);
        return;
    }
    long max = ::sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20) max = 1 << 20;
    for (long fd = lowest; fd < max; ++fd) ::close(static_cast<int>(fd));
}

} // namespace feth::server
