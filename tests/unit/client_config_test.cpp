#include "config/client_config.hpp"
#include "config/known_hosts_hash.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "base/error.hpp"
#include "tunnel/mtu.hpp"

using namespace feth;
using namespace feth::config;

namespace {

// The InputError's text, "" when none was thrown.
std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct TempHome {
    std::filesystem::path dir;
    TempHome()
    {
        char tmpl[] = "/tmp/feth-cc-XXXXXX";
        dir = ::mkdtemp(tmpl);
        std::filesystem::create_directories(dir / ".ssh");
    }
    ~TempHome()
    {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    TempHome(const TempHome&) = delete;
    TempHome& operator=(const TempHome&) = delete;
    std::string path(const std::string& rel) const { return (dir / rel).string(); }
    std::string home() const { return dir.string(); }
    // ssh refuses group/other-writable files: write them 0600 whatever the umask.
    void write(const std::string& rel, const std::string& text, mode_t mode = 0600) const
    {
        std::filesystem::create_directories((dir / rel).parent_path());
        std::ofstream(dir / rel) << text;
        ::chmod(path(rel).c_str(), mode);
    }
};

ClientConfig parse(const std::string& text, const std::string& host = "box", const std::string& home = "/home/u",
                   const std::string& local_user = "me")
{
    ClientConfig c;
    ClientConfigParser(c, host, home, local_user).apply_text(text, "cfg");
    return c;
}

} // namespace

TEST_CASE("command line first, then the file: first value wins", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/home/u", "me");
    p.apply_option("Port=2200");
    p.apply_option("User alice");
    p.apply_option("Tunnel = ethernet");
    p.apply_text("Port 22\nUser bob\nHostName box.example\nHostName other\nTunnel point-to-point\n", "cfg");
    resolve_defaults(c, "box", "me", "/home/u");
    CHECK(*c.port == 2200);
    CHECK(*c.user == "alice");
    CHECK(*c.host_name == "box.example");
    CHECK(c.tunnel == TunMode::Ethernet);

    SECTION("keywords are case-insensitive; = and quotes and comments work")
    {
        ClientConfig d = parse("# comment\n  hOsTnAmE=\"quoted name\"  # trailing\n\tPORT\t= 2022\r\n");
        CHECK(*d.host_name == "quoted name");
        CHECK(*d.port == 2022);
    }
}

TEST_CASE("Host blocks: wildcards, negation, case, first block wins", "[client_config]")
{
    const std::string text = "Host *.lab !bad.lab\n  User lab\n"
                             "Host box b?x\n  Port 2022\n"
                             "Host *\n  User fallback\n  Port 22\n";
    CHECK(parse(text, "a.lab").user.value_or("") == "lab");
    CHECK(parse(text, "bad.lab").user.value_or("") == "fallback"); // negated match wins
    CHECK(parse(text, "box").user.value_or("") == "fallback");
    CHECK(parse(text, "box").port.value_or(0) == 2022);
    CHECK(parse(text, "bix").port.value_or(0) == 2022);
    CHECK(parse(text, "boox").port.value_or(0) == 22);
    // As in ssh, Host patterns are case-sensitive and one per argument.
    CHECK_FALSE(parse("Host BOX\n  Port 7\n").port.has_value());
    CHECK_FALSE(parse("Host a,box\n  Port 7\n").port.has_value());
    // Only negated patterns never match.
    CHECK_FALSE(parse("Host !other\n  Port 7\n").port.has_value());

    CHECK(match_host_patterns("a,b*,!bx", "bz"));
    CHECK_FALSE(match_host_patterns("a,b*,!bx", "bx"));
    CHECK(match_host_patterns("BOX", "box"));
    CHECK(match_host_patterns("x y  box", "box"));
    CHECK_FALSE(match_host_patterns("", "box"));
    CHECK_FALSE(match_host_patterns("!box", "box"));
    CHECK(match_host_patterns("*", "anything"));
    CHECK(match_host_patterns("*a*b*c*", "xxaxxbxxcxx"));
    CHECK_FALSE(match_host_patterns("*a*b*c*d", "xxaxxbxxcxx"));
    // The host is folded as well as the patterns; tabs separate like spaces.
    CHECK(match_host_patterns("x\tbox", "BOX"));
    CHECK_FALSE(match_host_patterns(" , ", "box"));
}

TEST_CASE("Match host/originalhost/user/localuser/all, negation", "[client_config]")
{
    // Match host sees HostName once set; originalhost the name as given.
    auto c = parse("HostName real.example\nMatch host real.example\n  Port 1\nMatch originalhost box\n  User o\n");
    CHECK(c.port.value_or(0) == 1);
    CHECK(c.user.value_or("") == "o");

    // Match user: the User set so far, else the local user.
    CHECK(parse("Match user me\n  Port 2\n").port.value_or(0) == 2);
    CHECK(parse("User alice\nMatch user al*\n  Port 2\n").port.value_or(0) == 2);
    CHECK_FALSE(parse("User alice\nMatch user me\n  Port 2\n").port.has_value());
    CHECK(parse("User alice\nMatch localuser me\n  Port 3\n").port.value_or(0) == 3);
    // All criteria must match; '!' negates one; Match all; key=value form.
    CHECK_FALSE(parse("Match host box user nobody\n  Port 4\n").port.has_value());
    CHECK(parse("Match host box !user nobody\n  Port 4\n").port.value_or(0) == 4);
    CHECK(parse("Match host=b*\n  Port 5\n").port.value_or(0) == 5);
    CHECK(parse("Match host nothere\n  Port 6\nMatch all\n  Port 7\n").port.value_or(0) == 7);
    CHECK_FALSE(parse("Match !all\n  Port 7\n").port.has_value());
    CHECK(parse("Match host BOX\n  Port 8\n").port.value_or(0) == 8); // host names fold case here

    ClientConfig d;
    ClientConfigParser p(d, "box", "/h", "me");
    CHECK(has(error_of([&] { p.apply_text("Match address 10.0.0.0/8\n", "f"); }), "f line 1: Bad Match condition"));
    CHECK(has(error_of([&] { p.apply_text("Match host\n", "f"); }), "missing argument"));
    CHECK(has(error_of([&] { p.apply_text("Match all host box\n", "f"); }), "cannot be combined"));
    CHECK(has(error_of([&] { p.apply_option("Match all"); }), "not supported as a command-line option"));
}

TEST_CASE("Match exec runs only through its runner, only when the criteria before it matched", "[client_config]")
{
    {
        ClientConfig c;
        ClientConfigParser p(c, "box", "/h", "me");
        CHECK(has(error_of([&] { p.apply_text("Match exec true\n  Port 1\n", "f"); }),
                  "f line 1: Match exec: commands are not run here"));
    }
    ClientConfig c;
    ClientConfigParser p(c, "box", "/home/me", "me");
    std::vector<std::string> ran;
    // The runner stands for the shell: "ok..." exits 0, anything else 1.
    p.set_match_exec([&](const std::string& cmd) {
        ran.push_back(cmd);
        return cmd.rfind("ok", 0) == 0 ? 0 : 1;
    });
    p.apply_text("Match host other exec ok-skipped\n  Port 1\n"   // host fails first: never run
                 "Match exec fail\n  Port 2\n"
                 "Match exec \"ok %h %n %p %r %u %d %%\"\n  User viaexec\n"
                 "Match !exec fail\n  ConnectTimeout 9\n"
                 "Match exec=ok-eq\n  ServerAliveInterval 7\n"
                 "Match canonical all\n  Port 4\n"
                 "Match tagged x\n  Port 7\n"
                 "Match all\n  Port 8\n",
                 "cfg");
    CHECK(ran == std::vector<std::string>{"fail", "ok box box 22 me me /home/me %", "fail", "ok-eq"});
    CHECK(c.user.value_or("") == "viaexec");
    CHECK(c.connect_timeout.value_or(0) == 9);
    CHECK(c.server_alive_interval.value_or(0) == 7);
    CHECK(c.port.value_or(0) == 8);
    p.set_match_exec([](const std::string&) { return -1; }); // killed by a signal: ssh's fatal error
    CHECK(has(error_of([&] { p.apply_text("Match exec ok\n", "g"); }), "g line 1: match exec 'ok' error"));
}

TEST_CASE("Match localnetwork looks at the interfaces' addresses", "[client_config]")
{
    // No interface holds an address of this documentation prefix.
    CHECK_FALSE(feth::config::local_network_matches("2001:db8:2929::/48"));
    CHECK_FALSE(parse("Match localnetwork 2001:db8:2929::/48\n  Port 6\n").port.has_value());
    CHECK(parse("Match !localnetwork 2001:db8:2929::/48\n  Port 6\n").port.value_or(0) == 6);
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    CHECK(has(error_of([&] { p.apply_text("Match localnetwork 198.18.0.1/8\n", "f"); }), "f line 1: Bad Match condition"));
}

TEST_CASE("Include: relative to ~/.ssh, ~, globs, shared Host state, bounded", "[client_config]")
{
    TempHome home;
    home.write(".ssh/conf.d/one.conf", "Port 4444\n");
    home.write(".ssh/conf.d/two.conf", "User included\n");
    home.write("abs.conf", "HostName from-tilde\n");

    ClientConfig c;
    ClientConfigParser(c, "box", home.home(), "me").apply_text("Include conf.d/*.conf ~/abs.conf\n", "cfg");
    CHECK(c.port.value_or(0) == 4444);
    CHECK(c.user.value_or("") == "included");
    CHECK(c.host_name.value_or("") == "from-tilde");

    SECTION("inside a Host block that does not apply, nothing in the file applies")
    {
        home.write(".ssh/inner.conf", "Port 1\nHost *\nUser inner\n");
        auto d = parse("Host other\nInclude inner.conf\nHost *\nPort 2\n", "box", home.home());
        CHECK(d.port.value_or(0) == 2);
        CHECK_FALSE(d.user.has_value());
    }
    SECTION("a Host line in an included file stays in force after it, as in ssh")
    {
        home.write(".ssh/hosts.conf", "Host nomatch\n");
        auto d = parse("Include hosts.conf\nPort 3\n", "box", home.home());
        CHECK_FALSE(d.port.has_value());
    }
    SECTION("recursion ends at ssh's depth of 16")
    {
        home.write(".ssh/loop.conf", "Include loop.conf\n");
        ClientConfig d;
        auto err = error_of([&] { ClientConfigParser(d, "box", home.home()).apply_text("Include loop.conf\n", "cfg"); });
        CHECK(has(err, "nested too deeply"));
        CHECK(has(err, "loop.conf line 1"));
    }
    SECTION("a missing include is fine")
    {
        auto e = parse("Include nothing-here /nonexistent/*.conf\nPort 5\n", "box", home.home());
        CHECK(e.port.value_or(0) == 5);
    }
    SECTION("errors in an included file name that file and its line")
    {
        home.write(".ssh/bad.conf", "\nPortt 1\n");
        CHECK(error_of([&] { parse("Include bad.conf\n", "box", home.home()); }) ==
              home.path(".ssh/bad.conf") + " line 2: Bad configuration option: Portt");
    }
    SECTION("group-writable included files are refused, like ssh")
    {
        home.write(".ssh/loose.conf", "Port 6\n", 0664);
        CHECK(has(error_of([&] { parse("Include loose.conf\n", "box", home.home()); }), "Bad owner or permissions"));
    }
    SECTION("confined includes do not leave the home")
    {
        ClientConfig d;
        ClientConfigParser p(d, "box", home.home());
        p.confine_includes_to_home(true);
        p.apply_text("Include /etc/ssh/ssh_config conf.d/one.conf\n", "cfg");
        CHECK(d.port.value_or(0) == 4444);
    }
}

TEST_CASE("apply_file: missing, -F none, permissions", "[client_config]")
{
    TempHome home;
    ClientConfig c;
    ClientConfigParser p(c, "box", home.home());
    p.apply_file(home.path(".ssh/config"), false); // missing ~/.ssh/config: fine
    p.apply_file("none", true);                    // -F none
    CHECK(has(error_of([&] { p.apply_file(home.path("nope"), true); }), "Can't open user config file"));
    home.write(".ssh/config", "Port 9\n", 0666);
    CHECK(has(error_of([&] { p.apply_file(home.path(".ssh/config"), false); }), "Bad owner or permissions"));
    p.apply_file(home.path(".ssh/config"), true); // -F: no permission check, as in ssh
    CHECK(c.port.value_or(0) == 9);
}

TEST_CASE("ssh's other keywords are accepted and ignored; unknown ones are errors", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    p.apply_text("ForwardAgent yes\nControlPersist 10m\nCompression yes\n"
                 "ProxyJump x\nLocalForward 8080 localhost:80\nSendEnv LANG LC_*\nRSAAuthentication no\n"
                 "UseRoaming no\nGSSAPIAuthentication yes\nPKCS11Provider none\nWarnWeakCrypto no\n",
                 "cfg");
    CHECK(error_of([&] { p.apply_text("\n\nPortt 22\n", "/home/u/.ssh/config"); }) ==
          "/home/u/.ssh/config line 3: Bad configuration option: Portt");
    CHECK(error_of([&] { p.apply_option("Nonsense=1"); }) == "command-line line 0: Bad configuration option: Nonsense");
    // Also in a block that does not apply, as in ssh.
    CHECK(has(error_of([&] { p.apply_text("Host other\nBogus 1\n", "f"); }), "f line 2: Bad configuration option"));
    // IgnoreUnknown: first value wins, patterns, case-insensitive.
    p.apply_text("IgnoreUnknown UseKeychain,Add*\nUseKeychain yes\nAddThing 1\n", "cfg");
    CHECK(has(error_of([&] { p.apply_text("Other 1\n", "f"); }), "Bad configuration option: Other"));
    // Our own keywords.
    p.apply_text("Reconnect yes\nTunnelBackend tap\n", "cfg");
    CHECK(c.reconnect == true);
    CHECK(c.tunnel_backend == std::string("tap"));
}

TEST_CASE("values are checked and named", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    auto err = [&](const std::string& opt) { return error_of([&] { p.apply_option(opt); }); };
    CHECK(err("Port=0") == "command-line line 0: bad value '0' for Port (expected a port from 1 to 65535 or a "
                           "service name)");
    CHECK(has(err("Port=70000"), "for Port"));
    CHECK(has(err("Port 22 23"), "extra arguments"));
    CHECK(has(err("Port"), "no argument after keyword"));
    CHECK(has(err("User \"\""), "missing argument for User"));
    CHECK(has(err("Tunnel=maybe"), "bad value 'maybe' for Tunnel (expected yes, point-to-point, ethernet or no)"));
    CHECK(has(err("TunnelDevice=x:1"), "for TunnelDevice"));
    CHECK(has(err("StrictHostKeyChecking=perhaps"), "accept-new"));
    CHECK(has(err("ServerAliveInterval=-1"), "for ServerAliveInterval"));
    CHECK(has(err("ServerAliveCountMax=x"), "for ServerAliveCountMax"));
    CHECK(has(err("ConnectTimeout=soon"), "for ConnectTimeout"));
    CHECK(has(err("IdentitiesOnly=maybe"), "for IdentitiesOnly (expected yes or no)"));
    CHECK(has(err("AddressFamily=ipx"), "for AddressFamily"));
    CHECK(has(err("LogLevel=LOUD"), "DEBUG3"));
    CHECK(has(err("TunnelBackend=magic"), "for TunnelBackend"));
    CHECK(has(err("HostName=%z.example"), "unknown token %z"));
    CHECK(has(err("IdentityFile=~/.ssh/%Q"), "unknown token %Q"));
    CHECK(has(err("UserKnownHostsFile=none ~/.ssh/kh"), "must appear alone"));
    CHECK(has(err("RekeyLimit=8"), "for RekeyLimit"));
    CHECK(has(err("Host=x"), "Host directive not supported as a command-line option"));
    CHECK(has(err("Include=x"), "not supported as a command-line option"));
    CHECK(has(err("Port=22\nPort=23"), "newline"));
    CHECK(has(err("User \"unterminated"), "unterminated quote"));
    // Hostile bytes are escaped in messages.
    CHECK(has(err("Port=\x1b[2J"), "'\\x1b[2J'"));
    // Values are checked in blocks that do not apply too, as in ssh.
    CHECK(has(error_of([&] { p.apply_text("Host other\n  Port x\n", "f"); }), "f line 2: bad value 'x' for Port"));
    CHECK(has(error_of([&] { p.apply_text(std::string("Port 22\0", 8), "f"); }), "NUL"));
    CHECK(has(error_of([&] { p.apply_text("User " + std::string(9000, 'x'), "f"); }), "line longer than 8192"));
    CHECK(has(error_of([&] { p.apply_text(std::string(1024 * 1024 + 1, '#'), "f"); }), "larger than"));
    CHECK_FALSE(c.port.has_value()); // nothing above was stored
}

TEST_CASE("TunnelMTU: ours, a number or default", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    p.apply_option("TunnelMTU=9000");
    p.apply_text("TunnelMTU 1400\n", "cfg"); // first value wins: -o came first
    CHECK(c.tunnel_mtu == 9000u);
    CHECK(parse("Host other\n  TunnelMTU 1400\nHost box\n  TunnelMTU 1300\n").tunnel_mtu == 1300u);
    CHECK(parse("tunnelmtu = default\n").tunnel_mtu == 0u);
    const unsigned smallest = mtu::kThisPlatform.min; // 68 on Linux, 72 on macOS
    CHECK(parse("TunnelMTU " + std::to_string(smallest) + "\n").tunnel_mtu == smallest);
    CHECK(has(error_of([&] { parse("TunnelMTU " + std::to_string(smallest - 1) + "\n"); }), "bad value"));
    CHECK(parse("TunnelMTU 16370\n").tunnel_mtu == 16370u);
    CHECK_FALSE(parse("Port 22\n").tunnel_mtu.has_value()); // unset: the device's default
    const std::string expected = " (expected " + mtu::expected() + ")";
    for (const char* bad : {"0", "67", "16371", "65536", "-1", "9k", "none", "1500 "})
        CHECK(error_of([&] { parse(std::string("Port 22\nTunnelMTU \"") + bad + "\"\n"); }) ==
              std::string("cfg line 2: bad value '") + bad + "' for TunnelMTU" + expected);
    CHECK(error_of([&] { p.apply_option("TunnelMTU=20000"); }) ==
          "command-line line 0: bad value '20000' for TunnelMTU" + expected);
    CHECK(has(error_of([&] { p.apply_option("TunnelMTU 1500 9000"); }), "extra arguments"));
    // Checked in blocks that do not apply too, as ssh checks values.
    CHECK(has(error_of([&] { parse("Host other\n  TunnelMTU 99999\n"); }), "cfg line 2: bad value '99999'"));
}

TEST_CASE("value syntaxes as ssh takes them", "[client_config]")
{
    auto c = parse("ServerAliveInterval 1m30s\nConnectTimeout none\nConnectTimeout 10\nServerAliveCountMax 0\n"
                   "IdentitiesOnly TRUE\nExitOnForwardFailure no\nBatchMode yes\nAddressFamily INET6\n"
                   "LogLevel debug2\nRekeyLimit 1G 1h\nCiphers aes128-ctr\nPort ssh\n");
    CHECK(c.server_alive_interval == 90u);
    CHECK(c.connect_timeout == 10u); // "none" left it unset
    CHECK(c.server_alive_count_max == 0u);
    CHECK(c.identities_only == true);
    CHECK(c.exit_on_forward_failure == false);
    CHECK(c.batch_mode == true);
    CHECK(c.address_family == AddressFamily::Inet6);
    CHECK(c.log_level == std::string("DEBUG2"));
    CHECK(c.rekey_limit == (std::uint64_t{1} << 30));
    CHECK(c.ciphers == std::string("aes128-ctr"));
    CHECK(c.port.value_or(0) == 22); // service name, if /etc/services knows it; else an error above
}

TEST_CASE("Tunnel, TunnelDevice and StrictHostKeyChecking values", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    p.apply_option("Tunnel=yes");
    p.apply_option("Tunnel=ethernet"); // first wins
    p.apply_option("TunnelDevice=3:any");
    p.apply_option("StrictHostKeyChecking=off");
    CHECK(c.tunnel == TunMode::PointToPoint);
    CHECK(c.tunnel_device->local == 3u);
    CHECK(c.tunnel_device->remote == kTunUnitAny);
    CHECK(c.strict_host_key_checking == StrictHostKeyChecking::No);

    CHECK(parse("Tunnel true\n").tunnel == TunMode::PointToPoint);
    CHECK(parse("Tunnel Point-To-Point\n").tunnel == TunMode::PointToPoint);
    CHECK(parse("Tunnel ETHERNET\n").tunnel == TunMode::Ethernet);
    for (auto [text, want] : {std::pair{"yes", StrictHostKeyChecking::Yes}, {"true", StrictHostKeyChecking::Yes},
                              {"accept-new", StrictHostKeyChecking::AcceptNew}, {"no", StrictHostKeyChecking::No},
                              {"false", StrictHostKeyChecking::No}, {"ask", StrictHostKeyChecking::Ask}})
        CHECK(parse(std::string("StrictHostKeyChecking ") + text + "\n").strict_host_key_checking == want);

    SECTION("Tunnel no counts as set and means no tunnel")
    {
        ClientConfig d;
        ClientConfigParser q(d, "box", "/h", "me");
        q.apply_option("Tunnel=no");
        q.apply_text("Tunnel ethernet\n", "cfg");
        resolve_defaults(d, "box", "me", "/h");
        CHECK(d.tunnel_disabled);
        CHECK_FALSE(d.tunnel.has_value());
    }

    CHECK(parse_tunnel_device("any")->local == kTunUnitAny);
    CHECK(parse_tunnel_device("any")->remote == kTunUnitAny);
    CHECK(parse_tunnel_device("ANY:7")->remote == 7u);
    CHECK(parse_tunnel_device("0:1")->remote == 1u);
    CHECK(parse_tunnel_device("5")->local == 5u);
    CHECK(parse_tunnel_device("2147483645")->local == 2147483645u);
    CHECK_FALSE(parse_tunnel_device("2147483646").has_value());
    CHECK_FALSE(parse_tunnel_device(":").has_value());
    CHECK_FALSE(parse_tunnel_device("1:").has_value());
    CHECK_FALSE(parse_tunnel_device("-1").has_value());
    CHECK_FALSE(parse_tunnel_device("1:2:3").has_value());
}

TEST_CASE("IdentityFile accumulates; tokens expand once resolved; HostName %h", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/home/u", "me");
    p.apply_option("IdentityFile=~/.ssh/first");
    p.apply_text("IdentityFile /keys/second\nIdentityFile ~/.ssh/first\nHostName %h.example\n"
                 "User remote\nIdentityFile %d/%u/%r/%h/%n/%p/%%\nPort 2222\n"
                 "UserKnownHostsFile ~/kh %d/kh2\nIdentityAgent ~/agent.sock\n",
                 "cfg");
    CHECK(c.identity_files.size() == 3); // the duplicate was dropped
    CHECK(*c.host_name == "box.example");
    resolve_defaults(c, "box", "me", "/home/u");
    CHECK(c.identity_files ==
          std::vector<std::string>{"/home/u/.ssh/first", "/keys/second", "/home/u/me/remote/box.example/box/2222/%"});
    CHECK(*c.user_known_hosts_files == std::vector<std::string>{"/home/u/kh", "/home/u/kh2"});
    CHECK(*c.identity_agent == "/home/u/agent.sock");

    SECTION("HostName %% and environment variables")
    {
        auto d = parse("HostName a%%b-%h\n");
        CHECK(*d.host_name == "a%b-box");
        ::setenv("FETH_CC_TEST_DIR", "/env/dir", 1);
        auto e = parse("IdentityFile ${FETH_CC_TEST_DIR}/key\n");
        resolve_defaults(e, "box", "me", "/home/u");
        CHECK(e.identity_files == std::vector<std::string>{"/env/dir/key"});
        ::unsetenv("FETH_CC_TEST_DIR");
        auto f = parse("IdentityFile ${FETH_CC_TEST_DIR}/key\n");
        CHECK(has(error_of([&] { resolve_defaults(f, "box", "me", "/home/u"); }), "FETH_CC_TEST_DIR is not set"));
    }
    SECTION("IdentityFile none: no default keys")
    {
        auto d = parse("IdentityFile none\n");
        resolve_defaults(d, "box", "me", "/home/u");
        CHECK(d.identity_files.empty());
    }
    SECTION("UserKnownHostsFile none: no file; SSH_AUTH_SOCK stays as it is")
    {
        auto d = parse("UserKnownHostsFile none\nIdentityAgent SSH_AUTH_SOCK\n");
        resolve_defaults(d, "box", "me", "/home/u");
        CHECK(d.user_known_hosts_files->empty());
        CHECK(*d.identity_agent == "SSH_AUTH_SOCK");
    }
    SECTION("IdentityFile only in blocks that apply")
    {
        auto d = parse("Host other\nIdentityFile /k/other\nHost box\nIdentityFile /k/box\n");
        CHECK(d.identity_files == std::vector<std::string>{"/k/box"});
    }
}

TEST_CASE("defaults", "[client_config]")
{
    ClientConfig d;
    resolve_defaults(d, "box", "me", "/home/me");
    CHECK(*d.host_name == "box");
    CHECK(*d.user == "me");
    CHECK(*d.port == 22);
    CHECK(d.tunnel == TunMode::Ethernet); // our default, said in --help
    CHECK_FALSE(d.tunnel_disabled);
    CHECK(d.tunnel_device->local == kTunUnitAny);
    CHECK(d.tunnel_device->remote == kTunUnitAny);
    // ssh's order (readconf.c), the types libssh loads.
    CHECK(d.identity_files == std::vector<std::string>{"/home/me/.ssh/id_rsa", "/home/me/.ssh/id_ecdsa",
                                                       "/home/me/.ssh/id_ed25519"});
    CHECK(*d.user_known_hosts_files ==
          std::vector<std::string>{"/home/me/.ssh/known_hosts", "/home/me/.ssh/known_hosts2"});
    CHECK(d.strict_host_key_checking == StrictHostKeyChecking::Ask);
    CHECK(*d.server_alive_interval == 0u);
    CHECK(*d.server_alive_count_max == 3u);
    CHECK(*d.connect_timeout == 0u);
    CHECK(d.address_family == AddressFamily::Any);
    CHECK(d.identities_only == false);
    CHECK(d.exit_on_forward_failure == false);
    CHECK(d.reconnect == false);
    CHECK(d.batch_mode == false);
    CHECK(d.control_master == ControlMaster::No);
    CHECK_FALSE(d.control_path.has_value());

    // Reconnect without ServerAliveInterval: 15 s (x 3); a value set, 0
    // too, is kept.
    ClientConfig r;
    r.reconnect = true;
    resolve_defaults(r, "box", "me", "/home/me");
    CHECK(*r.server_alive_interval == 15u);
    CHECK(*r.server_alive_count_max == 3u);
    ClientConfig off;
    off.reconnect = true;
    off.server_alive_interval = 0;
    resolve_defaults(off, "box", "me", "/home/me");
    CHECK(*off.server_alive_interval == 0u);
}

TEST_CASE("Port takes a TCP service name from the services database", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    p.apply_option("Port=ssh");
    CHECK(c.port.value_or(0) == 22);
    auto err = [&](const std::string& opt) { return error_of([&] { p.apply_option(opt); }); };
    CHECK(has(err("Port=no-such-service-here"), "bad value 'no-such-service-here' for Port"));
    // Signed numbers are no service names (getaddrinfo would read "-1" as 65535).
    CHECK(has(err("Port=-1"), "bad value '-1' for Port"));
    CHECK(has(err("Port=+22"), "bad value '+22' for Port"));
}

TEST_CASE("KexAlgorithms and Ciphers: ssh's forms, effective after resolve_defaults", "[client_config]")
{
    const std::string client_defaults =
        "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
        "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
        "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
        "diffie-hellman-group14-sha256";
    auto resolved = [](const std::string& text, const AlgorithmSupport& support = every_known_algorithm) {
        ClientConfig c;
        ClientConfigParser p(c, "box", "/home/u", "me");
        p.set_algorithm_support(support);
        p.apply_text(text, "cfg");
        resolve_defaults(c, "box", "me", "/home/u", support);
        return c;
    };
    CHECK(resolved("").kex_algorithms == client_defaults);
    CHECK(resolved("").ciphers == std::string("chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,"
                                              "aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr"));
    CHECK(resolved("KexAlgorithms -diffie-hellman-*\n").kex_algorithms ==
          client_defaults.substr(0, client_defaults.find(",diffie-hellman")));
    CHECK(resolved("Host other\n KexAlgorithms curve25519-sha256\nHost *\n KexAlgorithms ^ecdh-sha2-nistp256\n")
              .kex_algorithms->rfind("ecdh-sha2-nistp256,mlkem768x25519-sha256,", 0) == 0);
    CHECK(resolved("Ciphers -chacha20*\n").ciphers->rfind("aes128-gcm@openssh.com,", 0) == 0);

    // -o first, as ssh -o KexAlgorithms=... over the file.
    ClientConfig o;
    ClientConfigParser p(o, "box", "/home/u", "me");
    p.apply_option("KexAlgorithms=sntrup761x25519-sha512@openssh.com");
    p.apply_text("KexAlgorithms curve25519-sha256\n", "cfg");
    resolve_defaults(o, "box", "me", "/home/u");
    CHECK(o.kex_algorithms == std::string("sntrup761x25519-sha512@openssh.com"));

    CHECK(has(error_of([&] { resolved("KexAlgorithms +kyber-sha1\n"); }),
              "cfg line 1: Bad SSH2 KexAlgorithms '+kyber-sha1': 'kyber-sha1' is not implemented by this libssh"));
    // Checked in blocks that do not apply too, as ssh does.
    CHECK(has(error_of([&] { resolved("Host nomatch\n Ciphers aes128-ctr,des\n"); }), "'des' is not implemented"));
    CHECK(has(error_of([&] { resolved("KexAlgorithms -*\n"); }), "that leaves no algorithm"));
    AlgorithmSupport no_pq = [](AlgorithmKind kind, std::string_view name) {
        return every_known_algorithm(kind, name) && name.rfind("mlkem", 0) != 0 && name.rfind("sntrup", 0) != 0;
    };
    CHECK(resolved("", no_pq).kex_algorithms->rfind("curve25519-sha256,curve25519-sha256@libssh.org,", 0) == 0);
    CHECK(has(error_of([&] { resolved("KexAlgorithms mlkem768x25519-sha256\n", no_pq); }), "(it has: curve25519"));
}

TEST_CASE("keyword table: every keyword in one group, canonical names unique", "[client_config]")
{
    std::vector<std::string> seen;
    std::size_t honoured = 0, ignored = 0, refused = 0;
    for (const auto& k : client_keywords()) {
        std::string low(k.name);
        for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        CHECK(std::find(seen.begin(), seen.end(), low) == seen.end());
        seen.push_back(low);
        if (k.kind == KeywordClass::Honoured) ++honoured;
        if (k.kind == KeywordClass::Ignored) ++ignored;
        if (k.kind == KeywordClass::Refused) {
            ++refused;
            CHECK_FALSE(k.note.empty()); // a refusal says why
        }
    }
    CHECK(honoured >= 40);
    CHECK(ignored >= 50);
    CHECK(refused >= 10);
    // Every keyword in the table parses with some value (no "Bad
    // configuration option").
    for (const auto& k : client_keywords()) {
        ClientConfig c;
        ClientConfigParser p(c, "box", "/h", "me");
        std::string e = error_of([&] { p.apply_text("Host other\n" + std::string(k.name) + " x\n", "cfg"); });
        CHECK_FALSE(has(e, "Bad configuration option"));
    }
}

TEST_CASE("refused keywords: an error naming keyword, file and line, unless harmless or elsewhere", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    CHECK(error_of([&] { p.apply_text("\nRevokedHostKeys /etc/ssh/revoked\n", "/home/u/.ssh/config"); }) ==
          "/home/u/.ssh/config line 2: RevokedHostKeys /etc/ssh/revoked is not supported by feth-ssh (revoked host "
          "key lists are not checked)");
    CHECK(has(error_of([&] { p.apply_option("CanonicalizeHostname=yes"); }), "command-line line 0: CanonicalizeHostname"));
    CHECK(has(error_of([&] { p.apply_text("PubkeyAuthentication no\n", "f"); }), "f line 1: PubkeyAuthentication no"));
    CHECK(has(error_of([&] { p.apply_text("BindInterface eth0\n", "f"); }), "BindInterface eth0 is not supported"));
    CHECK(has(error_of([&] { p.apply_text("VerifyHostKeyDNS yes\n", "f"); }), "VerifyHostKeyDNS"));
    // The values that ask for what feth-ssh does anyway are fine.
    CHECK(error_of([&] {
              p.apply_text("RevokedHostKeys none\nCanonicalizeHostname no\nPubkeyAuthentication yes\n"
                           "VerifyHostKeyDNS no\nSecurityKeyProvider internal\nKnownHostsCommand none\n"
                           "RequiredRSASize 1024\nRefuseConnection no\n",
                           "f");
          }).empty());
    // A block for another host cannot stop this connection.
    CHECK(error_of([&] { p.apply_text("Host other\n  RevokedHostKeys /x\n", "f"); }).empty());
    // UseKeychain (Apple's) and what cannot matter to a tunnel: accepted.
    CHECK(error_of([&] { p.apply_text("Host *\n  UseKeychain yes\n  ForwardX11 yes\n  SendEnv LANG\n", "f"); }).empty());
}

TEST_CASE("HostKeyAlias, CertificateFile, algorithm lists, BindAddress, ConnectionAttempts", "[client_config]")
{
    auto c = parse("HostKeyAlias first\nHostKeyAlias second\n"
                   "CertificateFile ~/.ssh/id_ed25519-cert.pub\nCertificateFile /c/%h-%r\n"
                   "CertificateFile ~/.ssh/id_ed25519-cert.pub\n"
                   "HostKeyAlgorithms +ssh-rsa\nPubkeyAcceptedKeyTypes ssh-ed25519,rsa-sha2-512\n"
                   "PubkeyAcceptedAlgorithms ignored\nMACs ^hmac-sha2-256\n"
                   "BindAddress 198.18.0.5\nBindAddress 198.18.0.6\nConnectionAttempts 3\n");
    CHECK(c.host_key_alias == std::string("first"));
    REQUIRE(c.certificate_files.size() == 2); // duplicates dropped
    CHECK(c.host_key_algorithms == std::string("+ssh-rsa"));
    CHECK(c.pubkey_accepted_algorithms == std::string("ssh-ed25519,rsa-sha2-512")); // the old name, first wins
    CHECK(c.macs == std::string("^hmac-sha2-256"));
    CHECK(c.bind_address == std::string("198.18.0.5"));
    CHECK(c.connection_attempts == 3u);
    resolve_defaults(c, "box", "me", "/home/u");
    CHECK(c.certificate_files[0] == "/home/u/.ssh/id_ed25519-cert.pub");
    CHECK(c.certificate_files[1] == "/c/box-me");

    CHECK(has(error_of([] { parse("ConnectionAttempts 0\n"); }), "ConnectionAttempts"));
    CHECK(has(error_of([] { parse("MACs a,,b\n"); }), "an empty name"));
    CHECK(has(error_of([] { parse("HostKeyAlgorithms ssh-ed25519 rsa\n"); }), "extra arguments"));
    CHECK(has(error_of([] { parse("CertificateFile /c/%Q\n"); }), "unknown token %Q"));
    auto d = parse("");
    resolve_defaults(d, "box", "me", "/home/u");
    CHECK(d.connection_attempts == 1u);
    CHECK_FALSE(d.host_key_alias);
    CHECK_FALSE(d.bind_address);
}

TEST_CASE("GlobalKnownHostsFile, CheckHostIP, HashKnownHosts", "[client_config]")
{
    auto c = parse("GlobalKnownHostsFile ~/g1 /etc/g2\nCheckHostIP yes\nHashKnownHosts yes\n");
    resolve_defaults(c, "box", "me", "/home/u");
    CHECK(*c.global_known_hosts_files == std::vector<std::string>{"/home/u/g1", "/etc/g2"});
    CHECK(c.check_host_ip == true);
    CHECK(c.hash_known_hosts == true);
    auto d = parse("GlobalKnownHostsFile none\n");
    resolve_defaults(d, "box", "me", "/home/u");
    CHECK(d.global_known_hosts_files->empty());
    CHECK(has(error_of([] { parse("GlobalKnownHostsFile none /x\n"); }), "must appear alone"));
    auto e = parse("");
    resolve_defaults(e, "box", "me", "/home/u");
    CHECK(*e.global_known_hosts_files ==
          std::vector<std::string>{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"});
    CHECK(e.check_host_ip == false); // ssh 9.x's default
    CHECK(e.hash_known_hosts == false);
    CHECK(has(error_of([] { parse("CheckHostIP maybe\n"); }), "yes or no"));
}

TEST_CASE("AddKeysToAgent: ssh's forms", "[client_config]")
{
    auto one = [](const std::string& v) {
        auto c = parse("AddKeysToAgent " + v + "\n");
        resolve_defaults(c, "box", "me", "/home/u");
        return *c.add_keys_to_agent + "/" + std::to_string(*c.add_keys_to_agent_lifetime);
    };
    CHECK(one("yes") == "yes/0");
    CHECK(one("no") == "no/0");
    CHECK(one("ask") == "ask/0");
    CHECK(one("confirm") == "confirm/0");
    CHECK(one("confirm 1h") == "confirm/3600");
    CHECK(one("10m") == "yes/600");
    CHECK(has(error_of([] { parse("AddKeysToAgent yes 1h\n"); }), "AddKeysToAgent"));
    CHECK(has(error_of([] { parse("AddKeysToAgent sometimes\n"); }), "AddKeysToAgent"));
    CHECK(has(error_of([] { parse("AddKeysToAgent confirm 1h 2\n"); }), "extra arguments"));
}

TEST_CASE("LocalCommand and PermitLocalCommand: verbatim, tokens at run time", "[client_config]")
{
    auto c = parse("PermitLocalCommand yes\nLocalCommand  ip link set %T up; echo \"%h %p\" # not a comment\n"
                   "LocalCommand second\n");
    CHECK(c.permit_local_command == true);
    CHECK(c.local_command == std::string("ip link set %T up; echo \"%h %p\" # not a comment"));
    CHECK(has(error_of([] { parse("LocalCommand echo %Z\n"); }), "unknown token %Z"));
    LocalCommandTokens t;
    t.home = "/home/u";
    t.host = "real.example";
    t.host_arg = "box";
    t.port = "2222";
    t.remote_user = "bob";
    t.local_user = "me";
    t.tun_name = "tap3";
    CHECK(expand_local_command("up %T %h %n %p %r %u %d %k %%", t) == "up tap3 real.example box 2222 bob me /home/u box %");
    t.host_key_alias = "alias";
    CHECK(expand_local_command("%k", t) == "alias");
    CHECK(has(error_of([&] { expand_local_command("%Z", t); }), "unknown token"));
    auto d = parse("");
    resolve_defaults(d, "box", "me", "/home/u");
    CHECK(d.permit_local_command == false);
    CHECK_FALSE(d.local_command);
}

TEST_CASE("Match final and canonical: the second pass", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser p(c, "box", "/h", "me");
    const std::string text = "HostName real.example\nMatch final\n  Port 2\nMatch !canonical\n  User first\n"
                             "Host real.example\n  ConnectTimeout 9\n";
    p.apply_text(text, "cfg");
    CHECK_FALSE(c.port);
    CHECK(c.user == std::string("first"));
    CHECK_FALSE(c.connect_timeout);
    REQUIRE(p.wants_final_pass());
    p.begin_final_pass();
    p.apply_text(text, "cfg");
    CHECK(c.port == 2u);
    CHECK(c.connect_timeout == 9u); // Host lines see HostName in the final pass, as in ssh
    CHECK_FALSE(p.wants_final_pass());
    // Without "Match final" nothing asks for it.
    ClientConfig d;
    ClientConfigParser q(d, "box", "/h", "me");
    q.apply_text("Match canonical\n  Port 3\n", "cfg");
    CHECK_FALSE(q.wants_final_pass());
}

TEST_CASE("dump_client_config: ssh -G's lines", "[client_config]")
{
    ClientConfig c;
    ClientConfigParser(c, "box", "/home/u", "me")
        .apply_text("IdentityFile ~/.ssh/k\nTunnel yes\nStrictHostKeyChecking accept-new\nAddKeysToAgent confirm 5m\n"
                    "HostKeyAlias al\nConnectTimeout 4\nTunnelDevice 2\n",
                    "cfg");
    const ClientConfig raw = c;
    resolve_defaults(c, "box", "me", "/home/u");
    const std::string out = dump_client_config(raw, c, "box");
    CHECK(has(out, "\nidentityfile ~/.ssh/k\n")); // as written, as ssh -G
    CHECK(has(out, "\ntunnel point-to-point\n"));
    CHECK(has(out, "\nstricthostkeychecking accept-new\n"));
    CHECK(has(out, "\naddkeystoagent confirm 300\n"));
    CHECK(has(out, "\nhostkeyalias al\n"));
    CHECK(has(out, "\nconnecttimeout 4\n"));
    CHECK(has(out, "\ntunneldevice 2:any\n"));
    CHECK(has(out, "\nuserknownhostsfile /home/u/.ssh/known_hosts /home/u/.ssh/known_hosts2\n"));
    CHECK(out.rfind("host box\nuser me\nhostname box\nport 22\n", 0) == 0);
}

// The table is the only place a keyword is stated: each honoured
// keyword's parser must bring its value to its -G line, and -G must print
// the table's printers in the table's order (which is ssh's).
namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

std::string dump_of(const std::string& text)
{
    ClientConfig c;
    ClientConfigParser(c, "box", "/home/u", "me").apply_text(text, "cfg");
    const ClientConfig raw = c;
    resolve_defaults(c, "box", "me", "/home/u");
    return dump_client_config(raw, c, "box");
}

// The keywords of -G's lines, in order.
std::vector<std::string> printed_keywords(const std::string& dump)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < dump.size()) {
        std::size_t nl = dump.find('\n', pos);
        std::string line = dump.substr(pos, nl - pos);
        out.push_back(line.substr(0, line.find(' ')));
        pos = nl + 1;
    }
    return out;
}

} // namespace

