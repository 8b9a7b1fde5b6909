// base/log.cpp: what a log line shows of bytes that came from the network
// (N15): control bytes and bytes >= 0x80 escaped as OpenSSH's strnvis does
// (C-style for \n \r \t, octal otherwise); printable ASCII as it is.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "base/fd.hpp"
#include "base/log.hpp"
#include "catch.hpp"

namespace {

// One LOG_AUTH line with `user` in it, as stderr received it.
std::string logged_with(const std::string& user)
{
    feth::UniqueFd r, w;
    REQUIRE(feth::open_pipe(feth::IoMode::blocking, r, w) == 0);
    std::fflush(stderr);
    feth::UniqueFd saved(::dup(STDERR_FILENO));
    REQUIRE(::dup2(w.get(), STDERR_FILENO) == STDERR_FILENO);
    feth::log::configure({feth::log::Level::Info, true, "log_escape_test"});
    LOG_AUTH("Invalid user %s from 198.18.0.2 port 4242", user.c_str());
    std::fflush(stderr);
    ::dup2(saved.get(), STDERR_FILENO);
    w.reset();
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(r.get(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

} // namespace

TEST_CASE("log lines escape control bytes and bytes from 0x80, strnvis style")
{
    CHECK(logged_with("alice") == "Invalid user alice from 198.18.0.2 port 4242\n");
    CHECK(logged_with("a\x9b[31m") == "Invalid user a\\233[31m from 198.18.0.2 port 4242\n");
    CHECK(logged_with("x\ny") == "Invalid user x\\ny from 198.18.0.2 port 4242\n");
    CHECK(logged_with("\x1b[2J\r\t\x7f") == "Invalid user \\033[2J\\r\\t\\177 from 198.18.0.2 port 4242\n");
    CHECK(logged_with("caf\xc3\xa9") == "Invalid user caf\\303\\251 from 198.18.0.2 port 4242\n");
}
