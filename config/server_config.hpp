// feth-sshd's configuration: sshd_config syntax, the subset of keywords that
// a tunnel server needs, with sshd's rules (first value wins; command-line
// values come before the file). Everything here is pure parsing so that the
// tests and the fuzzer drive it directly. The file is hostile input: every
// error names the file, the line and the keyword.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tunnel/log.hpp"

namespace feth::config {

// PermitTunnel's values, as bits of OpenSSH's tunnel modes (1 = point-to-point,
// 2 = ethernet) so that `(permit & mode) == 0` means refuse.
enum PermitTunnel : unsigned {
    kPermitNo = 0,
    kPermitPointToPoint = 1,
    kPermitEthernet = 2,
    kPermitYes = 3,
};

struct ListenEndpoint {
    std::string host; // "0.0.0.0", "::", "127.0.0.1", "::1", a name
    std::uint16_t port = 0; // 0: use the Port list
};

// Who set a keyword, for sshd's "first source wins" on list keywords: all
// -o options together are one source, each applied file another.
struct SettingSource {
    std::string keyword;    // canonical spelling, e.g. "Port"
    std::string origin;     // "command line" or the file's name
    std::size_t source = 0; // 0: the command line; n: the n-th text applied
};

struct ServerConfig {
    std::vector<ListenEndpoint> listen;            // ListenAddress (default: all)
    std::vector<std::uint16_t> ports;              // Port (default 22)
    std::vector<std::string> host_keys;            // HostKey
    std::vector<std::string> authorized_keys_files; // AuthorizedKeysFile
    unsigned permit_tunnel = kPermitEthernet;      // PermitTunnel (default ethernet)
    std::string pid_file;                          // PidFile ("none" -> empty)
    log::Level log_level = log::Level::Info;       // LogLevel
    std::vector<std::string> allow_users;          // AllowUsers patterns
    std::string tunnel_backend = "auto";           // TunnelBackend

    // Which keywords have been set (canonical spelling), for first-value-wins;
    // `sources` says who set each (same order).
    std::vector<std::string> seen;
    std::vector<SettingSource> sources;
    std::size_t texts_applied = 0; // numbers the file sources

    // True when `keyword` (case-insensitive) was set by some source.
    bool was_set(std::string_view keyword) const;
};

class ConfigParser {
public:
    explicit ConfigParser(ServerConfig& config) : config_(config) {}

    // One "-o Keyword=value" (or "Keyword value") from the command line.
    // Throws InputError: "command line: -o 'X': <problem>".
    void apply_option(std::string_view option);

    // A whole file's text; `origin` is the file name used in errors:
    // "<origin> line <n>: <problem>". Throws InputError.
    void apply_text(std::string_view text, std::string_view origin);

    // Reads and applies a file (size-limited). Throws SystemError/InputError.
    void apply_file(const std::string& path);

    // Fills defaults for everything nobody set (ports 22, listen on all
    // addresses, AuthorizedKeysFile .ssh/authorized_keys ...) and gives every
    // listen endpoint a port, so that afterwards no endpoint has port 0.
    // Throws InputError when ListenAddress x Port makes too many sockets.
    void finish();

    // Command-line options outrank files whatever the call order: a -o value
    // replaces a value a file set, as if the options had been applied first.
    static constexpr std::string_view kCommandLine = "command line";

private:
    struct Source; // where a line comes from: origin, line, source number
    void apply_line(std::string_view line, const Source& source);
    ServerConfig& config_;
};

// Expands %u, %h and %% in an AuthorizedKeysFile entry; a relative result is
// taken relative to `home`. Throws InputError on an unknown % sequence.
std::string expand_authorized_keys_path(std::string_view pattern, std::string_view user,
                                        std::string_view home);

// sshd's pattern matching for AllowUsers: '*' and '?', case-sensitive. A
// user is allowed when a pattern matches and no '!' pattern matches (as in
// sshd's pattern lists, a negated match always refuses). A list of only '!'
// patterns allows everyone else; an empty list allows all.
// Returns true when `user` is allowed by the list.
bool user_allowed(const std::vector<std::string>& allow_users, std::string_view user);

// Splits a config line as sshd does (strdelim for the keyword, argv_split for
// the arguments): the result is the keyword then its arguments; empty for a
// blank or comment line. Arguments are whitespace separated, may be "..." or
// '...' quoted, know the escapes \" \' \\ and (unquoted) "\ ", and an
// argument starting with '#' ends the line. The first argument may be joined
// to the keyword by one '='. Throws InputError for an unterminated quote.
std::vector<std::string> split_arguments(std::string_view text);

} // namespace feth::config
