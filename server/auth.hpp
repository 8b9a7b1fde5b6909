// Public-key authentication against a user's authorized_keys, with sshd's
// log wording so that tools reading sshd logs understand ours.
#pragma once

#include <libssh/libssh.h>

#include <optional>
#include <string>
#include <vector>

#include "config/authorized_keys.hpp"
#include "config/server_config.hpp"

namespace feth::server {

struct UserInfo {
    std::string name;
    std::string home;
    unsigned uid = 0;
    unsigned gid = 0;
};

// Looks the user up in the password database.
std::optional<UserInfo> lookup_user(const std::string& name);

// The authorized_keys entry that matched a key.
struct KeyMatch {
    std::string file;
    std::size_t line = 0;
    std::vector<config::KeyOption> options;
};

// Searches the user's AuthorizedKeysFile entries for `key`. Unreadable or
// malformed files and lines are logged and skipped.
std::optional<KeyMatch> find_authorized_key(const config::ServerConfig& config, const UserInfo& user,
                                            ssh_key key);

// "ED25519 SHA256:..." as sshd logs a key.
std::string describe_key(ssh_key key);

} // namespace feth::server
