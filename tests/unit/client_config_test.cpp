#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>

#include "catch.hpp"
#include "config/client_config.hpp"
#include "tunnel/error.hpp"

using namespace feth;
using namespace feth::config;

namespace {

std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

struct TempHome {
    std::filesystem::path dir;
    TempHome()
    {
        char tmpl[] = "/tmp/feth-cc-XXXXXX";
        dir = ::mkdtemp(tmpl);
        std::filesystem::create_directories(dir / ".ssh");
    }
    ~TempHome() { std::filesystem::remove_all(dir); }
    void write(const std::string& rel, const std::string& text) const { std::ofstream(dir / rel) << text; }
};

} // namespace

TEST_CASE("command line first, then the file: first value wins", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/home/u");
    p.apply_option("Port=2200");
    p.apply_option("User alice");
    p.apply_text("Port 22\nUser bob\nHostName box.example\nHostName other\n", "cfg");
    resolve_defaults(c, "box", "me", "/home/u");
    CHECK(*c.port == 2200);
    CHECK(*c.user == "alice");
    CHECK(*c.host_name == "box.example");
}

TEST_CASE("Host blocks match the command-line name, with wildcards and negation", "[client_config]")
{
    const std::string text = "Host *.lab !bad.lab\n  User lab\nHost box\n  Port 2022\nHost *\n  User fallback\n";
    for (auto [host, user] : {std::pair{"a.lab", "lab"}, {"bad.lab", "fallback"}, {"box", "fallback"}}) {
        ClientConfig c;
        ClientConfigParser(c, host, "/h").apply_text(text, "cfg");
        CHECK(c.user.value_or("") == user);
        if (std::string(host) == "box") CHECK(c.port.value_or(0) == 2022);
    }
    CHECK(match_host_patterns("a,b*,!bx", "bz"));
    CHECK_FALSE(match_host_patterns("a,b*,!bx", "bx"));
    CHECK(match_host_patterns("BOX", "box"));
    CHECK_FALSE(match_host_patterns("", "box"));
}

TEST_CASE("Match host/user/all, and exec is never run", "[client_config]")
{
    TempHome home;
    const auto marker = home.dir / "ran";
    ClientConfig c;
    ClientConfigParser p(c, "box", home.dir.string());
    p.apply_option("User=alice");
    p.apply_text("Match exec \"touch " + marker.string() + "\"\n  Port 1\n"
                 "Match user alice host box\n  Port 2\n"
                 "Match all\n  Port 3\n",
                 "cfg");
    CHECK_FALSE(std::filesystem::exists(marker));
    CHECK(c.port.value_or(0) == 2);
}

TEST_CASE("Include: relative to ~/.ssh, globbed, bounded", "[client_config]")
{
    TempHome home;
    home.write(".ssh/one.conf", "Port 4444\n");
    home.write(".ssh/two.conf", "User included\n");
    ClientConfig c;
    ClientConfigParser(c, "box", home.dir.string()).apply_text("Include *.conf\n", "cfg");
    CHECK(c.port.value_or(0) == 4444);
    CHECK(c.user.value_or("") == "included");

    home.write(".ssh/loop.conf", "Include loop.conf\n");
    ClientConfig d;
    CHECK(error_of([&] { ClientConfigParser(d, "box", home.dir.string()).apply_text("Include loop.conf\n", "cfg"); })
              .find("nested too deeply") != std::string::npos);

    ClientConfig e; // a missing include is fine, as in ssh
    ClientConfigParser(e, "box", home.dir.string()).apply_text("Include nothing-here\nPort 5\n", "cfg");
    CHECK(e.port.value_or(0) == 5);
}

