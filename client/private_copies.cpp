#include "private_copies.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cerrno>

#include "base/error.hpp"

namespace feth::client {
namespace {

constexpr std::size_t kMaxCopy = 4 * 1024 * 1024;

// Reads the whole file into `content`; false (errno set) when it cannot be
// read or is too big for a copy.
bool read_whole(const std::string& path, std::string& content)
{
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!in) return false;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(in.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        content.append(buf, static_cast<std::size_t>(n));
        if (content.size() > kMaxCopy) {
            errno = EFBIG;
            return false;
        }
    }
}

#if defined(__linux__)
UniqueFd memfd_copy(const std::string& of)
{
    UniqueFd fd(::memfd_create("feth-ssh-copy", MFD_CLOEXEC));
    if (!fd) throw_errno("copy of " + of, "memfd_create");
    return fd;
}
#endif

} // namespace

PrivateCopies::Store PrivateCopies::platform_store()
{
#if defined(__linux__)
    return Store::Memfd;
#else
    return Store::Directory;
#endif
}

PrivateCopies::PrivateCopies(Store store, std::string dir, uid_t owner, gid_t group)
    : store_(store), dir_(std::move(dir)), owner_(owner), group_(group)
{
}

PrivateCopies::Copy PrivateCopies::make_copy(const std::string& of)
{
    Copy c;
    if (store_ == Store::Memfd) {
#if defined(__linux__)
        c.fd = memfd_copy(of);
        c.path = "/proc/self/fd/" + std::to_string(c.fd.get());
        return c;
#else
        throw SystemError("copy of " + of, "memfd_create", ENOSYS);
#endif
    }
    if (dir_.empty()) throw SystemError("copy of " + of + ": no run directory", "open", ENOENT);
    c.path = dir_ + "/known_hosts." + std::to_string(copies_.size());
    c.fd.reset(::open(c.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!c.fd) throw_errno("copy of " + of + " at " + c.path, "open");
    if (::fchown(c.fd.get(), owner_, group_) != 0) throw_errno("copy of " + of + " at " + c.path, "fchown");
    return c;
}

bool PrivateCopies::add(const std::string& path, bool create)
{
    if (copies_.count(path) != 0) return true;
    std::string content;
    if (!read_whole(path, content)) {
        if (errno != ENOENT || !create) return false;
        content.clear();
    }
    Copy c = make_copy(path);
    if (!content.empty() && ::write(c.fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
        throw_errno("copy of " + path + " at " + c.path, "write");
    c.seen = content.size();
    copies_.emplace(path, std::move(c));
    return true;
}

std::map<std::string, std::string> PrivateCopies::paths() const
{
    std::map<std::string, std::string> out;
    for (const auto& [name, c] : copies_) out[name] = c.path;
    return out;
}

std::vector<std::string> PrivateCopies::take_appended(const std::string& path)
{
    std::vector<std::string> lines;
    auto it = copies_.find(path);
    if (it == copies_.end()) return lines;
    Copy& c = it->second;
    struct stat st {};
    if (::fstat(c.fd.get(), &st) != 0 || static_cast<std::size_t>(st.st_size) <= c.seen) return lines;
    std::string added(static_cast<std::size_t>(st.st_size) - c.seen, '\0');
    ssize_t n = ::pread(c.fd.get(), added.data(), added.size(), static_cast<off_t>(c.seen));
    if (n <= 0) return lines;
    added.resize(static_cast<std::size_t>(n));
    // Whole lines only; a partial one waits for the next call.
    std::size_t start = 0;
    for (std::size_t nl = added.find('\n'); nl != std::string::npos; nl = added.find('\n', start)) {
        if (nl > start) lines.push_back(added.substr(start, nl - start));
        start = nl + 1;
    }
    c.seen += start;
    return lines;
}

} // namespace feth::client
