// config/match: OpenSSH's match.c as sshd_config, authorized_keys and (once
// switched) ssh_config use it. key_options_test covers from="..." through it.
#include "config/match.hpp"

#include <string>

#include "catch.hpp"

using namespace feth::config;

TEST_CASE("match_pattern: '*' and '?' over the whole string, case-sensitive", "[match]")
{
    CHECK(match_pattern("alice", "a*e"));
    CHECK(match_pattern("alice", "?lice"));
    CHECK(match_pattern("", "*"));
    CHECK_FALSE(match_pattern("alice", "Alice"));
    CHECK_FALSE(match_pattern("alice", "ali"));
    // A literal star in the string: the pattern's star still ranges over it.
    CHECK(match_pattern("*xb", "*b"));
    CHECK(match_pattern("a*c", "a*"));
    CHECK_FALSE(match_pattern("*x", "*b"));
    // A hostile pattern finishes (one backtrack point).
    CHECK_FALSE(match_pattern(std::string(5000, 'a'), std::string(200, '*') + "b"));
}

TEST_CASE("match_pattern_list: a negation wins, lowercase folds the patterns only", "[match]")
{
    CHECK(match_pattern_list("bob", "alice,b*", false) == 1);
    CHECK(match_pattern_list("bob", "alice,carol", false) == 0);
    CHECK(match_pattern_list("bob", "*,!bob", false) == -1);
    CHECK(match_pattern_list("host.example", "HOST.*", true) == 1);
    CHECK(match_pattern_list("host.example", "HOST.*", false) == 0);
    CHECK(match_pattern_list("x", std::string(1023, 'x'), false) == 0); // too long: no match
}

TEST_CASE("addr_match_list: CIDR, wildcards, negation, malformed entries", "[match]")
{
    CHECK(addr_match_list("198.18.0.2", "198.18.0.0/15") == 1);
    CHECK(addr_match_list("198.20.0.2", "198.18.0.0/15") == 0);
    CHECK(addr_match_list("198.18.0.2", "198.18.*") == 1);
    CHECK(addr_match_list("198.18.0.2", "0.0.0.0/0,!198.18.0.0/16") == -1);
    CHECK(addr_match_list("2001:db8::1", "2001:db8::/32") == 1);
    CHECK(addr_match_list("198.18.0.2", "198.18.0.1/15") == -2); // host bits set
    CHECK(addr_match_list("198.18.0.2", "198.18.0.0/33") == -2);
    CHECK(addr_match_list("198.18.0.2", "a,,b") == -2);
    CHECK(addr_match_list("not-an-address", "*") == 0);
}

TEST_CASE("match_host_and_ip and match_user: USER@HOST against the address", "[match]")
{
    CHECK(match_host_and_ip("198.18.0.2", "198.18.0.2", "198.18.0.0/16") == 1);
    CHECK(match_host_and_ip("198.18.0.2", "198.18.0.2", "!198.18.0.2,*") == 0);
    CHECK(match_host_and_ip("198.18.0.2", "198.18.0.2", "198.18.0.0/99") == -1);
    CHECK(match_user("alice", "198.18.0.2", "alice"));
    CHECK(match_user("alice", "198.18.0.2", "al*@198.18.0.0/16"));
    CHECK_FALSE(match_user("alice", "192.0.2.1", "alice@198.18.0.0/16"));
    CHECK_FALSE(match_user("bob", "198.18.0.2", "alice@*"));
}
