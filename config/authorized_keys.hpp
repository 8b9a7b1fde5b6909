// OpenSSH authorized_keys format: "[options] keytype base64 [comment]".
// Parsing only; the server decides what the options mean. Every line comes
// from a file a user controls: hostile input, bounded, never trusted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace feth::config {

struct KeyOption {
    std::string name;                 // lower-cased, e.g. "tunnel", "restrict"
    std::optional<std::string> value; // unquoted value for name="value"
};

struct AuthorizedKey {
    std::vector<KeyOption> options;
    std::string type;   // "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
    std::string base64; // the key blob, base64
    std::string comment;
    std::size_t line = 0;
};

struct AuthorizedKeysParse {
    std::vector<AuthorizedKey> keys;
    // "line N: <problem>" for each line that could not be parsed; such a
    // line is skipped, never half-used.
    std::vector<std::string> errors;
};

// True for the key types feth-sshd accepts (ed25519, ecdsa, rsa).
bool is_supported_key_type(std::string_view type);

AuthorizedKeysParse parse_authorized_keys(std::string_view text);

} // namespace feth::config
