// Reserving interface names (device_lock.hpp): flock(2) on one file per
// name, POSIX calls only, the same on Linux and macOS.
#include "tunnel/device_lock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

// How often a lock is tried again when its file or directory went just
// before (released by its holder, or swept): bounded, never a hang.
constexpr int kAttempts = 100;

// Opens (making it when missing) a directory only root, or this process's
// user, can write: anyone else could otherwise plant or remove the files.
// An empty namespace directory may be swept between mkdir and open: made
// again then.
UniqueFd open_private_directory(int parent, const std::string& path, const char* name)
{
    UniqueFd dir;
    for (int attempt = 0; attempt < kAttempts && !dir; ++attempt) {
        if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST)
            throw_errno("device lock directory " + path, "mkdir");
        dir.reset(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir && errno != ENOENT) throw_errno("device lock directory " + path, "open");
    }
    if (!dir) throw SystemError("device lock directory " + path + " keeps vanishing", "open", ENOENT);
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0) throw_errno("device lock directory " + path, "fstat");
    if ((st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & 022) != 0)
        throw SystemError("device lock directory " + path + " is writable by others than its owner, or owned by uid " +
                              std::to_string(st.st_uid),
                          "fstat", EPERM);
    return dir;
}

#if defined(__linux__)
constexpr const char* kNamespacePrefix = "net-";

std::string namespace_directory_name(ino_t inode)
{
    return kNamespacePrefix + std::to_string(static_cast<unsigned long long>(inode));
}
#endif

// The directory for this process's interface names: on Linux one per
// network namespace (`top`/`sub`), elsewhere `top` itself (`sub` empty).
struct Scope {
    UniqueFd top;
    UniqueFd dir;
    std::string sub;
};

Scope open_scope(const std::string& directory)
{
    Scope scope;
    scope.top = open_private_directory(AT_FDCWD, directory, directory.c_str());
#if defined(__linux__)
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) == 0) {
        scope.sub = namespace_directory_name(ns.st_ino);
        scope.dir = open_private_directory(scope.top.get(), directory + "/" + scope.sub, scope.sub.c_str());
        return scope;
    }
#endif
    scope.dir.reset(::dup(scope.top.get()));
    if (!scope.dir) throw_errno("device lock directory " + directory, "dup");
    return scope;
}

UniqueFd dup_or_throw(int fd, const std::string& what)
{
    UniqueFd copy(::dup(fd));
    if (!copy) throw_errno(what, "dup");
    return copy;
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

// Whether `file` is still the one `name` points to in `scope`. A holder
// removes its file while it still holds the lock (NameLock), so a file that
// is no longer named was let go of.
bool still_named(int scope, const std::string& name, int file, const std::string& what)
{
    struct stat opened {};
    struct stat named {};
    if (::fstat(file, &opened) != 0) throw_errno(what, "fstat");
    if (::fstatat(scope, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return false;
        throw_errno(what, "fstatat");
    }
    return opened.st_ino == named.st_ino && opened.st_dev == named.st_dev;
}

// What take() found for one name.
struct Taken {
    std::optional<NameLock> lock; // held by us
    bool scope_gone = false;      // the directory was swept: open it again
};

// One name: `lock` empty (and `busy` filled) when another process holds it.
Taken take(const Scope& where, const std::string& shown_dir, const std::string& name, const std::string& owner,
           Busy& busy)
{
    const int scope = where.dir.get();
    if (!valid_name(name)) throw InputError("device lock: '" + printable(name) + "' is not an interface name");
    const std::string what = "device " + name + " (lock " + shown_dir + "/" + name + ")";
    // The file is removed when its holder lets go; an opener may have
    // opened it just before and locked the removed file: check that the
    // locked file is still the one the name points to, else start again.
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        UniqueFd file(::openat(scope, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
        // ENOENT with O_CREAT: the (empty) directory itself was removed
        // (sweep_namespace_directories) after we opened it.
        if (!file && errno == ENOENT) return Taken{std::nullopt, true};
        if (!file) throw_errno(what, "open");
        if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            if (errno != EWOULDBLOCK) throw_errno(what, "flock");
            // Held while its holder (or a sweep) removes it: not busy.
            if (!still_named(scope, name, file.get(), what)) continue;
            busy.name = name;
            busy.holder = holder_of(file.get());
            return {};
        }
        if (!still_named(scope, name, file.get(), what)) continue;
        const std::string record = "pid " + std::to_string(::getpid()) + " (" + printable(owner) + ")\n";
        if (::ftruncate(file.get(), 0) != 0 || ::pwrite(file.get(), record.data(), record.size(), 0) < 0)
            LOG_VERBOSE("%s: could not record the holder: %s", what.c_str(), errno_text(errno).c_str());
        NameLock lock(dup_or_throw(scope, what), std::move(file), name);
        if (!where.sub.empty()) lock.remove_directory_after(dup_or_throw(where.top.get(), what), where.sub);
        return Taken{std::move(lock), false};
    }
    throw SystemError(what + ": the lock file keeps changing", "flock", EAGAIN);
}

#if defined(__linux__)
// The inode of a namespace file, if it can be read.
void add_namespace_inode(const std::string& path, std::set<ino_t>& inodes)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) inodes.insert(st.st_ino);
}