TEST_CASE("ssh's other keywords are accepted and ignored; unknown ones are errors", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h");
    p.apply_text("ForwardAgent yes\nControlMaster auto\nCompression yes\nProxyJump x\n", "cfg");
    CHECK(error_of([&] { p.apply_text("\n\nPortt 22\n", "/home/u/.ssh/config"); }) ==
          "/home/u/.ssh/config line 3: Bad configuration option: Portt");
    CHECK(error_of([&] { p.apply_option("Nonsense=1"); }) == "command-line: Bad configuration option: Nonsense");
    p.apply_text("IgnoreUnknown Use*\nUseKeychain yes\n", "cfg");
}

TEST_CASE("values are checked and named", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h");
    CHECK(error_of([&] { p.apply_option("Port=0"); }).find("bad value '0' for Port") != std::string::npos);
    CHECK(error_of([&] { p.apply_option("Port=70000"); }).find("Port") != std::string::npos);
    CHECK(error_of([&] { p.apply_option("Tunnel=maybe"); }).find("Tunnel") != std::string::npos);
    CHECK(error_of([&] { p.apply_option("TunnelDevice=x:1"); }).find("TunnelDevice") != std::string::npos);
    CHECK(error_of([&] { p.apply_option("StrictHostKeyChecking=perhaps"); }).find("accept-new") != std::string::npos);
    CHECK(error_of([&] { p.apply_option("ServerAliveInterval=-1"); }).find("ServerAliveInterval") !=
          std::string::npos);
    CHECK(error_of([&] { p.apply_option("Host=x"); }).find("not allowed") != std::string::npos);
    CHECK(error_of([&] { p.apply_text(std::string("Port 22\0", 8), "cfg"); }).find("NUL") != std::string::npos);
    CHECK(error_of([&] { p.apply_text(std::string(9000, 'x'), "cfg"); }).find("too long") != std::string::npos);
}

TEST_CASE("Tunnel, TunnelDevice and StrictHostKeyChecking values", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h");
    p.apply_option("Tunnel=yes");
    p.apply_option("Tunnel=ethernet"); // first wins
    p.apply_option("TunnelDevice=3:any");
    p.apply_option("StrictHostKeyChecking=off");
    CHECK(c.tunnel == TunMode::PointToPoint);
    CHECK(c.tunnel_device->local == 3u);
    CHECK(c.tunnel_device->remote == kTunUnitAny);
    CHECK(c.strict_host_key_checking == StrictHostKeyChecking::No);

    ClientConfig d;
    ClientConfigParser(d, "box", "/h").apply_option("Tunnel=no");
    resolve_defaults(d, "box", "me", "/h");
    CHECK(d.tunnel_disabled);
    CHECK_FALSE(d.tunnel.has_value());

    CHECK(parse_tunnel_device("any")->remote == kTunUnitAny);
    CHECK(parse_tunnel_device("0:1")->remote == 1u);
    CHECK_FALSE(parse_tunnel_device("2147483646").has_value());
    CHECK_FALSE(parse_tunnel_device(":").has_value());
}

TEST_CASE("IdentityFile accumulates; ~ and %h expand; defaults fill the rest", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/home/u");
    p.apply_option("IdentityFile=~/.ssh/first");
    p.apply_text("IdentityFile /keys/second\nIdentityFile ~/.ssh/first\nHostName %h.example\n", "cfg");
    CHECK(c.identity_files == std::vector<std::string>{"/home/u/.ssh/first", "/keys/second"});
    CHECK(*c.host_name == "box.example");

    ClientConfig d;
    resolve_defaults(d, "box", "me", "/home/me");
    CHECK(*d.host_name == "box");
    CHECK(*d.user == "me");
    CHECK(*d.port == 22);
    CHECK(d.tunnel == TunMode::Ethernet); // our default, said in --help
    CHECK(d.identity_files.front() == "/home/me/.ssh/id_ed25519");
    CHECK(d.user_known_hosts_files->front() == "/home/me/.ssh/known_hosts");
    CHECK(d.strict_host_key_checking == StrictHostKeyChecking::Ask);
    CHECK(*d.server_alive_count_max == 3u);
}
