// base/fd: the socket helpers give close-on-exec descriptors in exactly
// the mode asked for, on every platform. The accepted-socket cases are the
// macOS trap: accept() there copies the listener's O_NONBLOCK.
#include "base/fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "catch.hpp"

using feth::IoMode;
using feth::UniqueFd;

namespace {

bool is_nonblocking(int fd)
{
    int fl = ::fcntl(fd, F_GETFL);
    REQUIRE(fl >= 0);
    return (fl & O_NONBLOCK) != 0;
}

bool is_cloexec(int fd)
{
    int fl = ::fcntl(fd, F_GETFD);
    REQUIRE(fl >= 0);
    return (fl & FD_CLOEXEC) != 0;
}

// A listening AF_UNIX socket in a directory of its own, removed on every path.
struct UnixListener {
    std::string dir;
    sockaddr_un addr{};
    UniqueFd fd;

    explicit UnixListener(IoMode mode)
    {
        char tmpl[] = "/tmp/feth-fd-test.XXXXXX";
        const char* d = ::mkdtemp(tmpl);
        REQUIRE(d != nullptr);
        dir = d;
        std::string path = dir + "/s";
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        fd = feth::open_socket(AF_UNIX, SOCK_STREAM, 0, mode);
        REQUIRE(fd.valid());
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd.get(), 4) == 0);
    }
    ~UnixListener()
    {
        fd.reset();
        ::unlink(addr.sun_path);
        ::rmdir(dir.c_str());
    }
    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;

    UniqueFd connect_client() const
    {
        UniqueFd c = feth::open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::blocking);
        REQUIRE(c.valid());
        REQUIRE(::connect(c.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
        return c;
    }
};

} // namespace

TEST_CASE("open_socket: close-on-exec, blocking or not as asked")
{
    UniqueFd b = feth::open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::blocking);
    REQUIRE(b.valid());
    CHECK(is_cloexec(b.get()));
    CHECK_FALSE(is_nonblocking(b.get()));

    UniqueFd n = feth::open_socket(AF_UNIX, SOCK_DGRAM, 0, IoMode::nonblocking);
    REQUIRE(n.valid());
    CHECK(is_cloexec(n.get()));
    CHECK(is_nonblocking(n.get()));
}

TEST_CASE("open_socket: a failing socket() keeps its errno")
{
    errno = 0;
    UniqueFd bad = feth::open_socket(-1, SOCK_STREAM, 0, IoMode::blocking);
    CHECK_FALSE(bad.valid());
    CHECK(errno != 0);
}

TEST_CASE("open_socketpair: both ends close-on-exec in the mode asked for")
{
    for (IoMode mode : {IoMode::blocking, IoMode::nonblocking}) {
        UniqueFd a, b;
        REQUIRE(feth::open_socketpair(AF_UNIX, SOCK_STREAM, mode, a, b) == 0);
        for (int fd : {a.get(), b.get()}) {
            CHECK(is_cloexec(fd));
            CHECK(is_nonblocking(fd) == (mode == IoMode::nonblocking));
        }
        // And they are connected.
        REQUIRE(::write(a.get(), "x", 1) == 1);
        char c = 0;
        REQUIRE(::read(b.get(), &c, 1) == 1);
        CHECK(c == 'x');
    }
}

TEST_CASE("open_pipe: both ends close-on-exec in the mode asked for, and connected")
{
    for (IoMode mode : {IoMode::blocking, IoMode::nonblocking}) {
        UniqueFd rd, wr;
        REQUIRE(feth::open_pipe(mode, rd, wr) == 0);
        for (int fd : {rd.get(), wr.get()}) {
            CHECK(is_cloexec(fd));
            CHECK(is_nonblocking(fd) == (mode == IoMode::nonblocking));
        }
        const char byte = 'x';
        REQUIRE(::write(wr.get(), &byte, 1) == 1);
        char got = 0;
        REQUIRE(::read(rd.get(), &got, 1) == 1);
        CHECK(got == 'x');
    }
}

TEST_CASE("accept_socket: the mode asked for, not the listener's")
{
    SECTION("a blocking connection from a non-blocking listener")
    {
        UnixListener l(IoMode::nonblocking);
        UniqueFd client = l.connect_client();
        UniqueFd conn = feth::accept_socket(l.fd.get(), nullptr, nullptr, IoMode::blocking);
        REQUIRE(conn.valid());
        CHECK(is_cloexec(conn.get()));
        CHECK_FALSE(is_nonblocking(conn.get()));
    }
    SECTION("a non-blocking connection from a blocking listener")
    {
        UnixListener l(IoMode::blocking);
        UniqueFd client = l.connect_client();
        sockaddr_un peer{};
        socklen_t len = sizeof peer;
        UniqueFd conn = feth::accept_socket(l.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len, IoMode::nonblocking);
        REQUIRE(conn.valid());
        CHECK(is_cloexec(conn.get()));
        CHECK(is_nonblocking(conn.get()));
        CHECK(peer.sun_family == AF_UNIX);
    }
    SECTION("nothing pending on a non-blocking listener: EAGAIN, no descriptor")
    {
        UnixListener l(IoMode::nonblocking);
        errno = 0;
        UniqueFd conn = feth::accept_socket(l.fd.get(), nullptr, nullptr, IoMode::blocking);
        CHECK_FALSE(conn.valid());
        CHECK((errno == EAGAIN || errno == EWOULDBLOCK));
    }
}

TEST_CASE("set_io_mode: clears O_NONBLOCK as well as setting it")
{
    UniqueFd fd = feth::open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::nonblocking);
    REQUIRE(fd.valid());
    REQUIRE(feth::set_io_mode(fd.get(), IoMode::blocking) == 0);
    CHECK_FALSE(is_nonblocking(fd.get()));
    CHECK(is_cloexec(fd.get()));
    REQUIRE(feth::set_io_mode(fd.get(), IoMode::nonblocking) == 0);
    CHECK(is_nonblocking(fd.get()));
    errno = 0;
    CHECK(feth::set_io_mode(-1, IoMode::blocking) == -1);
    CHECK(errno == EBADF);
}
