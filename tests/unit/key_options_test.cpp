#include "config/key_options.hpp"

#include <cstdlib>

#include "catch.hpp"
#include "tunnel/wire.hpp"

using namespace feth::config;

namespace {

// Options of one authorized_keys line, through the real parser.
std::vector<KeyOption> opts(const std::string& options)
{
    auto parsed = parse_authorized_keys(options + " ssh-ed25519 "
                                                  "AAAAC3NzaC1lZDI1NTE5AAAAIF1tXmsQBnxTEAVjSs0ZnLZwGTVmRaF8XvO1aH2Khmyx c\n");
    REQUIRE(parsed.errors.empty());
    REQUIRE(parsed.keys.size() == 1);
    return parsed.keys[0].options;
}

std::string error_of(const std::string& options)
{
    std::string error;
    auto r = evaluate_key_options(opts(options), error);
    return r ? std::string("<ok>") : error;
}

KeyOptions ok(const std::string& options)
{
    std::string error;
    auto r = evaluate_key_options(opts(options), error);
    INFO(error);
    REQUIRE(r);
    return *r;
}

} // namespace

TEST_CASE("key options: flags, restrict and what follows it", "[key_options]")
{
    auto r = ok("restrict");
    CHECK(r.restricted);
    CHECK_FALSE(r.pty);
    CHECK_FALSE(r.port_forwarding);
    auto p = ok("restrict,pty,port-forwarding");
    CHECK(p.restricted); // nothing re-enables tunnels after restrict
    CHECK(p.pty);
    CHECK(p.port_forwarding);
    auto n = ok("no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc");
    CHECK_FALSE(n.pty);
    CHECK_FALSE(n.x11_forwarding);
    CHECK_FALSE(n.restricted);
    CHECK(ok("no-touch-required").no_require_user_presence);
    CHECK(ok("verify-required").require_verify);
    CHECK(ok("cert-authority").cert_authority);
    CHECK(ok("RESTRICT").restricted); // case-insensitive, as OpenSSH
}

TEST_CASE("key options: values", "[key_options]")
{
    auto k = ok("command=\"echo hi\",environment=\"A=1\",environment=\"A=2\",permitopen=\"host:22\","
                "permitlisten=\"8080\",principals=\"x\",from=\"10.0.0.0/8\",tunnel=\"5\"");
    CHECK(*k.command == "echo hi");
    CHECK(k.environment == std::vector<std::string>{"A=1"}); // first wins
    CHECK(k.permitopen.size() == 1);
    CHECK(k.permitlisten.size() == 1);
    CHECK(*k.from == "10.0.0.0/8");
    CHECK(*k.tunnel == 5u);
    CHECK(*ok("tunnel=\"any\"").tunnel == feth::kTunUnitAny);
    CHECK(*ok("tunnel=\"1\",tunnel=\"2\"").tunnel == 2u);
}

TEST_CASE("key options: errors make the key unusable", "[key_options]")
{
    CHECK(error_of("bogus") == "unknown key option");
    CHECK(error_of("no-restrict") == "unknown key option");
    CHECK(error_of("pty=\"x\"") == "unknown key option");
    CHECK(error_of("tunnel=\"x\"") == "invalid tun device");
    CHECK(error_of("tunnel=\"2147483646\"") == "invalid tun device"); // above SSH_TUNID_MAX
    CHECK(error_of("tunnel=\"-1\"") == "invalid tun device");
    CHECK(error_of("from=\"a\",from=\"b\"") == "multiple \"from\" clauses");
    CHECK(error_of("command=\"a\",command=\"b\"") == "multiple \"command\" clauses");
    CHECK(error_of("expiry-time=\"2020\"") == "invalid expires time");
    CHECK(error_of("expiry-time=\"20201340\"") == "invalid expires time");
    CHECK(error_of("environment=\"1 x=1\"") == "invalid environment string");
    CHECK(error_of("environment=\"novalue\"") == "invalid environment string");
    CHECK(error_of("permitopen=\"host\"") == "invalid permission port");
    CHECK(error_of("permitopen=\"host:0\"") == "invalid permission port");
}

TEST_CASE("expiry-time", "[key_options]")
{
    CHECK(parse_expiry_time("19700102Z") == 86400u);
    CHECK(parse_expiry_time("197001020000Z") == 86400u);
    CHECK(parse_expiry_time("19700102000001UTC") == 86401u);
    CHECK_FALSE(parse_expiry_time("1970010"));
    CHECK_FALSE(parse_expiry_time("19701302"));
    CHECK_FALSE(parse_expiry_time("1970010a"));
    std::string log;
    auto past = ok("expiry-time=\"20000101Z\"");
    CHECK_FALSE(authorise_key(past, "u", "198.18.0.2", "198.18.0.2", std::time(nullptr), "f:1", log));
    CHECK(log.find("entry expired at") != std::string::npos);
    auto future = ok("expiry-time=\"29990101\"");
    CHECK(authorise_key(future, "u", "198.18.0.2", "198.18.0.2", std::time(nullptr), "f:1", log));
}

TEST_CASE("from=: addresses, CIDR, negation, wildcards", "[key_options]")
{
    CHECK(match_host_and_ip("198.18.0.2", "198.18.0.2", "198.18.0.0/15") == 1);
    CHECK(match_host_and_ip("198.20.0.2", "198.20.0.2", "198.18.0.0/15") == 0);
    CHECK(match_host_and_ip("198.18.0.2", "198.18.0.2", "198.18.0.0/15,!198.18.0.2") == 0);
    CHECK(match_host_and_ip("198.18.0.3", "198.18.0.3", "198.18.0.0/15,!198.18.0.2") == 1);
    CHECK(match_host_and_ip("198.18.0.3", "198.18.0.3", "198.18.0.*") == 1);
    CHECK(match_host_and_ip("2001:db8::1", "2001:db8::1", "2001:db8::/32") == 1);
    CHECK(match_host_and_ip("2001:db9::1", "2001:db9::1", "2001:db8::/32") == 0);
    CHECK(match_host_and_ip("10.0.0.1", "10.0.0.1", "10.0.0.1/8") == -1); // host bits set
    CHECK(match_host_and_ip("10.0.0.1", "10.0.0.1", "10.0.0.0/33") == -1);
    CHECK(match_host_and_ip("10.0.0.1", "10.0.0.1", ",10.0.0.1") == -1);
    CHECK(match_pattern_list("host.example", "*.EXAMPLE", true) == 1);
    CHECK(match_pattern_list("a", "!a,*", false) == -1);
    std::string log;
    auto k = ok("from=\"198.18.0.0/16\"");
    CHECK(authorise_key(k, "u", "198.18.0.2", "198.18.0.2", 1, "f:1", log));
    CHECK_FALSE(authorise_key(k, "u", "192.0.2.1", "192.0.2.1", 1, "f:1", log));
    CHECK(log.find("not from a permitted host") != std::string::npos);
    CHECK_FALSE(authorise_key(ok("principals=\"x\""), "u", "1.2.3.4", "1.2.3.4", 1, "f:1", log));
    CHECK_FALSE(authorise_key(ok("cert-authority"), "u", "1.2.3.4", "1.2.3.4", 1, "f:1", log));
}

