// HashKnownHosts: the name a known_hosts line carries when hashed, as ssh
// writes it (OpenSSH hostfile.c host_hash): "|1|" base64(salt) "|"
// base64(HMAC-SHA1(salt, name)), with a random 20-byte salt.
#pragma once

#include <string>
#include <string_view>

namespace feth::config {

// `salt` empty: 20 random bytes (throws InputError when the system has no
// randomness to give). `name` is "host" or "[host]:port".
std::string hashed_known_hosts_name(std::string_view name, std::string_view salt = {});

} // namespace feth::config
