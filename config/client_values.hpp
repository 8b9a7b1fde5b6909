// The value syntaxes ssh_config(5) keywords share, as OpenSSH's readconf.c
// and misc.c read them: yes/no, ports and service names, %-tokens and
// ${VAR}, ~ and ~user, algorithm list shapes, ProxyJump hops and a command
// keyword's rest of the line. Used by the keyword parsers
// (client_keywords.cpp) and by resolve_defaults() (client_config.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace feth::config::client_values {

// A command keyword's value (LocalCommand, ProxyCommand, ours): the rest of
// the line, verbatim, after the keyword and its separator.
std::string rest_of_line(std::string_view line);

// yes/true, no/false (any case); nothing else.
std::optional<bool> parse_flag(std::string_view v);

// ssh's a2port: a number from 1 to 65535 or a TCP service name.
std::optional<std::uint16_t> parse_port(const std::string& v);

// One ProxyJump hop, [user@]host[:port] or ssh://[user@]host[:port][/]:
// true when well-formed.
bool valid_jump_hop(std::string_view hop);

// An algorithm list's shape (an optional +, - or ^, then names): the
// problem, empty when fine.
std::string algorithm_shape_problem(std::string_view v);

// Which %-tokens a path may hold (ssh's DEFAULT_CLIENT_PERCENT_EXPAND_ARGS;
// %C, the connection hash, with an empty %j).
inline constexpr std::string_view kPathTokens = "CdhijkLlnpru";
// LocalCommand's: those and %T, the local tunnel device.
inline constexpr std::string_view kLocalCommandTokens = "CdhijkLlnpruT";

// The %-tokens (among `allowed`) and, with `dollar`, the ${VAR} references
// of `text`: the problem, empty when fine.
std::string check_tokens(std::string_view text, std::string_view allowed, bool dollar);

// What the %-tokens stand for.
struct TokenValues {
    std::string home, host, host_arg, port, remote_user, local_user;
};

// ssh's percent_expand (and, with `dollar`, its ${VAR} expansion) over
// tokens that check_tokens() accepted. Throws InputError for an unset VAR;
// `what` names the value in errors.
std::string expand_tokens(std::string_view text, const TokenValues& v, bool dollar, std::string_view what);

// ssh's tilde_expand_filename: "~" and "~/x" are the user's home, "~user/x"
// another user's. Throws InputError for an unknown user.
std::string expand_tilde(const std::string& path, const std::string& home, std::string_view what);

} // namespace feth::config::client_values
