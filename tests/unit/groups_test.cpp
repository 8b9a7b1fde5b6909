// server/groups: initgroups' list for users in many groups, clamped to what
// setgroups takes (16 on macOS). The pure cases stand in for any platform;
// the last one makes a real user in 40 groups (root only, cleaned up).
#include "server/groups.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "catch.hpp"

using feth::server::group_access_list;
using feth::server::GroupSource;

namespace {

// A user in 40 groups (1001..1040), the primary group 1000 among them and
// one listed twice, as a directory service may report it.
std::vector<gid_t> forty_groups(const std::string&, gid_t primary)
{
    std::vector<gid_t> g{primary};
    for (gid_t i = 1; i <= 40; ++i) g.push_back(1000 + i);
    g.push_back(1005);
    return g;
}

bool unique(std::vector<gid_t> v)
{
    std::sort(v.begin(), v.end());
    return std::adjacent_find(v.begin(), v.end()) == v.end();
}

} // namespace

TEST_CASE("group_access_list: primary first, no duplicates, all groups when the kernel takes them", "[groups]")
{
    auto list = group_access_list("alice", 1000, forty_groups, 65536);
    REQUIRE(list.size() == 41);
    CHECK(list.front() == 1000);
    CHECK(unique(list));
    CHECK(list.back() == 1040);
}

TEST_CASE("group_access_list: clamped to the kernel's maximum as initgroups does (macOS: 16)", "[groups]")
{
    auto list = group_access_list("alice", 1000, forty_groups, 16);
    REQUIRE(list.size() == 16);
    CHECK(list.front() == 1000);
    CHECK(unique(list));
    // The first groups the database lists are the ones kept, in its order.
    for (std::size_t i = 1; i < list.size(); ++i) CHECK(list[i] == 1000 + i);
}

TEST_CASE("group_access_list: the primary group even when the source has none or the limit is 0", "[groups]")
{
    GroupSource none = [](const std::string&, gid_t) { return std::vector<gid_t>{}; };
    CHECK(group_access_list("bob", 20, none, 16) == std::vector<gid_t>{20});
    CHECK(group_access_list("bob", 20, forty_groups, 0) == std::vector<gid_t>{20});
    // A primary group the database does not list is still first.
    GroupSource others = [](const std::string&, gid_t) { return std::vector<gid_t>{7, 8, 7}; };
    CHECK(group_access_list("bob", 20, others, 16) == std::vector<gid_t>{20, 7, 8});
}

TEST_CASE("max_supplementary_groups: what setgroups takes on this system", "[groups]")
{
    const std::size_t max = feth::server::max_supplementary_groups();
#if defined(__APPLE__)
    CHECK(max == 16);
#else
    CHECK(max >= 16);
#endif
}

namespace {

// Runs a command, true when it exits 0; its output goes to /dev/null.
bool run(const std::vector<std::string>& argv)
{
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        if (std::FILE* null = std::fopen("/dev/null", "w")) {
            ::dup2(::fileno(null), 1);
            ::dup2(::fileno(null), 2);
        }
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A real user in 40 real groups, removed (user, then groups) on every path.
struct FortyGroupUser {
    std::string user = "feth-g" + std::to_string(::getpid());
    std::vector<std::string> groups;
    bool made = false;

    FortyGroupUser()
    {
        std::string list;
        for (int i = 1; i <= 40; ++i) {
            std::string g = "feth-g" + std::to_string(::getpid()) + "-" + std::to_string(i);
            if (!run({"groupadd", g})) return;
            groups.push_back(g);
            list += (list.empty() ? "" : ",") + g;
        }
        made = run({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "-G", list, user});
    }
    ~FortyGroupUser()
    {
        if (made) run({"userdel", user});
        for (const auto& g : groups) run({"groupdel", g});
    }
    FortyGroupUser(const FortyGroupUser&) = delete;
    FortyGroupUser& operator=(const FortyGroupUser&) = delete;
};

} // namespace

TEST_CASE("database_groups and setgroups: a real user in 40 groups", "[groups][root]")
{
    if (::geteuid() != 0) {
        WARN("not root: the real 40-group user is not made");
        return;
    }
    FortyGroupUser u;
    if (!u.made) {
        WARN("groupadd/useradd failed or missing: the real 40-group user is not made");
        return;
    }
    const passwd* pw = ::getpwnam(u.user.c_str());
    REQUIRE(pw != nullptr);
    const auto groups = feth::server::database_groups(u.user, pw->pw_gid);
    CHECK(groups.size() == 41); // the primary group and the 40
    CHECK(groups.front() == pw->pw_gid);
    for (const auto& name : u.groups) {
        const group* gr = ::getgrnam(name.c_str());
        REQUIRE(gr != nullptr);
        CHECK(std::find(groups.begin(), groups.end(), gr->gr_gid) != groups.end());
    }

    // What TemporaryUid sets: the whole list on Linux; the kernel takes it.
    const auto list = group_access_list(u.user, pw->pw_gid, feth::server::database_groups,
                                        feth::server::max_supplementary_groups());
    REQUIRE(list.size() == 41);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::setgroups(list.size(), list.data()) != 0) ::_exit(1);
        std::vector<gid_t> now(64);
        int n = ::getgroups(static_cast<int>(now.size()), now.data());
        ::_exit(n == 41 ? 0 : 2);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
