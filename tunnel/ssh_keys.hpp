// Keys as OpenSSH shows them to people: "ED25519" and "SHA256:...".
#pragma once

#include <libssh/libssh.h>

#include <string>

namespace feth {

// "ED25519", "ECDSA", "RSA" (sshd's labels), or libssh's name otherwise.
std::string key_type_label(ssh_key key);
// "SHA256:<base64>", or "?" when it cannot be computed.
std::string key_fingerprint(ssh_key key);

} // namespace feth
