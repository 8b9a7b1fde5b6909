#include "groups.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "base/error.hpp"

namespace feth::server {
namespace {

// Bounds the retries of a list that keeps growing under us, and a source
// that reports nonsense sizes.
constexpr int kMaxGrouplist = 1 << 16;

#if defined(__APPLE__)
// macOS declares getgrouplist(const char*, int, int*, int*) (Libc
// unistd.h); gid_t is the same size and the ids are stored as int there.
int getgrouplist_of(const char* user, gid_t primary, gid_t* groups, int* ngroups)
{
    static_assert(sizeof(int) == sizeof(gid_t));
    return ::getgrouplist(user, static_cast<int>(primary), reinterpret_cast<int*>(groups), ngroups);
}
#else
int getgrouplist_of(const char* user, gid_t primary, gid_t* groups, int* ngroups)
{
    return ::getgrouplist(user, primary, groups, ngroups);
}
#endif

} // namespace

std::vector<gid_t> group_access_list(const std::string& user, gid_t primary, const GroupSource& source,
                                     std::size_t max_groups)
{
    std::vector<gid_t> out{primary};
    const std::size_t limit = std::max<std::size_t>(max_groups, 1);
    for (gid_t g : source(user, primary)) {
        if (out.size() >= limit) break;
        if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    }
    return out;
}

std::vector<gid_t> database_groups(const std::string& user, gid_t primary)
{
    int size = 64;
    for (;;) {
        std::vector<gid_t> groups(static_cast<std::size_t>(size));
        int n = size;
        if (getgrouplist_of(user.c_str(), primary, groups.data(), &n) >= 0) {
            groups.resize(static_cast<std::size_t>(std::clamp(n, 0, size)));
            return groups;
        }
        // Too small: glibc says how many are needed, macOS how many it
        // stored; grow to the larger of that and twice the size.
        if (size >= kMaxGrouplist)
            throw SystemError("user " + user + " (more than " + std::to_string(kMaxGrouplist) + " groups)",
                              "getgrouplist", E2BIG);
        size = std::min(kMaxGrouplist, std::max(n, size * 2));
    }
}

std::size_t max_supplementary_groups()
{
    // xnu's setgroups checks NGROUPS (= NGROUPS_MAX), not kern.ngroups:
    // never more than the header says.
    long n = ::sysconf(_SC_NGROUPS_MAX);
    if (n <= 0 || n > NGROUPS_MAX) n = NGROUPS_MAX;
    return static_cast<std::size_t>(n);
}

} // namespace feth::server
