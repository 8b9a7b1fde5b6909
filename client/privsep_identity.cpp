// Who the SSH part of feth-ssh runs as (privsep.hpp), and the drop to it.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "privsep.hpp"
#include "base/error.hpp"

namespace feth::client {
namespace {

struct PwEntry {
    std::string name;
    std::string home;
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<PwEntry> from_passwd(struct passwd* pw)
{
    if (pw == nullptr) return std::nullopt;
    return PwEntry{pw->pw_name, pw->pw_dir != nullptr ? pw->pw_dir : "/", pw->pw_uid, pw->pw_gid};
}

std::optional<PwEntry> by_name(const std::string& name)
{
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::array<char, 16384> buf{};
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0) return std::nullopt;
    return from_passwd(result);
}

std::optional<PwEntry> by_uid(uid_t uid)
{
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::array<char, 16384> buf{};
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) != 0) return std::nullopt;
    return from_passwd(result);
}

// A decimal id, nothing else.
std::optional<unsigned long> parse_id(const char* s)
{
    if (s == nullptr || *s == '\0' || std::string(s).size() > 10) return std::nullopt;
    unsigned long v = 0;
    for (const char* p = s; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned long>(*p - '0');
    }
    if (v > 0xfffffffeUL) return std::nullopt;
    return v;
}

// Whether `user` (primary group `primary`) is in group `gid`.
bool in_group(const std::string& user, gid_t primary, gid_t gid)
{
    if (gid == primary) return true;
    int n = 64;
    for (int attempt = 0; attempt < 4; ++attempt) {
        std::vector<gid_t> groups(static_cast<std::size_t>(n));
        int count = n;
#if defined(__APPLE__)
        int rc = ::getgrouplist(user.c_str(), static_cast<int>(primary), reinterpret_cast<int*>(groups.data()),
                                &count);
#else
        int rc = ::getgrouplist(user.c_str(), primary, groups.data(), &count);
#endif
        if (rc >= 0) {
            for (int i = 0; i < count; ++i)
                if (groups[static_cast<std::size_t>(i)] == gid) return true;
            return false;
        }
        n = count > n ? count : n * 4;
    }
    return false;
}

// Root without sudo: root's files are read before the drop to nobody.
Invoker root_itself()
{
    Invoker who;
    auto root = by_uid(0);
    who.name = root ? root->name : "root";
    who.home = root ? root->home : "/root"; // as ssh: the password database, never $HOME
    auto nobody = by_name("nobody");
    if (!nobody || nobody->uid == 0 || nobody->gid == 0)
        throw InputError("started as root: the SSH part runs as user nobody, which does not exist here (or has uid "
                         "or gid 0)");
    who.kind = Invoker::Kind::Nobody;
    who.uid = nobody->uid;
    who.gid = nobody->gid;
    who.drop_name = nobody->name;
    return who;
}

} // namespace

Invoker find_invoker()
{
    Invoker who;
    if (::geteuid() != 0) {
        auto me = by_uid(::getuid());
        who.name = me ? me->name : "root";
        who.home = me ? me->home : "/"; // as ssh: the password database, never $HOME
        who.uid = ::getuid();
        who.gid = ::getgid();
        return who;
    }
    if (::getuid() != 0) {
        // Set-uid root: the real uid is who started it; SUDO_* say nothing.
        auto me = by_uid(::getuid());
        if (!me) throw InputError("the real uid " + std::to_string(::getuid()) + " has no password database entry");
        who.kind = Invoker::Kind::User;
        who.name = me->name;
        who.home = me->home;
        who.uid = me->uid;
        who.gid = ::getgid();
        who.drop_name = me->name;
        return who;
    }
    const char* sudo_user = ::getenv("SUDO_USER");
    const char* sudo_uid = ::getenv("SUDO_UID");
    const char* sudo_gid = ::getenv("SUDO_GID");
    if (sudo_user == nullptr && sudo_uid == nullptr && sudo_gid == nullptr) return root_itself();
    if (sudo_user == nullptr || sudo_uid == nullptr || sudo_gid == nullptr)
        throw InputError("started through sudo, but SUDO_USER, SUDO_UID and SUDO_GID are not all set");
    auto uid = parse_id(sudo_uid);
    auto gid = parse_id(sudo_gid);
    if (!uid || !gid) throw InputError("SUDO_UID or SUDO_GID is not a number");
    auto pw = by_name(sudo_user);
    if (!pw) throw InputError(std::string("SUDO_USER ") + sudo_user + " is not in the password database");
    if (pw->uid != static_cast<uid_t>(*uid))
        throw InputError(std::string("SUDO_UID ") + sudo_uid + " is not the uid of SUDO_USER " + sudo_user + " (" +
                         std::to_string(pw->uid) + ")");
    if (!in_group(pw->name, pw->gid, static_cast<gid_t>(*gid)))
        throw InputError(std::string("SUDO_GID ") + sudo_gid + " is not a group of SUDO_USER " + sudo_user);
    if (pw->uid == 0) return root_itself(); // root through sudo is root
    who.kind = Invoker::Kind::User;
    who.name = pw->name;
    who.home = pw->home;
    who.uid = pw->uid;
    who.gid = static_cast<gid_t>(*gid);
    who.drop_name = pw->name;
    return who;
}

void drop_to_invoker(const Invoker& who)
{
    const std::string what = "dropping root for the SSH part (user " + who.drop_name + ")";
    if (who.kind != Invoker::Kind::User && who.kind != Invoker::Kind::Nobody) return;
    if (who.kind == Invoker::Kind::Nobody) {
        gid_t g = who.gid;
        if (::setgroups(1, &g) != 0) throw_errno(what, "setgroups");
    } else {
#if defined(__APPLE__)
        if (::initgroups(who.drop_name.c_str(), static_cast<int>(who.gid)) != 0) throw_errno(what, "initgroups");
#else
        if (::initgroups(who.drop_name.c_str(), who.gid) != 0) throw_errno(what, "initgroups");
#endif
    }
#if defined(__linux__)
    if (::setresgid(who.gid, who.gid, who.gid) != 0) throw_errno(what, "setresgid");
    if (::setresuid(who.uid, who.uid, who.uid) != 0) throw_errno(what, "setresuid");
#else
    if (::setgid(who.gid) != 0) throw_errno(what, "setgid");
    if (::setuid(who.uid) != 0) throw_errno(what, "setuid");
#endif
    if (::setuid(0) == 0 || ::seteuid(0) == 0) throw InputError(what + ": could regain uid 0 after dropping it");
    if (::getuid() != who.uid || ::geteuid() != who.uid || ::getgid() != who.gid || ::getegid() != who.gid)
        throw InputError(what + ": ids not as expected after the drop");
}

void die_with_root_part(pid_t root_part)
{
#if defined(__linux__)
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) throw_errno("SSH part", "prctl(PR_SET_PDEATHSIG)");
#endif
    if (::getppid() != root_part) ::_exit(255);
}

} // namespace feth::client
