// Preparing and dropping to the unprivileged identity.
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <array>
#include <cerrno>

#include "privsep.hpp"
#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::server {
namespace {

struct PwEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<PwEntry> lookup(const std::string& name)
{
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::array<char, 16384> buf{};
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr)
        return std::nullopt;
    return PwEntry{pw.pw_name, pw.pw_uid, pw.pw_gid};
}

void ensure_dir(const char* path)
{
    if (::mkdir(path, 0755) != 0 && errno != EEXIST) throw_errno(std::string("privilege separation directory ") + path, "mkdir");
    struct stat st {};
    if (::lstat(path, &st) != 0) throw_errno(std::string("privilege separation directory ") + path, "lstat");
    if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0)
        throw InputError(std::string("privilege separation directory ") + path +
                         " must be a directory owned by root and not group or world-writable");
}

} // namespace

PrivsepIdentity prepare_privsep(const config::ServerConfig& cfg)
{
    PrivsepIdentity id;
    if (::geteuid() != 0) {
        LOG_INFO("Not running as root: privilege separation is off (the connection process keeps this user).");
        return id;
    }
    std::optional<PwEntry> pw;
    if (!cfg.privsep_user.empty()) {
        pw = lookup(cfg.privsep_user);
        if (!pw) throw InputError("PrivilegeSeparationUser " + cfg.privsep_user + " does not exist");
    } else {
        pw = lookup("feth-sshd");
        if (!pw) {
            pw = lookup("nobody");
            if (!pw) throw InputError("privilege separation: neither user feth-sshd nor nobody exists; "
                                      "set PrivilegeSeparationUser");
            // N11: every other process running as nobody could signal the
            // network programs (the sandbox guards them from each other
            // only). sshd refuses to start without its user; we warn.
            LOG_ERROR("privilege separation user feth-sshd does not exist: the network program runs as nobody, "
                      "a user other daemons share; create feth-sshd (systemd-sysusers, or see feth-sshd(8))");
        }
    }
    if (pw->uid == 0 || pw->gid == 0)
        throw InputError("PrivilegeSeparationUser " + pw->name + " has uid or gid 0");
    ensure_dir(kPrivsepDir);
    ensure_dir(kPrivsepEmptyDir);
    id.enabled = true;
    id.user = pw->name;
    id.uid = pw->uid;
    id.gid = pw->gid;
    id.chroot_dir = kPrivsepEmptyDir;
    LOG_DEBUG("privilege separation: user %s (uid %u), chroot %s", id.user.c_str(), static_cast<unsigned>(id.uid),
              id.chroot_dir.c_str());
    return id;
}

void drop_privileges(const PrivsepIdentity& id)
{
    const std::string what = "privilege separation (user " + id.user + ")";
    if (!id.enabled) {
#if defined(__linux__)
        ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#endif
        return;
    }
    if (::chroot(id.chroot_dir.c_str()) != 0) throw_errno(what + ": " + id.chroot_dir, "chroot");
    if (::chdir("/") != 0) throw_errno(what, "chdir");
    gid_t gid = id.gid;
    if (::setgroups(1, &gid) != 0) throw_errno(what, "setgroups");
#if defined(__linux__)
    if (::setresgid(id.gid, id.gid, id.gid) != 0) throw_errno(what, "setresgid");
    if (::setresuid(id.uid, id.uid, id.uid) != 0) throw_errno(what, "setresuid");
#else
    if (::setgid(id.gid) != 0) throw_errno(what, "setgid");
    if (::setuid(id.uid) != 0) throw_errno(what, "setuid");
#endif
    // Root must be gone for good.
    if (::setuid(0) == 0 || ::seteuid(0) == 0) throw InputError(what + ": could regain uid 0 after dropping it");
    if (::setgid(0) == 0 || ::setegid(0) == 0) throw InputError(what + ": could regain gid 0 after dropping it");
    if (::getuid() != id.uid || ::geteuid() != id.uid || ::getgid() != id.gid || ::getegid() != id.gid)
        throw InputError(what + ": ids not as expected after dropping privileges");
    gid_t groups[4];
    int n = ::getgroups(4, groups);
    if (n < 0 || n > 1 || (n == 1 && groups[0] != id.gid))
        throw InputError(what + ": supplementary groups remain after setgroups");
#if defined(__linux__)
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_errno(what, "prctl(PR_SET_NO_NEW_PRIVS)");
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno(what, "prctl(PR_SET_DUMPABLE)");
#endif
    // As sshd's rlimit sandbox: no new processes (enter_sandbox, which
    // comes next, sets it again with the other limits, sandbox.cpp).
    struct rlimit zero {0, 0};
    if (::setrlimit(RLIMIT_NPROC, &zero) != 0) throw_errno(what, "setrlimit(RLIMIT_NPROC)");
}

} // namespace feth::server