// The network namespaces this host still has, as far as one can see them:
// every process's (/proc/PID/ns/net) and every one kept by a bind mount
// (nsfs entries of /proc/self/mountinfo, as `ip netns add` makes). One kept
// alive only by an open descriptor is missed; sweeping its directory is
// still safe (sweep_namespace_directories), only not needed.
std::set<ino_t> live_network_namespaces()
{
    std::set<ino_t> inodes;
    if (DIR* proc = ::opendir("/proc")) {
        while (const dirent* e = ::readdir(proc))
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
                add_namespace_inode(std::string("/proc/") + e->d_name + "/ns/net", inodes);
        ::closedir(proc);
    }
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mounts, line)) {
        // "36 35 0:4 net:[4026532297] /run/netns/x rw ... - nsfs nsfs rw"
        const auto root = line.find(" net:[");
        if (root == std::string::npos) continue;
        const auto end = line.find(']', root);
        if (end == std::string::npos) continue;
        try {
            inodes.insert(static_cast<ino_t>(std::stoull(line.substr(root + 6, end - root - 6))));
        } catch (const std::exception&) {
        }
    }
    return inodes;
}

// The namespace inode a directory entry "net-<inode>" names, or 0.
ino_t namespace_of(const std::string& name)
{
    if (name.rfind(kNamespacePrefix, 0) != 0) return 0;
    const std::string digits = name.substr(std::string(kNamespacePrefix).size());
    if (digits.empty() || digits.size() > 20 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
    try {
        const auto inode = static_cast<ino_t>(std::stoull(digits));
        return namespace_directory_name(inode) == name ? inode : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

// Removes the lock files nobody holds from a namespace directory, each by
// the protocol of a holder letting go (locked, then removed), then the
// directory if that left it empty. Whether it went.
bool sweep_namespace_directory(int top, const std::string& shown_dir, const std::string& sub)
{
    Scope scope;
    scope.dir.reset(::openat(top, sub.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!scope.dir) return false;
    const std::string shown = shown_dir + "/" + sub;
    for (const auto& name : directory_entries(scope.dir.get())) {
        if (!valid_name(name)) continue; // not ours: the directory stays
        Busy busy;
        try {
            // Destroyed at once: the file goes while we hold it.
            take(scope, shown, name, "removing a lock left behind", busy);
        } catch (const std::exception& e) {
            LOG_VERBOSE("%s", e.what());
        }
    }
    // Fails (ENOTEMPTY) while a lock is held, or a new file was just made.
    if (::unlinkat(top, sub.c_str(), AT_REMOVEDIR) != 0) return false;
    LOG_VERBOSE("removed %s: its network namespace is gone", shown.c_str());
    return true;
}
#endif

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

void NameLock::remove_directory_after(UniqueFd parent, std::string directory)
{
    parent_ = std::move(parent);
    directory_ = std::move(directory);
}

NameLock::~NameLock()
{
    if (!file_) return; // moved from
    // Removed while still locked: a process that opened it meanwhile sees
    // the name gone once it has the lock, and makes a fresh file.
    if (::unlinkat(dir_.get(), name_.c_str(), 0) != 0 && errno != ENOENT)
        LOG_VERBOSE("device %s: removing its lock file: %s", name_.c_str(), errno_text(errno).c_str());
    // The last name let go takes its namespace's directory with it; while
    // another is held (or being made) rmdir fails, and reserve() makes the
    // directory again for a process that opened it just before.
    if (parent_) ::unlinkat(parent_.get(), directory_.c_str(), AT_REMOVEDIR);
}

std::optional<Reservation> reserve(std::span<const std::string> names, const std::string& owner, Busy& busy,
                                   const std::string& directory)
{
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        const Scope scope = open_scope(directory);
        Reservation r;
        bool scope_gone = false;
        for (const auto& name : names) {
            Taken t = take(scope, directory, name, owner, busy);
            // Swept while empty, so nothing of ours was in it: start again.
            if (t.scope_gone) {
                scope_gone = true;
                break;
            }
            if (!t.lock) return std::nullopt; // r releases what it took
            r.locks.push_back(std::move(*t.lock));
        }
        if (!scope_gone) return r;
    }
    throw SystemError("device lock directory " + directory + ": its namespace directory keeps vanishing", "open",
                      ENOENT);
}

std::size_t sweep_namespace_directories(const std::string& directory) noexcept
{
    std::size_t removed = 0;
#if defined(__linux__)
    try {
        UniqueFd top(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!top) return 0; // nothing reserved yet
        const std::set<ino_t> live = live_network_namespaces();
        for (const auto& sub : directory_entries(top.get())) {
            const ino_t ns = namespace_of(sub);
            if (ns != 0 && live.count(ns) == 0 && sweep_namespace_directory(top.get(), directory, sub)) ++removed;
        }
    } catch (const std::exception& e) {
        LOG_ERROR("removing the device lock directories of gone network namespaces: %s", e.what());
    }
#else
    (void)directory; // one directory for the whole host
#endif
    return removed;
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