TEST_CASE("keyword table: each honoured keyword's value reaches its -G line", "[client_config]")
{
    // A value unlike the default for every honoured keyword: a keyword
    // added to the table without one here fails.
    const std::vector<std::pair<std::string, std::string>> samples = {
        {"User", "u2"}, {"HostName", "h2.example"}, {"Port", "2200"}, {"AddressFamily", "inet6"},
        {"BatchMode", "yes"}, {"CheckHostIP", "yes"}, {"ExitOnForwardFailure", "yes"}, {"HashKnownHosts", "yes"},
        {"IdentitiesOnly", "yes"}, {"PermitLocalCommand", "yes"}, {"StrictHostKeyChecking", "no"},
        {"Tunnel", "point-to-point"}, {"ConnectionAttempts", "3"}, {"ServerAliveCountMax", "7"},
        {"ServerAliveInterval", "9"}, {"BindAddress", "198.18.0.1"}, {"Ciphers", "aes128-ctr"},
        {"HostKeyAlgorithms", "ssh-ed25519"}, {"HostKeyAlias", "al"}, {"IdentityAgent", "/tmp/a.sock"},
        {"IgnoreUnknown", "Zz*"}, {"KexAlgorithms", "curve25519-sha256"}, {"LocalCommand", "echo hi"},
        {"LogLevel", "ERROR"}, {"MACs", "hmac-sha2-256"}, {"PubkeyAcceptedAlgorithms", "ssh-ed25519"},
        {"PubkeyAcceptedKeyTypes", "ssh-ed25519"}, {"IdentityFile", "/k"}, {"CertificateFile", "/c"},
        {"GlobalKnownHostsFile", "/g"}, {"UserKnownHostsFile", "/u"}, {"AddKeysToAgent", "yes"},
        {"ConnectTimeout", "5"}, {"TunnelDevice", "4:5"}, {"RekeyLimit", "1G"}, {"ProxyJump", "j.example"},
        {"ProxyCommand", "nc %h %p"}, {"Reconnect", "yes"}, {"TunnelBackend", "tap"}, {"TunnelMTU", "1300"},
        {"TunnelUpCommand", "echo up"}, {"TunnelDownCommand", "echo down"}, {"TunnelCommandTimeout", "7"},
        {"ControlMaster", "auto"}, {"ControlPath", "~/.ssh/cm-%C"},
    };
    const std::string defaults = dump_of("");
    std::size_t checked = 0;
    for (const auto& k : client_keywords()) {
        if (k.kind != KeywordClass::Honoured || k.name == "Host" || k.name == "Match" || k.name == "Include")
            continue;
        INFO(k.name);
        auto sample = std::find_if(samples.begin(), samples.end(), [&](const auto& s) { return s.first == k.name; });
        REQUIRE(sample != samples.end());
        const std::string out = dump_of(std::string(k.name) + " " + sample->second + "\n");
        CHECK(out != defaults);
        // ssh -G prints the old name under the new one.
        const std::string printed = k.name == "PubkeyAcceptedKeyTypes" ? "pubkeyacceptedalgorithms" : lower(k.name);
        CHECK(has(out, "\n" + printed + " "));
        ++checked;
    }
    CHECK(checked == samples.size());
}

