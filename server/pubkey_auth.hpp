// The monitor's part of public-key authentication, as sshd's monitor does it
// (monitor.c mm_answer_keyverify, monitor_valid_userblob): the user name is
// checked and fixed once, the algorithm must be one we accept and fit the
// key, and the monitor rebuilds the signed data (RFC 4252 section 7) from
// its own session id, so a child can neither choose what was signed nor
// replay a signature made for another connection.
#pragma once

#include <libssh/libssh.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace feth::server {

// Signature algorithms we accept for user keys: no ssh-rsa (SHA-1), no DSA.
inline constexpr const char* kUserKeyAlgorithms = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
                                                  "ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256";

inline constexpr std::string_view kServiceConnection = "ssh-connection";
inline constexpr std::string_view kMethodPublickey = "publickey";
inline constexpr std::string_view kMethodHostbound = "publickey-hostbound-v00@openssh.com";

// A login name the monitor will look up: not empty, at most 255 bytes
// (LOGIN_NAME_MAX - 1 on Linux, MAXLOGNAME - 1 on macOS), no NUL (getpwnam
// would stop there while AllowUsers saw the whole name) and no control
// byte or DEL (log lines). Bytes above 0x7f stay: UTF-8 names exist.
// Returns why not, or "".
std::string login_name_problem(std::string_view name);

// Whether `algorithm` is in kUserKeyAlgorithms and is an algorithm of
// `key`'s type (rsa-sha2-* for an RSA key, the curve's own name for ECDSA).
bool user_key_algorithm_fits(std::string_view algorithm, ssh_key key);

// Whether some algorithm of kUserKeyAlgorithms fits `key`.
bool user_key_type_accepted(ssh_key key);

// The data a client signs for a publickey (or publickey-hostbound) request:
// string session id, byte SSH_MSG_USERAUTH_REQUEST, string user, string
// service, string method, bool TRUE, string algorithm, string key blob, and
// for the hostbound method string host key blob.
std::vector<std::uint8_t> userauth_signed_data(std::string_view session_id, std::string_view user,
                                               std::string_view service, std::string_view method,
                                               std::string_view algorithm, std::string_view key_blob,
                                               std::string_view hostkey_blob);

// The SSH wire blob of a public key, as bytes.
std::string public_key_blob(ssh_key key);

} // namespace feth::server
