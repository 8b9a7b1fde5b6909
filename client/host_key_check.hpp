// Host keys as ssh treats them, where libssh's known_hosts code does not:
// the exact lines the root part may write for the SSH part, and the marker
// lines (@revoked, @cert-authority) libssh skips (OpenSSH hostfile.c,
// sshconnect.c check_host_key).
#pragma once

#include <libssh/libssh.h>

#include <optional>
#include <string>
#include <vector>

namespace feth::client {

// Whether `line` is one plain known_hosts line for the destination only:
// "NAMES KEYTYPE BASE64 [COMMENT]" with no marker, where NAMES is a comma
// list whose every entry is, exactly, one of `names` or "|1|salt|hash" of
// one (no pattern characters, no negation). The key must parse as KEYTYPE.
// Returns "" when it is, else why not.
std::string exact_known_hosts_line_problem(const std::string& line, const std::vector<std::string>& names);

// "[addr]:port", or "addr" for port 22, as ssh's put_host_port names an
// address (or a host) in known_hosts.
std::string known_hosts_host_port(const std::string& host, unsigned port);

// Where (FILE:LINE) a "@revoked" line of `files` names `host` (a pattern
// list or a hashed name, as any known_hosts line) with `key`; nullopt when
// none does. `display` gives the name a file is shown by (a private copy
// is read under another path); files that cannot be read are skipped.
struct KnownHostsFile {
    std::string read_path;
    std::string display;
};
std::optional<std::string> revoked_host_key(const std::vector<KnownHostsFile>& files, const std::string& host,
                                            ssh_key key);

// Where (FILE:LINE) a "@cert-authority" line of `files` names `host` with
// `ca` (any key when null): the CAs ssh trusts for the host's certificate.
std::optional<std::string> certificate_authority(const std::vector<KnownHostsFile>& files, const std::string& host,
                                                 ssh_key ca);

// What the plain (unmarked) lines of `files` say of `key` for `host`, as
// libssh reads a line (ssh_known_hosts_parse_line): Known when one holds
// this key, Changed when only other keys are listed, Unknown when none.
enum class KnownHostKey { Known, Changed, Unknown };
KnownHostKey known_host_key(const std::vector<KnownHostsFile>& files, const std::string& host, ssh_key key);

} // namespace feth::client
