// Reserving interface names (device_lock.hpp): flock(2) on one file per
// name, POSIX calls only, the same on Linux and macOS.
#include "tunnel/device_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::device_lock {
namespace {

// What a lock file may be called: an interface name, never a path.
bool valid_name(const std::string& name)
{
    if (name.empty() || name.size() > 15 || name[0] == '.') return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

// Opens (making it when missing) a directory only root, or this process's
// user, can write: anyone else could otherwise plant or remove the files.
UniqueFd open_private_directory(int parent, const std::string& path, const char* name)
{
    if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST) throw_errno("device lock directory " + path, "mkdir");
    UniqueFd dir(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) throw_errno("device lock directory " + path, "open");
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0) throw_errno("device lock directory " + path, "fstat");
    if ((st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & 022) != 0)
        throw SystemError("device lock directory " + path + " is writable by others than its owner, or owned by uid " +
                              std::to_string(st.st_uid),
                          "fstat", EPERM);
    return dir;
}

// The directory for this process's interface names: on Linux one per
// network namespace.
UniqueFd open_scope(const std::string& directory)
{
    UniqueFd top = open_private_directory(AT_FDCWD, directory, directory.c_str());
#if defined(__linux__)
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) == 0) {
        const std::string sub = "net-" + std::to_string(static_cast<unsigned long long>(ns.st_ino));
        return open_private_directory(top.get(), directory + "/" + sub, sub.c_str());
    }
#endif
    return top;
}

std::string printable(const std::string& text)
{
    std::string out;
    for (char c : text) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

std::string holder_of(int fd)
{
    char buf[256];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return "a process that is starting";
    std::string text(buf, static_cast<std::size_t>(n));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
    return printable(text);
}

// One name: nullopt (and `busy`) when another process holds it.
std::optional<NameLock> take(int scope, const std::string& shown_dir, const std::string& name,
                             const std::string& owner, Busy& busy)
{
    if (!valid_name(name)) throw InputError("device lock: '" + printable(name) + "' is not an interface name");
    const std::string what = "device " + name + " (lock " + shown_dir + "/" + name + ")";
    // The file is removed when its holder lets go; an opener may have
    // opened it just before and locked the removed file: check that the
    // locked file is still the one the name points to, else start again.
    for (int attempt = 0; attempt < 100; ++attempt) {
        UniqueFd file(::openat(scope, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!file) throw_errno(what, "open");
        if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            if (errno != EWOULDBLOCK) throw_errno(what, "flock");
            busy.name = name;
            busy.holder = holder_of(file.get());
            return std::nullopt;
        }
        struct stat locked {};
        struct stat named {};
        if (::fstat(file.get(), &locked) != 0) throw_errno(what, "fstat");
        if (::fstatat(scope, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            throw_errno(what, "fstatat");
        }
        if (locked.st_ino != named.st_ino || locked.st_dev != named.st_dev) continue;
        const std::string record = "pid " + std::to_string(::getpid()) + " (" + printable(owner) + ")\n";
        if (::ftruncate(file.get(), 0) != 0 || ::pwrite(file.get(), record.data(), record.size(), 0) < 0)
            LOG_VERBOSE("%s: could not record the holder: %s", what.c_str(), errno_text(errno).c_str());
        UniqueFd dir(::dup(scope));
        if (!dir) throw_errno(what, "dup");
        return NameLock(std::move(dir), std::move(file), name);
    }
    throw SystemError(what + ": the lock file keeps changing", "flock", EAGAIN);
}

} // namespace

const char* default_directory()
{
#if defined(__APPLE__)
    return "/var/run/feth-ssh";
#else
    return "/run/feth-ssh";
#endif
}

NameLock::NameLock(UniqueFd dir, UniqueFd file, std::string name)
    : dir_(std::move(dir)), file_(std::move(file)), name_(std::move(name))
{
}

NameLock::~NameLock()
{
    if (!file_) return; // moved from
    // Removed while still locked: a process that opened it meanwhile sees
    // the name gone once it has the lock, and makes a fresh file.
    if (::unlinkat(dir_.get(), name_.c_str(), 0) != 0 && errno != ENOENT)
        LOG_VERBOSE("device %s: removing its lock file: %s", name_.c_str(), errno_text(errno).c_str());
}

std::optional<Reservation> reserve(std::span<const std::string> names, const std::string& owner, Busy& busy,
                                   const std::string& directory)
{
    UniqueFd scope = open_scope(directory);
    Reservation r;
    for (const auto& name : names) {
        auto lock = take(scope.get(), directory, name, owner, busy);
        if (!lock) return std::nullopt; // r releases what it took
        r.locks.push_back(std::move(*lock));
    }
    return r;
}

void throw_busy(const Busy& busy)
{
    throw SystemError("device " + busy.name + ": in use by another tunnel, " + busy.holder, "flock", EBUSY);
}

std::optional<Reservation> reserve_pair(const naming::PairNames& names, const std::string& owner, Busy& busy)
{
    const std::string both[] = {names.visible, names.peer};
    return reserve(both, owner, busy);
}

} // namespace feth::device_lock
