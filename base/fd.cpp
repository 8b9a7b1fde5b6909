#include "fd.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <string>

#include "error.hpp"

namespace feth {
namespace {

#if defined(__linux__)
// Linux: the flags go into the type, set atomically with the socket, so a
// fork in another thread can never inherit it.
int type_with_mode(int type, IoMode mode) noexcept
{
    return type | SOCK_CLOEXEC | (mode == IoMode::nonblocking ? SOCK_NONBLOCK : 0);
}

int socket_in_mode(int domain, int type, int protocol, IoMode mode) noexcept
{
    return ::socket(domain, type_with_mode(type, mode), protocol);
}

int socketpair_in_mode(int domain, int type, IoMode mode, int sv[2]) noexcept
{
    return ::socketpair(domain, type_with_mode(type, mode), 0, sv);
}

int pipe_in_mode(IoMode mode, int fds[2]) noexcept
{
    return ::pipe2(fds, O_CLOEXEC | (mode == IoMode::nonblocking ? O_NONBLOCK : 0));
}

// accept4 sets exactly these flags: nothing is inherited from the listener.
int accept_in_mode(int listen_fd, sockaddr* addr, socklen_t* addr_len, IoMode mode) noexcept
{
    return ::accept4(listen_fd, addr, addr_len, type_with_mode(0, mode));
}
#else
// macOS (xnu has no SOCK_CLOEXEC, SOCK_NONBLOCK or accept4): set the flags
// right after the call. The server and the client do not exec from another
// thread, so the gap cannot leak a descriptor into a hook.
// Closes a descriptor whose flags could not be set without losing the errno
// that says why.
int fail_keeping_errno(int fd) noexcept
{
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
}

// The descriptor after its flags were set, or -1 (errno kept) if they could
// not be: the flags of a socket created without them.
int with_io_mode(int fd, IoMode mode) noexcept
{
    if (fd < 0) return -1;
    if (set_io_mode(fd, mode) != 0) return fail_keeping_errno(fd);
    return fd;
}

int socket_in_mode(int domain, int type, int protocol, IoMode mode) noexcept
{
    return with_io_mode(::socket(domain, type, protocol), mode);
}

int socketpair_in_mode(int domain, int type, IoMode mode, int sv[2]) noexcept
{
    if (::socketpair(domain, type, 0, sv) != 0) return -1;
    if (set_io_mode(sv[0], mode) != 0 || set_io_mode(sv[1], mode) != 0) {
        int err = errno;
        ::close(sv[0]);
        ::close(sv[1]);
        errno = err;
        return -1;
    }
    return 0;
}

int pipe_in_mode(IoMode mode, int fds[2]) noexcept
{
    if (::pipe(fds) != 0) return -1;
    if (set_io_mode(fds[0], mode) != 0 || set_io_mode(fds[1], mode) != 0) {
        int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        errno = err;
        return -1;
    }
    return 0;
}

// xnu's accept() copies the listener's file flags (O_NONBLOCK among them)
// into the new socket: set the mode asked for, whatever the listener's.
int accept_in_mode(int listen_fd, sockaddr* addr, socklen_t* addr_len, IoMode mode) noexcept
{
    return with_io_mode(::accept(listen_fd, addr, addr_len), mode);
}
#endif

} // namespace

int set_io_mode(int fd, IoMode mode) noexcept
{
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0) return -1;
    int want = mode == IoMode::nonblocking ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (want != fl && ::fcntl(fd, F_SETFL, want) < 0) return -1;
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl < 0) return -1;
    if ((fdfl & FD_CLOEXEC) == 0 && ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return -1;
    return 0;
}

void set_nonblocking_cloexec(int fd, const char* what)
{
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw_errno(what, "fcntl(O_NONBLOCK)");
    int fdfl = ::fcntl(fd, F_GETFD);
    if (fdfl < 0 || ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) throw_errno(what, "fcntl(FD_CLOEXEC)");
}

UniqueFd open_socket(int domain, int type, int protocol, IoMode mode) noexcept
{
    return UniqueFd(socket_in_mode(domain, type, protocol, mode));
}

int open_socketpair(int domain, int type, IoMode mode, UniqueFd& first, UniqueFd& second) noexcept
{
    int sv[2];
    if (socketpair_in_mode(domain, type, mode, sv) != 0) return -1;
    first.reset(sv[0]);
    second.reset(sv[1]);
    return 0;
}

int open_pipe(IoMode mode, UniqueFd& read_end, UniqueFd& write_end) noexcept
{
    int fds[2];
    if (pipe_in_mode(mode, fds) != 0) return -1;
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    return 0;
}

UniqueFd accept_socket(int listen_fd, sockaddr* addr, socklen_t* addr_len, IoMode mode) noexcept
{
    return UniqueFd(accept_in_mode(listen_fd, addr, addr_len, mode));
}

void adopt_configured(int fd, const char* what)
{
    const int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0) throw_errno(what, "fcntl(F_GETFL)");
    if ((fl & O_NONBLOCK) == 0) throw SystemError(std::string(what) + " (handed over blocking)", "fcntl(F_GETFL)", EINVAL);
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) throw_errno(what, "fcntl(F_SETFD)");
}

std::vector<std::string> directory_entries(int dir, std::size_t limit)
{
    std::vector<std::string> names;
    const int copy = ::dup(dir); // closedir closes it
    DIR* d = copy >= 0 ? ::fdopendir(copy) : nullptr;
    if (d == nullptr) {
        if (copy >= 0) ::close(copy);
        return names;
    }
    while (names.size() < limit) {
        const dirent* e = ::readdir(d);
        if (e == nullptr) break;
        const std::string name(e->d_name);
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    return names;
}

} // namespace feth