TEST_CASE("keyword table: -G prints in the table's order, ssh's, ours after", "[client_config]")
{
    // Every optional value set once, so each printer prints one line
    // (ProxyJump set, so ProxyCommand prints none).
    const std::string out =
        dump_of("BindAddress 198.18.0.1\nHostKeyAlgorithms ssh-ed25519\nHostKeyAlias al\nIdentityAgent /a\n"
                "IgnoreUnknown Zz*\nLocalCommand echo\nMACs hmac-sha2-256\nPubkeyAcceptedAlgorithms ssh-ed25519\n"
                "IdentityFile /k\nCertificateFile /c\nProxyJump j.example\nControlPath /cm\n");
    std::vector<std::string> expected;
    for (const auto& k : client_keywords())
        if (k.print != nullptr && k.name != "ProxyCommand") expected.push_back(lower(k.name));
    CHECK(printed_keywords(out) == expected);
    REQUIRE(expected.size() > 10);
    CHECK(expected.front() == "host");
    CHECK(expected.back() == "tunnelcommandtimeout");
    CHECK(has(out, "\nproxyjump j.example\nreconnect no\n")); // ours after ssh's
}

TEST_CASE("HashKnownHosts: ssh's hashed names", "[client_config]")
{
    std::string salt;
    for (int i = 0; i < 20; ++i) salt += static_cast<char>(i);
    // HMAC-SHA1 with this salt, computed independently (Python's hmac).
    CHECK(hashed_known_hosts_name("box.example", salt) == "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|G0JUiygqwpuuJnBgvfNZ0WQx2z0=");
    const std::string a = hashed_known_hosts_name("box.example");
    const std::string b = hashed_known_hosts_name("box.example");
    CHECK(a.rfind("|1|", 0) == 0);
    CHECK(a.size() == b.size());
    CHECK(a != b); // a fresh salt each time
}

