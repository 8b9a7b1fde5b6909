#include "client/proxy.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "catch.hpp"
#include "base/error.hpp"

using namespace feth;
using namespace feth::client;

namespace {

Destination dest()
{
    Destination d;
    d.host_arg = "alias";
    d.config.host_name = "h.example";
    d.config.port = 2200;
    d.config.user = "u";
    return d;
}

// Waits (bounded) until the proxy has exited, then returns failure().
std::string ended(ProxyProcess& p)
{
    for (int i = 0; i < 500; ++i) {
        if (auto f = p.failure(); !f.empty()) return f;
        ::usleep(10000);
    }
    return "";
}

// The exception's text, "" when none was thrown.
template <typename F> std::string what_of(F&& f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("ProxyCommand: %-tokens expanded, run as /bin/sh -c exec", "[proxy]")
{
    auto d = dest();
    d.config.proxy_command = "nc %h %p %r %n %%";
    CHECK(uses_proxy(d.config));
    CHECK(proxy_argv(d) == std::vector<std::string>{"/bin/sh", "-c", "exec nc h.example 2200 u alias %"});
    d.config.proxy_command = "none";
    CHECK_FALSE(uses_proxy(d.config));
    d.config.proxy_command.reset();
    CHECK_FALSE(uses_proxy(d.config));
}

TEST_CASE("ProxyJump: the ssh command line ssh.c builds", "[proxy]")
{
    auto d = dest();
    d.config.proxy_jump = "a@j1,ssh://b@j2:2022/";
    d.config_file = "cfg";
    d.verbose = 2;
    CHECK(uses_proxy(d.config));
    CHECK(proxy_argv(d) == std::vector<std::string>{"ssh", "-l", "b", "-p", "2022", "-J", "a@j1", "-F", "cfg", "-vv",
                                                    "-W", "[h.example]:2200", "j2"});
    d.config_file.clear();
    d.verbose = 0;
    d.config.proxy_jump = "[2001:db8::1]";
    CHECK(proxy_argv(d) == std::vector<std::string>{"ssh", "-W", "[h.example]:2200", "2001:db8::1"});
    // A ProxyJump wins over a ProxyCommand set with it (the parser never
    // sets both; "none" for ProxyJump leaves ProxyCommand's say).
    d.config.proxy_command = "nc %h %p";
    CHECK(proxy_argv(d).front() == "ssh");
    d.config.proxy_jump = "none";
    CHECK(proxy_argv(d).front() == "/bin/sh");
    d.config.proxy_command.reset();
    CHECK_FALSE(uses_proxy(d.config));
    // Jumping onto the destination itself: ssh's "jumphost loop".
    d.config.proxy_jump = "u@h.example:2200";
    CHECK(has(what_of([&] { proxy_argv(d); }), "jumphost loop via h.example"));
    d.config.proxy_jump = "h.example:2201";
    CHECK_NOTHROW(proxy_argv(d));
}

TEST_CASE("ProxyProcess: stdin and stdout are the transport; killed and reaped when destroyed", "[proxy]")
{
    UniqueFd ours, theirs;
    REQUIRE(open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, ours, theirs) == 0);
    pid_t pid = -1;
    {
        ProxyProcess p({"/bin/sh", "-c", "exec cat"}, theirs.get(), "ProxyCommand 'cat'");
        theirs.reset();
        pid = p.pid();
        REQUIRE(::write(ours.get(), "hello", 5) == 5);
        char buf[5] = {};
        std::size_t got = 0;
        while (got < sizeof buf) {
            ssize_t n = ::read(ours.get(), buf + got, sizeof buf - got);
            REQUIRE(n > 0);
            got += static_cast<std::size_t>(n);
        }
        CHECK(std::string(buf, 5) == "hello");
        CHECK(p.failure().empty()); // still running
        CHECK(::kill(pid, 0) == 0);
    }
    // Reaped: the pid no longer exists (not even as a zombie).
    CHECK(::kill(pid, 0) == -1);
    CHECK(errno == ESRCH);
}

TEST_CASE("ProxyProcess: how it ended, with its name", "[proxy]")
{
    UniqueFd ours, theirs;
    REQUIRE(open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, ours, theirs) == 0);
    ProxyProcess a({"/bin/sh", "-c", "exit 3"}, theirs.get(), "ProxyCommand 'exit 3'");
    CHECK(ended(a) == "ProxyCommand 'exit 3' exited with status 3");
    ProxyProcess b({"/bin/sh", "-c", "kill -9 $$"}, theirs.get(), "ProxyCommand 'x'");
    CHECK(ended(b) == "ProxyCommand 'x' killed by signal 9");
    ProxyProcess c({"/nonexistent/ssh"}, theirs.get(), "ProxyJump 'j'");
    CHECK(ended(c) == "ProxyJump 'j' exited with status 127");
    CHECK(has(what_of([&] { ProxyProcess({"no-such-command-feth"}, theirs.get(), "ProxyJump 'j'"); }),
              "ProxyJump 'j': no-such-command-feth not found in PATH"));
}

TEST_CASE("start_proxy: a failing ProxyCommand is reported with its status; one proxy at a time", "[proxy]")
{
    auto d = dest();
    d.config.proxy_command = "sleep 30";
    UniqueFd first = start_proxy(d);
    REQUIRE(first);
    CHECK(proxy_failure().empty() == true);
    d.config.proxy_command = "false";
    UniqueFd second = start_proxy(d); // stops the sleeping one
    char c;
    CHECK(::read(first.get(), &c, 1) == 0); // its end closed: the first proxy is gone
    CHECK(proxy_failure() == "ProxyCommand 'false' exited with status 1");
    stop_proxy();
    CHECK(proxy_failure().empty());
}
