// Public-key authentication against a user's authorized_keys, with sshd's
// log wording so that tools reading sshd logs understand ours.
#pragma once

#include <libssh/libssh.h>

#include <optional>
#include <string>
#include <vector>

#include "config/authorized_keys.hpp"
#include "config/key_options.hpp"
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
    config::KeyOptions options;
};

// Searches the user's AuthorizedKeysFile entries for `key`, as sshd does:
// files are opened with the user's uid and groups (when running as root),
// a file or directory on its path that others could write is refused
// (StrictModes, as sshd's auth_secure_path: the real path, up to the home), a
// line whose options are invalid is skipped with a log line, and a line
// whose options refuse this peer or time (from=, expiry-time,
// cert-authority, principals) is skipped too. Returns the first usable line.
std::optional<KeyMatch> find_authorized_key(const config::ServerConfig& config, const UserInfo& user,
                                            ssh_key key, const std::string& peer_address);

// One AuthorizedKeysFile, as find_authorized_key reads it (the caller has
// taken the user's ids): resolved with realpath, opened without following
// a last symlink, the open file and each directory above it up to `home`
// or / checked as sshd's StrictModes does, each directory on a descriptor
// opened O_DIRECTORY|O_NOFOLLOW. nullopt when missing (silently) or refused
// (logged as sshd: "Authentication refused: bad ownership or modes for
// directory /x").
std::optional<std::string> read_authorized_keys_file(const std::string& path, unsigned uid, const std::string& home);

// "ED25519 SHA256:..." as sshd logs a key.
std::string describe_key(ssh_key key);

} // namespace feth::server