TEST_CASE("ProxyCommand and ProxyJump as ssh's readconf", "[client_config]")
{
    auto parsed = [](const std::string& options, const std::string& text) {
        ClientConfig c;
        ClientConfigParser p(c, "box", "/home/u", "me");
        if (!options.empty()) p.apply_option(options);
        p.apply_text(text, "cfg");
        return c;
    };
    // ProxyCommand: the rest of the line, verbatim, first value wins.
    auto c = parsed("", "ProxyCommand ssh -W '[%h]:%p' jump  \nProxyCommand other\n");
    CHECK(c.proxy_command == std::string("ssh -W '[%h]:%p' jump"));
    CHECK_FALSE(c.proxy_jump);
    CHECK(parsed("ProxyCommand=nc %h %p", "ProxyCommand other\n").proxy_command == std::string("nc %h %p"));
    CHECK(parsed("", "ProxyCommand = nc %h %p\n").proxy_command == std::string("nc %h %p"));
    CHECK(parsed("", "Host other\n ProxyCommand nc a b\nHost box\n ProxyCommand nc %r@%n\n").proxy_command ==
          std::string("nc %r@%n"));
    CHECK(has(error_of([&] { parsed("", "ProxyCommand nc %x\n"); }), "cfg line 1: bad value 'nc %x' for ProxyCommand"));
    CHECK(has(error_of([&] { parsed("", "ProxyCommand nc %x\n"); }), "unknown token %x"));

    // ProxyJump: hops as written, first wins.
    c = parsed("", "ProxyJump u@j1:2222,ssh://v@[2001:db8::1]:22/,j3\nProxyJump other\n");
    CHECK(c.proxy_jump == std::string("u@j1:2222,ssh://v@[2001:db8::1]:22/,j3"));
    CHECK_FALSE(c.proxy_command);
    CHECK(parsed("ProxyJump=j", "ProxyJump k\n").proxy_jump == std::string("j"));
    CHECK(parsed("", "ProxyJump NONE\nProxyJump k\n").proxy_jump == std::string("none"));
    for (const char* bad : {"u@", "@j", "j:", "j:0", "j:99999", "j,,k", ",j", "j,", "[::1", "[]:22", "ssh://j/x",
                            "[::1]x", "j:abc:"}) {
        INFO(bad);
        CHECK(has(error_of([&] { parsed("", std::string("ProxyJump ") + bad + "\n"); }),
                  "cfg line 1: Invalid ProxyJump"));
    }
    // Syntax checked in blocks that do not apply too.
    CHECK(has(error_of([&] { parsed("", "Host nomatch\n ProxyJump j:0\n"); }), "Invalid ProxyJump"));

    // They exclude each other: whichever is set first wins, "none" included.
    c = parsed("", "ProxyJump j\nProxyCommand nc %h %p\n");
    CHECK(c.proxy_jump == std::string("j"));
    CHECK_FALSE(c.proxy_command);
    c = parsed("", "ProxyCommand nc %h %p\nProxyJump j\n");
    CHECK(c.proxy_command == std::string("nc %h %p"));
    CHECK_FALSE(c.proxy_jump);
    c = parsed("ProxyCommand=none", "ProxyJump j\n");
    CHECK(c.proxy_command == std::string("none"));
    CHECK_FALSE(c.proxy_jump);
    c = parsed("ProxyJump=none", "ProxyCommand nc %h %p\n");
    CHECK(c.proxy_jump == std::string("none"));
    CHECK_FALSE(c.proxy_command);
}
