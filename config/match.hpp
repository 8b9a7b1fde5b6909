// OpenSSH's match.c, once for every user of it: sshd_config (AllowUsers,
// DenyUsers, Match User/Address), authorized_keys' from="..." and, once the
// lead switches it, ssh_config (Host, Match host/user). Pure and bounded:
// patterns come from files users control (O(n*m) at worst, no recursion).
#pragma once

#include <string_view>

namespace feth::config {

// match_pattern: '*' and '?' over the whole string, case-sensitive.
bool match_pattern(std::string_view s, std::string_view pattern);

// match_pattern_list: a comma list of patterns, each may be negated with
// '!'. 1 a positive match, 0 none, -1 a negated pattern matched (which wins).
// `lowercase`: the patterns are lower-cased first (host names). A
// subpattern of 1023 bytes or more matches nothing, as in sshd.
int match_pattern_list(std::string_view s, std::string_view list, bool lowercase);

// addr_match_list: CIDR or wildcard entries, '!' negation. 1 match, 0 none,
// -1 negated match, -2 a malformed entry (empty, bad mask, host bits set).
// An `addr` that is not an address matches nothing (0).
int addr_match_list(std::string_view addr, std::string_view list);

// match_host_and_ip, for from="..." and USER@HOST: 1 allowed, 0 not, -1
// malformed list.
int match_host_and_ip(std::string_view host, std::string_view ip, std::string_view list);

// match_user for one AllowUsers/DenyUsers entry: "user" or "user@host",
// the host part matched against `address` (no DNS: host and ip are both the
// address).
bool match_user(std::string_view user, std::string_view address, std::string_view entry);

} // namespace feth::config
