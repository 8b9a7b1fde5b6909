#include "config/server_config.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "catch.hpp"
#include "base/error.hpp"
#include "tunnel/mtu.hpp"

using namespace feth::config;

namespace {

constexpr const char* kOrigin = "/etc/feth-sshd/feth-sshd_config";

ServerConfig parse(std::string_view text)
{
    ServerConfig config;
    ConfigParser(config).apply_text(text, kOrigin);
    return config;
}

ServerConfig parse_finished(std::string_view text)
{
    ServerConfig config;
    ConfigParser parser(config);
    parser.apply_text(text, kOrigin);
    parser.finish();
    return config;
}

// The InputError text, or a marker that makes the comparison fail visibly.
std::string input_error(const std::function<void()>& f)
{
    try {
        f();
    } catch (const feth::InputError& e) {
        return e.what();
    }
    return "<no InputError>";
}

std::string text_error(std::string_view text)
{
    return input_error([&] { parse(text); });
}

std::string option_error(std::string_view option)
{
    return input_error([&] {
        ServerConfig config;
        ConfigParser(config).apply_option(option);
    });
}

bool contains(const std::string& haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string::npos;
}

bool has_endpoint(const ServerConfig& c, std::string_view host, std::uint16_t port)
{
    for (const auto& e : c.listen)
        if (e.host == host && e.port == port) return true;
    return false;
}

// A temporary file removed on scope exit.
struct TempFile {
    std::string path;
    explicit TempFile(std::string_view content)
    {
        char tmpl[] = "/tmp/feth-config-test-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path, std::ios::binary) << content;
    }
    ~TempFile() { ::unlink(path.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

} // namespace

TEST_CASE("finish() fills sshd-like defaults", "[config]")
{
    ServerConfig c = parse_finished("");
    CHECK(c.ports == std::vector<std::uint16_t>{22});
    REQUIRE(c.listen.size() == 2);
    CHECK(has_endpoint(c, "0.0.0.0", 22));
    CHECK(has_endpoint(c, "::", 22));
    CHECK(c.authorized_keys_files == std::vector<std::string>{".ssh/authorized_keys"});
    CHECK(c.permit_tunnel == kPermitEthernet);
    CHECK(c.log_level == feth::log::Level::Info);
    CHECK(c.pid_file.empty());
    CHECK(c.host_keys.empty());
    CHECK(c.allow_users.empty());
    CHECK(c.tunnel_backend == "auto");
    CHECK(c.seen.empty());
}

TEST_CASE("comments, blank lines, CRLF and whitespace", "[config]")
{
    ServerConfig c = parse("# a comment\r\n"
                           "\r\n"
                           "   \t\n"
                           "   # indented comment\n"
                           "\tPort 2222   # trailing comment after whitespace\r\n"
                           "PidFile /run/x#y\n"
                           "LogLevel VERBOSE\f\n");
    CHECK(c.ports == std::vector<std::uint16_t>{2222});
    CHECK(c.pid_file == "/run/x#y"); // '#' inside an argument is not a comment
    CHECK(c.log_level == feth::log::Level::Verbose);
}

TEST_CASE("keywords are case-insensitive; '=' and blanks separate", "[config]")
{
    ServerConfig c = parse("port=2201\n"
                           "PORT = 2202\n"
                           "Port= 2203\n"
                           "Port =2204\n"
                           "pErMiTtUnNeL\tpoint-to-point\n");
    CHECK(c.ports == std::vector<std::uint16_t>{2201, 2202, 2203, 2204});
    CHECK(c.permit_tunnel == kPermitPointToPoint);
    CHECK(c.was_set("permittunnel"));
    CHECK(c.was_set("PermitTunnel"));
    CHECK_FALSE(c.was_set("LogLevel"));
    // Only one '=' is a separator: the second belongs to the value.
    CHECK(text_error("Port==22\n") == std::string(kOrigin) + " line 1: bad port '=22' for Port (expected 1 to 65535)");
}

TEST_CASE("split_arguments follows sshd's quoting", "[config]")
{
    using V = std::vector<std::string>;
    CHECK(split_arguments("HostKey /a/b") == V{"HostKey", "/a/b"});
    CHECK(split_arguments("HostKey=/a/b") == V{"HostKey", "/a/b"});
    CHECK(split_arguments("  HostKey = /a/b  ") == V{"HostKey", "/a/b"});
    CHECK(split_arguments("HostKey \"/with space/key\"") == V{"HostKey", "/with space/key"});
    CHECK(split_arguments("HostKey '/single quoted'") == V{"HostKey", "/single quoted"});
    CHECK(split_arguments("AllowUsers a\"b c\"d e") == V{"AllowUsers", "ab cd", "e"});
    CHECK(split_arguments("HostKey a\\ b") == V{"HostKey", "a b"});
    CHECK(split_arguments("HostKey \"q\\\"uote\"") == V{"HostKey", "q\"uote"});
    CHECK(split_arguments("HostKey a\\xb") == V{"HostKey", "a\\xb"}); // unknown escape kept
    CHECK(split_arguments("HostKey \"\"") == V{"HostKey", ""});
    CHECK(split_arguments("HostKey a #comment b") == V{"HostKey", "a"});
    CHECK(split_arguments("HostKey \"#not a comment\"") == V{"HostKey", "#not a comment"});
    CHECK(split_arguments("# comment").empty());
    CHECK(split_arguments("").empty());
    CHECK(split_arguments("   ").empty());
    CHECK(input_error([] { split_arguments("HostKey \"open"); }) == "unterminated quote");
    CHECK(input_error([] { split_arguments("HostKey 'open"); }) == "unterminated quote");
}

TEST_CASE("quoted arguments in a file", "[config]")
{
    ServerConfig c = parse("HostKey \"/etc/feth sshd/key\"\n"
                           "AuthorizedKeysFile \".ssh/my keys\" /etc/keys/%u\n");
    CHECK(c.host_keys == std::vector<std::string>{"/etc/feth sshd/key"});
    CHECK(c.authorized_keys_files == std::vector<std::string>{".ssh/my keys", "/etc/keys/%u"});
    CHECK(text_error("\n\nHostKey \"/open\n") ==
          std::string(kOrigin) + " line 3: unterminated quote in arguments for HostKey");
}

TEST_CASE("unknown keywords, Match and Include", "[config]")
{
    CHECK(text_error("Port 22\n# x\nPermitTunel yes\n") ==
          std::string(kOrigin) + " line 3: unknown keyword 'PermitTunel'");
    CHECK(text_error("Match Host bob\n") ==
          std::string(kOrigin) + " line 1: unsupported Match criterion 'Host' (supported: All, User, Address)");
    CHECK(text_error("Match User bob\nPort 22\n") ==
          std::string(kOrigin) + " line 2: Port is not allowed in a Match block (only PermitTunnel, TunnelMTU, TunnelAdoptExisting and MaxTunnels)");
    CHECK(contains(text_error("Include /etc/x/*.conf\n"), " line 1: Include is not supported"));
    CHECK(text_error("=22\n") == std::string(kOrigin) + " line 1: missing keyword before '='");
    // Hostile bytes are escaped in messages.
    CHECK(text_error("Po\x01rt 22\n") == std::string(kOrigin) + " line 1: unknown keyword 'Po\\x01rt'");
}

TEST_CASE("Port", "[config]")
{
    CHECK(parse("Port 1\n").ports == std::vector<std::uint16_t>{1});
    CHECK(parse("Port 65535\n").ports == std::vector<std::uint16_t>{65535});
    CHECK(parse("Port 00022\n").ports == std::vector<std::uint16_t>{22});
    const std::string at = std::string(kOrigin) + " line 1: ";
    CHECK(text_error("Port 0\n") == at + "bad port '0' for Port (expected 1 to 65535)");
    CHECK(text_error("Port 65536\n") == at + "bad port '65536' for Port (expected 1 to 65535)");
    CHECK(text_error("Port 99999999999999999999\n") ==
          at + "bad port '99999999999999999999' for Port (expected 1 to 65535)");
    CHECK(text_error("Port -1\n") == at + "bad port '-1' for Port (expected 1 to 65535)");
    CHECK(text_error("Port ssh\n") == at + "bad port 'ssh' for Port (expected 1 to 65535)");
    CHECK(text_error("Port\n") == at + "missing argument for Port");
    CHECK(text_error("Port \"\"\n") == at + "empty argument for Port");
    CHECK(text_error("Port 22 23\n") == at + "too many arguments for Port (unexpected '23')");
}

TEST_CASE("Port is limited to sshd's 256", "[config]")
{
    std::string text;
    for (int i = 1; i <= 257; ++i) text += "Port " + std::to_string(i) + "\n";
    CHECK(text_error(text) == std::string(kOrigin) + " line 257: too many Port values (limit 256)");
}

TEST_CASE("ListenAddress forms", "[config]")
{
    ServerConfig c = parse("ListenAddress 0.0.0.0\n"
                           "ListenAddress 192.0.2.1:2222\n"
                           "ListenAddress [2001:db8::1]:2223\n"
                           "ListenAddress [::1]\n"
                           "ListenAddress fe80::1%eth0\n"
                           "ListenAddress host.example\n"
                           "ListenAddress ::\n");
    REQUIRE(c.listen.size() == 7);
    CHECK(c.listen[0].host == "0.0.0.0");
    CHECK(c.listen[0].port == 0);
    CHECK(c.listen[1].host == "192.0.2.1");
    CHECK(c.listen[1].port == 2222);
    CHECK(c.listen[2].host == "2001:db8::1");
    CHECK(c.listen[2].port == 2223);
    CHECK(c.listen[3].host == "::1");
    CHECK(c.listen[3].port == 0);
    CHECK(c.listen[4].host == "fe80::1%eth0");
    CHECK(c.listen[4].port == 0);
    CHECK(c.listen[5].host == "host.example");
    CHECK(c.listen[6].host == "::");
    CHECK(c.listen[6].port == 0);

    const std::string at = std::string(kOrigin) + " line 1: ";
    CHECK(text_error("ListenAddress [::1\n") == at + "bad address '[::1' for ListenAddress: missing ']'");
    CHECK(text_error("ListenAddress [::1]x\n") ==
          at + "bad address '[::1]x' for ListenAddress: expected ':' after ']'");
    CHECK(text_error("ListenAddress host:0\n") ==
          at + "bad address 'host:0' for ListenAddress: bad port (expected 1 to 65535)");
    CHECK(text_error("ListenAddress host:\n") ==
          at + "bad address 'host:' for ListenAddress: bad port (expected 1 to 65535)");
    CHECK(text_error("ListenAddress [::1]:70000\n") ==
          at + "bad address '[::1]:70000' for ListenAddress: bad port (expected 1 to 65535)");
    CHECK(text_error("ListenAddress :22\n") == at + "bad address ':22' for ListenAddress: bad host");
    CHECK(text_error("ListenAddress a/b\n") == at + "bad address 'a/b' for ListenAddress: bad host");
    CHECK(text_error("ListenAddress\n") == at + "missing argument for ListenAddress");
    // sshd's "rdomain" is not supported: it is an extra argument.
    CHECK(text_error("ListenAddress 0.0.0.0 rdomain 1\n") ==
          at + "too many arguments for ListenAddress (unexpected 'rdomain')");
}

TEST_CASE("finish() combines ListenAddress and Port", "[config]")
{
    ServerConfig c = parse_finished("Port 2200\n"
                                    "Port 2201\n"
                                    "ListenAddress 127.0.0.1\n"
                                    "ListenAddress [::1]:2300\n"
                                    "ListenAddress 127.0.0.1\n"); // duplicate
    CHECK(c.ports == std::vector<std::uint16_t>{2200, 2201});
    REQUIRE(c.listen.size() == 3);
    CHECK(has_endpoint(c, "127.0.0.1", 2200));
    CHECK(has_endpoint(c, "127.0.0.1", 2201));
    CHECK(has_endpoint(c, "::1", 2300)); // an explicit port is kept
    for (const auto& e : c.listen) CHECK(e.port != 0);

    SECTION("ports without ListenAddress listen on all addresses")
    {
        ServerConfig d = parse_finished("Port 2222\nPort 2223\n");
        CHECK(d.listen.size() == 4);
        CHECK(has_endpoint(d, "0.0.0.0", 2222));
        CHECK(has_endpoint(d, "::", 2223));
    }
    SECTION("ListenAddress without Port uses 22")
    {
        ServerConfig d = parse_finished("ListenAddress 10.0.0.1\n");
        REQUIRE(d.listen.size() == 1);
        CHECK(has_endpoint(d, "10.0.0.1", 22));
    }
    SECTION("finish() twice changes nothing")
    {
        ServerConfig d;
        ConfigParser p(d);
        p.apply_text("Port 2222\n", "x");
        p.finish();
        auto before = d.listen.size();
        p.finish();
        CHECK(d.listen.size() == before);
    }
    SECTION("too many sockets is an error, not an explosion")
    {
        std::string text;
        for (int i = 1; i <= 200; ++i) text += "Port " + std::to_string(i) + "\n";
        for (int i = 0; i < 10; ++i) text += "ListenAddress 10.0.0." + std::to_string(i) + "\n";
        ServerConfig d;
        ConfigParser p(d);
        p.apply_text(text, "x");
        CHECK(contains(input_error([&] { p.finish(); }), "more than 1024 listening sockets"));
    }
}

TEST_CASE("HostKey", "[config]")
{
    ServerConfig c = parse("HostKey /etc/feth-sshd/ssh_host_ed25519_key\n"
                           "HostKey /etc/feth-sshd/ssh_host_rsa_key\n");
    CHECK(c.host_keys ==
          std::vector<std::string>{"/etc/feth-sshd/ssh_host_ed25519_key", "/etc/feth-sshd/ssh_host_rsa_key"});
    CHECK(text_error("HostKey\n") == std::string(kOrigin) + " line 1: missing argument for HostKey");
    CHECK(text_error("HostKey a b\n") ==
          std::string(kOrigin) + " line 1: too many arguments for HostKey (unexpected 'b')");
}

TEST_CASE("AuthorizedKeysFile", "[config]")
{
    CHECK(parse("AuthorizedKeysFile .ssh/authorized_keys /etc/keys/%u %h/.k %%x\n").authorized_keys_files ==
          std::vector<std::string>{".ssh/authorized_keys", "/etc/keys/%u", "%h/.k", "%%x"});
    CHECK(parse("AuthorizedKeysFile a\nAuthorizedKeysFile b c\n").authorized_keys_files ==
          std::vector<std::string>{"a", "b", "c"});

    SECTION("none means no file, and finish() keeps it that way")
    {
        ServerConfig c = parse_finished("AuthorizedKeysFile none\n");
        CHECK(c.authorized_keys_files.empty());
        CHECK(c.was_set("AuthorizedKeysFile"));
    }
    SECTION("bad escapes are found at parse time")
    {
        const std::string at = std::string(kOrigin) + " line 1: ";
        CHECK(text_error("AuthorizedKeysFile /k/%x\n") ==
              at + "bad value '/k/%x' for AuthorizedKeysFile: unknown escape '%x' (known: %u, %h, %%)");
        CHECK(text_error("AuthorizedKeysFile ok /k/%\n") ==
              at + "bad value '/k/%' for AuthorizedKeysFile: '%' at the end (known: %u, %h, %%)");
        CHECK(text_error("AuthorizedKeysFile\n") == at + "missing argument for AuthorizedKeysFile");
    }
}

TEST_CASE("PermitTunnel", "[config]")
{
    CHECK(parse("PermitTunnel no\n").permit_tunnel == kPermitNo);
    CHECK(parse("PermitTunnel point-to-point\n").permit_tunnel == kPermitPointToPoint);
    CHECK(parse("PermitTunnel ethernet\n").permit_tunnel == kPermitEthernet);
    CHECK(parse("PermitTunnel yes\n").permit_tunnel == kPermitYes);
    const std::string at = std::string(kOrigin) + " line 3: ";
    CHECK(text_error("\n\nPermitTunnel maybe\n") ==
          at + "bad value 'maybe' for PermitTunnel (expected no, point-to-point, ethernet or yes)");
    // sshd compares the values case-sensitively.
    CHECK(contains(text_error("PermitTunnel Yes\n"), "bad value 'Yes' for PermitTunnel"));
    CHECK(contains(text_error("PermitTunnel\n"), "line 1: missing argument for PermitTunnel"));
    CHECK(contains(text_error("PermitTunnel yes no\n"), "line 1: too many arguments for PermitTunnel"));
}

TEST_CASE("PidFile", "[config]")
{
    CHECK(parse("PidFile /run/feth-sshd.pid\n").pid_file == "/run/feth-sshd.pid");
    ServerConfig c = parse_finished("PidFile none\n");
    CHECK(c.pid_file.empty());
    CHECK(c.was_set("PidFile"));
    CHECK(contains(text_error("PidFile\n"), "line 1: missing argument for PidFile"));
    CHECK(contains(text_error("PidFile a b\n"), "line 1: too many arguments for PidFile"));
}

TEST_CASE("LogLevel", "[config]")
{
    using feth::log::Level;
    CHECK(parse("LogLevel QUIET\n").log_level == Level::Quiet);
    CHECK(parse("LogLevel fatal\n").log_level == Level::Fatal);
    CHECK(parse("LogLevel ERROR\n").log_level == Level::Error);
    CHECK(parse("LogLevel INFO\n").log_level == Level::Info);
    CHECK(parse("LogLevel verbose\n").log_level == Level::Verbose);
    CHECK(parse("LogLevel DEBUG\n").log_level == Level::Debug1);
    CHECK(parse("LogLevel DEBUG2\n").log_level == Level::Debug2);
    CHECK(parse("LogLevel DEBUG3\n").log_level == Level::Debug3);
    CHECK(contains(text_error("LogLevel LOUD\n"), "line 1: bad value 'LOUD' for LogLevel (expected QUIET,"));
    CHECK(contains(text_error("LogLevel\n"), "line 1: missing argument for LogLevel"));
}

TEST_CASE("TunnelBackend", "[config]")
{
    for (const char* b : {"auto", "tap", "tun", "pair", "feth", "utun"})
        CHECK(parse(std::string("TunnelBackend ") + b + "\n").tunnel_backend == b);
    CHECK(text_error("TunnelBackend wireguard\n") ==
          std::string(kOrigin) +
              " line 1: bad value 'wireguard' for TunnelBackend (expected auto, tap, tun, pair, feth or utun)");
    CHECK(contains(text_error("TunnelBackend\n"), "missing argument for TunnelBackend"));
}

TEST_CASE("TunnelMTU", "[config]")
{
    CHECK(parse("Port 22\n").tunnel_mtu == 0); // unset: the device's default
    CHECK(parse("TunnelMTU 9000\n").tunnel_mtu == 9000);
    CHECK(parse("tunnelmtu=1400\n").tunnel_mtu == 1400);
    CHECK(parse("TunnelMTU default\n").tunnel_mtu == 0);
    CHECK(parse("TunnelMTU 16370\n").tunnel_mtu == 16370);
    CHECK(parse("TunnelMTU 9000\nTunnelMTU 1500\n").tunnel_mtu == 9000); // first value wins
    const std::string at = std::string(kOrigin) + " line 2: ";
    const std::string range = feth::mtu::expected();
    CHECK(text_error("Port 22\nTunnelMTU 16371\n") == at + "bad value '16371' for TunnelMTU (expected " + range + ")");
    for (const char* bad : {"0", "67", "-9000", "+9000", "9k", "0x2328", "65536", "4294967296", "none", "9000.0"})
        CHECK(text_error(std::string("Port 22\nTunnelMTU ") + bad + "\n") ==
              at + "bad value '" + bad + "' for TunnelMTU (expected " + range + ")");
    CHECK(contains(text_error("TunnelMTU\n"), "missing argument for TunnelMTU"));
    CHECK(contains(text_error("TunnelMTU 1500 9000\n"), "too many arguments for TunnelMTU"));
    // -T prints it in lower case, "default" when unset.
    CHECK(contains(dump_config(parse("TunnelMTU 9000\n")), "\ntunnelmtu 9000\n"));
    CHECK(contains(dump_config(parse("Port 22\n")), "\ntunnelmtu default\n"));
    // -o outranks the file.
    ServerConfig c;
    ConfigParser parser(c);
    parser.apply_text("TunnelMTU 1400\n", kOrigin);
    parser.apply_option("TunnelMTU=9000");
    CHECK(c.tunnel_mtu == 9000);
    CHECK(option_error("TunnelMTU=70000") ==
          "command line: -o 'TunnelMTU=70000': bad value '70000' for TunnelMTU (expected " + range + ")");
}

TEST_CASE("Match TunnelMTU", "[config]")
{
    ServerConfig c = parse("TunnelMTU 9000\n"
                           "Match User alice\n  TunnelMTU 1400\n  TunnelMTU 1300\n  PermitTunnel yes\n"
                           "Match Address 198.18.0.0/15\n  PermitTunnel no\n"
                           "Match Address 198.18.0.0/15\n  TunnelMTU default\n");
    CHECK(c.tunnel_mtu == 9000);
    REQUIRE(c.matches.size() == 3);
    CHECK(c.matches[0].tunnel_mtu == 1400u); // the block's first value
    CHECK(c.matches[0].permit_tunnel == kPermitYes);
    CHECK(!c.matches[1].tunnel_mtu);
    CHECK(effective_tunnel_mtu(c, "alice", "192.0.2.1") == 1400);
    CHECK(effective_tunnel_mtu(c, "alice", "198.18.0.2") == 1400); // first matching block that sets it
    CHECK(effective_tunnel_mtu(c, "bob", "192.0.2.1") == 9000);    // no block: the global value
    CHECK(effective_tunnel_mtu(c, "bob", "198.18.0.2") == 0);      // skips the block without TunnelMTU
    CHECK(effective_permit_tunnel(c, "alice", "192.0.2.1") == kPermitYes);
    CHECK(effective_permit_tunnel(c, "bob", "198.18.0.2") == kPermitNo);
    const std::string dump = dump_config(c);
    CHECK(contains(dump, "\nmatch user alice permittunnel yes tunnelmtu 1400\n"));
    CHECK(contains(dump, "\nmatch address 198.18.0.0/15 tunnelmtu default\n"));
    CHECK(text_error("Match User bob\n  TunnelMTU 20000\n") ==
          std::string(kOrigin) + " line 2: bad value '20000' for TunnelMTU (expected " + feth::mtu::expected() + ")");
}

TEST_CASE("TunnelAdoptExisting: off by default, yes or no, in Match blocks", "[config]")
{
    CHECK(parse("Port 22\n").tunnel_adopt_existing == 0);
    CHECK(contains(dump_config(parse("Port 22\n")), "\ntunneladoptexisting no\n"));
    ServerConfig c = parse("TunnelAdoptExisting no\nMatch User admin\n  TunnelAdoptExisting yes\n");
    CHECK_FALSE(effective_tunnel_adopt_existing(c, "alice", "198.18.0.2"));
    CHECK(effective_tunnel_adopt_existing(c, "admin", "198.18.0.2"));
    CHECK(contains(dump_config(c), "\nmatch user admin tunneladoptexisting yes\n"));
    CHECK(text_error("TunnelAdoptExisting maybe\n") ==
          std::string(kOrigin) + " line 1: bad value 'maybe' for TunnelAdoptExisting (expected yes or no)");
}

TEST_CASE("AllowUsers parsing", "[config]")
{
    ServerConfig c = parse("AllowUsers alice bob\nAllowUsers tun-* !root\n");
    CHECK(c.allow_users == std::vector<std::string>{"alice", "bob", "tun-*", "!root"});
    const std::string at = std::string(kOrigin) + " line 1: ";
    CHECK(text_error("AllowUsers a@b@c\n") == at + "bad pattern 'a@b@c' for AllowUsers: more than one '@'");
    CHECK(text_error("AllowUsers !\n") == at + "bad pattern '!' for AllowUsers: empty pattern");
    CHECK(text_error("AllowUsers\n") == at + "missing argument for AllowUsers");
}

TEST_CASE("user_allowed: sshd patterns and negation", "[config]")
{
    CHECK(user_allowed({}, "anyone"));
    CHECK(user_allowed({"alice", "bob"}, "bob"));
    CHECK_FALSE(user_allowed({"alice", "bob"}, "carol"));
    CHECK_FALSE(user_allowed({"alice"}, "Alice")); // case-sensitive, like sshd
    CHECK(user_allowed({"tun-*"}, "tun-1"));
    CHECK(user_allowed({"tun-*"}, "tun-"));
    CHECK_FALSE(user_allowed({"tun-*"}, "tun"));
    CHECK(user_allowed({"us?r"}, "user"));
    CHECK_FALSE(user_allowed({"us?r"}, "usr"));
    CHECK(user_allowed({"*a*b*c*"}, "xxaxxbxxcxx"));
    CHECK_FALSE(user_allowed({"*a*b*c*"}, "xxaxxcxxbxx"));
    CHECK(user_allowed({"*"}, ""));
    // sshd gives '!' no meaning in AllowUsers: "!root" is a literal name,
    // so it allows nobody else, and "*" still allows root.
    CHECK(user_allowed({"*", "!root"}, "root"));
    CHECK(user_allowed({"!adm*", "admin"}, "admin"));
    CHECK_FALSE(user_allowed({"!root"}, "alice"));
    CHECK_FALSE(user_allowed({"!root"}, "root"));
    CHECK(user_allowed({"!root"}, "!root"));
    // Many stars must not take exponential time.
    CHECK_FALSE(user_allowed({std::string(100, '*') + "b"}, std::string(10000, 'a')));
}

TEST_CASE("expand_authorized_keys_path", "[config]")
{
    CHECK(expand_authorized_keys_path(".ssh/authorized_keys", "alice", "/home/alice") ==
          "/home/alice/.ssh/authorized_keys");
    CHECK(expand_authorized_keys_path("/etc/keys/%u", "alice", "/home/alice") == "/etc/keys/alice");
    CHECK(expand_authorized_keys_path("%h/.ssh/k", "alice", "/home/alice") == "/home/alice/.ssh/k");
    CHECK(expand_authorized_keys_path("/k/100%%/%u", "bob", "/h") == "/k/100%/bob");
    CHECK(expand_authorized_keys_path("k", "root", "/") == "/k"); // no "//"
    CHECK(input_error([] { expand_authorized_keys_path("/k/%x", "a", "/h"); }) ==
          "AuthorizedKeysFile '/k/%x': unknown escape '%x' (known: %u, %h, %%)");
    CHECK(input_error([] { expand_authorized_keys_path("/k/%", "a", "/h"); }) ==
          "AuthorizedKeysFile '/k/%': '%' at the end (known: %u, %h, %%)");
}

TEST_CASE("first value wins for single-valued keywords", "[config]")
{
    ServerConfig c = parse("PermitTunnel no\n"
                           "PermitTunnel yes\n"
                           "LogLevel DEBUG\n"
                           "LogLevel QUIET\n"
                           "PidFile /a\n"
                           "PidFile /b\n"
                           "TunnelBackend tap\n"
                           "TunnelBackend tun\n");
    CHECK(c.permit_tunnel == kPermitNo);
    CHECK(c.log_level == feth::log::Level::Debug1);
    CHECK(c.pid_file == "/a");
    CHECK(c.tunnel_backend == "tap");
    // A later bad value is still an error, as in sshd.
    CHECK(text_error("PermitTunnel no\nPermitTunnel maybe\n") ==
          std::string(kOrigin) +
              " line 2: bad value 'maybe' for PermitTunnel (expected no, point-to-point, ethernet or yes)");
}

TEST_CASE("first source wins for list keywords; -o outranks the file", "[config]")
{
    const char* file = "Port 2222\n"
                       "Port 2223\n"
                       "PermitTunnel no\n"
                       "HostKey /file/key\n"
                       "AllowUsers filer\n"
                       "ListenAddress 10.0.0.1\n";

    SECTION("-o before the file, as sshd applies them")
    {
        ServerConfig c;
        ConfigParser p(c);
        p.apply_option("Port=3333");
        p.apply_option("Port 3334");
        p.apply_option("PermitTunnel=point-to-point");
        p.apply_text(file, kOrigin);
        CHECK(c.ports == std::vector<std::uint16_t>{3333, 3334});
        CHECK(c.permit_tunnel == kPermitPointToPoint);
        CHECK(c.host_keys == std::vector<std::string>{"/file/key"}); // only the file set it
        CHECK(c.allow_users == std::vector<std::string>{"filer"});
        REQUIRE(c.sources.size() == c.seen.size());
        for (const auto& s : c.sources) {
            if (s.keyword == "Port") CHECK(s.origin == "command line");
            if (s.keyword == "HostKey") CHECK(s.origin == kOrigin);
        }
    }
    SECTION("-o after the file still replaces the file's values")
    {
        ServerConfig c;
        ConfigParser p(c);
        p.apply_text(file, kOrigin);
        p.apply_option("Port=3333");
        p.apply_option("Port=3334");
        p.apply_option("PermitTunnel yes");
        p.apply_option("ListenAddress=[::1]:4444");
        p.finish();
        CHECK(c.ports == std::vector<std::uint16_t>{3333, 3334});
        CHECK(c.permit_tunnel == kPermitYes);
        REQUIRE(c.listen.size() == 1);
        CHECK(has_endpoint(c, "::1", 4444));
    }
    SECTION("a second file cannot add to what the first one set")
    {
        ServerConfig c;
        ConfigParser p(c);
        p.apply_text("Port 2222\nAllowUsers a\n", "first");
        p.apply_text("Port 2223\nAllowUsers b\nHostKey /k\n", "second");
        CHECK(c.ports == std::vector<std::uint16_t>{2222});
        CHECK(c.allow_users == std::vector<std::string>{"a"});
        CHECK(c.host_keys == std::vector<std::string>{"/k"});
    }
}

TEST_CASE("-o errors name the option", "[config]")
{
    CHECK(option_error("Port=99999") == "command line: -o 'Port=99999': bad port '99999' for Port (expected 1 to 65535)");
    CHECK(option_error("Prot=22") == "command line: -o 'Prot=22': unknown keyword 'Prot'");
    CHECK(option_error("") == "command line: -o '': empty option");
    CHECK(option_error("# just a comment") == "command line: -o '# just a comment': empty option");
    CHECK(option_error("Port 22\nPort 23") == "command line: -o 'Port 22\\x0aPort 23': newline in option");
    CHECK(option_error("Match User x") == "command line: -o 'Match User x': Match is not allowed on the command line");
}

TEST_CASE("hostile input: long lines, NUL bytes, large texts", "[config]")
{
    const std::string at = std::string(kOrigin) + " line 2: ";
    std::string long_line = "HostKey /" + std::string(9000, 'a') + "\n";
    CHECK(text_error("Port 22\n" + long_line) == at + "line longer than 8192 bytes (keyword 'HostKey')");
    // Exactly at the limit is fine.
    std::string at_limit = "HostKey /" + std::string(8192 - 9, 'b');
    REQUIRE(at_limit.size() == 8192);
    CHECK(parse(at_limit + "\n").host_keys.at(0).size() == 8192 - 8);

    std::string nul = "Port 22\nHostKey /a";
    nul += '\0';
    nul += "b\n";
    CHECK(text_error(nul) == at + "NUL byte in line (keyword 'HostKey')");
    CHECK(text_error(std::string("Port 22\n\0\n", 10)) == at + "NUL byte in line");

    std::string huge(1024 * 1024 + 1, '#');
    CHECK(text_error(huge) == std::string(kOrigin) + ": file larger than 1048576 bytes");

    // Binary garbage: an error, never a crash.
    std::string garbage;
    for (int i = 1; i < 256; ++i) garbage += static_cast<char>(i);
    CHECK(contains(text_error(garbage), std::string(kOrigin) + " line 1: "));
}

TEST_CASE("apply_file", "[config]")
{
    SECTION("reads a file and names it in errors")
    {
        TempFile f("Port 2022\nPermitTunnel nope\n");
        ServerConfig c;
        ConfigParser p(c);
        std::string e = input_error([&] { p.apply_file(f.path); });
        CHECK(e == f.path + " line 2: bad value 'nope' for PermitTunnel (expected no, point-to-point, ethernet or yes)");
    }
    SECTION("a good file")
    {
        TempFile f("Port 2022\r\nPermitTunnel point-to-point\r\n");
        ServerConfig c;
        ConfigParser(c).apply_file(f.path);
        CHECK(c.ports == std::vector<std::uint16_t>{2022});
        CHECK(c.permit_tunnel == kPermitPointToPoint);
    }
    SECTION("an empty file")
    {
        TempFile f("");
        ServerConfig c;
        ConfigParser(c).apply_file(f.path);
        CHECK(c.seen.empty());
    }
    SECTION("a missing file is a SystemError naming it")
    {
        ServerConfig c;
        try {
            ConfigParser(c).apply_file("/nonexistent/feth-sshd_config");
            FAIL("no error");
        } catch (const feth::SystemError& e) {
            CHECK(std::string(e.what()) ==
                  "cannot read config file /nonexistent/feth-sshd_config: open: No such file or directory");
            CHECK(e.code() == ENOENT);
        }
    }
    SECTION("a directory")
    {
        ServerConfig c;
        try {
            ConfigParser(c).apply_file("/tmp");
            FAIL("no error");
        } catch (const feth::SystemError& e) {
            CHECK(e.code() == EISDIR);
            CHECK(contains(e.what(), "cannot read config file /tmp"));
        }
    }
    SECTION("a file over 1 MiB")
    {
        TempFile f(std::string(1024 * 1024 + 10, '#'));
        ServerConfig c;
        CHECK(input_error([&] { ConfigParser(c).apply_file(f.path); }) ==
              f.path + ": file larger than 1048576 bytes");
    }
}

TEST_CASE("DenyUsers, AllowUsers with hosts: sshd's order", "[config]")
{
    ServerConfig c = parse("DenyUsers mallory eve@198.18.0.0/15\nAllowUsers alice bob@198.18.0.2 eve carol@10.*\n");
    CHECK(user_access_problem(c, "mallory", "198.18.0.2") == "listed in DenyUsers");
    CHECK(user_access_problem(c, "eve", "198.18.0.2") == "listed in DenyUsers");
    CHECK(user_access_problem(c, "eve", "192.0.2.1").empty());
    CHECK(user_access_problem(c, "alice", "192.0.2.1").empty());
    CHECK(user_access_problem(c, "bob", "198.18.0.2").empty());
    CHECK(user_access_problem(c, "bob", "198.18.0.3") == "not listed in AllowUsers");
    CHECK(user_access_problem(c, "carol", "10.1.2.3").empty());
    CHECK(user_access_problem(c, "dave", "10.1.2.3") == "not listed in AllowUsers");
    ServerConfig open = parse("DenyUsers root\n");
    CHECK(user_access_problem(open, "alice", "::1").empty());
    CHECK(user_access_problem(open, "root", "::1") == "listed in DenyUsers");
}

TEST_CASE("Match User/Address PermitTunnel", "[config]")
{
    ServerConfig c = parse("PermitTunnel no\n"
                           "Match User alice\n  PermitTunnel ethernet\n  PermitTunnel no\n"
                           "Match Address 198.18.0.0/15,!198.18.0.9 User bob,carol\n  PermitTunnel point-to-point\n"
                           "Match All\n  PermitTunnel yes\n");
    CHECK(c.permit_tunnel == kPermitNo);
    REQUIRE(c.matches.size() == 3);
    CHECK(effective_permit_tunnel(c, "alice", "192.0.2.1") == kPermitEthernet); // first value in the block
    CHECK(effective_permit_tunnel(c, "bob", "198.18.0.2") == kPermitPointToPoint);
    CHECK(effective_permit_tunnel(c, "bob", "198.18.0.9") == kPermitYes); // negated address: falls to All
    CHECK(effective_permit_tunnel(c, "dave", "198.18.0.2") == kPermitYes);
    ServerConfig g = parse("Match User !root,*\nPermitTunnel ethernet\n");
    CHECK(effective_permit_tunnel(g, "root", "::1") == kPermitEthernet); // default global
    CHECK(effective_permit_tunnel(g, "x", "::1") == kPermitEthernet);
    ServerConfig h = parse("PermitTunnel no\nMatch User !root,*\nPermitTunnel ethernet\n");
    CHECK(effective_permit_tunnel(h, "root", "::1") == kPermitNo);
    CHECK(effective_permit_tunnel(h, "x", "::1") == kPermitEthernet);
    CHECK(contains(text_error("Match Address 10.0.0.1/8\n"), "bad address list"));
    CHECK(contains(text_error("Match User\n"), "needs a pattern list"));
    CHECK(contains(text_error("Match All User x\n"), "Match All must be the only criterion"));
}

TEST_CASE("time and number keywords", "[config]")
{
    ServerConfig c = parse("LoginGraceTime 1m30s\nMaxAuthTries 3\nMaxSessions 0\nClientAliveInterval 15\n"
                           "ClientAliveCountMax 2\nMaxStartups 5:50:20\nPrivilegeSeparationUser nobody\n");
    CHECK(c.login_grace_time == 90);
    CHECK(c.max_auth_tries == 3);
    CHECK(c.max_sessions == 0);
    CHECK(c.client_alive_interval == 15);
    CHECK(c.client_alive_count_max == 2);
    CHECK(c.max_startups.start == 5);
    CHECK(c.max_startups.rate == 50);
    CHECK(c.max_startups.full == 20);
    CHECK(c.privsep_user == "nobody");
    ServerConfig d = parse("Port 22\n");
    CHECK(d.login_grace_time == 120);
    CHECK(d.max_auth_tries == 6);
    CHECK(d.max_startups.start == 10);
    CHECK(d.max_startups.rate == 30);
    CHECK(d.max_startups.full == 100);
    CHECK(parse_time_interval("2h") == 7200u);
    CHECK(parse_time_interval("0") == 0u);
    CHECK_FALSE(parse_time_interval("m"));
    CHECK_FALSE(parse_time_interval("5x"));
    CHECK_FALSE(parse_time_interval("99999999999"));
    CHECK(contains(text_error("MaxStartups 20:30:10\n"), "bad value"));
    CHECK(contains(text_error("MaxAuthTries 0\n"), "bad value"));
    CHECK(contains(text_error("PrivilegeSeparationUser a*\n"), "bad value"));
}

TEST_CASE("Ciphers and RekeyLimit", "[config]")
{
    ServerConfig d = parse("Port 22\n");
    CHECK(d.ciphers.empty());
    CHECK(d.rekey_limit_bytes == 0);
    CHECK(d.rekey_limit_seconds == 0);

    ServerConfig c = parse("Ciphers chacha20-poly1305@openssh.com,aes128-gcm@openssh.com\nRekeyLimit 16M 1h\n");
    CHECK(c.ciphers == "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com");
    CHECK(c.rekey_limit_bytes == 16u * 1024 * 1024);
    CHECK(c.rekey_limit_seconds == 3600);
    CHECK(parse("Ciphers -aes128-ctr\n").ciphers == "-aes128-ctr");
    CHECK(parse("Ciphers ^aes256-gcm@openssh.com\n").ciphers == "^aes256-gcm@openssh.com");
    ServerConfig e = parse("RekeyLimit default none\n");
    CHECK(e.rekey_limit_bytes == 0);
    CHECK(e.rekey_limit_seconds == 0);
    CHECK(parse("RekeyLimit 2G\n").rekey_limit_bytes == 2ull << 30);

    CHECK(parse_byte_size("1k") == 1024u);
    CHECK(parse_byte_size("3T") == 3ull << 40);
    CHECK_FALSE(parse_byte_size("M"));
    CHECK_FALSE(parse_byte_size("1.5G"));
    CHECK_FALSE(parse_byte_size("99999999999999999999"));

    CHECK(contains(text_error("RekeyLimit 15\n"), "bad value '15' for RekeyLimit"));
    CHECK(contains(text_error("RekeyLimit 1G soon\n"), "bad value 'soon' for RekeyLimit"));
    CHECK(contains(text_error("RekeyLimit 1G 1h extra\n"), "too many arguments"));
    CHECK(contains(text_error("Ciphers aes128-ctr,,aes256-ctr\n"),
                   "line 1: Bad SSH2 cipher spec 'aes128-ctr,,aes256-ctr': '' is not a name"));
    CHECK(contains(text_error("Ciphers +\n"), "Bad SSH2 cipher spec '+': no names"));
    CHECK(contains(text_error("Ciphers aes128-ctr;rm\n"), "'aes128-ctr;rm' is not a name"));
    CHECK(contains(text_error("Ciphers aes128-ctr,rot13\n"), "'rot13' is not implemented by this libssh"));
    CHECK(contains(text_error("Ciphers a b\n"), "too many arguments"));
}

TEST_CASE("KexAlgorithms: sshd's forms, effective list after finish, in -T", "[config]")
{
    const std::string server_defaults = "mlkem768x25519-sha256,sntrup761x25519-sha512,"
                                        "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
                                        "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                                        "ecdh-sha2-nistp521";
    ServerConfig d = parse_finished("Port 22\n");
    CHECK(d.kex_algorithms == server_defaults);
    CHECK(d.ciphers == "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
                       "aes128-ctr,aes192-ctr,aes256-ctr");
    CHECK(contains(dump_config(d), "\nkexalgorithms " + server_defaults + "\n"));

    CHECK(parse_finished("KexAlgorithms curve25519-sha256,mlkem768x25519-sha256\n").kex_algorithms ==
          "curve25519-sha256,mlkem768x25519-sha256");
    CHECK(parse_finished("KexAlgorithms -sntrup*,ecdh-*\n").kex_algorithms ==
          "mlkem768x25519-sha256,curve25519-sha256,curve25519-sha256@libssh.org");
    CHECK(parse_finished("KexAlgorithms ^curve25519-sha256\n").kex_algorithms.rfind("curve25519-sha256,mlkem", 0) ==
          0);
    CHECK(parse_finished("kexalgorithms=+diffie-hellman-group14-sha256\n").kex_algorithms ==
          server_defaults + ",diffie-hellman-group14-sha256");
    // First value wins; the command line outranks the file.
    ServerConfig c;
    ConfigParser parser(c);
    parser.apply_text("KexAlgorithms curve25519-sha256\nKexAlgorithms ecdh-sha2-nistp256\n", kOrigin);
    parser.apply_option("KexAlgorithms=-mlkem768x25519-sha256");
    parser.finish();
    CHECK(c.kex_algorithms.rfind("sntrup761x25519-sha512,", 0) == 0);

    CHECK(contains(text_error("KexAlgorithms mlkem768x25519-sha256,foo-sha1\n"),
                   "line 1: Bad SSH2 KexAlgorithms 'mlkem768x25519-sha256,foo-sha1': 'foo-sha1' is not implemented"));
    // sshd checks every line, also those first-value-wins then ignores.
    CHECK(contains(text_error("KexAlgorithms curve25519-sha256\nKexAlgorithms bogus\n"), "line 2: Bad SSH2"));
    CHECK(contains(text_error("KexAlgorithms ^\n"), "no names"));
    CHECK(contains(text_error("KexAlgorithms curve*\n"), "'curve*' is not a name"));
    CHECK(contains(input_error([] { parse_finished("KexAlgorithms -*\n"); }), "that leaves no algorithm"));
}

TEST_CASE("KexAlgorithms and Ciphers against a libssh that lacks names", "[config]")
{
    // A libssh without ML-KEM and sntrup761 (0.11): the defaults shrink to
    // what it has, and naming a missing algorithm is a configuration error.
    AlgorithmSupport old_libssh = [](AlgorithmKind kind, std::string_view name) {
        return every_known_algorithm(kind, name) && name.find("mlkem") == std::string_view::npos &&
               name.find("sntrup") == std::string_view::npos;
    };
    auto finished = [&](std::string_view text) {
        ServerConfig c;
        ConfigParser p(c, old_libssh);
        p.apply_text(text, kOrigin);
        p.finish();
        return c;
    };
    CHECK(finished("Port 22\n").kex_algorithms ==
          "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521");
    CHECK(finished("KexAlgorithms -mlkem*\n").kex_algorithms.rfind("curve25519-sha256,", 0) == 0);
    const std::string e = input_error([&] { finished("KexAlgorithms +mlkem768x25519-sha256\n"); });
    CHECK(contains(e, "line 1: Bad SSH2 KexAlgorithms '+mlkem768x25519-sha256': 'mlkem768x25519-sha256' is not "
                      "implemented by this libssh (it has: curve25519-sha256,"));
    CHECK_FALSE(contains(e, "(it has: mlkem"));
}

TEST_CASE("PerSourcePenalties, PerSourceMaxStartups, PerSourceNetBlockSize, exempt list: sshd's defaults and forms",
          "[config]")
{
    ServerConfig d = parse("Port 22\n");
    CHECK(d.per_source_penalties.enabled);
    CHECK(d.per_source_penalties.crash == 90);
    CHECK(d.per_source_penalties.authfail == 5);
    CHECK(d.per_source_penalties.noauth == 1);
    CHECK(d.per_source_penalties.grace_exceeded == 10);
    CHECK(d.per_source_penalties.max == 600);
    CHECK(d.per_source_penalties.min == 15);
    CHECK(d.per_source_penalties.max_sources4 == 65536);
    CHECK(d.per_source_max_startups == 0);
    CHECK(d.per_source_masklen4 == 32);
    CHECK(d.per_source_masklen6 == 128);
    const std::string dump = dump_config(d);
    CHECK(contains(dump, "\npersourcepenalties crash:90s authfail:5s noauth:1s grace-exceeded:10s max:600s min:15s "
                         "max-sources4:65536 max-sources6:65536 overflow:permissive overflow6:permissive\n"));
    CHECK(contains(dump, "\npersourcemaxstartups none\n"));
    CHECK(contains(dump, "\npersourcenetblocksize 32:128\n"));
    CHECK(contains(dump, "\npersourcepenaltyexemptlist none\n"));

    ServerConfig c = parse("PerSourcePenalties authfail:1m min:30s overflow:deny-all max-sources4:10\n"
                           "PerSourcePenalties no\n" // first value wins
                           "PerSourceMaxStartups 3\nPerSourceNetBlockSize 24:64\n"
                           "PerSourcePenaltyExemptList 198.18.0.3,2001:db8::/32\n");
    CHECK(c.per_source_penalties.enabled);
    CHECK(c.per_source_penalties.authfail == 60);
    CHECK(c.per_source_penalties.min == 30);
    CHECK(c.per_source_penalties.crash == 90); // untouched words keep the default
    CHECK(c.per_source_penalties.overflow_deny_all4);
    CHECK(c.per_source_penalties.overflow_deny_all6); // overflow6 follows overflow
    CHECK(c.per_source_penalties.max_sources4 == 10);
    CHECK(c.per_source_max_startups == 3);
    CHECK(c.per_source_masklen4 == 24);
    CHECK(c.per_source_masklen6 == 64);
    CHECK(c.per_source_penalty_exempt == "198.18.0.3,2001:db8::/32");
    CHECK(contains(dump_config(parse("PerSourcePenalties off\n")), "\npersourcepenalties no\n"));
    CHECK(!parse("PerSourcePenalties no\n").per_source_penalties.enabled);
    CHECK(parse("PerSourceNetBlockSize 16\n").per_source_masklen6 == 128);

    CHECK(input_error([] { parse("PerSourcePenalties invaliduser:5s\n"); }) ==
          std::string(kOrigin) +
              " line 1: PerSourcePenalties invaliduser is not supported by feth-sshd (invalid users fail as any key "
              "does: see authfail)");
    CHECK(contains(input_error([] { parse("PerSourcePenalties refuseconnection:5s\n"); }), "not supported"));
    CHECK(contains(input_error([] { parse("PerSourcePenalties bogus:5s\n"); }), "unknown PerSourcePenalties keyword 'bogus'"));
    CHECK(contains(input_error([] { parse("PerSourcePenalties authfail:soon\n"); }), "bad value 'authfail:soon'"));
    CHECK(contains(input_error([] { parse("PerSourcePenalties overflow:maybe\n"); }), "deny-all or permissive"));
    CHECK(contains(input_error([] { parse("PerSourceNetBlockSize 33\n"); }), "bad value '33'"));
    CHECK(contains(input_error([] { parse("PerSourceMaxStartups 0\n"); }), "bad value '0'"));
    CHECK(contains(input_error([] { parse("PerSourcePenaltyExemptList 198.18.0.1/40\n"); }), "bad value"));
}

TEST_CASE("MaxTunnels: default 16, Match blocks, -T", "[config]")
{
    CHECK(parse("Port 22\n").max_tunnels == 16);
    ServerConfig c = parse("MaxTunnels 4\nMatch User alice\n  MaxTunnels 1\nMatch Address 198.18.0.0/15\n  MaxTunnels 8\n");
    CHECK(effective_max_tunnels(c, "alice", "198.18.0.2") == 1);
    CHECK(effective_max_tunnels(c, "bob", "198.18.0.2") == 8);
    CHECK(effective_max_tunnels(c, "bob", "192.0.2.1") == 4);
    const std::string dump = dump_config(c);
    CHECK(contains(dump, "\nmaxtunnels 4\n"));
    CHECK(contains(dump, "\nmatch user alice maxtunnels 1\n"));
    CHECK(contains(input_error([] { parse("MaxTunnels 0\n"); }), "bad value '0' for MaxTunnels"));
}
