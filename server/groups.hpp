// The group access list a process takes on for a user, as initgroups(3)
// makes it: the user's primary group first, then each group the group
// database lists the user in, once, and no more than the kernel accepts.
// xnu's setgroups fails with EINVAL above NGROUPS (16), and macOS users
// (admin accounts especially) are often in more; Libinfo's initgroups keeps
// the first 16, and so does this. Linux takes up to 65536.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace feth::server {

// The groups the database lists `user` in (`primary` may or may not be
// among them): database_groups() in the server, a table in tests.
using GroupSource = std::function<std::vector<gid_t>(const std::string& user, gid_t primary)>;

// `primary` first, then the source's groups in its order without
// duplicates, cut to `max_groups` (at least the primary group is kept).
std::vector<gid_t> group_access_list(const std::string& user, gid_t primary, const GroupSource& source,
                                     std::size_t max_groups);

// The groups of `user` from getgrouplist(3), every one of them however
// many (`primary` first); throws SystemError naming the user when the list
// cannot be read.
std::vector<gid_t> database_groups(const std::string& user, gid_t primary);

// The most groups setgroups(2) accepts on this system (sysconf
// _SC_NGROUPS_MAX: 16 on macOS, xnu's kern.ngroups; 65536 on Linux).
std::size_t max_supplementary_groups();

} // namespace feth::server
