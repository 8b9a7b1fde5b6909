// Owned file descriptors. Every fd the project opens lives in a UniqueFd so
// that no error path can leak one.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace feth {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) reset(other.release());
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }

    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept
    {
        int old = std::exchange(fd_, fd);
        if (old >= 0) ::close(old);
    }

private:
    int fd_ = -1;
};

// Sets O_NONBLOCK and FD_CLOEXEC; throws SystemError naming `what` on failure.
void set_nonblocking_cloexec(int fd, const char* what);

// Whether reads and writes on a new descriptor may block.
enum class IoMode { blocking, nonblocking };

// Makes `fd` close-on-exec and sets or clears O_NONBLOCK as `mode` says.
// 0, or -1 with errno set (fcntl's).
int set_io_mode(int fd, IoMode mode) noexcept;

// An adopted descriptor its opener configured completely: checks that it
// is non-blocking (F_GETFL) and makes this process's copy close-on-exec
// (F_SETFD); no F_SETFL, which on some devices is an ioctl (FIONBIO) of
// the driver. Throws SystemError naming `what` (EINVAL: blocking).
void adopt_configured(int fd, const char* what);

// socket(2), socketpair(2), accept(2) and pipe(2) whose descriptors are always
// close-on-exec and in exactly `mode`, on every platform: Linux sets both
// atomically (SOCK_CLOEXEC, SOCK_NONBLOCK, accept4); macOS has none of the
// three, so the flags are set right after the call. An accepted socket gets
// `mode` explicitly because macOS's accept() copies the listener's
// O_NONBLOCK into it and Linux's does not. Like the calls they wrap they do
// not throw: an invalid UniqueFd (or -1) with errno set on failure.
UniqueFd open_socket(int domain, int type, int protocol, IoMode mode) noexcept;
int open_socketpair(int domain, int type, IoMode mode, UniqueFd& first, UniqueFd& second) noexcept;
UniqueFd accept_socket(int listen_fd, sockaddr* addr, socklen_t* addr_len, IoMode mode) noexcept;
// pipe(2) the same way (pipe2 with O_CLOEXEC on Linux): both ends
// close-on-exec and in `mode`. 0, or -1 with errno set.
int open_pipe(IoMode mode, UniqueFd& read_end, UniqueFd& write_end) noexcept;

// The names in the open directory `dir` (not . and ..), at most `limit`,
// read through a dup so that `dir` stays open; empty when it cannot be read.
std::vector<std::string> directory_entries(int dir, std::size_t limit = SIZE_MAX);

} // namespace feth
